/**
 * The session index in SQLite (better-sqlite3, synchronous: every call is a few hundred µs at
 * most, and a synchronous API keeps the incremental bookkeeping free of interleavings).
 *
 * Tables: `files` (what was read of each rollout: size, mtime, inode, offset — so a restart or an
 * append costs work proportional to the change), `sessions` (one row per thread), `messages`
 * (user/assistant text for full-text search), `names` (thread names from session_index.jsonl
 * and thread/name/updated).
 */
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { MessageRole, SessionMeta } from './rollout.js';
import {
  META_COLS,
  ROLE_CODE,
  SCHEMA,
  SCHEMA_VERSION,
  SESSION_COLS,
  type FileRecord,
  type ListQuery,
  type MessageHit,
  type SessionPatch,
  type SessionRow,
} from './db-schema.js';
import { MessageScan } from './message-scan.js';
import { openSqlite } from '../sqlite.js';

export {
  ROLE_NAME,
  SCHEMA_VERSION,
  type FileRecord,
  type ListQuery,
  type MessageHit,
  type SessionPatch,
  type SessionRow,
} from './db-schema.js';

export class IndexDb {
  readonly db: Database.Database;
  private readonly stmts;
  private readonly scan: MessageScan;

  constructor(file: string, codexHome: string) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.db = openSqlite(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL'); // an index can be rebuilt: durability of the last ms is not worth an fsync per batch
    this.db.pragma('cache_size = -65536'); // 64 MB: a 10k-session index fits, so a cold build does not spill pages mid-transaction
    const version = this.db.pragma('user_version', { simple: true }) as number;
    const home = this.tableExists('meta') ? this.getMeta('codexHome') : undefined;
    if (version !== SCHEMA_VERSION || (home !== undefined && home !== codexHome)) this.reset();
    this.db.exec(SCHEMA);
    this.setMeta('codexHome', codexHome);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    const d = this.db;
    this.scan = new MessageScan(d);
    this.stmts = {
      getFile: d.prepare<
        [string],
        {
          path: string;
          session_id: string | null;
          size: number;
          mtime_ms: number;
          ino: number;
          offset: number;
        }
      >('SELECT * FROM files WHERE path = ?'),
      filesByIno: d.prepare<
        [number],
        {
          path: string;
          session_id: string | null;
          size: number;
          mtime_ms: number;
          ino: number;
          offset: number;
        }
      >('SELECT * FROM files WHERE ino = ?'),
      putFile: d.prepare(
        'INSERT OR REPLACE INTO files (path, session_id, size, mtime_ms, ino, offset) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      delFile: d.prepare('DELETE FROM files WHERE path = ?'),
      allFilePaths: d.prepare<[], string>('SELECT path FROM files').pluck(),
      filesOfSession: d
        .prepare<[string], number>('SELECT count(*) FROM files WHERE session_id = ?')
        .pluck(),
      getSession: d.prepare<[string], SessionRow>(
        `SELECT ${SESSION_COLS} FROM sessions s LEFT JOIN names n ON n.id = s.id WHERE s.id = ?`,
      ),
      resetSession: d.prepare(
        'UPDATE sessions SET has_meta = 0, first_user_message = NULL, message_count = 0, size_bytes = 0 WHERE id = ?',
      ),
      delSession: d.prepare('DELETE FROM sessions WHERE id = ?'),
      delMessages: d.prepare('DELETE FROM messages WHERE session_id = ?'),
      addMessage: d.prepare(
        'INSERT INTO messages (session_id, role, ts, offset, len, text) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      upsert:
        d.prepare(`INSERT INTO sessions (id, rollout_path, created_at, updated_at, source, originator, model_provider, cwd,
          cli_version, first_user_message, archived, archived_at, git_sha, git_branch, git_origin_url, forked_from_id, message_count,
          size_bytes, has_meta) VALUES (@id, @path, @createdAt, @updatedAt, @source, @originator, @modelProvider, @cwd, @cliVersion,
          @firstUser, @archived, @archivedAt, @gitSha, @gitBranch, @gitOrigin, @forkedFrom, @messages, @size, @hasMeta)
        ON CONFLICT(id) DO UPDATE SET rollout_path = coalesce(excluded.rollout_path, rollout_path), archived = excluded.archived,
          archived_at = excluded.archived_at, updated_at = max(updated_at, excluded.updated_at), size_bytes = excluded.size_bytes,
          message_count = message_count + excluded.message_count,
          first_user_message = coalesce(first_user_message, excluded.first_user_message),
          has_meta = max(has_meta, excluded.has_meta),
          ${META_COLS.map((c) => `${c} = CASE WHEN has_meta = 0 AND excluded.has_meta = 1 THEN excluded.${c} ELSE ${c} END`).join(', ')}`),
      putName: d.prepare('INSERT OR REPLACE INTO names (id, name, updated_at) VALUES (?, ?, ?)'),
    };
  }

  private tableExists(name: string): boolean {
    return (
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !==
      undefined
    );
  }

  private reset(): void {
    this.db.exec(
      'DROP TABLE IF EXISTS meta; DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS sessions; DROP TABLE IF EXISTS messages; DROP TABLE IF EXISTS names;',
    );
  }

  getMeta(key: string): string | undefined {
    const r = this.db
      .prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?')
      .get(key);
    return r?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  getFile(p: string): FileRecord | undefined {
    const r = this.stmts.getFile.get(p);
    return (
      r && {
        path: r.path,
        sessionId: r.session_id,
        size: r.size,
        mtimeMs: r.mtime_ms,
        ino: r.ino,
        offset: r.offset,
      }
    );
  }

  filesByIno(ino: number): FileRecord[] {
    return this.stmts.filesByIno.all(ino).map((r) => ({
      path: r.path,
      sessionId: r.session_id,
      size: r.size,
      mtimeMs: r.mtime_ms,
      ino: r.ino,
      offset: r.offset,
    }));
  }

  putFile(f: FileRecord): void {
    this.stmts.putFile.run(f.path, f.sessionId, f.size, f.mtimeMs, f.ino, f.offset);
  }

  allFilePaths(): string[] {
    return this.stmts.allFilePaths.all();
  }

  /** Forget a file; the session goes too when no other file holds it. */
  deleteFile(p: string): string | undefined {
    const f = this.getFile(p);
    this.stmts.delFile.run(p);
    if (f?.sessionId && this.stmts.filesOfSession.get(f.sessionId) === 0) {
      this.stmts.delMessages.run(f.sessionId);
      this.stmts.delSession.run(f.sessionId);
      return f.sessionId;
    }
    return undefined;
  }

  /** One statement per file read, whatever it added (a cold index runs this 10k times). */
  upsert(p: SessionPatch): void {
    const m = p.meta;
    this.stmts.upsert.run({
      id: p.id,
      path: p.path,
      createdAt: m?.createdAt ?? p.createdAt,
      updatedAt: p.updatedAt,
      source: m?.source ?? null,
      originator: m?.originator ?? null,
      modelProvider: m?.modelProvider ?? null,
      cwd: m?.cwd ?? null,
      cliVersion: m?.cliVersion ?? null,
      firstUser: p.firstUser,
      archived: p.archivedAt === null ? 0 : 1,
      archivedAt: p.archivedAt,
      gitSha: m?.git?.sha ?? null,
      gitBranch: m?.git?.branch ?? null,
      gitOrigin: m?.git?.originUrl ?? null,
      forkedFrom: m?.forkedFromId ?? null,
      messages: p.messages,
      size: p.size,
      hasMeta: m ? 1 : 0,
    });
  }

  /** Meta from the app-server (thread/start) for a session whose file has not been read: the file still wins later. */
  applyMetaSoft(id: string, m: SessionMeta): void {
    this.db
      .prepare(
        `UPDATE sessions SET created_at = ?, source = ?, originator = ?, model_provider = ?, cwd = ?, cli_version = ?,
        git_sha = ?, git_branch = ?, git_origin_url = ?, forked_from_id = ? WHERE id = ? AND has_meta = 0`,
      )
      .run(
        m.createdAt,
        m.source,
        m.originator,
        m.modelProvider,
        m.cwd,
        m.cliVersion,
        m.git?.sha ?? null,
        m.git?.branch ?? null,
        m.git?.originUrl ?? null,
        m.forkedFromId,
        id,
      );
  }

  /** Sessions recorded from the app-server whose file never appeared (the thread was never used). */
  prunePending(): number {
    return this.db
      .prepare(
        'DELETE FROM sessions WHERE id NOT IN (SELECT session_id FROM files WHERE session_id IS NOT NULL)',
      )
      .run().changes;
  }

  /** Forget what was read from a session's file (it was replaced or truncated). */
  resetSession(id: string): void {
    this.stmts.delMessages.run(id);
    this.stmts.resetSession.run(id);
  }

  /** Message rows only; the count goes into the session with upsert(). */
  addMessages(
    id: string,
    msgs: { role: MessageRole; ts: number | null; offset: number; text: string }[],
  ): void {
    for (const m of msgs)
      this.stmts.addMessage.run(
        id,
        ROLE_CODE[m.role],
        m.ts,
        m.offset,
        Buffer.byteLength(m.text),
        m.text,
      );
  }

  putName(id: string, name: string, updatedAt: number | null): void {
    this.stmts.putName.run(id, name, updatedAt);
  }

  getSession(id: string): SessionRow | undefined {
    return this.stmts.getSession.get(id);
  }

  list(q: ListQuery): { rows: SessionRow[]; total: number } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.archived !== 'all') {
      where.push('s.archived = ?');
      args.push(q.archived ? 1 : 0);
    }
    const eq: [string, string | undefined][] = [
      ['s.source', q.source],
      ['s.cwd', q.cwd],
      ['s.git_branch', q.branch],
    ];
    for (const [col, v] of eq) {
      if (v === undefined) continue;
      where.push(`${col} = ?`);
      args.push(v);
    }
    const col = q.sort === 'updated' ? 's.updated_at' : 's.created_at';
    const dir = q.order === 'asc' ? 'ASC' : 'DESC';
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total =
      this.db
        .prepare<(string | number)[], number>(`SELECT count(*) FROM sessions s ${filter}`)
        .pluck()
        .get(...args) ?? 0;
    const pageWhere = [...where];
    const pageArgs = [...args];
    if (q.after) {
      const cmp = q.order === 'asc' ? '>' : '<';
      pageWhere.push(`(${col} ${cmp} ? OR (${col} = ? AND s.id ${cmp} ?))`);
      pageArgs.push(q.after.value, q.after.value, q.after.id);
    }
    const sql = `SELECT ${SESSION_COLS} FROM sessions s LEFT JOIN names n ON n.id = s.id
      ${pageWhere.length ? `WHERE ${pageWhere.join(' AND ')}` : ''} ORDER BY ${col} ${dir}, s.id ${dir} LIMIT ? OFFSET ?`;
    const rows = this.db
      .prepare<(string | number)[], SessionRow>(sql)
      .all(...pageArgs, q.limit, q.after ? 0 : (q.offset ?? 0));
    return { rows, total };
  }

  count(): { sessions: number; messages: number; files: number } {
    const c = (t: string) =>
      this.db.prepare<[], number>(`SELECT count(*) FROM ${t}`).pluck().get() ?? 0;
    return { sessions: c('sessions'), messages: c('messages'), files: c('files') };
  }

  // The search queries live in MessageScan, shared with the search worker's own connection.
  maxMessageId(): number {
    return this.scan.maxMessageId();
  }

  chunkBytes(lo: number, hi: number): number {
    return this.scan.chunkBytes(lo, hi);
  }

  matchChunk(...a: Parameters<MessageScan['matchChunk']>): MessageHit[] {
    return this.scan.matchChunk(...a);
  }

  sessionMessageRange(id: string): { lo: number; hi: number } {
    return this.scan.sessionMessageRange(id);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
