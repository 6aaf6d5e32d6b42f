/**
 * The dashboard's login, `/api/ui/…`: a one-time login code (`codex-sm open`) or a pasted token
 * is exchanged for a browser session — a token of its own (kind `browser`, 7 days at most, never
 * longer than the token it came from), its secret only in an HttpOnly cookie, so the long-lived
 * token never sits in the browser. Logout revokes it. Scopes: scopes.ts (login is public).
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { HttpError, readJsonBody } from '../http.js';
import type { OpenApiPart } from '../openapi.js';
import { validateBodyWith } from '../sessions/schemas.js';
import { iso } from '../sessions/view.js';
import type { TokenRepo } from '../store/tokens.js';
import { type Authenticator, originMismatchBody, type Principal, refusalBody } from './auth.js';
import {
  clearedSessionCookie,
  requestOrigin,
  sameOrigin,
  sessionCookie,
  SESSION_TTL_MS,
} from './cookies.js';
import { LOGIN_CODE_TTL_MS, type CodeGrant, type LoginCodes } from './login-codes.js';

const uiBodies = {
  Login: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    description: 'exactly one of: a login code from `codex-sm open`, or a token',
    properties: {
      code: { type: 'string', minLength: 1, maxLength: 200 },
      token: { type: 'string', minLength: 1, maxLength: 500 },
    },
  },
} as const;

/** Browser sessions that ended longer ago than this are forgotten (at the next login). */
const KEEP_ENDED_SESSIONS_MS = 30 * 86_400_000;
/** Live browser sessions one token (or the owner's) may have; a login past it ends the oldest. */
const MAX_LIVE_SESSIONS = 10;

export interface UiAuthDeps {
  tokens: TokenRepo;
  auth: Authenticator;
  codes: LoginCodes;
  now?: () => number;
}

/** When a session logged in at `now` ends: 7 days later, or with what it came from if sooner. Pure. */
export function sessionExpiry(now: number, notAfter: number | null): number {
  return Math.min(now + SESSION_TTL_MS, notAfter ?? Infinity);
}

/**
 * What a login code made by this caller grants: its scopes, tied to its token. Never
 * `app-server`: the relay takes no cookie, so a session holding that scope could never use it.
 */
export function grantOf(p: Principal): CodeGrant {
  return {
    scopes: [...p.scopes].filter((s) => s !== 'app-server'),
    // A session that mints a code passes on its own tie, so revoking the token ends both; the
    // owner's ties it to the owner token's fingerprint, so replacing that token ends it.
    parentId: p.token
      ? p.token.kind === 'browser'
        ? p.token.parentId
        : p.token.id
      : (p.ownerFingerprint ?? null),
    notAfter: p.token?.expiresAt ?? null,
  };
}

