/**
 * The queue tables' enums and row shapes, in one place: the CHECK constraints of the migrations
 * and the TypeScript types both come from these arrays.
 *
 * Changing an array is a schema change: a database migrated before it keeps its old CHECK, so
 * add a migration that rebuilds the table (SQLite cannot ALTER a CHECK) in the same commit.
 */

export const QUEUE_STATUSES = [
  'idle',
  'running',
  'paused',
  'completed',
  'stopped',
  'failed',
] as const;
export type QueueStatus = (typeof QUEUE_STATUSES)[number];

export const PROMPT_STATUSES = [
  'pending',
  'waiting',
  'running',
  'completed',
  'failed',
  'interrupted',
  'cancelled',
] as const;
export type PromptStatus = (typeof PROMPT_STATUSES)[number];

export const PROMPT_MODES = ['auto', 'manual'] as const;
export type PromptMode = (typeof PROMPT_MODES)[number];

/** `col IN ('a', 'b')` for a CHECK; the values are our own constants, never user input. */
export function sqlIn(col: string, values: readonly string[]): string {
  for (const v of values)
    if (!/^[a-z_-]+$/.test(v)) throw new Error(`enum value not safe in SQL: ${v}`);
  return `${col} IN (${values.map((v) => `'${v}'`).join(', ')})`;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The rows as SQLite returns them (snake_case, JSON as text, booleans as integers). */
export interface QueueRow {
  id: string;
  name: string;
  cwd: string | null;
  thread_id: string | null;
  status: QueueStatus;
  model: string | null;
  sandbox: string | null;
  approval_policy: string | null;
  max_retries: number;
  created_at: number;
  updated_at: number;
}

export interface PromptRow {
  id: string;
  queue_id: string;
  position: number;
  text: string;
  images: string;
  mode: PromptMode;
  status: PromptStatus;
  turn_id: string | null;
  attempts: number;
  result: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

/** What the repository hands out (the API's camelCase shapes). */
export interface Queue {
  id: string;
  name: string;
  cwd: string | null;
  threadId: string | null;
  status: QueueStatus;
  model: string | null;
  sandbox: string | null;
  approvalPolicy: string | null;
  /** How often an interrupted prompt is run again (0: never; it stays `interrupted`). */
  maxRetries: number;
  createdAt: number;
  updatedAt: number;
}

export interface Prompt {
  id: string;
  queueId: string;
  position: number;
  text: string;
  images: string[];
  mode: PromptMode;
  status: PromptStatus;
  turnId: string | null;
  /** turn/start calls made for it (committed before each call: see QueueRepo.recordAttempt). */
  attempts: number;
  result: Json | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export function toQueue(r: QueueRow): Queue {
  return {
    id: r.id,
    name: r.name,
    cwd: r.cwd,
    threadId: r.thread_id,
    status: r.status,
    model: r.model,
    sandbox: r.sandbox,
    approvalPolicy: r.approval_policy,
    maxRetries: r.max_retries,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toPrompt(r: PromptRow): Prompt {
  return {
    id: r.id,
    queueId: r.queue_id,
    position: r.position,
    text: r.text,
    images: JSON.parse(r.images) as string[], // CHECK(json_valid) and only ever written by addPrompt
    mode: r.mode,
    status: r.status,
    turnId: r.turn_id,
    attempts: r.attempts,
    result: r.result === null ? null : (JSON.parse(r.result) as Json),
    error: r.error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}
