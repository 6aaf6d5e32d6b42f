/**
 * The group tables' row shapes (like queue-schema.ts; the run statuses, whose array the CHECK of
 * migration 2 comes from, are in ./enums.ts).
 */
import type { GroupRunStatus } from './enums.js';
import { toJobFields, type JobFields, type JobRow } from './jobs.js';

/** The rows as SQLite returns them. */
export interface GroupRow {
  id: string;
  name: string;
  description: string | null;
  paused: 0 | 1;
  created_at: number;
  updated_at: number;
}

export interface GroupRunRow {
  id: string;
  group_id: string;
  prompt: string;
  images: string;
  model: string | null;
  sandbox: string | null;
  approval_policy: string | null;
  max_concurrent: number;
  status: GroupRunStatus;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface RunSessionRow extends JobRow {
  run_id: string;
  session_id: string;
  position: number;
}

/** What the repository hands out. */
export interface Group {
  id: string;
  name: string;
  description: string | null;
  /** No new turn of its run starts while paused; running ones finish. */
  paused: boolean;
  /** In the order they were added: a run's items take this order. */
  sessionIds: string[];
  createdAt: number;
  updatedAt: number;
}

/** One session's turn in a run: the same turn job as a queue's prompt. */
export interface RunSession extends JobFields {
  sessionId: string;
  position: number;
  updatedAt: number;
}

export interface GroupRun {
  id: string;
  groupId: string;
  prompt: string;
  images: string[];
  model: string | null;
  sandbox: string | null;
  approvalPolicy: string | null;
  /** At most this many of its turns run at a time (1–64). */
  maxConcurrent: number;
  status: GroupRunStatus;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  sessions: RunSession[];
}

/** A group with its latest run (null before the first). */
export type GroupWithRun = Group & { run: GroupRun | null };

export function toGroup(r: GroupRow, sessionIds: string[]): Group {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    paused: r.paused === 1,
    sessionIds,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toRunSession(r: RunSessionRow): RunSession {
  return {
    sessionId: r.session_id,
    position: r.position,
    ...toJobFields(r),
    updatedAt: r.updated_at,
  };
}

export function toGroupRun(r: GroupRunRow, sessions: RunSession[]): GroupRun {
  return {
    id: r.id,
    groupId: r.group_id,
    prompt: r.prompt,
    images: JSON.parse(r.images) as string[], // CHECK(json array), only ever written by createRun
    model: r.model,
    sandbox: r.sandbox,
    approvalPolicy: r.approval_policy,
    maxConcurrent: r.max_concurrent,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
    sessions,
  };
}