export function registerUiAuthRoutes(router: Router, d: UiAuthDeps): void {
  const now = d.now ?? Date.now;

  router.post('/api/ui/login', async (ctx) => {
    const origin = ctx.get('origin') || undefined;
    // A page elsewhere must not log this browser into a session of its choosing.
    if (origin !== undefined && !sameOrigin(origin, ctx.get('host'), ctx.secure)) {
      ctx.status = 403;
      ctx.body = originMismatchBody(origin);
      return;
    }
    const b = validateBodyWith<{ code?: string; token?: string }>(
      'ui.Login',
      uiBodies.Login,
      await readJsonBody(ctx, 8 * 1024),
    );
    const grant = b.code !== undefined ? codeGrant(b.code) : tokenGrant(b.token ?? '');
    const peer = ctx.ip || 'unknown';
    if ('why' in grant) {
      const r = d.auth.refuse(peer, grant.why, grant.message);
      ctx.status = r.status;
      if (r.retryAfterSec !== undefined) ctx.set('Retry-After', String(r.retryAfterSec));
      ctx.body = refusalBody(r);
      d.auth.audit(undefined, { route: 'POST /api/ui/login', status: r.status, why: r.why, peer });
      return;
    }
    d.tokens.pruneSessions(KEEP_ENDED_SESSIONS_MS);
    // Logging in again replaces the session this browser had: the old one would otherwise stay
    // valid for the rest of its 7 days, in a cookie the browser no longer keeps.
    const replaced = d.auth.sessionsInCookie(ctx.req.headers, ctx.secure);
    for (const id of replaced) endSession(id);
    const t = now();
    const expiresAt = sessionExpiry(t, grant.notAfter);
    const made = d.tokens.create({
      name: 'browser session',
      scopes: grant.scopes,
      expiresAt,
      kind: 'browser',
      parentId: grant.parentId,
    });
    const capped =
      grant.parentId === null
        ? []
        : d.tokens.revokeSessionsBeyond(grant.parentId, MAX_LIVE_SESSIONS);
    for (const id of capped) d.auth.cut(id);
    ctx.set('Set-Cookie', sessionCookie(made.token, (expiresAt - t) / 1000, ctx.secure));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { id: made.info.id, scopes: made.info.scopes, expiresAt: iso(expiresAt) };
    d.auth.audit(
      { id: made.info.id, scopes: new Set(grant.scopes), via: 'cookie' },
      {
        route: 'POST /api/ui/login',
        status: 200,
        with: b.code !== undefined ? 'code' : 'token',
        parent: grant.parentId,
        ...(replaced.length ? { replaced } : {}),
        ...(capped.length ? { capped } : {}),
      },
    );
  });

  /** Revoke a session and end its streams at once. */
  function endSession(id: string): void {
    d.tokens.revoke(id);
    d.auth.cut(id);
  }

  function codeGrant(code: string): CodeGrant | { why: string; message: string } {
    const g = d.codes.redeem(code);
    if (!('refused' in g)) return g;
    return { why: `${g.refused} login code`, message: 'wrong, used or expired login code' };
  }

  function tokenGrant(token: string): CodeGrant | { why: string; message: string } {
    const p = d.auth.principal(token);
    // A session cannot renew itself by logging in with its own secret (nor is it ever anywhere
    // but in its cookie: principal() refuses it outside one).
    if ('why' in p && p.why === 'session as bearer')
      return { why: 'session as login', message: 'log in with a token, not a session' };
    if ('why' in p) return { why: p.why, message: 'wrong, revoked or expired token' };
    const g = grantOf(p);
    if (!g.scopes.length)
      throw new HttpError(
        403,
        'forbidden',
        'this token has no scope the dashboard can use (app-server is for `codex --remote` only)',
        'log in with a token that has another scope: `codex-sm token create --scope …`',
      );
    return g;
  }

  router.post('/api/ui/login-codes', (ctx) => {
    const p = principalOf(ctx);
    const origin = requestOrigin(ctx.get('host'), ctx.secure);
    const { code, expiresAt } = d.codes.issue(grantOf(p));
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    // In the fragment: a browser sends neither it to the server nor it in a Referer.
    ctx.body = { code, url: `${origin ?? ''}/ui/#code=${code}`, expiresAt: iso(expiresAt) };
  });

  router.post('/api/ui/logout', (ctx) => {
    const p = principalOf(ctx);
    if (p.token?.kind !== 'browser')
      throw new HttpError(
        400,
        'bad_request',
        'this credential is not a browser session',
        'revoke a token with `codex-sm token revoke <id>`',
      );
    endSession(p.id);
    ctx.set('Set-Cookie', clearedSessionCookie(ctx.secure));
    ctx.body = { loggedOut: true };
  });

  router.get('/api/ui/session', (ctx) => {
    const p = principalOf(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      id: p.id,
      scopes: [...p.scopes],
      expiresAt: iso(p.token?.expiresAt ?? null),
      via: p.via,
    };
  });
}

/** The authenticated caller (authMiddleware put it there; these routes are never public). */
function principalOf(ctx: Koa.Context): Principal {
  const p: Principal | undefined = ctx.state.principal; // Koa types ctx.state as any
  if (!p) throw new HttpError(401, 'unauthorized', 'not authenticated');
  return p;
}

/** The `/api/ui` part of `/openapi.json`. */
export function uiAuthOpenApi(): OpenApiPart {
  const json = (schema: object) => ({ content: { 'application/json': { schema } } });
  const ok = { '200': { description: 'ok', ...json({ type: 'object' }) } };
  return {
    paths: {
      '/api/ui/login': {
        post: {
          summary:
            'Exchange a login code or a token for a browser session (Set-Cookie codex_sm_session, over TLS __Host-codex_sm_session; no credential needed)',
          security: [],
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/ui.Login' }) },
          responses: ok,
        },
      },
      '/api/ui/login-codes': {
        post: {
          summary: `A one-time login code (${LOGIN_CODE_TTL_MS / 1000} s) and its dashboard URL (scope: admin)`,
          responses: { '201': { description: 'created', ...json({ type: 'object' }) } },
        },
      },
      '/api/ui/logout': {
        post: { summary: 'Revoke this browser session and clear its cookie', responses: ok },
      },
      '/api/ui/session': {
        get: {
          summary: 'Who the credential is: id, scopes, expiry (any valid one)',
          responses: ok,
        },
      },
    },
    components: { schemas: { 'ui.Login': uiBodies.Login } },
  };
}
