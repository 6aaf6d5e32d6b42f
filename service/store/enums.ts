/**
 * The store's enums, and the JSON value type its JSON columns hold, import-free: the migrations' CHECK constraints, the repositories' types, the
 * API's JSON types (service/queues/queue-json.ts, service/groups/group-json.ts) and through them
 * the CLI and the dashboard's browser build all take them from here.
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

/** A turn job's status: a queue's prompt or a group run's session. */
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

/** A run ends `completed` when every session's turn completed, else `failed`. */
export const GROUP_RUN_STATUSES = ['running', 'completed', 'failed'] as const;
export type GroupRunStatus = (typeof GROUP_RUN_STATUSES)[number];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
