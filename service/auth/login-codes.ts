/**
 * One-time login codes for the dashboard (`codex-sm open`): short-lived, used once, kept only
 * as a SHA-256 and only in memory (a restart forgets them: the user runs `open` again), and at
 * most `max` pending (the oldest goes first), so nothing a caller does grows memory.
 */
import { randomBytes } from 'node:crypto';
import { secretHash } from '../store/tokens.js';
import type { Scope } from './scopes.js';

/** How long a code may wait to be used: enough to scan a QR code, not to be worth stealing. */
export const LOGIN_CODE_TTL_MS = 120_000;
const MAX_PENDING_CODES = 32;

/** What logging in with a code grants: the scopes of the token that asked for it. */
export interface CodeGrant {
  scopes: Scope[];
  /**
   * What the session it becomes is tied to: the scoped token that asked, or the fingerprint of
   * the owner's token (`owner:…`); null only where no owner fingerprint was known (refused).
   */
  parentId: string | null;
  /** The asking token's own expiry: a session never outlives what it came from. */
  notAfter: number | null;
}

export class LoginCodes {
  /** By the code's hash; a Map keeps insertion order, so the first key is the oldest. */
  private readonly pending = new Map<string, CodeGrant & { expiresAt: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly ttlMs = LOGIN_CODE_TTL_MS,
    private readonly max = MAX_PENDING_CODES,
  ) {}

  /** A new code (128 random bits, URL-safe); the caller hands it out, nothing here keeps it. */
  issue(grant: CodeGrant): { code: string; expiresAt: number } {
    this.sweep();
    while (this.pending.size >= this.max) this.pending.delete(this.pending.keys().next().value!);
    const code = randomBytes(16).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.pending.set(secretHash(code), { ...grant, expiresAt });
    return { code, expiresAt };
  }

  /** The grant behind a code, which is used up by this call; or why not. */
  redeem(code: string): CodeGrant | { refused: 'unknown' | 'expired' } {
    const key = secretHash(code);
    const found = this.pending.get(key);
    if (!found) return { refused: 'unknown' };
    this.pending.delete(key);
    if (found.expiresAt <= this.now()) return { refused: 'expired' };
    const { expiresAt: _, ...grant } = found;
    return grant;
  }

  get size(): number {
    this.sweep();
    return this.pending.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, c] of this.pending) if (c.expiresAt <= now) this.pending.delete(key);
  }
}
