/**
 * Restarting only the app-server (`POST /api/app-server/restart`) and the flags it is launched
 * with (`--managed-daemon` always, `--remote-control` from settings.json, read at each spawn):
 * `codex-sm serve` as a child process with the REAL app-server, driven by a FAKE Responses API
 * (the only fake: OpenAI's API cannot run here). Offline, remote control comes up "errored".
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import {
  startService,
  TestClient,
  waitReady,
  type LogLine,
  type ServiceProcess,
} from '../../harness/service.js';
import type {
  AppServerRestartJson,
  ServiceStatusJson,
  TurnRunningJson,
} from '../../service/status-json.js';
import { writeSettings } from '../../src/settings.js';
import { methodOf, SseClient } from '../helpers/sessions-sse.js';

interface Res<T> {
  status: number;
  body: T;
}

interface ErrorJson {
  error: { code: string; message: string };
}

type Status = ServiceStatusJson & {
  appServer: Required<Pick<ServiceStatusJson['appServer'], 'remoteControl' | 'pid'>>;
};

function cmdline(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

describe('app-server restart and launch flags (real app-server, fake Responses API)', function () {
  this.timeout(120_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;

  const api = async <T>(method: string, p: string, body?: unknown, raw?: string) => {
    const r = await fetch(svc.endpoint + p, {
      method,
      headers: {
        authorization: `Bearer ${svc.token}`,
        ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : undefined) as T } as Res<T>;
  };
  const status = async () => (await api<Status>('GET', '/status')).body;
  const restart = (body?: unknown, raw?: string) =>
    api<AppServerRestartJson & TurnRunningJson & ErrorJson>(
      'POST',
      '/api/app-server/restart',
      body,
      raw,
    );
  const remoteControlLog = (pid: number, state: string) =>
    svc.waitForLog(
      (l: LogLine) =>
        l.msg === 'remote control' &&
        l.childPid === pid &&
        (l.remoteControl as { status: string }).status === state,
    );
  const restartsLogged = () => svc.logs.filter((l) => l.msg === 'restarting app-server').length;
  const startSession = async (input?: string) => {
    const r = await api<{ session: { id: string } }>('POST', '/api/sessions', { cwd: svc.dir });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    const id = r.body.session.id;
    const sse = await SseClient.open(`${svc.endpoint}/api/sessions/${id}/events?follow=true`, {
      authorization: `Bearer ${svc.token}`,
    });
    if (input) {
      const t = await api('POST', `/api/sessions/${id}/turns`, { input });
      expect(t.status, JSON.stringify(t.body)).to.equal(202);
    }
    return { id, sse };
  };
  const startService_ = async (dir?: string) => {
    svc = await startService({
      dir,
      config: {
        appServer: { args: fake.codexArgs(), backoffInitialMs: 100 },
        stopTimeoutMs: 2000, // a forced restart waits 1 s for a busy app-server before SIGKILL
      },
    });
    await waitReady(svc);
  };

  before(async () => {
    fake = await startFakeResponses();
    await startService_();
  });
  after(async () => {
    await svc?.stop();
    await fake?.close();
  });

  it('launches the app-server as a managed daemon: a thread and its turn survive a service stop and start', async () => {
    const first = await status();
    expect(cmdline(first.appServer.pid)).to.include('--managed-daemon');
    expect(cmdline(first.appServer.pid)).not.to.include('--remote-control');
    await remoteControlLog(first.appServer.pid, 'disabled'); // sent right after initialize
    expect((await status()).appServer.remoteControl).to.include({
      enabled: false,
      status: 'disabled',
    });

    fake.enqueue({ kind: 'text', text: 'kept across the restart' });
    const { id, sse } = await startSession('remember this');
    await sse.waitFor((e) => methodOf(e) === 'turn/completed');
    sse.close();
    const stopped = await svc.stop();
    expect(stopped.code).to.equal(0);

    await startService_(svc.dir);
    const client = await TestClient.connect(svc.wsUrl, { authorization: `Bearer ${svc.token}` });
    await client.initialize();
    const resumed = (await client.request('thread/resume', { threadId: id })) as {
      thread: { turns: { status: string; items: { type: string; text?: string }[] }[] };
    };
    client.close();
    expect(resumed.thread.turns).to.have.length(1);
    const [turn] = resumed.thread.turns;
    expect(turn?.status).to.equal('completed');
    expect(turn?.items.map((i) => i.type)).to.deep.equal(['userMessage', 'agentMessage']);
    expect(turn?.items[1]?.text).to.equal('kept across the restart');
  });

  it('restarts only the app-server with --remote-control when settings.json says so, and without it when toggled back', async () => {
    const before = await status();
    const client = await TestClient.connect(svc.wsUrl, { authorization: `Bearer ${svc.token}` });
    await client.initialize();

    writeSettings(path.join(svc.dir, 'state'), { remoteControl: true, pendingUpdate: null });
    const on = await restart({});
    expect(on.status, JSON.stringify(on.body)).to.equal(200);
    expect(on.body.restarted).to.equal(true);
    const pid = on.body.appServer.pid as number;
    expect(pid).to.be.a('number').and.not.equal(before.appServer.pid);
    expect(on.body.appServer.version).to.equal(before.appServer.version);
    expect(on.body.appServer.remoteControl.enabled).to.equal(true);
    expect((await client.closed).code, 'gateway clients are told to reconnect').to.equal(1012);
    expect(cmdline(pid)).to.include('--remote-control').and.include('--managed-daemon');

    await remoteControlLog(pid, 'errored'); // offline: it cannot reach the relay
    const s = await status();
    expect(s.pid, 'codex-sm itself did not restart').to.equal(before.pid).and.equal(svc.child.pid);
    expect(s.appServer.pid).to.equal(pid);
    expect(s.appServer.remoteControl).to.include({ enabled: true, status: 'errored' });
    expect(s.appServer.remoteControl.serverName).to.be.a('string');
    expect((await fetch(`${svc.endpoint}/readyz`)).status).to.equal(200);

    writeSettings(path.join(svc.dir, 'state'), { remoteControl: false, pendingUpdate: null });
    const off = await restart();
    expect(off.status, JSON.stringify(off.body)).to.equal(200);
    const pid2 = off.body.appServer.pid as number;
    expect(pid2).not.to.equal(pid);
    expect(cmdline(pid2)).not.to.include('--remote-control');
    await remoteControlLog(pid2, 'disabled');
    expect((await status()).appServer.remoteControl).to.include({
      enabled: false,
      status: 'disabled',
    });
  });

  it('never runs two restarts at once: a call during a restart gets the next one, calls waiting for it share it', async () => {
    const logged = restartsLogged();
    const before = (await status()).appServer.pid;
    const answers = await Promise.all([restart(), restart(), restart()]);
    for (const r of answers) expect(r.status, JSON.stringify(r.body)).to.equal(200);
    // The three calls reach the service in any order: the first to arrive gets a restart of its
    // own, the other two arrive while it runs and share the next one, whose app-server is current.
    const pids = answers.map((r) => r.body.appServer.pid as number);
    const shared = pids.find((p) => pids.filter((q) => q === p).length === 2);
    const own = pids.filter((p) => p !== shared);
    expect(shared, `pids ${pids.join(', ')}`).to.be.a('number');
    expect(own, `pids ${pids.join(', ')}`).to.have.length(1);
    expect(own[0], 'the first restart started a new app-server').not.to.equal(before);
    expect((await status()).appServer.pid).to.equal(shared);
    expect(restartsLogged() - logged).to.equal(2);
    const order = svc.logs
      .filter((l) => l.msg === 'restarting app-server' || l.msg === 'app-server ready')
      .slice(-4)
      .map((l) => l.msg);
    expect(order).to.deep.equal([
      'restarting app-server',
      'app-server ready',
      'restarting app-server',
      'app-server ready',
    ]);
  });

  it('answers bad bodies with a 4xx JSON error and restarts nothing', async () => {
    const before = await status();
    const logged = restartsLogged();
    const cases: [unknown, string | undefined, string][] = [
      [{ force: 'yes' }, undefined, 'invalid_body'],
      [{ nope: true }, undefined, 'invalid_body'],
      [{ waitIdleMs: -1 }, undefined, 'invalid_body'],
      [{ waitIdleMs: 1.5 }, undefined, 'invalid_body'],
      [undefined, '{"force": tru', 'invalid_json'],
      [undefined, '[]', 'invalid_body'],
    ];
    for (const [body, raw, code] of cases) {
      const r = await restart(body, raw);
      expect(r.status, `${raw ?? JSON.stringify(body)} → ${JSON.stringify(r.body)}`).to.equal(400);
      expect(r.body.error.code).to.equal(code);
    }
    const noAuth = await fetch(`${svc.endpoint}/api/app-server/restart`, { method: 'POST' });
    expect(noAuth.status).to.equal(401);
    const after = await status();
    expect(after.appServer.pid).to.equal(before.appServer.pid);
    expect(after.appServer.restarts).to.equal(before.appServer.restarts);
    expect(restartsLogged()).to.equal(logged);
  });

  it('describes the route in /openapi.json', async () => {
    const r = await api<{ paths: Record<string, unknown>; components: { schemas: object } }>(
      'GET',
      '/openapi.json',
    );
    expect(r.body.paths).to.include.keys('/api/app-server/restart', '/api/sessions');
    expect(r.body.components.schemas).to.include.keys('RestartAppServer', 'Session', 'Error');
  });

  it('refuses to cut off a running turn (409 turn_running), waits for it with waitIdleMs, and cuts it off with force', async () => {
    // A turn the fake Responses API never finishes.
    fake.enqueue({ kind: 'hang' });
    const one = await startSession('take forever');
    await one.sse.waitFor((e) => methodOf(e) === 'turn/started');
    const before = await status();

    const refused = await restart({});
    expect(refused.status, JSON.stringify(refused.body)).to.equal(409);
    expect(refused.body.error.code).to.equal('turn_running');
    expect(refused.body.error.message).to.be.a('string');
    expect(refused.body.runningTurns).to.equal(1);
    const waitedOut = await restart({ waitIdleMs: 100 });
    expect(waitedOut.status).to.equal(409);
    expect((await status()).appServer.pid, 'nothing restarted').to.equal(before.appServer.pid);

    // Waiting: the restart goes ahead as soon as the turn ends (here: interrupted).
    const waiting = restart({ waitIdleMs: 60_000 });
    await svc.waitForLog((l) => l.msg === 'app-server restart waits for running turns');
    const interrupted = await api('POST', `/api/sessions/${one.id}/interrupt`, {});
    expect(interrupted.status, JSON.stringify(interrupted.body)).to.equal(200);
    const waited = await waiting;
    expect(waited.status, JSON.stringify(waited.body)).to.equal(200);
    expect(waited.body.appServer.pid).not.to.equal(before.appServer.pid);
    one.sse.close();

    // Force: a running turn does not stop it.
    fake.enqueue({ kind: 'hang' });
    const two = await startSession('take forever again');
    await two.sse.waitFor((e) => methodOf(e) === 'turn/started');
    expect((await restart({})).status).to.equal(409);
    const forced = await restart({ force: true });
    expect(forced.status, JSON.stringify(forced.body)).to.equal(200);
    expect(forced.body.appServer.pid).not.to.equal(waited.body.appServer.pid);
    two.sse.close();
    expect((await status()).state).to.equal('ready');
  });

  it('answers a restart still waiting for turns when codex-sm stops, instead of holding the stop', async () => {
    fake.enqueue({ kind: 'hang' });
    const busy = await startSession('busy until the end');
    await busy.sse.waitFor((e) => methodOf(e) === 'turn/started');
    const waiting = restart({ waitIdleMs: 600_000 });
    const logged = svc.logs.filter((l) => l.msg === 'app-server restart waits for running turns');
    await svc.waitForLog(
      (l) => l.msg === 'app-server restart waits for running turns' && !logged.includes(l),
    );
    const exited = svc.stop();
    const answer = await waiting;
    expect(answer.status, JSON.stringify(answer.body)).to.equal(409);
    expect(answer.body.error.code).to.equal('turn_running');
    expect((await exited).code).to.equal(0);
    busy.sse.close();
  });
});
