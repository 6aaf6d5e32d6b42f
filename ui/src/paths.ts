/**
 * The two kinds of path the dashboard builds from ids: its own routes in the address bar's
 * fragment (`#/s/<id>`) and the API's (`/api/sessions/<id>/turns`). The fragment is anyone's to
 * write (a link can carry `#/s/..%2Ftokens%2F…`), and fetch resolves `..` and cuts at `#`, so
 * an id is only ever taken when it has an id's shape, and only ever put into an API path
 * through `apiPath`, which refuses anything else. Pure (no DOM, no preact): the unit tier
 * imports it.
 */

/** Every id the service hands out: app-server thread ids and our own (UUIDs), prefixed tokens. */
const ID = /^[A-Za-z0-9_-]{1,128}$/;

function isId(s: string): boolean {
  return ID.test(s);
}

/** The pages of the dashboard; `s`, `q` and `g` are one session, queue or group, by id. */
const PAGES = ['status', 'sessions', 's', 'approvals', 'queues', 'q', 'groups', 'g'] as const;
export type Page = (typeof PAGES)[number];
const WITH_ID: readonly Page[] = ['s', 'q', 'g'];

export interface Route {
  page: Page;
  id?: string;
}

function isPage(s: string): s is Page {
  return (PAGES as readonly string[]).includes(s);
}

const STATUS: Route = { page: 'status' };

/**
 * `#/s/abc` → {page: 's', id: 'abc'}. Anything else — an unknown page, an id on a page that
 * takes none, an id that is not an id's shape once decoded, a bad `%` escape, more segments —
 * is the status page: nothing from the fragment reaches a request unless it is a plain id.
 */
export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/');
  if (parts.at(-1) === '') parts.pop(); // `#/sessions/`
  const [page = '', rawId, ...more] = parts;
  if (page === '') return STATUS;
  if (!isPage(page) || more.length) return STATUS;
  if (rawId === undefined) return { page };
  if (!WITH_ID.includes(page)) return STATUS;
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    return STATUS;
  }
  return isId(id) ? { page, id } : STATUS;
}

export function href(page: Page, id?: string): string {
  return `#/${page}${id ? '/' + encodeURIComponent(id) : ''}`;
}

/**
 * A tagged template for API paths: every interpolated value must be an id (or a number) and is
 * encoded into its own segment, so `` apiPath`/api/sessions/${id}/turns` `` cannot be turned
 * into another route by the id. Throws on anything else (the caller shows the error).
 */
export function apiPath(strings: TemplateStringsArray, ...values: (string | number)[]): string {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    const s = String(v);
    if (typeof v === 'string' ? !isId(s) : !Number.isSafeInteger(v))
      throw new Error(`not an id: ${JSON.stringify(s).slice(0, 80)}`);
    out += encodeURIComponent(s) + (strings[i + 1] ?? '');
  });
  return out;
}
