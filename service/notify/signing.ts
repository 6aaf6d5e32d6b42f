/**
 * The webhook signature (docs/notify.md): `sha256=<hex HMAC-SHA256(secret, timestamp + "." +
 * body)>`, the timestamp in unix seconds, sent as X-Codex-SM-Timestamp. Signing the timestamp
 * with the body lets a receiver refuse a replayed old request. Pure.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function signature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does (the docs' snippets say the same): constant-time compare. */
export function verifySignature(
  secret: string,
  timestamp: string | number,
  body: string,
  given: string,
): boolean {
  const ts = Number(timestamp);
  if (!Number.isInteger(ts)) return false;
  const want = Buffer.from(signature(secret, ts, body));
  const got = Buffer.from(given);
  return want.length === got.length && timingSafeEqual(want, got);
}
