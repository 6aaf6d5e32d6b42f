/**
 * The dashboard's static shell at `/ui/`: the files `make build` put in dist/ui (index.html and
 * hashed JS/CSS; ui/build.mjs), served without a token because they hold no data — everything
 * the page shows comes from the authenticated API. A plain browser `GET /` is sent here; the
 * WebSocket relay on `/` never reaches Koa (upgrades are the server's 'upgrade' event).
 */
import fs from 'node:fs';
import path from 'node:path';
import type Koa from 'koa';
import type Router from '@koa/router';
import { distFile } from '../src/package-info.js';
import { HttpError } from './http.js';

/** dist/ui, from the package root: this module may run from dist/service or from the bundle. */
const DEFAULT_UI_DIR = distFile('ui');

/** No inline script or style anywhere in the app, so none is allowed (issue 14). */
export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** Content-Type by extension of what dist/ui holds (each base type is in ./mime-served.ts). */
export const UI_CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** `main-4F2KX7QA.js`: esbuild's content hash, so the file never changes under its name. */
const HASHED = /-[A-Z0-9]{8}\.(js|css)$/;

/**
 * What a request path under `/ui/` asks for (pure): a file name of the flat dist/ui folder,
 * the shell (index.html: `/ui/` and client routes), or nothing (a missing asset, or a path no
 * file of that folder could have). Only a single plain segment can name a file, so `..`,
 * encoded slashes and NUL never reach the file system.
 */
function uiTarget(
  pathname: string,
): { kind: 'file'; name: string } | { kind: 'shell' } | { kind: 'missing' } {
  const rest = pathname.slice('/ui/'.length);
  if (rest === '' || rest === 'index.html') return { kind: 'shell' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    return { kind: 'missing' };
  }
  if (/[\\\0]/.test(decoded) || decoded.split('/').some((s) => s === '..' || s === '.'))
    return { kind: 'missing' };
  const last = decoded.split('/').pop() ?? '';
  // A client route (`/ui/sessions/abc`) gets the shell; a name with an extension is an asset.
  if (!/\.[a-z0-9]+$/i.test(last)) return { kind: 'shell' };
  if (decoded.includes('/')) return { kind: 'missing' };
  return { kind: 'file', name: decoded };
}

export interface UiOptions {
  dir?: string;
}

function etagOf(st: fs.Stats): string {
  return `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
}

async function send(ctx: Koa.Context, dir: string, name: string): Promise<boolean> {
  // Only names the folder really lists are served (it is flat: no subfolders).
  const listed = await fs.promises.readdir(dir).catch(() => [] as string[]);
  if (!listed.includes(name)) return false;
  const file = path.join(dir, name);
  const st = await fs.promises.stat(file).catch(() => undefined);
  if (!st?.isFile()) return false;
  const etag = etagOf(st);
  ctx.set('ETag', etag);
  ctx.set('Last-Modified', st.mtime.toUTCString());
  ctx.set(
    'Cache-Control',
    HASHED.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache', // revalidate the shell
  );
  ctx.type = UI_CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream';
  if (ctx.get('if-none-match') === etag) {
    ctx.status = 304;
    return true;
  }
  // Read whole: the files are small, and a HEAD answer keeps its Content-Length this way.
  ctx.body = await fs.promises.readFile(file);
  ctx.status = 200;
  return true;
}

export function registerUi(router: Router, opts: UiOptions = {}): void {
  const dir = opts.dir ?? DEFAULT_UI_DIR;

  const serve: Koa.Middleware = async (ctx) => {
    // Relative asset URLs in index.html need the trailing slash.
    if (ctx.path === '/ui') {
      ctx.status = 301;
      return ctx.redirect('/ui/');
    }
    ctx.set('Content-Security-Policy', UI_CSP);
    const target = uiTarget(ctx.path);
    if (target.kind !== 'shell') {
      if (target.kind === 'file' && (await send(ctx, dir, target.name))) return;
      throw new HttpError(404, 'not_found', `no dashboard file at ${ctx.path}`);
    }
    if (await send(ctx, dir, 'index.html')) return;
    throw new HttpError(
      503,
      'ui_not_built',
      `the dashboard is not built (no ${path.join(dir, 'index.html')})`,
      'run `make build` in the checkout (it bundles ui/ into dist/ui)',
    );
  };

  router.get('/ui{/*rest}', serve);
  router.get('/', (ctx) => {
    // A person's browser asks for a page; API clients and probes get the usual JSON 404.
    if (ctx.accepts('html') && /text\/html/i.test(ctx.get('accept'))) {
      ctx.status = 302;
      return ctx.redirect('/ui/');
    }
    throw new HttpError(
      404,
      'not_found',
      'nothing to GET at /',
      'the dashboard is at /ui/; `codex --remote` connects to / with a WebSocket upgrade',
    );
  });
}
