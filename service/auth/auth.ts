/**
 * Who is asking, and may they: the owner's token (the token file: every scope) or a scoped
 * token from the store, in the Authorization header or — for the dashboard, when there is no
 * such header — a browser session's token in its cookie (whose state-changing requests must
 * come from our own origin); failures rate-limited per peer; every refusal and every use that
 * changes something written to the journal as an `audit` line (token id, never a secret);
 * and the sockets each scoped token holds open, so that revoking or rotating it ends its
 * WebSocket and SSE streams at once.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type Koa from 'koa';
import type { Logger } from 'pino';
import { tokensEqual } from '../../src/token.js';
import { bearerToken, errorBody } from '../http.js';
import { OWNER_PARENT_PREFIX, type TokenInfo, type TokenRepo } from '../store/tokens.js';
import {
  changesState,
  clearedSessionCookie,
  readCookies,
  sameOrigin,
  sessionCookieName,
} from './cookies.js';
import { allows, isPublic, requiredScope, SCOPES, type Need, type Scope } from './scopes.js';

/** How the credential came: the Authorization header, or the dashboard's session cookie. */
export type Via = 'bearer' | 'cookie';

export interface Principal {
  /** `owner` for the token file's token, else the scoped token's id. */
  id: string;
  scopes: ReadonlySet<Scope>;
  via: Via;
  /** The scoped token's record (absent for the owner). */
  token?: TokenInfo;
  /** The owner's: the fingerprint of the token it came with (ownerFingerprint). */
  ownerFingerprint?: string;
}

export type AuthRefusal = {
  status: 401 | 429;
  code: 'unauthorized' | 'rate_limited';
  message: string;
  /** For the audit line: missing, unknown, revoked, expired or rate limited. */
  why: string;
  retryAfterSec?: number;
  /** Set when a session cookie was refused (the answer tells the browser to drop it). */
  via?: Via;
};

const OWNER_ID = 'owner';

/**
 * What a browser session logged in with the owner's token is tied to, as its parent: a hash
 * prefix of that token (64 bits, domain-separated; never the token), so that replacing the
 * token file ends those sessions as revoking a scoped token ends its own.
 */
export function ownerFingerprint(ownerToken: string): string {
  const h = createHash('sha256').update(`codex-sm owner token\0${ownerToken}`).digest('hex');
  return `${OWNER_PARENT_PREFIX}${h.slice(0, 16)}`;
}

export interface AuthOptions {
  ownerToken: () => string;
  tokens: TokenRepo;
  logger: Logger;
  /** Failed attempts a peer may make per window before it is refused with 429. */
  maxFailures?: number;
  windowMs?: number;
}

/**
 * Session cookies of our name tried in one request at most: a browser sends one per matching
 * path, so more than a few means cookies were planted; each try is a lookup, so it is bounded.
 */
const MAX_SESSION_COOKIES = 16;

/** Peers remembered for rate limiting at most (oldest forgotten first): memory stays bounded. */
const MAX_PEERS = 10_000;

export class Authenticator {
  private readonly failures = new Map<string, { count: number; since: number }>();
  private readonly sockets = new Map<string, Set<Socket>>();
  private readonly log: Logger;
  /** The owner token the fingerprint below was computed for (it changes on a reload). */
  private fingerprintOf: string | undefined;
  private fingerprint = '';

  constructor(private readonly o: AuthOptions) {
    this.log = o.logger.child({ component: 'auth' });
  }

  /** The current owner token's fingerprint (computed again only when the token changed). */
  currentOwnerFingerprint(): string {
    const token = this.o.ownerToken();
    if (token !== this.fingerprintOf) {
      this.fingerprint = ownerFingerprint(token);
      this.fingerprintOf = token;
    }
    return this.fingerprint;
  }

  /**
   * Whether a browser session's tie still holds as far as the owner is concerned: one made from
   * the owner's token only while that token is current. (A session from before sessions were
   * tied to it has no parent at all: it is treated as made from an earlier owner token.)
   */
  private ownerTieHolds(t: TokenInfo): boolean {
    if (t.kind !== 'browser') return true;
    if (t.parentId !== null && !t.parentId.startsWith(OWNER_PARENT_PREFIX)) return true;
    return t.parentId === this.currentOwnerFingerprint();
  }

  /**
   * The principal behind an Authorization header, or the refusal to send. A right token always
   * passes: the limit slows down guessing (and keeps a local script with a stale token from
   * flooding the journal) without locking out the other clients of the same address.
   */
  authenticate(authorization: string | undefined, peer: string): Principal | AuthRefusal {
    const given = bearerToken(authorization);
    if (given === undefined) return this.refuse(peer, 'missing', 'missing bearer token');
    const p = this.principal(given);
    if ('why' in p) return this.refuse(peer, p.why, 'wrong, revoked or expired token');
    return p;
  }

