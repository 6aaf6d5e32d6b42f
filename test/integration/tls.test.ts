/** Exposure rules: non-loopback binds need TLS; with TLS, HTTPS and WSS work with the token (real service). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import { expect } from 'chai';
import WebSocket from 'ws';
import { CLI, startService, tempDir, type ServiceProcess } from '../../harness/service.js';
import { requireOpenssl, makeCert } from '../helpers/tls-cert.js';

function get(
  url: string,
  ca: string,
  token?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const auth = token ? { authorization: `Bearer ${token}` } : {};
    https
      .get(url, { ca, headers: { ...auth, ...headers } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** POST a JSON body; the answer's status, Set-Cookie and body. */
function post(
  url: string,
  ca: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; setCookie: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method: 'POST', ca, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            setCookie: res.headers['set-cookie'] ?? [],
            body: text,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('TLS and exposure (integration)', function () {
  this.timeout(60_000);
  let svc: ServiceProcess | undefined;
  after(async () => svc?.stop());

  it('refuses to bind a non-loopback address without TLS (exit 78, one line)', () => {
    const dir = tempDir();
    const r = spawnSync(process.execPath, [CLI, 'serve', '--host', '0.0.0.0', '--port', '0'], {
      env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: dir },
      encoding: 'utf8',
    });
    expect(r.status).to.equal(78);
    expect(r.stderr).to.match(/refusing to bind 0\.0\.0\.0 without TLS/);
  });

  it('serves HTTPS and WSS with the configured certificate on 0.0.0.0', async function () {
    requireOpenssl(this, 'the TLS test');
    const dir = tempDir();
    const { cert, key } = makeCert(dir);
    svc = await startService({ dir, config: { host: '0.0.0.0', tls: { cert, key } } });
    expect(svc.endpoint).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = fs.readFileSync(cert, 'utf8');
    const until = Date.now() + 30_000;
    while ((await get(`${svc.endpoint}/readyz`, ca)).status !== 200) {
      if (Date.now() > until) throw new Error('not ready');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await get(`${svc.endpoint}/status`, ca)).status).to.equal(401);
    const st = await get(`${svc.endpoint}/status`, ca, svc.token);
    expect(st.status).to.equal(200);
    expect(JSON.parse(st.body)).to.include({ state: 'ready' });
    const ws = new WebSocket(svc.wsUrl, { ca, headers: { authorization: `Bearer ${svc.token}` } });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    ws.send(
      JSON.stringify({
        id: 1,
        method: 'initialize',
        params: { clientInfo: { name: 't', title: null, version: '0' }, capabilities: null },
      }),
    );
    const reply = await new Promise<string>((r) => ws.once('message', (d) => r(d.toString())));
    expect(JSON.parse(reply)).to.have.nested.property('result.userAgent');
    ws.close();

    // The dashboard's session cookie is Secure over TLS and named __Host- (no server on this
    // host without TLS can set one), and our https Origin opens /ws with it.
    const login = await post(`${svc.endpoint}/api/ui/login`, ca, { token: svc.token });
    expect(login.status, login.body).to.equal(200);
    const [setCookie = ''] = login.setCookie;
    expect(setCookie).to.match(
      /^__Host-codex_sm_session=cst_[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/,
    );
    const cookie = setCookie.split(';')[0] as string;
    const secret = cookie.slice(cookie.indexOf('=') + 1);
    const sessionUrl = `${svc.endpoint}/api/ui/session`;
    const me = (headers: Record<string, string>) => get(sessionUrl, ca, undefined, headers);
    expect((await me({ cookie })).status).to.equal(200);
    expect(
      (await me({ cookie: `codex_sm_session=${secret}` })).status,
      'the plain name, which any server on this host may set, is not read over TLS',
    ).to.equal(401);
    expect(
      (
        await me({
          cookie: `__Host-codex_sm_session=cst_0000000000000000.${'A'.repeat(43)}; ${cookie}`,
        })
      ).status,
      'a bogus value sent first does not hide the real one',
    ).to.equal(200);
    const channel = new WebSocket(`${svc.wsUrl}/ws`, {
      ca,
      headers: { cookie, origin: svc.endpoint },
    });
    await new Promise((r, j) => (channel.once('open', r), channel.once('error', j)));
    channel.close();
    const plainOrigin = await post(
      `${svc.endpoint}/api/ui/logout`,
      ca,
      {},
      {
        cookie,
        origin: svc.endpoint.replace('https:', 'http:'),
      },
    );
    expect(plainOrigin.status, 'http:// is another origin than https://').to.equal(403);
  });
});
