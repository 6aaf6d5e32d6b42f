/**
 * The read-only queries a full-text search runs over the `messages` table. One copy of the SQL,
 * used both by IndexDb (the service's connection) and by the search worker's own read-only
 * connection (search-worker.ts), so a search answers the same wherever it runs.
 */
import type Database from 'better-sqlite3';
import { ROLE_CODE, type MessageHit } from './db-schema.js';
import type { MessageRole } from './rollout.js';

/** What searchMessages() reads: IndexDb and MessageScan both provide it. */
export interface MessageSource {
  maxMessageId(): number;
  chunkBytes(lo: number, hi: number): number;
  matchChunk(
    lo: number,
    hi: number,
    needle: string,
    caseSensitive: boolean,
    roles: MessageRole[],
    sessionId?: string,
  ): MessageHit[];
  sessionMessageRange(id: string): { lo: number; hi: number };
}

export class MessageScan implements MessageSource {
  private readonly stmts;

  constructor(private readonly db: Database.Database) {
    this.stmts = {
      maxMessageId: db.prepare<[], number | null>('SELECT max(id) FROM messages').pluck(),
      chunkBytes: db
        .prepare<[number, number], number>(
          'SELECT total(len) FROM messages WHERE id > ? AND id <= ?',
        )
        .pluck(),
      sessionRange: db.prepare<[string], { lo: number | null; hi: number | null }>(
        'SELECT min(id) AS lo, max(id) AS hi FROM messages WHERE session_id = ?',
      ),
    };
  }

  maxMessageId(): number {
    return this.stmts.maxMessageId.get() ?? 0;
  }

  /** Bytes of message text with lo < id <= hi (what a search chunk costs). */
  chunkBytes(lo: number, hi: number): number {
    return this.stmts.chunkBytes.get(lo, hi) ?? 0;
  }

  /** Matches among messages lo < id <= hi, newest first. */
  matchChunk(
    lo: number,
    hi: number,
    needle: string,
    caseSensitive: boolean,
    roles: MessageRole[],
    sessionId?: string,
  ): MessageHit[] {
    const cond = caseSensitive ? 'instr(text, ?) > 0' : "text LIKE ? ESCAPE '\\'";
    const arg = caseSensitive ? needle : `%${needle.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
    const roleCond = roles.length === 2 ? '' : `AND role = ${ROLE_CODE[roles[0] as MessageRole]}`;
    const sess = sessionId ? 'AND session_id = ?' : '';
    const sql = `SELECT id, session_id, role, ts, offset, text FROM messages WHERE id > ? AND id <= ? ${roleCond} ${sess} AND ${cond} ORDER BY id DESC`;
    const params: (string | number)[] = [lo, hi];
    if (sessionId) params.push(sessionId);
    params.push(arg);
    return this.db.prepare<(string | number)[], MessageHit>(sql).all(...params);
  }

  /** Message id range of one session (an in-session search scans only that). */
  sessionMessageRange(id: string): { lo: number; hi: number } {
    const r = this.stmts.sessionRange.get(id);
    return { lo: (r?.lo ?? 1) - 1, hi: r?.hi ?? 0 };
  }
}
