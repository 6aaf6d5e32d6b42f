/** The answers an approval may get, and which to offer. Pure: the unit tier imports it. */
import { DECISIONS, type Approval, type Decision } from '../../service/sessions/approval-json.js';
import { paramsOf } from './timeline.js';

/**
 * The decisions to offer: what the request lists in `availableDecisions` (a command the
 * protocol allows to approve once only does not get "for this session"), else what the kind
 * takes. A way to say no is always offered.
 */
export function decisionsFor(a: Pick<Approval, 'kind' | 'params'>): Decision[] {
  const listed = paramsOf(a).availableDecisions;
  let out: Decision[];
  if (Array.isArray(listed)) out = DECISIONS.filter((d) => listed.some((x) => x === d));
  else if (a.kind === 'userInput' || a.kind === 'elicitation')
    out = ['accept', 'decline', 'cancel'];
  else out = ['accept', 'acceptForSession', 'decline', 'cancel'];
  if (!out.includes('decline') && !out.includes('cancel')) out.push('decline');
  return out;
}
