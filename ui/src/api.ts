/**
 * The one way the dashboard talks to the service: same-origin fetch with the session cookie
 * (HttpOnly: this code never sees it). Errors are the service's `{error:{code,message,hint}}`,
 * thrown as ApiError; a 401 anywhere means the session ended, so the app shows the login page.
 */
import { signal } from '@preact/signals';
import type { Scope } from '../../service/auth/scopes.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

interface UiSession {
  id?: string;
  scopes: string[];
  expiresAt: string | null;
}

/** `undefined` while the first check runs; `null` when logged out. */
export const session = signal<UiSession | null | undefined>(undefined);

function errorOf(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown; hint?: unknown } } | null)
    ?.error;
  return new ApiError(
    status,
    typeof e?.code === 'string' ? e.code : 'http_' + status,
    typeof e?.message === 'string' ? e.message : `HTTP ${status}`,
    typeof e?.hint === 'string' ? e.hint : undefined,
  );
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: {
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: the status says enough */
  }
  if (!r.ok) {
    const err = errorOf(r.status, parsed);
    if (r.status === 401 && !path.startsWith('/api/ui/')) session.value = null;
    throw err;
  }
  // Unchecked on purpose: the page and the API come from the same service process (one build),
  // and the answers' types are the service's own (e.g. service/sessions/session-json.ts, which
  // its routes `satisfies`); validating every answer again would cost bundle size for nothing.
  return parsed as T;
}

/** Exchange a one-time code (from `codex-sm open`) or a pasted token for the session cookie. */
export async function login(cred: { code: string } | { token: string }): Promise<void> {
  const r = await api<UiSession>('POST', '/api/ui/login', cred);
  session.value = r;
}

export async function checkSession(): Promise<void> {
  try {
    session.value = await api<UiSession>('GET', '/api/ui/session');
  } catch {
    session.value = null;
  }
}

/**
 * Revoke the session and show the login page. When the service did not revoke it (unreachable,
 * an error), the cookie still works: the page stays logged in and the error is thrown for the
 * caller to show. A 401 means it had already ended.
 */
export async function logout(): Promise<void> {
  try {
    await api('POST', '/api/ui/logout', {});
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) throw e;
  }
  session.value = null;
}

export function can(scope: Scope): boolean {
  const s = session.value;
  return !!s && (s.scopes.includes('admin') || s.scopes.includes(scope));
}

export function message(e: unknown): string {
  if (e instanceof ApiError) return e.hint ? `${e.message} (${e.hint})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs a form's or button's request with `busy` set meanwhile and its error shown (not thrown);
 * says whether it succeeded, so the caller clears or closes the form only then.
 */
export async function attempt(
  request: () => Promise<unknown>,
  setBusy: (busy: boolean) => void,
  setError: (error: string | null) => void,
): Promise<boolean> {
  setBusy(true);
  setError(null);
  try {
    await request();
    return true;
  } catch (e) {
    setError(message(e));
    return false;
  } finally {
    setBusy(false);
  }
}
