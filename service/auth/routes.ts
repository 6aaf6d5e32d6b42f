/**
 * `/api/tokens` (scope `admin`): create a scoped token (its secret is in this answer only),
 * list, revoke and rotate. Revoking or rotating ends the token's open connections at once, and
 * revokes the dashboard sessions logged in with it (their streams end too).
 */
import type Router from '@koa/router';
import { HttpError, readJsonBody } from '../http.js';
import { validateBodyWith } from '../sessions/schemas.js';
import { iso } from '../sessions/view.js';
import type { TokenInfo, TokenRepo } from '../store/tokens.js';
import type { OpenApiPart } from '../openapi.js';
import type { Authenticator } from './auth.js';
import { parseScopes, SCOPES } from './scopes.js';

export const tokenBodies = {
  CreateToken: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'scopes'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 200 },
      scopes: { type: 'array', minItems: 1, maxItems: 16, items: { enum: [...SCOPES] } },
      expiresIn: {
        type: 'string',
        pattern: '^[1-9][0-9]{0,5}[smhd]$',
        description: 'e.g. 30d, 12h, 90m; none: never expires',
      },
    },
  },
} as const;

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `30d` → milliseconds. Pure; the schema has checked the shape. */
export function durationMs(s: string): number {
  const unit = s.slice(-1) as keyof typeof UNIT_MS;
  return Number(s.slice(0, -1)) * UNIT_MS[unit];
}

export function tokenJson(t: TokenInfo): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    kind: t.kind,
    parentId: t.parentId,
    scopes: t.scopes,
    createdAt: iso(t.createdAt),
    expiresAt: iso(t.expiresAt),
    revokedAt: iso(t.revokedAt),
    lastUsedAt: iso(t.lastUsedAt),
  };
}

export function registerTokenRoutes(
  router: Router,
  d: { tokens: TokenRepo; auth: Authenticator },
): void {
  /** End what the token holds open, and its browser sessions with theirs. */
  const cutWithSessions = (id: string): number =>
    d.tokens.revokeSessionsOf(id).reduce((n, s) => n + d.auth.cut(s), d.auth.cut(id));
  const notFound = (id: string) =>
    new HttpError(404, 'token_not_found', `no token ${id}`, 'list them with `codex-sm token list`');

  router.get('/api/tokens', (ctx) => {
    ctx.body = { tokens: d.tokens.list().map(tokenJson) };
  });
  router.post('/api/tokens', async (ctx) => {
    const b = validateBodyWith<{ name: string; scopes: string[]; expiresIn?: string }>(
      'tokens.CreateToken',
      tokenBodies.CreateToken,
      await readJsonBody(ctx, 64 * 1024),
    );
    const { scopes, unknown } = parseScopes(b.scopes);
    if (unknown.length)
      throw new HttpError(
        400,
        'invalid_scope',
        `unknown scope ${unknown.join(', ')}`,
        `scopes: ${SCOPES.join(', ')}`,
      );
    const made = d.tokens.create({
      name: b.name,
      scopes,
      expiresAt: b.expiresIn ? Date.now() + durationMs(b.expiresIn) : null,
    });
    ctx.status = 201;
    ctx.body = { ...tokenJson(made.info), token: made.token };
  });
  router.delete('/api/tokens/:id', (ctx) => {
    const id = ctx.params.id ?? '';
    const t = d.tokens.revoke(id);
    if (!t) throw notFound(id);
    const closed = cutWithSessions(id);
    ctx.body = { ...tokenJson(t), closedConnections: closed };
  });
  router.post('/api/tokens/:id/rotate', (ctx) => {
    const id = ctx.params.id ?? '';
    // A new secret for a session would be handed out here, in a JSON answer, where its cookie
    // keeps it from every script: a session ends (revoke) and a new one is logged in instead.
    if (d.tokens.get(id)?.kind === 'browser')
      throw new HttpError(
        400,
        'bad_request',
        `${id} is a browser session: it cannot be rotated`,
        `revoke it (\`codex-sm token revoke ${id}\`) and log in again`,
      );
    const r = d.tokens.rotate(id);
    if (!r) throw notFound(id);
    const closed = cutWithSessions(id);
    ctx.body = { ...tokenJson(r.info), token: r.token, closedConnections: closed };
  });
}

/** The `/api/tokens` part of `/openapi.json`. */
export function tokensOpenApi(): OpenApiPart {
  const json = (schema: object) => ({ content: { 'application/json': { schema } } });
  const op = (summary: string, extra: object = {}) => ({
    summary: `${summary} (scope: admin)`,
    security: [{ bearer: [] }],
    responses: { '200': { description: 'ok', ...json({ type: 'object' }) } },
    ...extra,
  });
  const id = {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
  };
  return {
    paths: {
      '/api/tokens': {
        get: op('List scoped tokens (never their secrets)'),
        post: op('Create a scoped token; the answer holds it, once', {
          requestBody: {
            required: true,
            ...json({ $ref: '#/components/schemas/tokens.CreateToken' }),
          },
        }),
      },
      '/api/tokens/{id}': { delete: op('Revoke a token; its open streams end', id) },
      '/api/tokens/{id}/rotate': {
        post: op(
          'A new secret for a token; the old one stops working (not a browser session: 400)',
          id,
        ),
      },
    },
    components: { schemas: { 'tokens.CreateToken': tokenBodies.CreateToken } },
  };
}