  /**
   * The principal behind a request's headers: the Authorization header when there is one
   * (a bearer always wins), else — where `cookie` allows it — the session cookie of this
   * listener's name (`tls`: cookies.ts), which only a browser session's token may fill (a
   * long-lived token pasted into a cookie is refused). When the header carries the name more
   * than once — another server on this host may have planted one, say with `Path=/api`, which
   * the browser then sends first — each is tried: a planted one cannot lock the user out.
   * The request counts as one failure however many were tried.
   */
  authenticateRequest(
    headers: IncomingHttpHeaders,
    peer: string,
    opts: { cookie: boolean; tls: boolean },
  ): Principal | AuthRefusal {
    const values = opts.cookie ? readCookies(headers.cookie, sessionCookieName(opts.tls)) : [];
    if (headers.authorization !== undefined || !values.length)
      return this.authenticate(headers.authorization, peer);
    let why: string | undefined;
    for (const value of values.slice(0, MAX_SESSION_COOKIES)) {
      const p = this.principal(value, 'cookie');
      if (!('why' in p) && p.token?.kind === 'browser') return { ...p, via: 'cookie' };
      why ??= 'why' in p ? `${p.why} session` : 'not a session';
    }
    return {
      ...this.refuse(peer, why ?? 'unknown session', 'the session ended: log in again'),
      via: 'cookie',
    };
  }

  /**
   * The live browser sessions whose secrets this request's cookie holds (the listener's name:
   * `tls`). Nothing is counted as a failure: a login asks this to end the session it replaces.
   */
  sessionsInCookie(headers: IncomingHttpHeaders, tls: boolean): string[] {
    const ids = new Set<string>();
    for (const value of readCookies(headers.cookie, sessionCookieName(tls)).slice(
      0,
      MAX_SESSION_COOKIES,
    )) {
      const p = this.principal(value, 'cookie');
      if (!('why' in p) && p.token?.kind === 'browser') ids.add(p.id);
    }
    return [...ids];
  }

  /**
   * The owner or the live scoped token this string is, or why not. A browser session's secret
   * counts only when it came in the cookie (`via`): its cookie is HttpOnly, so no page script
   * can have read it, and a secret that turns up anywhere else — an Authorization header, a
   * login body — was taken from where it should not have been.
   */
  principal(given: string, via: Via = 'bearer'): Principal | { why: string } {
    if (tokensEqual(given, this.o.ownerToken()))
      return {
        id: OWNER_ID,
        scopes: new Set(SCOPES),
        via,
        ownerFingerprint: this.currentOwnerFingerprint(),
      };
    const v = this.o.tokens.verify(given);
    if ('refused' in v) return { why: v.refused };
    if (v.info.kind === 'browser' && via !== 'cookie') return { why: 'session as bearer' };
    if (!this.ownerTieHolds(v.info)) return { why: 'owner-replaced' };
    return { id: v.info.id, scopes: new Set(v.info.scopes), via, token: v.info };
  }

  /**
   * A credential that did not work (`why`, for the audit line): 401, or 429 once this peer has
   * failed too often in the window. Counts the failure.
   */
  refuse(peer: string, why: string, message: string): AuthRefusal {
    const windowMs = this.o.windowMs ?? 60_000;
    const now = Date.now();
    const f = this.failures.get(peer);
    if (f && now - f.since < windowMs && f.count >= (this.o.maxFailures ?? 10))
      return {
        status: 429,
        code: 'rate_limited',
        message: 'too many failed authentications from this address',
        why: `rate limited (${why})`,
        retryAfterSec: Math.ceil((f.since + windowMs - now) / 1000),
      };
    this.fail(peer, now, windowMs);
    return { status: 401, code: 'unauthorized', message, why };
  }

  private fail(peer: string, now: number, windowMs: number): void {
    const f = this.failures.get(peer);
    if (f && now - f.since < windowMs) f.count++;
    else {
      this.failures.delete(peer);
      if (this.failures.size >= MAX_PEERS)
        this.failures.delete(this.failures.keys().next().value as string);
      this.failures.set(peer, { count: 1, since: now });
    }
  }

  /**
   * Remember a scoped token's long-lived stream (a WebSocket, an SSE response) until it ends:
   * the socket is the stream's alone meanwhile, so cutting it ends nothing else. (A plain
   * request is not tracked: its keep-alive socket may carry another token's next request.)
   */
  track(p: Principal, socket: Socket, ends: EventEmitter = socket): void {
    if (p.id === OWNER_ID) return;
    let set = this.sockets.get(p.id);
    if (!set) this.sockets.set(p.id, (set = new Set()));
    if (set.has(socket)) return;
    set.add(socket);
    const forget = () => {
      set.delete(socket);
      if (!set.size) this.sockets.delete(p.id);
    };
    socket.once('close', forget);
    if (ends !== socket) ends.once('close', forget);
  }

