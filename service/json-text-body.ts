/**
 * JSON answers serialized when they are set, so that Koa sees a string.
 *
 * Koa 3 tests every body that is not a string, a Buffer or a stream against the global
 * `Response` (in the `body` setter and again in `respond()`), and node defines that global
 * lazily: its first touch loads node's bundled undici (fetch, its wasm HTTP parser) — measured
 * at +12 MiB RSS and a few ms of CPU, in a service that only fetches when it delivers a webhook
 * (issue 16, docs/benchmarks.md). A plain object or array is serialized here instead, as Koa
 * itself would (`JSON.stringify`, `application/json` unless a JSON type is already set); every
 * other value (strings, Buffers, streams, null) goes to Koa's own setter unchanged.
 */
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
      if (!/\bjson\b/i.test(this.type)) this.type = 'json';
      set.call(this, JSON.stringify(value));
    },
  });
}
