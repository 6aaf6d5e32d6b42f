/**
 * The dashboard's static shell at /ui/ on the real service (real app-server): public, cached
 * right, CSP on every answer, nothing outside dist/ui reachable, a browser's `GET /` sent to it
 * while the WebSocket relay on `/` stays as it is. And a checkout that was never built says so.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import Router from '@koa/router';
import { expect } from 'chai';
import {
  startService,
  tempDir,
  TestClient,
  waitReady,
  type ServiceProcess,
} from '../../harness/service.js';
import { createApp } from '../../service/http.js';
import { registerUi, UI_CSP } from '../../service/ui.js';

const get = (url: string, headers: Record<string, string> = {}, method = 'GET') =>
  fetch(url, { method, headers, redirect: 'manual' });

describe('dashboard static shell at /ui/ (real service)', function () {
  this.timeout(60_000);
  let svc: ServiceProcess;

  before(async () => {
    svc = await startService();
    await waitReady(svc);
  });
  after(async () => {
    await svc?.stop();
  });

  it('serves index.html without a token, with the CSP, no-cache and a validator', async () => {
    const r = await get(`${svc.endpoint}/ui/`);
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-type')).to.match(/^text\/html/);
    expect(r.headers.get('content-security-policy')).to.equal(UI_CSP);
    expect(UI_CSP).to.not.include('unsafe-inline');
    expect(r.headers.get('x-frame-options')).to.equal('DENY');
    expect(r.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(r.headers.get('cache-control')).to.equal('no-cache');
    const etag = r.headers.get('etag');
    expect(etag).to.be.a('string');
    expect(r.headers.get('last-modified')).to.be.a('string');
    const html = await r.text();
    expect(html).to.include('<div id="app">');
    expect(html, 'no inline script').to.not.match(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html, 'nothing from outside').to.not.match(/(src|href)="(https?:)?\/\//);
    const again = await get(`${svc.endpoint}/ui/`, { 'if-none-match': etag as string });
    expect(again.status).to.equal(304);
    const head = await get(`${svc.endpoint}/ui/`, {}, 'HEAD');
    expect(head.status).to.equal(200);
    expect(Number(head.headers.get('content-length'))).to.equal(Buffer.byteLength(html));
  });

  it('serves the hashed JS and CSS as immutable, the JS within its 100 KB gzip budget', async () => {
    const html = await (await get(`${svc.endpoint}/ui/`)).text();
    const js = /src="\.\/(main-[A-Z0-9]{8}\.js)"/.exec(html)?.[1];
    const css = /href="\.\/(main-[A-Z0-9]{8}\.css)"/.exec(html)?.[1];
    expect(js, html).to.be.a('string');
    expect(css, html).to.be.a('string');
    const a = await get(`${svc.endpoint}/ui/${js}`);
    expect(a.status).to.equal(200);
    expect(a.headers.get('content-type')).to.match(/^text\/javascript/);
    expect(a.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
    const body = Buffer.from(await a.arrayBuffer());
    const gz = zlib.gzipSync(body, { level: 9 }).length;
    console.log(`      dashboard JS: ${(gz / 1024).toFixed(1)} KB gzipped`);
    expect(gz).to.be.at.most(100 * 1024);
    const c = await get(`${svc.endpoint}/ui/${css}`);
    expect(c.status).to.equal(200);
    expect(c.headers.get('content-type')).to.match(/^text\/css/);
  });

  it('answers client routes with the shell and missing assets with a JSON 404', async () => {
    const route = await get(`${svc.endpoint}/ui/sessions/some-id`);
    expect(route.status).to.equal(200);
    expect(await route.text()).to.include('<div id="app">');
    // An encoded slash in a route names no file either: the shell (it holds no data).
    const encoded = await rawGet(svc.endpoint, '/ui/foo%2Fbar');
    expect(encoded.status).to.equal(200);
    expect(encoded.body).to.include('<div id="app">');
    const missing = await get(`${svc.endpoint}/ui/main-AAAAAAAA.js`);
    expect(missing.status).to.equal(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).to.equal(
      'not_found',
    );
    expect(missing.headers.get('content-security-policy')).to.equal(UI_CSP);
  });

  it('cannot be walked out of dist/ui (dot segments, encoded slashes, NUL)', async () => {
    for (const p of [
      '/ui/..%2fservice%2fui.js',
      '/ui/%2e%2e/%2e%2e/package.json',
      '/ui/..%5c..%5cpackage.json',
      '/ui/x/../../api/sessions',
      '/ui/index.html%00.js',
      '/ui/%2e%2e%2f%2e%2e%2fpackage.json',
      '/ui/foo%2Fmain.js', // an encoded slash before a file name
      '/ui/src/paths.js', // what tsc compiles there for the unit tests is no asset
    ]) {
      // fetch would normalise the dots away: a raw request sends the path as written.
      const r = await rawGet(svc.endpoint, p);
      expect(r.status, p).to.equal(404);
      expect(r.body, p).to.include('"not_found"');
    }
  });

  it('answers other methods with 405 JSON and its Allow header', async () => {
    const r = await fetch(`${svc.endpoint}/ui/`, { method: 'POST', body: 'x' });
    expect(r.status).to.equal(405);
    expect(r.headers.get('allow')).to.match(/GET/);
    expect(((await r.json()) as { error: { code: string } }).error.code).to.equal(
      'method_not_allowed',
    );
  });

  it('sends a browser from / and /ui to /ui/; API clients get JSON; the relay on / is unchanged', async () => {
    const page = await get(`${svc.endpoint}/`, { accept: 'text/html,application/xhtml+xml' });
    expect(page.status).to.equal(302);
    expect(page.headers.get('location')).to.equal('/ui/');
    const bare = await get(`${svc.endpoint}/ui`, { accept: 'text/html' });
    expect(bare.status).to.equal(301);
    expect(bare.headers.get('location')).to.equal('/ui/');
    const api = await get(`${svc.endpoint}/`, { accept: 'application/json' });
    expect(api.status).to.equal(404);
    expect(((await api.json()) as { error: { hint: string } }).error.hint).to.include('/ui/');
    // The relay: a token still opens it, and talks to the real app-server.
    const c = await TestClient.connect(`${svc.wsUrl}/`, {
      authorization: `Bearer ${svc.token}`,
    });
    const init = await c.initialize();
    expect(init).to.have.property('userAgent');
    c.close();
    // Without a token the upgrade on / is refused as before.
    const refused = await TestClient.connect(`${svc.wsUrl}/`).catch((e: { status?: number }) => e);
    expect((refused as { status?: number }).status).to.equal(401);
    // And the API is not public because the shell is.
    expect((await get(`${svc.endpoint}/api/sessions`)).status).to.equal(401);
    expect((await get(`${svc.endpoint}/status`)).status).to.equal(401);
  });
});

describe('dashboard shell in a checkout that was never built', () => {
  it('answers 503 ui_not_built with the hint to run make build', async () => {
    const router = new Router();
    registerUi(router, { dir: `${tempDir()}/ui-missing` });
    const app = createApp({ allowedHosts: () => [], auth: (_ctx, next) => next() }, router);
    const server = http.createServer(app.callback()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as AddressInfo;
      const r = await fetch(`http://127.0.0.1:${port}/ui/`);
      expect(r.status).to.equal(503);
      const body = (await r.json()) as { error: { code: string; hint: string } };
      expect(body.error.code).to.equal('ui_not_built');
      expect(body.error.hint).to.include('make build');
      const asset = await fetch(`http://127.0.0.1:${port}/ui/main-AAAAAAAA.js`);
      expect(asset.status).to.equal(404);
    } finally {
      server.close();
    }
  });
});

/** A GET with the path exactly as given (no URL normalisation). */
function rawGet(endpoint: string, pathname: string): Promise<{ status: number; body: string }> {
  const u = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: pathname, method: 'GET' },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
