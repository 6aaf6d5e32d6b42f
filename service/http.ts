/**
 * The Koa app and its small middleware, each with one job: JSON errors, Host allowlist (DNS
 * rebinding), bearer auth, JSON bodies. Route modules register on the shared router.
 */
import http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import Koa from 'koa';
import Router from '@koa/router';
import type { ErrorCode } from '../src/errors.js';
import { describeIllFormed, findIllFormedString } from './well-formed.js';
import { errorBody, SECURITY_HEADERS } from './http-errors.js';
import { pipeStreamBodies, serializeJsonBodies } from './koa-bodies.js';

// Kept apart so the listener (limits.ts) and the relay load without Koa (start-up, issue 16).
export { clientErrorAnswer, errorBody, rawErrorResponse } from './http-errors.js';

/** An error a handler throws to answer 4xx/5xx with `{"error":{code,message,hint?}}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Names that can never be a DNS-rebinding attack: loopback names and IP literals. */
export function hostAllowed(hostHeader: string | undefined, extra: readonly string[]): boolean {
  if (!hostHeader) return false;
  let name = hostHeader.trim().toLowerCase();
  if (name.startsWith('[')) name = name.slice(1, name.indexOf(']'));
  else if (name.lastIndexOf(':') > -1 && net.isIP(name) !== 6)
    name = name.slice(0, name.lastIndexOf(':'));
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (net.isIP(name)) return true; // an IP literal is not a name an attacker's DNS can rebind
  return extra.some((h) => h.toLowerCase() === name);
}

export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1];
}

export interface AppSecurity {
  /** Extra allowed hosts (a reload may change them). */
  allowedHosts(): readonly string[];
  /** Authentication and scopes (service/auth): runs after the Host check. */
  auth: Koa.Middleware;
}

/**
 * The error code a status answers with when nothing more specific said one (Koa and the router
 * set 404/405/501 themselves; `ctx.throw` and body parsers set others).
 */
export function codeForStatus(status: number): ErrorCode {
  const codes: Record<number, ErrorCode> = {
    400: 'bad_request',
    401: 'unauthorized',
    404: 'not_found',
    405: 'method_not_allowed',
    408: 'request_timeout',
    413: 'body_too_large',
    415: 'unsupported_media_type',
    431: 'headers_too_large',
    501: 'not_implemented',
  };
  return codes[status] ?? (status >= 500 ? 'internal' : 'bad_request');
}

/** The JSON error for a status some layer set without a body (the router's 404/405/501). */
function bodyForBareStatus(ctx: Koa.Context) {
  const code = codeForStatus(ctx.status);
  if (ctx.status === 404)
    return errorBody(code, `no route for ${ctx.method} ${ctx.path}`, 'see /openapi.json');
  const allow = ctx.response.get('allow');
  if (ctx.status === 405)
    return errorBody(code, `${ctx.method} is not allowed on ${ctx.path}`, `allowed: ${allow}`);
  if (ctx.status === 501)
    return errorBody(code, `method ${ctx.method} is not implemented`, 'see /openapi.json');
  return errorBody(code, ctx.message);
}

export function errorMiddleware(): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status >= 400 && ctx.body == null) {
        const status = ctx.status;
        ctx.body = bodyForBareStatus(ctx);
        ctx.status = status; // Koa turns a body on an unset (404) status into a 200
      }
    } catch (e) {
      if (e instanceof HttpError) {
        ctx.status = e.status;
        ctx.body = errorBody(e.code, e.message, e.hint, e.extra);
        // The owner's error listener logs this one at debug level (nobody is left to answer).
        if (e.code === 'request_aborted') ctx.app.emit('error', e, ctx);
        return;
      }
      const err = e as { status?: number; expose?: boolean; message?: string; type?: string };
      const status =
        typeof err.status === 'number' && err.status >= 400 && err.status < 600 ? err.status : 500;
      ctx.status = status;
      ctx.body = errorBody(
        codeForStatus(status),
        status >= 500 && !err.expose ? 'internal error' : String(err.message),
      );
      if (status === 500) ctx.app.emit('error', e, ctx);
    }
  };
}

export function hostCheckMiddleware(sec: AppSecurity): Koa.Middleware {
  return async (ctx, next) => {
    if (!hostAllowed(ctx.get('host'), sec.allowedHosts())) {
      ctx.status = 403;
      ctx.body = errorBody(
        'host_not_allowed',
        `Host "${ctx.get('host')}" is not allowed`,
        'add it to allowedHosts in the config',
      );
      return;
    }
    await next();
  };
}

