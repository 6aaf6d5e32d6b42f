/**
 * Answers sent without Koa reading node's lazy global `Response`.
 *
 * Koa 3 tests every body that is not a string or a Buffer against `Blob`, `ReadableStream` and
 * `Response` — in the `body` setter for objects, and again in `respond()` before it pipes a
 * stream — and node defines `Response` lazily: its first read loads node's bundled undici
 * (fetch, its wasm HTTP parser), measured at +12 MiB RSS and a few ms of CPU, in a service that
 * only fetches when it delivers a webhook (issue 16, docs/benchmarks.md). So:
 * - a plain object or array is serialized when it is set, as Koa itself would (`JSON.stringify`,
 *   `application/json` unless a JSON type is already set), and Koa sees a string;
 * - a readable stream (the SSE answers) is piped to the response by pipeStreamBodies, after
 *   every other middleware, as Koa's `respond()` would pipe it.
 * Every other value (strings, Buffers, null, other objects) goes to Koa unchanged.
 */
import { pipeline, Readable } from 'node:stream';
import type Koa from 'koa';

/** What Koa would have answered with `JSON.stringify`: a plain object or an array. */
export function isPlainJson(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Install the setter on this app's response prototype (Koa's documented extension point). */
export function serializeJsonBodies(app: Koa): void {
  const koaResponse: unknown = Object.getPrototypeOf(app.response);
  const body = Object.getOwnPropertyDescriptor(koaResponse, 'body');
  const { get, set } = body ?? {};
  if (!get || !set) throw new Error('koa: response.body is not an accessor (a Koa upgrade?)');
  Object.defineProperty(app.response, 'body', {
    configurable: true,
    get,
    set(this: Koa.Response, value: unknown) {
      if (!isPlainJson(value)) return set.call(this, value);
      const text = JSON.stringify(value); // first: a value that cannot be serialized changes nothing
      if (!/\bjson\b/i.test(this.type)) this.type = 'json';
      set.call(this, text);
    },
  });
}

/**
 * The outermost middleware: once every other one is done, a readable-stream body is piped to
 * the response here instead of by Koa's `respond()` — the same pipe, the same error path
 * (`ctx.onerror`), HEAD and bodiless statuses still left to Koa.
 */
export function pipeStreamBodies(): Koa.Middleware {
  return async (ctx, next) => {
    await next();
    const body: unknown = ctx.body;
    if (!(body instanceof Readable) || ctx.respond === false || !ctx.writable) return;
    if (ctx.method === 'HEAD' || ctx.status === 204 || ctx.status === 205 || ctx.status === 304)
      return;
    ctx.respond = false;
    pipeline(body, ctx.res, (err) => {
      if (err && ctx.app.listenerCount('error')) ctx.onerror(err);
    });
  };
}
