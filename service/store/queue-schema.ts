/**
 * The queue tables' row shapes; their enums (the CHECK constraints of the migrations and the
 * TypeScript types both come from those arrays) are in ./enums.ts, import-free for the API's
 * JSON types.
 */
import type { PromptMode, QueueStatus } from './enums.js';
import { toJobFields, type JobFields, type JobRow } from './jobs.js';

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

export interface PromptRow extends JobRow {
  id: string;
  queue_id: string;
  position: number;
  text: string;
  images: string;
  mode: PromptMode;
  go_ahead_at: number | null;
  created_at: number;
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

export interface Prompt extends JobFields {
  id: string;
  queueId: string;
  position: number;
  text: string;
  images: string[];
  mode: PromptMode;
  /** When `queue start` gave a manual prompt its go-ahead (null: not given). */
  goAheadAt: number | null;
  createdAt: number;
  updatedAt: number;
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
    images: JSON.parse(r.images) as string[], // CHECK(json array), written by addPrompt/updatePrompt
    mode: r.mode,
    goAheadAt: r.go_ahead_at,
    ...toJobFields(r),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
