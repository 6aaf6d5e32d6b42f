/**
 * `/metrics` end to end: `codex-sm serve` with the REAL app-server and a FAKE Responses API. It
 * is behind auth (its own `metrics` scope), `promtool check metrics` accepts what it serves, the
 * counters move when a real turn runs and an approval is answered, and random paths do not
 * create new series (the route label is the router's pattern).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import {
  REPO_ROOT,
  startService,
  TestClient,
  waitReady,
  type ServiceProcess,
} from '../../harness/service.js';
import { serviceFetch } from '../helpers/http.js';
import { runCli } from '../helpers/queues-api.js';
import { methodOf, SseClient } from '../helpers/sessions-sse.js';

/** `name{labels}` → value, for every sample line of a Prometheus text exposition. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

export function promtoolAvailable(): boolean {
  return spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
}

describe('/metrics against the real service (fake Responses API)', function () {
  this.timeout(90_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;
  let metricsToken: string;

  const api = (token: string, method: string, p: string, body?: unknown) =>
    serviceFetch(svc.endpoint, token, method, p, body);
  const scrape = async () => {
    const r = await api(metricsToken, 'GET', '/metrics');
    expect(r.status).to.equal(200);
    return samples(r.text);
  };

  before(async () => {
    fake = await startFakeResponses();
    svc = await startService({
      config: { appServer: { args: fake.codexArgs() }, approvals: { timeoutMs: 60_000 } },
    });
    await waitReady(svc);
    const made = await runCli(
      path.join(svc.dir, 'config.json'),
      new URL(svc.endpoint).port,
      svc.dir,
      ['token', 'create', '--name', 'prometheus', '--scope', 'metrics'],
    );
    metricsToken = String((JSON.parse(made.stdout) as { token: string }).token);
  });
  after(async () => {
    await svc?.stop();
    await fake?.close();
  });

  it('answers 401 without a token, 403 to a token without the metrics scope, 200 with it', async () => {
    const bare = await fetch(svc.endpoint + '/metrics');
    expect(bare.status).to.equal(401);
    expect(bare.headers.get('www-authenticate')).to.match(/^Bearer/);
    const made = await runCli(
      path.join(svc.dir, 'config.json'),
      new URL(svc.endpoint).port,
      svc.dir,
      ['token', 'create', '--name', 'reader', '--scope', 'sessions:read'],
    );
    const reader = String((JSON.parse(made.stdout) as { token: string }).token);
    expect((await api(reader, 'GET', '/metrics')).status).to.equal(403);
    expect((await api(metricsToken, 'GET', '/api/sessions')).status, 'metrics only').to.equal(403);
    const ok = await api(metricsToken, 'GET', '/metrics');
    expect(ok.status).to.equal(200);
    expect(ok.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    const m = samples(ok.text);
    expect(m.get('codex_sm_app_server_state{state="ready"}')).to.equal(1);
    expect(m.get('codex_sm_app_server_state{state="backoff"}')).to.equal(0);
    expect(m.has('process_cpu_user_seconds_total'), 'default process metrics').to.equal(true);
  });

  it('serves text that `promtool check metrics` accepts', async function () {
    if (!promtoolAvailable()) {
      console.warn(
        '    SKIPPED: promtool is not installed (apt-get install prometheus; CI installs it)',
      );
      return this.skip();
    }
    const r = await api(metricsToken, 'GET', '/metrics');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: r.text, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).to.equal(0);
    expect(check.stdout + check.stderr, 'no lint findings').to.equal('');
  });

  it('docs/metrics.md describes every codex_sm_ metric served', async () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'metrics.md'), 'utf8');
    const text = (await api(metricsToken, 'GET', '/metrics')).text;
    const names = [...text.matchAll(/^# TYPE (codex_sm_\w+) /gm)].map((m) => m[1]);
    expect(names).to.have.length.above(15);
    for (const name of names) expect(doc, name).to.include(`| \`${name}\` |`);
  });

  it('counts a real turn, its approval, the SSE stream, the relay and the HTTP requests', async () => {
    const owner = { authorization: `Bearer ${svc.token}` };
    const before = await scrape();
    const get = (m: Map<string, number>, k: string) => m.get(k) ?? 0;

    const s = await api(svc.token, 'POST', '/api/sessions', {
      cwd: svc.dir,
      approvalPolicy: 'untrusted',
      sandbox: 'read-only',
    });
    const id = (JSON.parse(s.text) as { session: { id: string } }).session.id;
    const sse = await SseClient.open(
      `${svc.endpoint}/api/sessions/${id}/events?follow=true`,
      owner,
    );
    fake.enqueue({ kind: 'exec', command: ['true'] }, { kind: 'text', text: 'done' });
    expect(
      (await api(svc.token, 'POST', `/api/sessions/${id}/turns`, { input: 'go' })).status,
    ).to.equal(202);
    const held = JSON.parse((await sse.waitFor((e) => e.event === 'approval')).data) as {
      id: string;
    };
    const waiting = await scrape();
    expect(get(waiting, 'codex_sm_approvals_pending')).to.equal(1);
    expect(get(waiting, 'codex_sm_clients{endpoint="sse"}')).to.equal(1);
    expect(
      get(waiting, 'codex_sm_turns_started_total') - get(before, 'codex_sm_turns_started_total'),
    ).to.equal(1);

    const answered = await api(svc.token, 'POST', `/api/approvals/${held.id}`, {
      decision: 'accept',
    });
    expect(answered.status).to.equal(200);
    await sse.waitFor((e) => methodOf(e) === 'turn/completed');
    sse.close();
    await sse.ended;

    // The server notices the closed stream a moment after the client: scrape until it has (a
    // gauge has no event to wait for).
    let after = await scrape();
    while (get(after, 'codex_sm_clients{endpoint="sse"}') !== 0) {
      await new Promise((r) => setTimeout(r, 50));
      after = await scrape();
    }
    const moved = (k: string) => get(after, k) - get(before, k);
    expect(moved('codex_sm_turns_finished_total{status="completed"}')).to.equal(1);
    expect(get(after, 'codex_sm_approvals_pending')).to.equal(0);
    expect(moved('codex_sm_approval_wait_seconds_count{outcome="answered"}')).to.equal(1);
    expect(
      moved(
        'codex_sm_http_requests_total{method="POST",route="/api/sessions/:id/turns",status="202"}',
      ),
    ).to.equal(1);
    expect(
      moved('codex_sm_http_requests_total{method="POST",route="/api/approvals/:id",status="200"}'),
    ).to.equal(1);
    expect(
      moved(
        'codex_sm_http_request_duration_seconds_count{method="POST",route="/api/sessions/:id/turns"}',
      ),
    ).to.equal(1);
    expect(
      moved('codex_sm_http_requests_total{method="GET",route="/metrics",status="200"}'),
    ).to.be.at.least(2);
    expect(get(after, 'codex_sm_clients{endpoint="sse"}'), 'the stream ended').to.equal(0);

    // The relay: one client on /app-server, its initialize counted both ways.
    const client = await TestClient.connect(svc.wsUrl + '/app-server', owner);
    await client.initialize();
    const relaying = await scrape();
    client.close();
    await client.closed;
    expect(get(relaying, 'codex_sm_clients{endpoint="/app-server"}')).to.equal(1);
    const gained = (k: string) => get(relaying, k) - get(after, k);
    expect(gained('codex_sm_relay_messages_total{direction="to_app_server"}')).to.equal(2);
    expect(gained('codex_sm_relay_messages_total{direction="to_client"}')).to.be.at.least(1);
    expect(gained('codex_sm_relay_bytes_total{direction="to_app_server"}')).to.be.greaterThan(50);
  });

  it('random paths add no series: a route label is the pattern or "unmatched"', async () => {
    const burst = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const r = crypto.randomUUID();
        await api(svc.token, 'GET', `/no-such-${r}`);
        await api(svc.token, 'GET', `/api/sessions/${r}`);
        await api(metricsToken, 'GET', `/api/queues/${r}`); // 403, before the router runs
      }
    };
    const series = (m: Map<string, number>) =>
      [...m.keys()].filter((k) => k.startsWith('codex_sm_http_request'));
    await burst(3);
    expect((await api('wrong', 'GET', `/api/groups/${crypto.randomUUID()}`)).status).to.equal(401);
    const first = series(await scrape());
    await burst(20);
    const second = series(await scrape());
    // The scrape of `first` itself adds the /metrics series; every other key is the same.
    expect(
      second.filter((k) => !first.includes(k) && !k.includes('route="/metrics"')),
    ).to.deep.equal([]);
    expect(second.join('\n')).to.not.match(/no-such-|[0-9a-f]{8}-[0-9a-f]{4}/);
    expect(second).to.include(
      'codex_sm_http_requests_total{method="GET",route="unmatched",status="404"}',
    );
    expect(second).to.include(
      'codex_sm_http_requests_total{method="GET",route="/api/queues/:id",status="403"}',
    );
    expect(second).to.include(
      'codex_sm_http_requests_total{method="GET",route="/api/groups/:id",status="401"}',
    );
  });
});
