/**
 * Full-text search over indexed user/assistant messages, newest first, bounded: it stops at the
 * byte budget, the time budget, or once `limit` sessions have matched — and says so
 * (`truncated`), so a caller knows an empty answer from an unfinished one.
 *
 * Synchronous by design (SQLite through better-sqlite3): the service never calls it on its main
 * thread but in a worker (search-pool.ts), so a long scan cannot stall `/healthz` or the watchdog.
 */
import { ROLE_NAME, type MessageHit } from './db-schema.js';
import type { MessageSource } from './message-scan.js';
import type { MessageRole } from './rollout.js';
import { snippet } from './view.js';

export interface SearchOptions {
  q: string;
  role: MessageRole | 'both';
  caseSensitive: boolean;
  limit: number;
  maxBytes: number;
  timeoutMs: number;
  sessionId?: string;
  /** Matches reported per session. */
  perSession?: number;
}

export interface SearchMatch {
  role: MessageRole;
  timestamp: string | null;
  offset: number;
  snippet: string;
}

export interface SearchOutcome {
  hits: { sessionId: string; matches: SearchMatch[] }[];
  truncated: boolean;
  scannedBytes: number;
  elapsedMs: number;
}

const CHUNK_ROWS = 4000;

export function searchMessages(db: MessageSource, o: SearchOptions): SearchOutcome {
  const t0 = performance.now();
  const roles: MessageRole[] = o.role === 'both' ? ['user', 'assistant'] : [o.role];
  const per = o.perSession ?? 3;
  const bySession = new Map<string, SearchMatch[]>();
  const range = o.sessionId
    ? db.sessionMessageRange(o.sessionId)
    : { lo: 0, hi: db.maxMessageId() };
  let hi = range.hi;
  let scanned = 0;
  let truncated = false;
  while (hi > range.lo) {
    if (scanned >= o.maxBytes || performance.now() - t0 > o.timeoutMs) {
      truncated = true;
      break;
    }
    const lo = Math.max(range.lo, hi - CHUNK_ROWS);
    scanned += db.chunkBytes(lo, hi);
    const rows: MessageHit[] = db.matchChunk(lo, hi, o.q, o.caseSensitive, roles, o.sessionId);
    for (const r of rows) {
      let list = bySession.get(r.session_id);
      if (!list) {
        if (bySession.size >= o.limit) {
          truncated = true;
          continue;
        }
        bySession.set(r.session_id, (list = []));
      }
      if (list.length < per) {
        list.push({
          role: ROLE_NAME[r.role] ?? 'user',
          timestamp: r.ts === null ? null : new Date(r.ts).toISOString(),
          offset: r.offset,
          snippet: snippet(r.text, o.q, o.caseSensitive),
        });
      }
    }
    if (truncated) break;
    hi = lo;
  }
  return {
    hits: [...bySession].map(([sessionId, matches]) => ({ sessionId, matches })),
    truncated,
    scannedBytes: scanned,
    elapsedMs: Math.round((performance.now() - t0) * 10) / 10,
  };
}
