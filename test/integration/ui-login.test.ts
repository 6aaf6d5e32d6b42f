/**
 * The dashboard's login end to end: `codex-sm serve` with the REAL app-server and a FAKE
 * Responses API (the one thing that cannot run here; no turn is run). `codex-sm open` mints a
 * one-time code, the code becomes an HttpOnly session cookie that works on HTTP, SSE and `/ws`
 * but never on the relay; a change made with the cookie needs our own Origin; logout and
 * revoking the token it came from end the session and its streams; bearer clients are
 * unaffected. (Login-code and session expiry are the unit test's, with a clock: codes live 120 s.)
 */
import path from 'node:path';
import { expect } from 'chai';
import WebSocket from 'ws';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import {
  startService,
  waitReady,
  type LogLine,
  type ServiceProcess,
} from '../../harness/service.js';
import { serviceFetch } from '../helpers/http.js';
import { cliJson, runCli } from '../helpers/queues-api.js';
import { SseClient } from '../helpers/sessions-sse.js';

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  headers: Headers;
  body: Json;
}
interface TokenRow {
  id: string;
  name: string;
  kind: string;
  parentId: string | null;
  revokedAt: string | null;
}

describe('dashboard login: browser sessions against the real service (fake Responses API)', function () {
  this.timeout(90_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;
  let origin: string;

  before(async () => {
    fake = await startFakeResponses();
    svc = await startService({ config: { appServer: { args: fake.codexArgs() } } });
    await waitReady(svc);
    origin = svc.endpoint;
  });
  after(async () => {
    await svc?.stop();
    await fake?.close();
  });

  /** A request as a browser would send it: the cookie, and the Origin when given. */
  const browser = async (
    cookie: string | undefined,
    method: string,
    p: string,
    o: { origin?: string; body?: unknown } = {},
  ): Promise<Answer> => {
    const r = await fetch(svc.endpoint + p, {
      method,
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(o.origin ? { origin: o.origin } : {}),
        ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    });
    const text = await r.text();
    return { status: r.status, headers: r.headers, body: (text ? JSON.parse(text) : {}) as Json };
  };
  const bearer = async (token: string, method: string, p: string, body?: unknown) => {
    const r = await serviceFetch(svc.endpoint, token, method, p, body);
    return { status: r.status, body: (r.text ? JSON.parse(r.text) : {}) as Json };
  };
  const cli = async (...args: string[]) =>
    cliJson<Json>(
      await runCli(path.join(svc.dir, 'config.json'), new URL(svc.endpoint).port, svc.dir, args),
    );
  /** POST /api/ui/login → the `name=value` to send back as the Cookie header. */
  const login = async (credential: { code: string } | { token: string }) => {
    const r = await browser(undefined, 'POST', '/api/ui/login', { origin, body: credential });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    const set = r.headers.get('set-cookie') ?? '';
    return { answer: r, setCookie: set, cookie: set.split(';')[0] as string };
  };
  const codeOf = (url: string) => new URL(url).hash.replace(/^#code=/, '');
  /** The upgrade's status: 101 when the socket opened (it is returned open), else the refusal's. */
  const upgrade = (p: string, headers: Record<string, string>) =>
    new Promise<{ status: number; ws?: WebSocket }>((resolve) => {
      const ws = new WebSocket(svc.wsUrl + p, { headers });
      ws.on('open', () => resolve({ status: 101, ws }));
      ws.on('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode ?? 0 });
        res.resume();
      });
      ws.on('error', () => undefined);
    });
  const tokens = async () =>
    ((await bearer(svc.token, 'GET', '/api/tokens')).body.tokens ?? []) as TokenRow[];

  it('`codex-sm open --json --no-browser` prints a link whose one-time code becomes an HttpOnly session cookie that works on HTTP and /ws', async () => {
    const opened = await cli('open', '--no-browser');
    expect(opened.openedWith).to.equal(null);
    const url = new URL(String(opened.url));
    expect(`${url.origin}${url.pathname}`).to.equal(`${origin}/ui/`);
    const code = codeOf(String(opened.url));
    expect(code).to.match(/^[A-Za-z0-9_-]{22}$/);

    const WEEK_MS = 7 * 24 * 3600 * 1000;
    const t0 = Date.now();
    const { answer, setCookie, cookie } = await login({ code });
    const t1 = Date.now();
    expect(answer.body.scopes, 'the owner asked: every scope').to.include.members([
      'admin',
      'sessions:read',
    ]);
    // Seven days from the login, as the cookie's Max-Age below says.
    expect(Date.parse(String(answer.body.expiresAt))).to.be.within(t0 + WEEK_MS, t1 + WEEK_MS);
    expect(setCookie).to.match(/^codex_sm_session=cst_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}; /);
    expect(setCookie).to.include('; Path=/; HttpOnly; SameSite=Strict; Max-Age=604800');
    expect(setCookie, 'plain-HTTP listener').to.not.include('Secure');
    expect(answer.headers.get('cache-control')).to.equal('no-store');

    const again = await browser(undefined, 'POST', '/api/ui/login', { body: { code } });
    expect(again.status, 'a code works once').to.equal(401);
    expect((again.body.error as Json).code).to.equal('unauthorized');

    const me = await browser(cookie, 'GET', '/api/ui/session');
    expect(me.status).to.equal(200);
    expect(me.body).to.include({ via: 'cookie', expiresAt: answer.body.expiresAt });
    expect(String(me.body.id)).to.match(/^cst_/);
    expect((await browser(cookie, 'GET', '/api/sessions')).status).to.equal(200);
    const ws = await upgrade('/ws', { cookie, origin });
    expect(ws.status).to.equal(101);
    ws.ws?.close();
    // Another server on this host (any port) may set a codex_sm_session of its own with a longer
    // Path, which the browser then sends first: each value is tried, so it locks nobody out.
    const planted = `codex_sm_session=cst_0000000000000000.${'A'.repeat(43)}; ${cookie}`;
    expect((await browser(planted, 'GET', '/api/sessions')).status, 'planted first').to.equal(200);
    const plantedWs = await upgrade('/ws', { cookie: planted, origin });
    expect(plantedWs.status).to.equal(101);
    plantedWs.ws?.close();
    expect((await upgrade('/ws', { cookie })).status, 'no Origin').to.equal(403);
    expect((await upgrade('/ws', { cookie, origin: 'http://evil.example' })).status).to.equal(403);
    expect((await upgrade('/', { cookie, origin })).status, 'never the relay').to.equal(401);
    expect((await upgrade('/app-server', { cookie, origin })).status).to.equal(401);

    const forPhone = await cli('open', '--no-browser', '--qr', '--host', '192.168.1.20');
    expect(String(forPhone.url)).to.match(/^http:\/\/192\.168\.1\.20:\d+\/ui\/#code=/);
    expect(String(forPhone.qr)).to.match(/[▀▄█]/);
    expect(String(forPhone.hints), 'the test service listens on loopback').to.include(
      'cannot reach it',
    );

    const listed = (await cli('token', 'list')).tokens as TokenRow[];
    const mine = listed.find((t) => t.id === me.body.id);
    expect(mine).to.include({ kind: 'browser', name: 'browser session' });
    expect(mine?.parentId, "the owner token's fingerprint").to.match(/^owner:[0-9a-f]{16}$/);
    const logs = JSON.stringify(svc.logs);
    expect(logs, 'the code is never logged').to.not.include(code);
    expect(logs, 'nor the session secret').to.not.include(cookie.split('.')[1]);
  });

  it("a session's secret works only as its cookie: never as a bearer (not on /api, not on the relay), never rotated, never with the app-server scope", async () => {
    const { answer, cookie } = await login({ token: svc.token });
    expect(answer.body.scopes, 'the owner has every scope').to.include('admin');
    expect(answer.body.scopes, 'but the cookie cannot use the relay').to.not.include('app-server');
    const secret = cookie.slice(cookie.indexOf('=') + 1);
    const id = String(answer.body.id);
    expect((await browser(cookie, 'GET', '/api/sessions')).status).to.equal(200);

    const asBearer = await bearer(secret, 'GET', '/api/sessions');
    expect(asBearer.status).to.equal(401);
    expect((asBearer.body.error as Json).code).to.equal('unauthorized');
    // (Each refusal counts against this peer's failure limit, which the later tests share.)
    const relay = await upgrade('/', { authorization: `Bearer ${secret}` });
    expect(relay.status, 'the relay').to.equal(401);
    const asBearerAudit = (l: LogLine) => l.audit === true && l.why === 'session as bearer';
    await svc.waitForLog((l) => asBearerAudit(l) && String(l.route).startsWith('UPGRADE'));
    const audited = svc.logs.filter(asBearerAudit);
    expect(audited.length, 'each refusal audited').to.equal(2);
    expect(JSON.stringify(audited), 'without the secret').to.not.include(secret.split('.')[1]);

    const rotate = await bearer(svc.token, 'POST', `/api/tokens/${id}/rotate`);
    expect(rotate.status, JSON.stringify(rotate.body)).to.equal(400);
    expect((rotate.body.error as Json).code).to.equal('bad_request');
    expect(rotate.body, 'no new secret handed out').to.not.have.property('token');
    expect((await browser(cookie, 'GET', '/api/ui/session')).status, 'unchanged').to.equal(200);
    const selfRotate = await browser(cookie, 'POST', `/api/tokens/${id}/rotate`, { origin });
    expect(selfRotate.status, 'not by itself either').to.equal(400);

    const relayOnly = await cli('token', 'create', '--name', 'remote', '--scope', 'app-server');
    const refused = await browser(undefined, 'POST', '/api/ui/login', {
      origin,
      body: { token: String(relayOnly.token) },
    });
    expect(refused.status, 'nothing the dashboard could use').to.equal(403);
    expect((refused.body.error as Json).code).to.equal('forbidden');
  });

  it('a cookie request that may change something needs our own Origin: without it, or with a foreign one, 403 and nothing changed; bearer clients are unaffected', async () => {
    const { cookie } = await login({ token: svc.token });
    const before = (await tokens()).length;
    const body = { name: 'made-by-cookie', scopes: ['queues'] };
    const none = await browser(cookie, 'POST', '/api/tokens', { body });
    expect(none.status).to.equal(403);
    expect((none.body.error as Json).code).to.equal('origin_mismatch');
    const foreign = await browser(cookie, 'POST', '/api/tokens', {
      body,
      origin: 'http://evil.example',
    });
    expect(foreign.status).to.equal(403);
    expect((foreign.body.error as Json).code).to.equal('origin_mismatch');
    const port = await browser(cookie, 'POST', '/api/tokens', {
      body,
      origin: origin.replace(/:(\d+)$/, (_m, p: string) => `:${Number(p) + 1}`),
    });
    expect(port.status, 'another port is another origin').to.equal(403);
    expect((await tokens()).length, 'nothing was created').to.equal(before);
    expect((await browser(cookie, 'GET', '/api/tokens')).status, 'reads need no Origin').to.equal(
      200,
    );

    const ours = await browser(cookie, 'POST', '/api/tokens', { body, origin });
    expect(ours.status).to.equal(201);
    const viaBearer = await fetch(`${svc.endpoint}/api/tokens`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${svc.token}`,
        origin: 'http://evil.example',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'bearer', scopes: ['queues'] }),
    });
    expect(viaBearer.status, 'bearer requests are not held to an Origin').to.equal(201);
    expect((await tokens()).length).to.equal(before + 2);

    const crossLogin = await browser(undefined, 'POST', '/api/ui/login', {
      origin: 'http://evil.example',
      body: { token: svc.token },
    });
    expect(crossLogin.status, 'no login from another site').to.equal(403);
    const audits = svc.logs.filter((l) => l.audit === true && l.why === 'origin mismatch');
    expect(audits.length).to.be.at.least(3);
  });

  it('logout revokes the session: its open SSE and /ws streams end, the cookie is cleared and then refused', async () => {
    const s = await bearer(svc.token, 'POST', '/api/sessions', { cwd: svc.dir });
    expect(s.status, JSON.stringify(s.body)).to.be.oneOf([200, 201]);
    const id = (s.body.session as Json).id as string;
    const { cookie } = await login({
      code: String((await bearer(svc.token, 'POST', '/api/ui/login-codes')).body.code),
    });
    const sse = await SseClient.open(`${svc.endpoint}/api/sessions/${id}/events?follow=true`, {
      cookie,
    });
    expect(sse.status).to.equal(200);
    const ws = await upgrade('/ws', { cookie, origin });
    expect(ws.status).to.equal(101);
    const wsClosed = new Promise((r) => ws.ws?.once('close', r));

    expect((await browser(cookie, 'POST', '/api/ui/logout')).status, 'no Origin').to.equal(403);
    const out = await browser(cookie, 'POST', '/api/ui/logout', { origin });
    expect(out.status).to.equal(200);
    expect(out.body).to.deep.equal({ loggedOut: true });
    expect(out.headers.get('set-cookie')).to.match(/^codex_sm_session=; .*Max-Age=0/);
    await sse.ended;
    await wsClosed;
    const after = await browser(cookie, 'GET', '/api/ui/session');
    expect(after.status).to.equal(401);
    expect(after.headers.get('set-cookie'), 'a refused cookie is cleared').to.match(/Max-Age=0/);
    const row = (await tokens()).find((t) => t.kind === 'browser' && t.revokedAt !== null);
    expect(row, 'the session is a revoked token in the list').to.not.equal(undefined);
  });

  it("a session logged in with a scoped token has that token's scopes, and revoking the token ends it", async () => {
    const made = await cli('token', 'create', '--name', 'phone', '--scope', 'sessions:read');
    const { answer, cookie } = await login({ token: String(made.token) });
    expect(answer.body.scopes).to.deep.equal(['sessions:read']);
    expect((await browser(cookie, 'GET', '/api/sessions')).status).to.equal(200);
    const admin = await browser(cookie, 'POST', '/api/ui/login-codes', { origin });
    expect(admin.status, 'minting codes needs admin').to.equal(403);
    expect((admin.body.error as Json).missingScope).to.equal('admin');
    const me = await browser(cookie, 'GET', '/api/ui/session');
    const sessionRow = (await tokens()).find((t) => t.id === me.body.id);
    expect(sessionRow?.parentId).to.equal(made.id);

    const revoked = await cli('token', 'revoke', String(made.id));
    expect(revoked.revokedAt).to.be.a('string');
    expect((await browser(cookie, 'GET', '/api/sessions')).status).to.equal(401);
    const bearerSelfLogin = await browser(undefined, 'POST', '/api/ui/login', {
      body: { token: String(made.token) },
    });
    expect(bearerSelfLogin.status, 'a revoked token cannot log in').to.equal(401);
  });

  it('logging in again ends the session the browser had; a token has at most 10 live sessions, the oldest go first', async () => {
    const made = await cli('token', 'create', '--name', 'tablet', '--scope', 'sessions:read');
    const token = String(made.token);
    const first = await login({ token });
    const firstId = String(first.answer.body.id);
    const again = await browser(first.cookie, 'POST', '/api/ui/login', {
      origin,
      body: { token },
    });
    expect(again.status).to.equal(200);
    const second = (again.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect((await browser(second, 'GET', '/api/ui/session')).status).to.equal(200);
    const revokedAt = async (id: string) => (await tokens()).find((t) => t.id === id)?.revokedAt;
    expect(await revokedAt(firstId), 'the replaced session').to.be.a('string');

    const ids = [String(again.body.id)];
    for (let i = 0; i < 10; i++) ids.push(String((await login({ token })).answer.body.id));
    const rows = await tokens();
    const live = rows.filter((t) => t.parentId === made.id && t.revokedAt === null);
    expect(live.map((t) => t.id)).to.have.members(ids.slice(1));
    expect(await revokedAt(String(ids[0])), 'the oldest, past the cap').to.be.a('string');
    const capped = await svc.waitForLog((l) => l.audit === true && Array.isArray(l.capped));
    expect(capped?.capped).to.deep.equal([ids[0]]);
  });

  it("a session never outlives the token it came from: its expiry is the token's (the expiry itself: the unit test's clock)", async () => {
    const made = await cli(
      'token',
      'create',
      '--name',
      'brief',
      '--scope',
      'sessions:read',
      '--expires',
      '1h',
    );
    const { answer, cookie } = await login({ token: String(made.token) });
    expect(answer.body.expiresAt).to.equal(made.expiresAt);
    const me = await browser(cookie, 'GET', '/api/ui/session');
    expect(me.status).to.equal(200);
    expect(me.body.expiresAt).to.equal(made.expiresAt);
  });

  it('every answer carries nosniff, no-referrer and DENY: routes, errors and refused upgrades', async () => {
    for (const p of ['/healthz', '/api/ui/session', '/nowhere']) {
      const r = await fetch(svc.endpoint + p);
      expect(r.headers.get('x-content-type-options'), p).to.equal('nosniff');
      expect(r.headers.get('referrer-policy'), p).to.equal('no-referrer');
      expect(r.headers.get('x-frame-options'), p).to.equal('DENY');
    }
    const refused = await new Promise<Record<string, unknown>>((resolve) => {
      const ws = new WebSocket(`${svc.wsUrl}/ws`);
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.headers);
        res.resume();
      });
      ws.on('error', () => undefined);
    });
    expect(refused['x-frame-options']).to.equal('DENY');
  });

  // Last: it leaves this peer rate-limited for a minute.
  it('wrong login codes are refused with 401 and counted by the per-peer limit (then 429)', async () => {
    // The tests before made a few failures from this peer too: the limit (10 a minute) counts all.
    let last: Answer | undefined;
    const seen: number[] = [];
    for (let i = 0; i < 15 && last?.status !== 429; i++) {
      last = await browser(undefined, 'POST', '/api/ui/login', { body: { code: `wrong-${i}` } });
      seen.push(last.status);
    }
    expect(seen.slice(0, -1).every((s) => s === 401)).to.equal(true);
    expect(last?.status).to.equal(429);
    expect((last?.body.error as Json).code).to.equal('rate_limited');
    expect(Number(last?.headers.get('retry-after'))).to.be.greaterThan(0);
    const code = String((await bearer(svc.token, 'POST', '/api/ui/login-codes')).body.code);
    await login({ code }); // a right code still passes
    const bad = await browser(undefined, 'POST', '/api/ui/login', {
      body: { code: 'x', token: 'y' },
    });
    expect(bad.status, 'exactly one of code and token').to.equal(400);
  });
});
