/**
 * The dashboard's session cookie and the same-origin rule that guards it. Pure: header values
 * in, header values and answers out.
 *
 * The cookie holds a browser-session token's secret (`<id>.<secret>`, only cookie-safe
 * characters). A browser attaches it to every request to this origin, including ones a page on
 * another site makes it send, so a request it authenticates that could change something must
 * prove it comes from our own page: its `Origin` must be ours. `SameSite=Strict` already keeps
 * the cookie off cross-site requests in current browsers; the Origin check does not rely on it.
 */
import { readOnlyMethod } from './scopes.js';

export const SESSION_COOKIE = 'codex_sm_session';
/**
 * The name over TLS. Cookies are not isolated by port (RFC 6265 §8.5): any server on this host
 * could set a `codex_sm_session` of its own that the browser then sends us. A browser accepts a
 * `__Host-` cookie only with Secure, Path=/ and no Domain, set over https — so no plain-HTTP
 * server on this host can plant one, and none on a neighbouring subdomain either.
 */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;

/** The session cookie's name on a listener: `__Host-` over TLS (it needs Secure). */
export function sessionCookieName(tls: boolean): string {
  return tls ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

/** How long a browser session lives (its token's expiry; the cookie's Max-Age). */
export const SESSION_TTL_MS = 7 * 86_400_000;

/**
 * Every non-empty value of cookie `name` in a `Cookie` header, in the order sent. A browser sends
 * one per path (and per domain) that matches, longest path first; the cookie header does not say
 * which was set by whom, so the caller must not trust the first blindly.
 */
export function readCookies(header: string | undefined, name: string): string[] {
  const values: string[] = [];
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1);
    if (value) values.push(value);
  }
  return values;
}

/** Cookie-value characters (RFC 6265 cookie-octet): anything else must not be written into one. */
const COOKIE_OCTETS = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

/**
 * `Set-Cookie` for the session: HttpOnly (no script reads it), SameSite=Strict, the whole
 * origin (`/api`, `/ws` and `/ui` all need it), no Domain (this host only), `Secure` and the
 * `__Host-` name when the listener is TLS (a plain-HTTP loopback listener must still get it:
 * browsers treat http://127.0.0.1 as a secure context but would drop a Secure cookie set over it).
 */
export function sessionCookie(value: string, maxAgeSec: number, secure: boolean): string {
  if (!COOKIE_OCTETS.test(value)) throw new Error('not a cookie-safe value');
  const attrs = [
    `${sessionCookieName(secure)}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${Math.max(0, Math.floor(maxAgeSec))}`,
  ];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
}

/** `Set-Cookie` that makes the browser forget the session. */
export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie('', 0, secure);
}

/** Methods that may change something: a cookie-authenticated one needs our `Origin`. */
export function changesState(method: string): boolean {
  return !readOnlyMethod(method);
}

const DEFAULT_PORT: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

/** `scheme://host[:port]` in one spelling (lower case, no default port), or undefined. */
function normalOrigin(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (!(u.protocol in DEFAULT_PORT) || u.username || u.password) return undefined;
  const port = u.port && u.port !== DEFAULT_PORT[u.protocol] ? `:${u.port}` : '';
  return `${u.protocol}//${u.hostname}${port}`;
}

/** This request's own origin: its scheme and its `Host` header (checked against allowedHosts). */
export function requestOrigin(host: string | undefined, tls: boolean): string | undefined {
  if (!host || /[\s/\\@?#]/.test(host)) return undefined;
  return normalOrigin(`${tls ? 'https' : 'http'}://${host}`);
}

/**
 * Whether the `Origin` header names this request's own origin. Missing, `null` (sandboxed
 * frames, some redirects) or anything else is not: the page that sent it is not ours.
 */
export function sameOrigin(
  origin: string | undefined,
  host: string | undefined,
  tls: boolean,
): boolean {
  if (!origin || origin === 'null') return false;
  const own = requestOrigin(host, tls);
  return own !== undefined && normalOrigin(origin) === own;
}