/**
 * Read a JSON request body with a byte limit; 400/413/415 on bad input, 400 for a string with a
 * lone UTF-16 surrogate (before any handler acts on it), 400 `request_aborted` when the client
 * goes away mid-upload (its doing, not a server error: nothing is logged).
 */
export async function readJsonBody(ctx: Koa.Context, limitBytes = 1024 * 1024): Promise<unknown> {
  const type = ctx.get('content-type');
  if (type && !/^application\/(.+\+)?json\b/i.test(type)) {
    throw new HttpError(415, 'unsupported_media_type', `expected application/json, got ${type}`);
  }
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limitBytes)
    throw new HttpError(413, 'body_too_large', `body exceeds ${limitBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of ctx.req) {
      size += (chunk as Buffer).length;
      if (size > limitBytes) {
        ctx.req.destroy();
        throw new HttpError(413, 'body_too_large', `body exceeds ${limitBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(
      400,
      'request_aborted',
      'the client closed the request before its body ended',
    );
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'invalid_json', `body is not valid JSON: ${(e as Error).message}`);
  }
  const bad = findIllFormedString(value);
  if (bad)
    throw new HttpError(
      400,
      'invalid_body',
      describeIllFormed(bad, 'body'),
      'send Unicode text: a \\uD800–\\uDFFF escape must be half of a surrogate pair',
      { instancePath: bad.pointer },
    );
  return value;
}

/** Answer with `text/event-stream`: the returned stream is the body; write events into it. */
export function eventStream(ctx: Koa.Context): PassThrough {
  const out = new PassThrough();
  ctx.status = 200;
  ctx.set({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no', // proxies must not buffer it
  });
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.body = out;
  return out;
}

function securityHeadersMiddleware(): Koa.Middleware {
  return async (ctx, next) => {
    ctx.set(SECURITY_HEADERS);
    await next();
  };
}

/**
 * `outer` runs first of ours and sees every answer as sent, errors included (request metrics);
 * only pipeStreamBodies wraps it, as Koa's own respond() would (koa-bodies.ts).
 */
export function createApp(sec: AppSecurity, router: Router, outer?: Koa.Middleware): Koa {
  const app = new Koa();
  // JSON and stream bodies sent without Koa loading undici to test them (12 MiB; koa-bodies.ts)
  serializeJsonBodies(app);
  app.proxy = false;
  app.silent = true; // errors are logged by the owner through app.on('error')
  app.use(pipeStreamBodies());
  if (outer) app.use(outer);
  app.use(securityHeadersMiddleware());
  app.use(errorMiddleware());
  app.use(hostCheckMiddleware(sec));
  app.use(sec.auth);
  app.use(unusedMethodMiddleware(router));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/**
 * The router answers a method no route uses at all (PROPFIND, TRACE) with a bare 501. A client
 * did that, not the server: 405 with the path's `Allow` when the path exists, else 404.
 */
function unusedMethodMiddleware(router: Router): Koa.Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status !== 501 || ctx.body !== undefined) return;
    const layers = router.match(ctx.path, 'GET').path;
    const allow = [...new Set(layers.flatMap((l) => l.methods))];
    if (!allow.length) return void (ctx.status = 404);
    ctx.set('Allow', allow.join(', '));
    ctx.status = 405;
  };
}

/**
 * Why a WebSocket upgrade request cannot complete, checked before `ws` sees it (the checks `ws`
 * makes, which it would answer in text/html), or undefined.
 */
export function upgradeRefusal(
  req: http.IncomingMessage,
): { status: number; body: object; headers?: Record<string, string> } | undefined {
  if (req.method !== 'GET')
    return {
      status: 405,
      body: errorBody('method_not_allowed', `a WebSocket upgrade must be GET, not ${req.method}`),
      headers: { Allow: 'GET' },
    };
  const bad = (message: string, headers?: Record<string, string>) => ({
    status: 400,
    body: errorBody('bad_request', message),
    ...(headers ? { headers } : {}),
  });
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
    return bad('the Upgrade header must be "websocket"');
  if (!/^[+/0-9A-Za-z]{22}==$/.test(req.headers['sec-websocket-key'] ?? ''))
    return bad('missing or invalid Sec-WebSocket-Key header');
  const version = Number(req.headers['sec-websocket-version']);
  if (version !== 13 && version !== 8)
    return bad('missing or invalid Sec-WebSocket-Version header', {
      'Sec-WebSocket-Version': '13, 8',
    });
  return undefined;
}
