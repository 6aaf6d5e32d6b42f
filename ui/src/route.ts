/** Hash routing (`#/sessions`, `#/s/<id>`): the server serves one shell for every page. */
import { signal } from '@preact/signals';

export interface Route {
  page: string;
  id?: string;
}

/** `#/s/abc` → {page: 's', id: 'abc'}; anything unknown is the status page. */
export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] ?? 'status', ...(parts[1] ? { id: parts[1] } : {}) };
}

export const route = signal<Route>(parseHash(location.hash));
window.addEventListener('hashchange', () => (route.value = parseHash(location.hash)));

export function href(page: string, id?: string): string {
  return `#/${page}${id ? '/' + encodeURIComponent(id) : ''}`;
}

export function go(page: string, id?: string): void {
  location.hash = href(page, id);
}
