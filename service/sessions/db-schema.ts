/**
 * The session index's SQLite schema and row shapes (db.ts runs the statements). Bump
 * SCHEMA_VERSION when the schema or what is extracted changes: the index is then rebuilt once.
 */
import type { MessageRole, SessionMeta } from './rollout.js';

export const SCHEMA_VERSION = 3;

export interface FileRecord {
  path: string;
  sessionId: string | null;
  size: number;
  mtimeMs: number;
  ino: number;
  offset: number;
}

export interface SessionRow {
  id: string;
  rollout_path: string | null;
  created_at: number;
  updated_at: number;
  source: string | null;
  originator: string | null;
  model_provider: string | null;
  cwd: string | null;
  cli_version: string | null;
  first_user_message: string | null;
  archived: number;
  archived_at: number | null;
  git_sha: string | null;
  git_branch: string | null;
  git_origin_url: string | null;
  forked_from_id: string | null;
  message_count: number;
  size_bytes: number;
  has_meta: number;
  name: string | null;
}

export interface ListQuery {
  source?: string;
  cwd?: string;
  branch?: string;
  archived?: boolean | 'all';
  sort: 'created' | 'updated';
  order: 'asc' | 'desc';
  limit: number;
  offset?: number;
  after?: { value: number; id: string };
}

export interface MessageHit {
  id: number;
  session_id: string;
  role: number;
  ts: number | null;
  offset: number;
  text: string;
}

export const ROLE_CODE: Record<MessageRole, number> = { user: 0, assistant: 1 };
export const ROLE_NAME = ['user', 'assistant'] as const;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (
  path TEXT PRIMARY KEY, session_id TEXT, size INTEGER NOT NULL, mtime_ms REAL NOT NULL,
  ino INTEGER NOT NULL, offset INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS files_ino ON files(ino);
CREATE INDEX IF NOT EXISTS files_session ON files(session_id);
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY, rollout_path TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  source TEXT, originator TEXT, model_provider TEXT, cwd TEXT, cli_version TEXT,
  first_user_message TEXT, archived INTEGER NOT NULL DEFAULT 0, archived_at INTEGER,
  git_sha TEXT, git_branch TEXT, git_origin_url TEXT, forked_from_id TEXT,
  message_count INTEGER NOT NULL DEFAULT 0, size_bytes INTEGER NOT NULL DEFAULT 0,
  has_meta INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS sessions_created ON sessions(archived, created_at, id);
CREATE INDEX IF NOT EXISTS sessions_updated ON sessions(archived, updated_at, id);
CREATE INDEX IF NOT EXISTS sessions_cwd ON sessions(cwd);
CREATE INDEX IF NOT EXISTS sessions_branch ON sessions(git_branch);
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY, session_id TEXT NOT NULL, role INTEGER NOT NULL, ts INTEGER,
  offset INTEGER NOT NULL, len INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS messages_session ON messages(session_id, id);
CREATE TABLE IF NOT EXISTS names (id TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at INTEGER);
`;

export const SESSION_COLS = `s.*, n.name AS name`;
/** Taken from the first session_meta only (a fork's file may repeat its parent's). */
export const META_COLS = [
  'created_at',
  'source',
  'originator',
  'model_provider',
  'cwd',
  'cli_version',
  'git_sha',
  'git_branch',
  'git_origin_url',
  'forked_from_id',
];

/** What reading (part of) one rollout file adds to its session. */
export interface SessionPatch {
  id: string;
  path: string | null;
  /** Used only when the session is new or had no meta yet. */
  createdAt: number;
  updatedAt: number;
  meta: SessionMeta | null;
  firstUser: string | null;
  archivedAt: number | null;
  messages: number;
  size: number;
}
