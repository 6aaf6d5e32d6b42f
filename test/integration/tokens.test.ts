/**
 * Scoped tokens end to end: `codex-sm serve` with the REAL app-server and a FAKE Responses API
 * (the one thing that cannot run here). A phone's token reads sessions and answers approvals
 * but cannot run a turn or open the relay; revoking it ends its open streams at once; wrong
 * tokens are rate-limited; every refusal and change is audited without a secret.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { expect } from 'chai';
import WebSocket from 'ws';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import { startService, waitReady, type ServiceProcess } from '../../harness/service.js';
import { serviceFetch } from '../helpers/http.js';
import { runCli } from '../helpers/queues-api.js';
import { SseClient } from '../helpers/sessions-sse.js';

interface Res<T> {
  status: number;
  headers: Headers;
  body: T;
}
type ErrorJson = { error: { code: string; missingScope?: string } };

describe('scoped tokens against the real service (fake Responses API)', function () {
  this.timeout(90_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;

  const api = async <T = Record<string, unknown>>(
    token: string,
    method: string,
    p: string,
    body?: unknown,
  ): Promise<Res<T>> => {
    const r = await serviceFetch(svc.endpoint, token, method, p, body);
    return { status: r.status, headers: r.headers, body: (r.text ? JSON.parse(r.text) : {}) as T };
  };
  /** The CLI's one JSON object (an error object too: it is printed on stdout). */
  const cli = async (...args: string[]) => {
    const r = await runCli(
      path.join(svc.dir, 'config.json'),
      new URL(svc.endpoint).port,
      svc.dir,
      args,
    );
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  /** The upgrade's status: 101 when the socket opened, else the HTTP refusal's. */
  const upgrade = (token: string, p: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(svc.wsUrl + p, { headers: { authorization: `Bearer ${token}` } });
      ws.on('open', () => {
        resolve(101);
        ws.close();
      });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
      ws.on('error', () => undefined);
    });

  before(async () => {
    fake = await startFakeResponses();
    svc = await startService({
      config: { appServer: { args: fake.codexArgs() }, approvals: { timeoutMs: 60_000 } },
    });
    await waitReady(svc);
  });
  after(async () => {
    await svc?.stop();
    await fake?.close();
  });

  it('a phone token reads sessions and answers approvals, but cannot run a turn or open the relay', async () => {
    const made = await cli(
      'token',
      'create',
      '--name',
      'phone',
      '--scope',
      'sessions:read,approvals',
      '--expires',
      '30d',
    );
    const phone = String(made.token);
    expect(made.scopes).to.deep.equal(['sessions:read', 'approvals']);

    // The owner starts a turn that asks for an approval; the phone sees it and answers it.
    const s = await api<{ session: { id: string } }>(svc.token, 'POST', '/api/sessions', {
      cwd: svc.dir,
      approvalPolicy: 'untrusted',
      sandbox: 'read-only',
    });
    const id = s.body.session.id;
    fake.enqueue({ kind: 'exec', command: ['true'] }, { kind: 'text', text: 'done' });
    const sse = await SseClient.open(`${svc.endpoint}/api/sessions/${id}/events?follow=true`, {
      authorization: `Bearer ${phone}`,
    });
    expect(sse.status).to.equal(200);
    const inbox = await SseClient.open(`${svc.endpoint}/api/approvals/events`, {
      authorization: `Bearer ${phone}`,
    });
    expect(inbox.status).to.equal(200);
    const turn = await api<ErrorJson>(phone, 'POST', `/api/sessions/${id}/turns`, { input: 'x' });
    expect(turn.status).to.equal(403);
    expect(turn.body.error).to.include({ code: 'forbidden', missingScope: 'sessions:write' });
    const noScope = await cli('token', 'create', '--name', 'reader', '--scope', 'sessions:read');
    const refused = await api<ErrorJson>(String(noScope.token), 'GET', '/api/approvals/events');
    expect(refused.status, 'the stream needs the approvals scope').to.equal(403);
    expect(refused.body.error.missingScope).to.equal('approvals');
    expect(
      (await api(svc.token, 'POST', `/api/sessions/${id}/turns`, { input: 'go' })).status,
    ).to.equal(202);
    const held = await sse.waitFor((e) => e.event === 'approval');
    const approval = JSON.parse(held.data) as { id: string };
    await inbox.waitFor((e) => e.event === 'approval' && e.data.includes(approval.id));
    const answered = await api<{ status: string }>(phone, 'POST', `/api/approvals/${approval.id}`, {
      decision: 'accept',
    });
    expect(answered.status).to.equal(200);
    expect(answered.body.status).to.equal('answered');

    expect(await upgrade(phone, '/app-server'), 'the relay is full power over Codex').to.equal(403);
    expect(await upgrade(phone, '/'), 'the relay is full power over Codex').to.equal(403);
    expect(await upgrade(phone, '/ws')).to.equal(101);
    expect(await upgrade(svc.token, '/app-server'), 'the owner may').to.equal(101);
    const tokens = await api<ErrorJson>(phone, 'GET', '/api/tokens');
    expect(tokens.body.error.missingScope).to.equal('admin');

    // Revoking it ends its open stream at once, and it no longer opens anything.
    const revoked = await cli('token', 'revoke', String(made.id));
    expect(revoked.revokedAt).to.be.a('string');
    expect(revoked.closedConnections).to.be.at.least(2);
    await sse.ended;
    await inbox.ended;
    expect((await api(phone, 'GET', '/api/sessions')).status).to.equal(401);

    const listed = (await cli('token', 'list')) as { tokens: { id: string; lastUsedAt: string }[] };
    const mine = listed.tokens.find((t) => t.id === made.id);
    expect(mine?.lastUsedAt, 'last use is kept').to.be.a('string');
    expect(JSON.stringify(listed)).to.not.include(phone.split('.')[1]);
  });

  it('rotate gives a new secret and the old one stops working', async () => {
    const made = await cli('token', 'create', '--name', 'ci', '--scope', 'queues');
    const old = String(made.token);
    expect((await api(old, 'GET', '/api/queues')).status).to.equal(200);
    const rotated = await cli('token', 'rotate', String(made.id));
    expect(rotated.id).to.equal(made.id);
    expect((await api(old, 'GET', '/api/queues')).status).to.equal(401);
    expect((await api(String(rotated.token), 'GET', '/api/queues')).status).to.equal(200);
    const bad = await cli('token', 'create', '--name', 'x', '--scope', 'root');
    expect((bad.error as { code: string }).code).to.equal('invalid_body');
  });

  it('audits refusals and changes, never with a secret, and rate-limits wrong tokens (429 + Retry-After)', async () => {
    const wrong = 'cst_0000000000000000.' + 'A'.repeat(43);
    let last: Res<ErrorJson> | undefined;
    for (let i = 0; i < 12 && last?.status !== 429; i++)
      last = await api<ErrorJson>(wrong, 'GET', '/api/sessions');
    expect(last?.status).to.equal(429);
    expect(last?.body.error.code).to.equal('rate_limited');
    expect(Number(last?.headers.get('retry-after'))).to.be.greaterThan(0);
    const audits = svc.logs.filter((l) => l.audit === true);
    expect(audits.some((l) => l.status === 401 && l.why === 'unknown')).to.equal(true);
    expect(audits.some((l) => l.token === 'owner' && l.route === 'POST /api/tokens')).to.equal(
      true,
    );
    const text = JSON.stringify(svc.logs);
    expect(text).to.not.include('A'.repeat(43));
    expect(text).to.not.include(svc.token);
  });
  it('every documented route but the probes and the login exchange refuses a request without a token, before anything runs', async () => {
    const doc = await api<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>(
      svc.token,
      'GET',
      '/openapi.json',
    );
    const routes = Object.entries(doc.body.paths).flatMap(([p, ops]) =>
      Object.entries(ops)
        // `security: []` is the login exchange alone (the unit route-table test pins that).
        .filter(([, op]) => op.security?.length !== 0)
        .map(([m]) => [m.toUpperCase(), p.replace(/\{[^}]+\}/g, crypto.randomUUID())]),
    );
    expect(routes.length).to.be.greaterThan(40);
    for (const [method, p] of [...routes, ['GET', '/status']] as [string, string][]) {
      const r = await fetch(svc.endpoint + p, { method });
      // 429 once this peer's failures reach the limit (the test before saw to that): a refusal too.
      expect([401, 429], `${method} ${p}`).to.include(r.status);
      expect(((await r.json()) as ErrorJson).error.code).to.be.oneOf([
        'unauthorized',
        'rate_limited',
      ]);
    }
    expect((await fetch(`${svc.endpoint}/healthz`)).status).to.equal(200);
  });
});
