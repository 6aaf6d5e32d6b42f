/** Index rows → the API's session objects (codex-agent's field names), and list cursors. Pure. */
import type { SessionRow } from './db.js';
import type { SessionJson } from './session-json.js';
import { titleFrom } from './rollout.js';

export type { SessionJson };

/**
 * Epoch milliseconds as the API's ISO 8601 string (null, or not a time, is null). The first
 * overload is for the store's times: INTEGER columns, never null or NaN, which the type checker
 * cannot see.
 */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null || !Number.isFinite(ms) ? null : new Date(ms).toISOString();
}

export function sessionJson(
  r: SessionRow,
  live?: { status?: string; activeTurnId?: string | null },
): SessionJson {
  const first = r.first_user_message;
  const out: SessionJson = {
    id: r.id,
    rolloutPath: r.rollout_path,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    source: r.source,
    originator: r.originator,
    modelProvider: r.model_provider,
    cwd: r.cwd,
    cliVersion: r.cli_version,
    title: r.name ?? (first ? titleFrom(first) : null),
    name: r.name,
    firstUserMessage: first,
    archived: r.archived === 1,
    archivedAt: iso(r.archived_at),
    git:
      r.git_sha || r.git_branch || r.git_origin_url
        ? { sha: r.git_sha, branch: r.git_branch, originUrl: r.git_origin_url }
        : null,
    forkedFromId: r.forked_from_id,
    messageCount: r.message_count,
    sizeBytes: r.size_bytes,
  };
  if (live?.status) out.status = live.status;
  if (live?.activeTurnId !== undefined) out.activeTurnId = live.activeTurnId;
  return out;
}

export interface Cursor {
  /** sort value (ms) and id of the last row of the previous page */
  v: number;
  id: string;
  /** rows before the next page (for the `offset` field of the answer) */
  n: number;
  s: 'created' | 'updated';
  o: 'asc' | 'desc';
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** undefined for anything that is not a cursor we made (or one for another sort order). */
export function decodeCursor(s: string, sort: Cursor['s'], order: Cursor['o']): Cursor | undefined {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Partial<Cursor>;
    // A hand-made cursor must not put a negative or fractional offset into the answer.
    if (
      typeof c.v !== 'number' ||
      !Number.isFinite(c.v) ||
      typeof c.id !== 'string' ||
      typeof c.n !== 'number' ||
      !Number.isSafeInteger(c.n) ||
      c.n < 0 ||
      c.s !== sort ||
      c.o !== order
    )
      return undefined;
    return c as Cursor;
  } catch {
    return undefined;
  }
}

/** ±radius characters of context around the first match. */
export function snippet(text: string, needle: string, caseSensitive: boolean, radius = 80): string {
  const at = caseSensitive
    ? text.indexOf(needle)
    : text.toLowerCase().indexOf(needle.toLowerCase());
  if (at < 0) return text.slice(0, radius * 2);
  const start = Math.max(0, at - radius);
  const end = Math.min(text.length, at + needle.length + radius);
  return (
    (start > 0 ? '…' : '') +
    text.slice(start, end).replace(/\s+/g, ' ') +
    (end < text.length ? '…' : '')
  );
}
