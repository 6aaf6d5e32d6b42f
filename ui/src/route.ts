/** Hash routing (`#/sessions`, `#/s/<id>`): the server serves one shell for every page. */
import { signal } from '@preact/signals';
import { href, parseHash, type Page, type Route } from './paths';

export const route = signal<Route>(parseHash(location.hash));
window.addEventListener('hashchange', () => (route.value = parseHash(location.hash)));

export function go(page: Page, id?: string): void {
  location.hash = href(page, id);
}
