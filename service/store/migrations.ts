/**
 * The store's forward migrations, in order. Each runs in one transaction with the bump of
 * `PRAGMA user_version`, so a crash leaves the database at the previous version or the next,
 * never between. A migration, once released, is history: never edit it, add the next one.
 */
import type Database from 'better-sqlite3';
import { GROUP_RUN_STATUSES, PROMPT_MODES, PROMPT_STATUSES, QUEUE_STATUSES } from './enums.js';

/** `col IN ('a', 'b')` for a CHECK; the values are our own constants, never user input. */
function sqlIn(col: string, values: readonly string[]): string {
  for (const v of values)
    if (!/^[a-z_-]+$/.test(v)) throw new Error(`enum value not safe in SQL: ${v}`);
  return `${col} IN (${values.map((v) => `'${v}'`).join(', ')})`;
}

export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'queues and prompts',
    up(db) {
      // model/sandbox/approval_policy are passed to the app-server as given: the API schema checks
      // them, not a CHECK here, so a newer codex's values need no migration.
      db.exec(`
CREATE TABLE queues (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  cwd TEXT,
  thread_id TEXT,
  status TEXT NOT NULL DEFAULT 'idle' CHECK (${sqlIn('status', QUEUE_STATUSES)}),
  model TEXT,
  sandbox TEXT,
  approval_policy TEXT,
  max_retries INTEGER NOT NULL DEFAULT 0 CHECK (max_retries >= 0),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  CHECK (cwd IS NOT NULL OR thread_id IS NOT NULL)
) STRICT;
CREATE TABLE prompts (
  id TEXT PRIMARY KEY,
  queue_id TEXT NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  text TEXT NOT NULL,
  images TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(images) AND json_type(images) = 'array'),
  mode TEXT NOT NULL DEFAULT 'auto' CHECK (${sqlIn('mode', PROMPT_MODES)}),
  status TEXT NOT NULL DEFAULT 'pending' CHECK (${sqlIn('status', PROMPT_STATUSES)}),
  turn_id TEXT,
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  result TEXT CHECK (result IS NULL OR json_valid(result)),
  error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  -- the crash rule: a prompt that counts as started names its turn
  CHECK (status <> 'running' OR turn_id IS NOT NULL)
) STRICT;
-- Unique: the order of a queue is never ambiguous (a move goes through a free position).
CREATE UNIQUE INDEX prompts_queue_position ON prompts(queue_id, position);
CREATE INDEX prompts_status ON prompts(status);
`);
    },
  },
  {
    version: 2,
    name: 'go-ahead of manual prompts; groups and their runs',
    up(db) {
      // A group's sessions are app-server thread ids, not rows of ours: no foreign key to them.
      // group_run_sessions carries the same turn-job columns and crash rule as prompts.
      db.exec(`
ALTER TABLE prompts ADD COLUMN go_ahead_at INTEGER;
CREATE TABLE groups (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT,
  paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE group_sessions (
  group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  session_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  added_at INTEGER NOT NULL,
  PRIMARY KEY (group_id, session_id)
) STRICT;
CREATE TABLE group_runs (
  id TEXT PRIMARY KEY,
  group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  prompt TEXT NOT NULL,
  images TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(images) AND json_type(images) = 'array'),
  model TEXT,
  sandbox TEXT,
  approval_policy TEXT,
  max_concurrent INTEGER NOT NULL CHECK (max_concurrent BETWEEN 1 AND 64),
  status TEXT NOT NULL DEFAULT 'running' CHECK (${sqlIn('status', GROUP_RUN_STATUSES)}),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER
) STRICT;
CREATE INDEX group_runs_group_created ON group_runs(group_id, created_at);
CREATE TABLE group_run_sessions (
  run_id TEXT NOT NULL REFERENCES group_runs(id) ON DELETE CASCADE,
  session_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (${sqlIn('status', PROMPT_STATUSES)}),
  turn_id TEXT,
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  result TEXT CHECK (result IS NULL OR json_valid(result)),
  error TEXT,
  updated_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  PRIMARY KEY (run_id, session_id),
  CHECK (status <> 'running' OR turn_id IS NOT NULL)
) STRICT;
`);
    },
  },
  {
    version: 3,
    name: 'scoped tokens',
    up(db) {
      // Only a SHA-256 of the secret is kept: the secret is 256 random bits, so a plain hash is
      // as good as a slow one and lets every request check it cheaply.
      db.exec(`
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL,
  scopes TEXT NOT NULL CHECK (json_valid(scopes) AND json_type(scopes) = 'array'),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  last_used_at INTEGER
) STRICT;
`);
    },
  },
  {
    version: 4,
    name: 'webhook outbox',
    up(db) {
      // One row per event and target, committed before any delivery is tried: a crash between
      // the event and its delivery leaves the row pending, and the next start sends it.
      // seq orders a target's events (each target is delivered in order).
      db.exec(`
CREATE TABLE webhook_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL,
  target TEXT NOT NULL,
  type TEXT NOT NULL,
  event TEXT NOT NULL CHECK (json_valid(event)),
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error TEXT,
  created_at INTEGER NOT NULL,
  next_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (event_id, target)
) STRICT;
CREATE INDEX webhook_outbox_target_pending ON webhook_outbox(target, status, seq);
`);
    },
  },
  {
    version: 5,
    name: 'browser sessions',
    up(db) {
      // A dashboard login is a token of its own (kind 'browser'), so scopes, expiry, revocation
      // and audit lines apply to it unchanged. parent_id names the scoped token it was logged in
      // with (NULL: the owner's), so revoking or rotating that token revokes its sessions too.
      db.exec(`
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'token' CHECK (kind IN ('token', 'browser'));
ALTER TABLE tokens ADD COLUMN parent_id TEXT;
CREATE INDEX tokens_parent ON tokens(parent_id) WHERE parent_id IS NOT NULL;
`);
    },
  },
];
