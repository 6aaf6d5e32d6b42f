/**
 * The Koa app and its small middleware, each with one job: JSON errors, Host allowlist (DNS
 * rebinding), bearer auth, JSON bodies. Route modules register on the shared router.
 */
import net from 'node:net';
import { PassThrough } from 'node:stream';
import Koa from 'koa';
import Router from '@koa/router';
import type { ErrorCode } from '../src/errors.js';

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

export function errorBody(
  code: ErrorCode,
  message: string,
  hint?: string,
  extra?: Record<string, unknown>,
) {
  return { error: { code, message, ...(hint ? { hint } : {}), ...(extra ?? {}) } };
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

export function errorMiddleware(): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = errorBody(
          'not_found',
          `no route for ${ctx.method} ${ctx.path}`,
          'see /openapi.json',
        );
      }
    } catch (e) {
      if (e instanceof HttpError) {
        ctx.status = e.status;
        ctx.body = errorBody(e.code, e.message, e.hint, e.extra);
        return;
      }
      const err = e as { status?: number; expose?: boolean; message?: string; type?: string };
      const status =
        typeof err.status === 'number' && err.status >= 400 && err.status < 600 ? err.status : 500;
      ctx.status = status;
      ctx.body = errorBody(
        status === 500 ? 'internal' : 'bad_request',
        status === 500 ? 'internal error' : String(err.message),
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

/** Read a JSON request body with a byte limit; 400/413/415 on bad input. */
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
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) {
      ctx.req.destroy();
      throw new HttpError(413, 'body_too_large', `body exceeds ${limitBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'invalid_json', `body is not valid JSON: ${(e as Error).message}`);
  }
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

export function createApp(sec: AppSecurity, router: Router): Koa {
  const app = new Koa();
  app.proxy = false;
  app.silent = true; // errors are logged by the owner through app.on('error')
  app.use(errorMiddleware());
  app.use(hostCheckMiddleware(sec));
  app.use(sec.auth);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
