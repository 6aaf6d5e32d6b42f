/**
 * The store's forward migrations, in order. Each runs in one transaction with the bump of
 * `PRAGMA user_version`, so a crash leaves the database at the previous version or the next,
 * never between. A migration, once released, is history: never edit it, add the next one.
 */
import type Database from 'better-sqlite3';
import { PROMPT_MODES, PROMPT_STATUSES, QUEUE_STATUSES, sqlIn } from './queue-schema.js';

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
];
