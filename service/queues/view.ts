/** The API's JSON for queues and groups (ISO times, counts, what a queue waits for). Pure. */
import type { Approval } from '../sessions/approvals.js';
import type { GroupRun, GroupWithRun, RunSession } from '../store/group-schema.js';
import { PROMPT_STATUSES, type Prompt, type PromptStatus } from '../store/queue-schema.js';
import type { QueueWithPrompts } from '../store/queues.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function promptJson(p: Prompt): Record<string, unknown> {
  return {
    id: p.id,
    position: p.position,
    text: p.text,
    images: p.images,
    mode: p.mode,
    status: p.status,
    turnId: p.turnId,
    attempts: p.attempts,
    result: p.result,
    error: p.error,
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
    startedAt: iso(p.startedAt),
    finishedAt: iso(p.finishedAt),
  };
}

export type WaitingFor = 'go-ahead' | 'approval' | null;

export function waitingFor(q: QueueWithPrompts, approvals: readonly Approval[]): WaitingFor {
  if (q.status !== 'running') return null;
  if (approvals.length) return 'approval';
  return q.prompts.some((p) => p.status === 'waiting') ? 'go-ahead' : null;
}

export function queueJson(
  q: QueueWithPrompts,
  approvals: readonly Approval[],
  withPrompts = true,
): Record<string, unknown> {
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
    approvals,
    counts,
    ...(withPrompts ? { prompts: q.prompts.map(promptJson) } : {}),
  };
}

function runSessionJson(s: RunSession): Record<string, unknown> {
  return {
    sessionId: s.sessionId,
    status: s.status,
    turnId: s.turnId,
    attempts: s.attempts,
    result: s.result,
    error: s.error,
    startedAt: iso(s.startedAt),
    finishedAt: iso(s.finishedAt),
  };
}

/** Which sessions are where: failed lists interrupted and cancelled ones too (they did not complete). */
export function progressOf(
  run: GroupRun,
): Record<'running' | 'completed' | 'failed' | 'pending', string[]> {
  const out = {
    running: [] as string[],
    completed: [] as string[],
    failed: [] as string[],
    pending: [] as string[],
  };
  for (const s of run.sessions) {
    if (s.status === 'running') out.running.push(s.sessionId);
    else if (s.status === 'completed') out.completed.push(s.sessionId);
    else if (s.status === 'pending' || s.status === 'waiting') out.pending.push(s.sessionId);
    else out.failed.push(s.sessionId);
  }
  return out;
}

export function runJson(run: GroupRun): Record<string, unknown> {
  return {
    id: run.id,
    prompt: run.prompt,
    images: run.images,
    maxConcurrent: run.maxConcurrent,
    model: run.model,
    sandbox: run.sandbox,
    approvalPolicy: run.approvalPolicy,
    status: run.status,
    createdAt: iso(run.createdAt),
    finishedAt: iso(run.finishedAt),
    sessions: run.sessions.map(runSessionJson),
    progress: progressOf(run),
  };
}

export function groupJson(g: GroupWithRun): Record<string, unknown> {
  return {
    id: g.id,
    name: g.name,
    description: g.description,
    paused: g.paused,
    sessionIds: g.sessionIds,
    createdAt: iso(g.createdAt),
    updatedAt: iso(g.updatedAt),
    run: g.run ? runJson(g.run) : null,
  };
}
