/**
 * SIGHUP reload end to end: `codex-sm serve` (child process) with the real app-server and a fake
 * Responses API. Live keys (the approval settings) reach the next approval; restart keys are
 * kept at their running value and reported in the log line and in /status.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import {
  startService,
  waitReady,
  type LogLine,
  type ServiceProcess,
} from '../../harness/service.js';
import { methodOf, SseClient } from '../helpers/sessions-sse.js';

interface StatusJson {
  state: string;
  statusText: string;
  pendingRestart: string[];
}

interface ApprovalJson {
  id: string;
  status: string;
  decision?: string;
  answeredBy?: string;
  createdAt: string;
  expiresAt: string;
}

describe('serve: SIGHUP reload (real app-server, fake Responses API)', function () {
  this.timeout(90_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;
  let auth: Record<string, string>;
  const configFile = () => path.join(svc.dir, 'config.json');

  const get = async <T>(p: string): Promise<T> => {
    const r = await fetch(svc.endpoint + p, { headers: auth });
    expect(r.status, p).to.equal(200);
    return (await r.json()) as T;
  };
  const post = async <T>(p: string, body: unknown): Promise<T> => {
    const r = await fetch(svc.endpoint + p, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await r.json()) as T;
    expect(r.status, JSON.stringify(json)).to.be.oneOf([200, 201, 202]);
    return json;
  };
  /** Rewrite the config file the service was started with, then SIGHUP; resolves with the log line. */
  const reloadWith = async (change: Record<string, unknown>): Promise<LogLine> => {
    const current = JSON.parse(fs.readFileSync(configFile(), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(configFile(), JSON.stringify({ ...current, ...change }));
    const seen = svc.logs.filter((l) => l.msg.startsWith('reloaded')).length;
    svc.child.kill('SIGHUP');
    return svc.waitForLog(
      (l) =>
        l.msg.startsWith('reloaded') &&
        svc.logs.filter((x) => x.msg.startsWith('reloaded')).indexOf(l) === seen,
    );
  };

  before(async () => {
    fake = await startFakeResponses();
    svc = await startService({
      config: {
        appServer: { args: fake.codexArgs(), backoffInitialMs: 100 },
        approvals: { timeoutMs: 600_000, defaultDecision: 'decline' },
      },
    });
    await waitReady(svc);
    auth = { authorization: `Bearer ${svc.token}` };
  });

  after(async () => {
    await svc?.stop();
    await fake?.close();
  });

  it('applies new approval settings to the next approval and reports restart-only keys', async () => {
    expect((await get<StatusJson>('/status')).pendingRestart).to.deep.equal([]);

    const running = JSON.parse(fs.readFileSync(configFile(), 'utf8')) as { stateDir: string };
    const line = await reloadWith({
      approvals: { timeoutMs: 1000, defaultDecision: 'accept' },
      port: 1, // never bound: the service keeps listening where it is
      stateDir: path.join(svc.dir, 'other-state'),
      maxFrameBytes: 4096,
    });
    expect(line.msg).to.equal('reloaded; some changes need `codex-sm restart`');
    expect(line.needsRestart).to.have.members(['port', 'stateDir', 'maxFrameBytes']);
    expect(line.applied).to.have.members(['approvals.timeoutMs', 'approvals.defaultDecision']);

    const status = await get<StatusJson>('/status'); // answered on the port it was started on
    expect(status.pendingRestart).to.have.members(['port', 'stateDir', 'maxFrameBytes']);
    expect(status.statusText).to.match(/; restart to apply .*stateDir/);
    expect(fs.existsSync(path.join(svc.dir, 'other-state')), 'stateDir not switched').to.equal(
      false,
    );
    expect(fs.existsSync(running.stateDir)).to.equal(true);

    // The next approval: held with the new timeout, answered with the new default when it expires.
    // Only a shell that ran the command prints 42 (the command text itself never contains it);
    // writing a file instead would depend on whether codex runs it inside the read-only sandbox.
    const ran = 'accepted-42';
    const { session } = await post<{ session: { id: string } }>('/api/sessions', {
      cwd: svc.dir,
      approvalPolicy: 'untrusted',
      sandbox: 'read-only',
    });
    const sse = await SseClient.open(
      `${svc.endpoint}/api/sessions/${session.id}/events?follow=true`,
      auth,
    );
    fake.enqueue(
      { kind: 'exec', command: ['echo', 'accepted-$((6*7))'] },
      { kind: 'text', text: 'done' },
    );
    await post(`/api/sessions/${session.id}/turns`, { input: 'run the command' });
    const approval = (status: string) =>
      sse
        .waitFor((e) => e.event === 'approval' && sse.json<ApprovalJson>(e).status === status)
        .then((e) => sse.json<ApprovalJson>(e));
    const held = await approval('pending');
    expect(Date.parse(held.expiresAt) - Date.parse(held.createdAt)).to.equal(1000);
    const expired = await approval('expired');
    expect(expired).to.include({ id: held.id, decision: 'accept', answeredBy: 'timeout' });
    const done = await sse.waitFor((e) => methodOf(e) === 'turn/completed');
    expect(sse.json<{ params: { turn: { status: string } } }>(done).params.turn.status).to.equal(
      'completed',
    );
    expect(
      JSON.stringify(fake.requests.at(-1)),
      'the default decision (accept) ran the command',
    ).to.contain(ran);
    sse.close();

    // A later reload that leaves those keys changed keeps reporting them.
    const again = await reloadWith({ logLevel: 'info' });
    expect(again.needsRestart).to.have.members(['port', 'stateDir', 'maxFrameBytes']);
    expect(again.applied).to.deep.equal(['logLevel']);
    expect((await get<StatusJson>('/status')).pendingRestart).to.have.members([
      'port',
      'stateDir',
      'maxFrameBytes',
    ]);
  });
});
