/** One approval: what is asked (command, cwd, reason, diff) and the answers the protocol allows. */
import { useState } from 'preact/hooks';
import { api, can, message } from './api';
import type { Approval, Decision } from '../../service/sessions/approval-json.js';
import { decisionsFor } from './decisions';
import { shortId } from './format';
import { apiPath, href } from './paths';
import { changesOf, paramsOf, type FileChange } from './timeline';
import { Badge, Button, Diff, ErrorLine } from './ui';

const LABEL: Record<Decision, string> = {
  accept: 'Approve',
  acceptForSession: 'Approve for this session',
  decline: 'Decline',
  cancel: 'Decline and stop the turn',
};

function text(v: unknown): string {
  return typeof v === 'string' ? v : Array.isArray(v) ? v.join(' ') : '';
}

interface Question {
  id: string;
  question: string;
}

function questionsOf(a: Approval): Question[] {
  const q = paramsOf(a).questions;
  if (!Array.isArray(q)) return [];
  return q
    .filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null)
    .map((x) => ({ id: text(x.id), question: text(x.question) || text(x.header) }));
}

export function ApprovalCard(props: {
  approval: Approval;
  changes?: FileChange[];
  showSession?: boolean;
  onAnswered?: (a: Approval) => void;
}) {
  const a = props.approval;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const p = paramsOf(a);
  const command = text(p.command);
  const cwd = text(p.cwd);
  const reason = text(p.reason) || text(p.message);
  const questions = questionsOf(a);
  const changes = props.changes?.length ? props.changes : changesOf(a.changes);

  const answer = async (decision: Decision) => {
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = { decision };
      if (questions.length)
        body.answers = Object.fromEntries(questions.map((q) => [q.id, [answers[q.id] ?? '']]));
      const done = await api<Approval>('POST', apiPath`/api/approvals/${a.id}`, body);
      props.onAnswered?.(done);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <article class={`approval ${a.status}`} data-approval={a.id} aria-label={`approval ${a.kind}`}>
      <header class="approval-head">
        <strong>
          {a.kind === 'commandExecution'
            ? 'Run a command?'
            : a.kind === 'fileChange'
              ? 'Change files?'
              : a.kind}
        </strong>
        <Badge text={a.status} />
        {a.decision ? <span class="muted">{a.decision}</span> : null}
      </header>
      {command ? <pre class="cmd">{command}</pre> : null}
      {cwd ? (
        <p class="muted">
          in <code>{cwd}</code>
        </p>
      ) : null}
      {reason ? <p>{reason}</p> : null}
      {text(p.grantRoot) ? (
        <p>
          write access under <code>{text(p.grantRoot)}</code> for the rest of the session
        </p>
      ) : null}
      {changes.map((c) => (
        <details open key={c.path}>
          <summary>
            {c.kind} <code>{c.path}</code>
          </summary>
          <Diff diff={c.diff} />
        </details>
      ))}
      {questions.map((q) => (
        <label key={q.id} class="field">
          <span>{q.question}</span>
          <input
            value={answers[q.id] ?? ''}
            onInput={(e) => setAnswers({ ...answers, [q.id]: e.currentTarget.value })}
          />
        </label>
      ))}
      {props.showSession && a.threadId ? (
        <p class="muted">
          session <a href={href('s', a.threadId)}>{shortId(a.threadId)}</a>
        </p>
      ) : null}
      {a.status === 'pending' ? (
        can('approvals') ? (
          <div class="actions">
            {decisionsFor(a).map((d) => (
              <Button
                key={d}
                kind={d.startsWith('accept') ? 'primary' : 'danger'}
                disabled={busy}
                onClick={() => void answer(d)}
              >
                {LABEL[d]}
              </Button>
            ))}
          </div>
        ) : (
          <p class="muted">this session lacks the approvals scope</p>
        )
      ) : null}
      <ErrorLine error={error} />
    </article>
  );
}
