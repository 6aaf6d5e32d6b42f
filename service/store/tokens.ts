/**
 * Scoped tokens at rest: name, scopes, expiry, revocation, last use, and a SHA-256 of the
 * secret — never the secret. A token is `<id>.<secret>`; the id names it in lists, logs and
 * `token revoke`, the secret is shown once, at creation or rotation. A dashboard login is a
 * token too (kind `browser`, its secret only ever in an HttpOnly cookie), tied to the token it
 * was logged in with: revoking or rotating that one revokes it; one logged in with the owner's
 * token is tied to that token's fingerprint (`owner:<hash prefix>`), and ends when it changes.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Scope } from '../auth/scopes.js';
import { StoreRepo } from './repo.js';

/** A browser session's parent when it was logged in with the owner's token: `owner:<fingerprint>`. */
export const OWNER_PARENT_PREFIX = 'owner:';

/** `token`: made by `token create`; `browser`: a dashboard login's session (the cookie). */
export type TokenKind = 'token' | 'browser';

export interface TokenInfo {
  id: string;
  name: string;
  kind: TokenKind;
  /**
   * What a browser session was logged in with: a scoped token's id, or `owner:<fingerprint>` of
   * the owner's token (auth.ts ownerFingerprint); null: not a session (or a session from before
   * sessions were tied to the owner's token, which is refused).
   */
  parentId: string | null;
  scopes: Scope[];
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

interface TokenRow {
  id: string;
  name: string;
  secret_sha256: string;
  scopes: string;
  kind: string;
  parent_id: string | null;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

/** How a secret is kept: its SHA-256 in hex (tokens here, one-time login codes in auth/). */
export const secretHash = (s: string): string => createHash('sha256').update(s).digest('hex');

function toInfo(r: TokenRow): TokenInfo {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind === 'browser' ? 'browser' : 'token', // CHECK(kind IN ...)
    parentId: r.parent_id,
    scopes: JSON.parse(r.scopes) as Scope[], // CHECK(json array); written only by create()
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
  };
}

/** `<id>.<secret>` → its parts, or undefined for anything else (the owner token, garbage). */
export function splitToken(token: string): { id: string; secret: string } | undefined {
  const m = /^(cst_[0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { id: m[1] as string, secret: m[2] as string } : undefined;
}

/** How often a token's `last used` is written at most (a write per request would be waste). */
const LAST_USED_EVERY_MS = 60_000;

export class TokenRepo extends StoreRepo {
  /** A new token; the returned secret is the only copy there will ever be. */
  create(t: {
    name: string;
    scopes: Scope[];
    expiresAt: number | null;
    kind?: TokenKind;
    parentId?: string | null;
  }): {
    info: TokenInfo;
    token: string;
  } {
    const id = `cst_${randomBytes(8).toString('hex')}`;
    const secret = randomBytes(32).toString('base64url');
    const now = this.now();
    this.store.transaction(() =>
      this.insertRow('tokens', {
        id,
        name: t.name,
        secret_sha256: secretHash(secret),
        scopes: JSON.stringify(t.scopes),
        kind: t.kind ?? 'token',
        parent_id: t.parentId ?? null,
        created_at: now,
        updated_at: now,
        expires_at: t.expiresAt,
        revoked_at: null,
        last_used_at: null,
      }),
    );
    return { info: this.mustGet(id), token: `${id}.${secret}` };
  }

  /** A new secret for the same token (the old one stops working at once); undefined: no such live token. */
  rotate(id: string): { info: TokenInfo; token: string } | undefined {
    const secret = randomBytes(32).toString('base64url');
    const cur = this.get(id);
    if (!cur || cur.revokedAt !== null) return undefined;
    this.updateRow('tokens', id, { secret_sha256: secretHash(secret) });
    return { info: this.mustGet(id), token: `${id}.${secret}` };
  }

  revoke(id: string): TokenInfo | undefined {
    const cur = this.get(id);
    if (!cur) return undefined;
    if (cur.revokedAt === null) this.updateRow('tokens', id, { revoked_at: this.now() });
    return this.get(id);
  }

  /** Revoke the live browser sessions logged in with this token; their ids (to cut their streams). */
  revokeSessionsOf(parentId: string): string[] {
    const now = this.now();
    return this.store.transaction(() =>
      this.db
        .prepare<[number, number, string], { id: string }>(
          `UPDATE tokens SET revoked_at = ?, updated_at = ?
           WHERE parent_id = ? AND kind = 'browser' AND revoked_at IS NULL RETURNING id`,
        )
        .all(now, now, parentId)
        .map((r) => r.id),
    );
  }

  /**
   * Revoke the live browser sessions of `parentId` but the newest `keep` (the oldest go first);
   * their ids. Every login makes one: this keeps what a leaked token can have logged in bounded.
   */
  revokeSessionsBeyond(parentId: string, keep: number): string[] {
    const now = this.now();
    return this.store.transaction(() =>
      this.db
        .prepare<[number, number, string, number, number], { id: string }>(
          `UPDATE tokens SET revoked_at = ?, updated_at = ? WHERE id IN (
             SELECT id FROM tokens
             WHERE kind = 'browser' AND parent_id = ? AND revoked_at IS NULL
               AND (expires_at IS NULL OR expires_at > ?)
             ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)
           RETURNING id`,
        )
        .all(now, now, parentId, now, keep)
        .map((r) => r.id),
    );
  }

  /**
   * Revoke the live browser sessions logged in with an owner token whose fingerprint is not
   * `current` (and those with no parent: from before sessions were tied to it); their ids.
   */
  revokeOwnerSessionsExcept(current: string): string[] {
    const now = this.now();
    return this.store.transaction(() =>
      this.db
        .prepare<[number, number, string, string], { id: string }>(
          `UPDATE tokens SET revoked_at = ?, updated_at = ?
           WHERE kind = 'browser' AND revoked_at IS NULL
             AND (parent_id IS NULL OR (parent_id LIKE ? AND parent_id <> ?))
           RETURNING id`,
        )
        .all(now, now, `${OWNER_PARENT_PREFIX}%`, current)
        .map((r) => r.id),
    );
  }

  /**
   * Forget browser sessions that ended (expired or revoked) over `keepMs` ago: every login adds
   * one, and a dead one is only worth keeping for a while in `token list`.
   */
  pruneSessions(keepMs: number): number {
    const before = this.now() - keepMs;
    return this.store.transaction(
      () =>
        this.db
          .prepare(
            `DELETE FROM tokens WHERE kind = 'browser'
             AND (revoked_at < ? OR (expires_at IS NOT NULL AND expires_at < ?))`,
          )
          .run(before, before).changes,
    );
  }

  get(id: string): TokenInfo | undefined {
    const row = this.db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE id = ?').get(id);
    return row && toInfo(row);
  }

  list(): TokenInfo[] {
    return this.db
      .prepare<[], TokenRow>('SELECT * FROM tokens ORDER BY created_at, id')
      .all()
      .map(toInfo);
  }

  /**
   * The live token this bearer string is, or why not. The hash is compared in constant time;
   * `last used` is written at most once a minute per token.
   */
  verify(token: string): { info: TokenInfo } | { refused: 'unknown' | 'revoked' | 'expired' } {
    const parts = splitToken(token);
    const row =
      parts &&
      this.db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE id = ?').get(parts.id);
    if (!parts || !row) return { refused: 'unknown' };
    const want = Buffer.from(row.secret_sha256, 'hex');
    if (!timingSafeEqual(want, Buffer.from(secretHash(parts.secret), 'hex')))
      return { refused: 'unknown' };
    if (row.revoked_at !== null) return { refused: 'revoked' };
    const now = this.now();
    if (row.expires_at !== null && row.expires_at <= now) return { refused: 'expired' };
    if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_EVERY_MS) {
      this.store.transaction(() =>
        this.db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ?').run(now, row.id),
      );
      row.last_used_at = now;
    }
    return { info: toInfo(row) };
  }

  private mustGet(id: string): TokenInfo {
    const t = this.get(id);
    if (!t) throw new Error(`token ${id} vanished`);
    return t;
  }
}
