/**
 * What each token may do: the scopes, and the one table that says which scope every route and
 * WebSocket endpoint needs. Default deny: a route missing from the table needs `admin`, and a
 * unit test walks the router so no route is left to that default by accident. Pure.
 */

export const SCOPES = [
  'sessions:read',
  'sessions:write',
  'approvals',
  'queues',
  'groups',
  'metrics',
  'app-server',
  'admin',
] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

/** `null`: any valid token (no data beyond the service's own state). */
export type Need = Scope | null;

/** Methods that change nothing (OPTIONS: the router's Allow answer): the read scope is enough. */
const READ = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether `method` only reads: the one list for scopes, the cookie's Origin rule and audits. */
export function readOnlyMethod(method: string): boolean {
  return READ.has(method.toUpperCase());
}

/** [path prefix, scope for reads, scope for writes], first match wins. */
const ROUTES: readonly [string, Need, Need][] = [
  ['/status', null, 'admin'],
  ['/openapi.json', null, 'admin'],
  ['/metrics', 'metrics', 'metrics'],
  ['/api/sessions', 'sessions:read', 'sessions:write'],
  ['/api/approvals', 'approvals', 'approvals'],
  ['/api/queues', 'queues', 'queues'],
  ['/api/groups', 'groups', 'groups'],
  ['/api/tokens', 'admin', 'admin'],
  ['/api/app-server', 'admin', 'admin'],
  ['/api/notify', 'admin', 'admin'],
  // The dashboard's login (service/auth/ui-routes.ts): minting a login code hands out the
  // caller's scopes, so only admin; who-am-I and logout concern only the caller's own session.
  ['/api/ui/login-codes', 'admin', 'admin'],
  ['/api/ui/session', null, null],
  ['/api/ui/logout', null, null],
];

/**
 * Served without a credential, by path prefix: the probes (no data), the login exchange (it is
 * where a credential is presented; it counts failures like any other refusal) and the
 * dashboard's static shell (index.html, JS, CSS: no data; what the page shows comes from the
 * routes above). And `/` exactly, which only redirects a browser to the shell: the WebSocket
 * relay on `/` is an upgrade, authenticated with SOCKETS below, never by this.
 */
const PUBLIC: readonly string[] = ['/healthz', '/readyz', '/api/ui/login', '/ui'];

/** WebSocket endpoints: the relay is full power over Codex; `/ws` reads events. */
const SOCKETS: Readonly<Record<string, Scope>> = {
  '/': 'app-server',
  '/app-server': 'app-server',
  '/ws': 'sessions:read',
};

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(prefix + '/');
}

/** The scope an HTTP request needs (`admin` for anything the table does not name). */
export function requiredScope(method: string, path: string): Need {
  const row = ROUTES.find(([prefix]) => under(path, prefix));
  if (!row) return 'admin';
  return readOnlyMethod(method) ? row[1] : row[2];
}

/** Whether a request to this path needs no credential at all. */
export function isPublic(path: string): boolean {
  return path === '/' || PUBLIC.some((prefix) => under(path, prefix));
}

/** Whether the table names this route (the route-table test's question). */
export function routeKnown(path: string): boolean {
  return ROUTES.some(([prefix]) => under(path, prefix));
}

export function socketScope(path: string): Scope {
  return SOCKETS[path] ?? 'admin';
}

/** `admin` may do everything (it can mint itself any token anyway). */
export function allows(granted: ReadonlySet<Scope>, need: Need): boolean {
  return need === null || granted.has('admin') || granted.has(need);
}

/** `--scope a,b` / a JSON list → scopes, or the unknown names. */
export function parseScopes(list: readonly string[]): { scopes: Scope[]; unknown: string[] } {
  const names = [...new Set(list.map((s) => s.trim()).filter(Boolean))];
  return { scopes: names.filter(isScope), unknown: names.filter((s) => !isScope(s)) };
}
