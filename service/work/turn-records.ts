/**
 * Turns as the app-server records them, and what they mean for a job (a queued prompt, a group
 * run's session): its end, its result, and — after a crash — what became of its last attempt.
 * Pure: no connection, no store. Shapes are from `codex app-server generate-ts` 0.169.0
 * (v2/Turn.ts). Import-free but for the store's enums: the dashboard's build reads its JSON type.
 */
import type { Json } from '../store/enums.js';

// Type aliases, not interfaces: they must be assignable to the store's Json.
export type Usage = {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningOutputTokens: number;
  totalTokens: number;
};

/** What a prompt or a group session keeps of its turn. */
export type TurnResult = {
  message: string | null;
  usage: Usage | null;
  durationMs: number | null;
};

/** A kept TurnResult as the API gives it (queue-json.ts, group-json.ts): usage as it was stored. */
export type TurnResultJson = Omit<TurnResult, 'usage'> & { usage: unknown };

/**
 * A job's stored result (a TurnResult kept as JSON) as the API gives it; a key missing or of
 * another type (a row written by another version) is null.
 */
export function turnResultJson(r: Json | null): TurnResultJson | null {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return null;
  return {
    message: typeof r.message === 'string' ? r.message : null,
    usage: r.usage ?? null,
    durationMs: typeof r.durationMs === 'number' ? r.durationMs : null,
  };
}

export interface TurnEnd {
  status: 'completed' | 'failed' | 'interrupted';
  result: TurnResult;
  error: string | null;
}

/** The slice of v2/Turn codex-sm reads. */
export interface TurnRecord {
  id: string;
  status: string;
  items?: { type: string; text?: string; clientId?: string | null }[];
  error?: { message?: string } | null;
  durationMs?: number | null;
}

/** The client id of an attempt: the app-server stores it on the turn's user message. */
export function attemptId(jobId: string, attempt: number): string {
  return `${jobId}#${attempt}`;
}

/** The turn that carries an attempt's client id, if the app-server ever got it. Pure. */
export function findAttempt(
  turns: readonly TurnRecord[],
  clientId: string,
): TurnRecord | undefined {
  return turns.find((t) =>
    t.items?.some((i) => i.type === 'userMessage' && i.clientId === clientId),
  );
}

/**
 * A recorded turn as a job's end. A turn still `inProgress` when we look is one the previous
 * app-server was running when it died (we only look before starting anything): interrupted.
 */
export function endOf(turn: TurnRecord, usage: Usage | null = null): TurnEnd {
  const messages = (turn.items ?? []).filter((i) => i.type === 'agentMessage');
  const result: TurnResult = {
    message: messages.length ? (messages[messages.length - 1]?.text ?? null) : null,
    usage,
    durationMs: turn.durationMs ?? null,
  };
  if (turn.status === 'completed') return { status: 'completed', result, error: null };
  if (turn.status === 'failed')
    return { status: 'failed', result, error: turn.error?.message ?? 'the turn failed' };
  return {
    status: 'interrupted',
    result,
    error:
      turn.error?.message ?? (turn.status === 'interrupted' ? 'interrupted' : 'stopped unfinished'),
  };
}

/** The part of a prompt or group session that reconciliation reads. */
export interface JobState {
  status: string;
  turnId: string | null;
  attempts: number;
}

/** What reconciliation does with one job: adopt a turn it never recorded, then end it. */
export interface Settlement {
  turnId: string;
  /** The attempt reached the app-server but its turn id was never committed. */
  adopt: boolean;
  end: TurnEnd;
}

/**
 * After a crash, what became of a job's last attempt, from its thread's recorded turns. Pure.
 * undefined: nothing to settle (no attempt, or it never reached the app-server and runs again).
 */
export function settle(
  job: JobState,
  jobId: string,
  turns: readonly TurnRecord[],
): Settlement | undefined {
  if (job.status === 'running' && job.turnId) {
    const t = turns.find((x) => x.id === job.turnId);
    return {
      turnId: job.turnId,
      adopt: false,
      end: t
        ? endOf(t)
        : {
            status: 'interrupted',
            result: { message: null, usage: null, durationMs: null },
            error: 'the turn is not in the thread',
          },
    };
  }
  if (job.attempts === 0 || !['pending', 'waiting', 'interrupted'].includes(job.status))
    return undefined;
  const t = findAttempt(turns, attemptId(jobId, job.attempts));
  if (!t || t.id === job.turnId) return undefined;
  return { turnId: t.id, adopt: true, end: endOf(t) };
}

/** Whether a job may have a turn whose end the store does not know. */
export function unsettled(job: JobState): boolean {
  return (
    job.status === 'running' ||
    (job.attempts > 0 && ['pending', 'waiting', 'interrupted'].includes(job.status))
  );
}

/** The last turn's token usage from a `thread/tokenUsage/updated` notification. */
export function usageOf(v: unknown): Usage | null {
  const u = (v as { tokenUsage?: { last?: Record<string, unknown> } } | null)?.tokenUsage?.last;
  if (!u) return null;
  const n = (k: string) => (typeof u[k] === 'number' ? u[k] : 0);
  return {
    inputTokens: n('inputTokens'),
    cachedInputTokens: n('cachedInputTokens'),
    outputTokens: n('outputTokens'),
    reasoningOutputTokens: n('reasoningOutputTokens'),
    totalTokens: n('totalTokens'),
  };
}
