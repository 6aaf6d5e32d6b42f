/** The API's JSON for queues (ISO times, counts, what a queue waits for). Pure. */
import type { Approval } from '../sessions/approval-json.js';
import { iso } from '../sessions/view.js';
import { PROMPT_STATUSES, type PromptStatus } from '../store/enums.js';
import type { Prompt } from '../store/queue-schema.js';
import type { QueueWithPrompts } from '../store/queues.js';
import { turnResultJson } from '../work/turn-records.js';
import type { PromptJson, QueueJson, QueueSummaryJson } from './queue-json.js';

export function promptJson(p: Prompt): PromptJson {
  return {
    id: p.id,
    position: p.position,
    text: p.text,
    images: p.images,
    mode: p.mode,
    status: p.status,
    turnId: p.turnId,
    attempts: p.attempts,
    result: turnResultJson(p.result),
    error: p.error,
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
    startedAt: iso(p.startedAt),
    finishedAt: iso(p.finishedAt),
  };
}

function waitingFor(
  q: QueueWithPrompts,
  approvals: readonly Approval[],
): QueueSummaryJson['waitingFor'] {
  if (q.status !== 'running') return null;
  if (approvals.length) return 'approval';
  return q.prompts.some((p) => p.status === 'waiting') ? 'go-ahead' : null;
}

/** A queue without its prompts (`GET /api/queues`). */
export function queueSummaryJson(
  q: QueueWithPrompts,
  approvals: readonly Approval[],
): QueueSummaryJson<Approval> {
  const counts = Object.fromEntries(PROMPT_STATUSES.map((s) => [s, 0])) as Record<
    PromptStatus,
    number
  >;
  for (const p of q.prompts) counts[p.status]++;
  return {
    id: q.id,
    name: q.name,
    cwd: q.cwd,
    sessionId: q.threadId,
    status: q.status,
    model: q.model,
    sandbox: q.sandbox,
    approvalPolicy: q.approvalPolicy,
    maxRetries: q.maxRetries,
    createdAt: iso(q.createdAt),
    updatedAt: iso(q.updatedAt),
    waitingFor: waitingFor(q, approvals),
    approvals: [...approvals],
    counts,
  };
}

/** One queue with its prompts. */
export function queueJson(
  q: QueueWithPrompts,
  approvals: readonly Approval[],
): QueueJson<Approval> {
  return { ...queueSummaryJson(q, approvals), prompts: q.prompts.map(promptJson) };
}