  /** The token was revoked or rotated: end everything it holds open. */
  cut(tokenId: string): number {
    const set = this.sockets.get(tokenId);
    for (const s of set ?? []) s.destroy();
    this.sockets.delete(tokenId);
    return set?.size ?? 0;
  }

  /** Tokens that expired while connected lose their connections too. */
  cutExpired(now = Date.now()): void {
    for (const id of this.sockets.keys()) {
      const t = this.o.tokens.get(id);
      if (!t || t.revokedAt !== null || (t.expiresAt !== null && t.expiresAt <= now)) this.cut(id);
    }
  }

  /**
   * Revoke the browser sessions made from an owner token that is no longer the current one, and
   * end their streams: at start-up, and with each sweep after a reload read a new token file.
   * (They are refused from the moment the token changed: principal().) Their ids.
   */
  revokeStaleOwnerSessions(): string[] {
    const ids = this.o.tokens.revokeOwnerSessionsExcept(this.currentOwnerFingerprint());
    for (const id of ids) this.cut(id);
    if (ids.length) this.audit(undefined, { why: 'owner token replaced', revoked: ids });
    return ids;
  }

  audit(p: Principal | undefined, what: Record<string, unknown>): void {
    this.log.info({ audit: true, token: p?.id ?? null, ...what }, 'audit');
  }
}

export function isRefusal(r: Principal | AuthRefusal): r is AuthRefusal {
  return 'status' in r;
}

export function refusalBody(r: AuthRefusal): object {
  return errorBody(
    r.code,
    r.message,
    r.status === 429
      ? 'wait, then send the right token'
      : r.via === 'cookie'
        ? 'log in again (`codex-sm open`, or paste a token at /ui/)'
        : 'send Authorization: Bearer <token> (see `codex-sm config show`)',
  );
}

/** A cookie-authenticated change (or WebSocket) from a page that is not ours. */
export function originMismatchBody(origin: string | undefined): object {
  return errorBody(
    'origin_mismatch',
    origin
      ? `Origin ${JSON.stringify(origin)} is not this service's own origin`
      : 'a request with the session cookie that may change something needs an Origin header',
    'send it from the dashboard itself, or use Authorization: Bearer <token>',
  );
}

export function forbiddenBody(need: Scope): object {
  return errorBody(
    'forbidden',
    `this token lacks the ${need} scope`,
    'create one that has it: `codex-sm token create --scope …`',
    {
      missingScope: need,
    },
  );
}

/** The scopes behind each upgraded WebSocket's request (for per-message checks on `/ws`). */
export const requestScopes = new WeakMap<IncomingMessage, ReadonlySet<Scope>>();

/**
 * Koa middleware: authenticate (401/429), hold cookie-authenticated changes to our own origin
 * (403), check the route's scope (403), and audit refusals and every request that may change
 * something. The principal is `ctx.state.principal`.
 */
export function authMiddleware(auth: Authenticator): Koa.Middleware {
  return async (ctx, next) => {
    if (isPublic(ctx.path)) return next();
    const route = `${ctx.method} ${ctx.path}`;
    const r = auth.authenticateRequest(ctx.req.headers, ctx.ip || 'unknown', {
      cookie: true,
      tls: ctx.secure,
    });
    if (isRefusal(r)) {
      ctx.status = r.status;
      if (r.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="codex-sm"');
      if (r.retryAfterSec !== undefined) ctx.set('Retry-After', String(r.retryAfterSec));
      if (r.via === 'cookie') ctx.set('Set-Cookie', clearedSessionCookie(ctx.secure));
      ctx.body = refusalBody(r);
      auth.audit(undefined, { route, status: r.status, why: r.why, peer: ctx.ip });
      return;
    }
    if (r.via === 'cookie' && changesState(ctx.method)) {
      const origin = ctx.get('origin') || undefined;
      if (!sameOrigin(origin, ctx.get('host'), ctx.secure)) {
        ctx.status = 403;
        ctx.body = originMismatchBody(origin);
        auth.audit(r, { route, status: 403, why: 'origin mismatch', origin: origin ?? null });
        return;
      }
    }
    const need: Need = requiredScope(ctx.method, ctx.path);
    if (!allows(r.scopes, need)) {
      ctx.status = 403;
      ctx.body = forbiddenBody(need as Scope);
      auth.audit(r, { route, status: 403, missingScope: need });
      return;
    }
    ctx.state.principal = r;
    await next();
    if (ctx.response.type === 'text/event-stream') auth.track(r, ctx.req.socket, ctx.res);
    if (changesState(ctx.method)) auth.audit(r, { route, status: ctx.status, via: r.via });
  };
}
