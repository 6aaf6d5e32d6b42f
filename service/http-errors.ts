/**
 * JSON error answers that need no Koa: the body every route answers with, and whole HTTP
 * responses written straight to a socket (refused upgrades, requests node's parser rejected).
 * Apart from http.ts so the listener (limits.ts) and the relay (gateway.ts) load without Koa,
 * which the service loads only after READY=1 (docs/serve.md, issue 16).
 */
import http from 'node:http';
import type { ErrorCode } from '../src/errors.js';

export function errorBody(
  code: ErrorCode,
  message: string,
  hint?: string,
  extra?: Record<string, unknown>,
) {
  return { error: { code, message, ...(hint ? { hint } : {}), ...(extra ?? {}) } };
}

/**
 * Headers every answer carries, errors and raw socket answers included: no MIME sniffing (a
 * JSON body must never run as a script or page), no Referer leaving the dashboard, and no
 * framing (clickjacking an approve button).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/**
 * A whole HTTP/1.1 error response as text, for answers written straight to a socket (refused
 * WebSocket upgrades, requests Node's parser rejected): the same JSON body as every route.
 */
export function rawErrorResponse(
  status: number,
  body: object,
  headers: Record<string, string> = {},
): string {
  const text = JSON.stringify(body);
  const extra = Object.entries({ ...SECURITY_HEADERS, ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
    `${extra}Connection: close\r\n\r\n${text}`
  );
}

/** Status and body for a request Node's HTTP parser refused (the server's 'clientError'). */
export function clientErrorAnswer(code: string | undefined): { status: number; body: object } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        body: errorBody('headers_too_large', 'request headers are too large', 'send under 16 KiB'),
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        body: errorBody('request_timeout', 'the request was not received in time'),
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, body: errorBody('body_too_large', 'chunk extensions are too large') };
    case 'HPE_INVALID_METHOD':
      return {
        status: 501,
        body: errorBody('not_implemented', 'unknown HTTP method', 'see /openapi.json'),
      };
    default:
      return { status: 400, body: errorBody('bad_request', 'malformed HTTP request') };
  }
}
