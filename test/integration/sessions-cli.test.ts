/**
 * `codex-sm session ...` against a running service (real app-server, FAKE Responses API):
 * the CLI reads endpoint and token from the same config file the service uses.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { runCli } from '../helpers/queues-api.js';
import { waitFor } from '../helpers/wait.js';
import { call } from '../../src/cli/service-client.js';
import { beginAndWait } from '../../src/cli/session-follow.js';
import type {
  SessionJson,
  SessionStartedJson,
  TurnStartedJson,
} from '../../service/sessions/session-json.js';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import {
  CLI,
  startService,
  tempDir,
  waitReady,
  type ServiceProcess,
} from '../../harness/service.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('codex-sm session CLI against a running service', function () {
  this.timeout(90_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;

  const run = (
    args: string[],
    env: NodeJS.ProcessEnv = {},
    onLine?: (line: string, kill: () => void) => void,
  ): Promise<Run> =>
    new Promise((resolve) => {
      const port = new URL(svc.endpoint).port;
      const child = spawn(
        process.execPath,
        [CLI, 'session', ...args, '--config', path.join(svc.dir, 'config.json'), '--port', port],
        {
          env: { PATH: process.env.PATH, HOME: svc.dir, ...env },
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (onLine)
          for (const l of d.toString().split('\n').filter(Boolean))
            onLine(l, () => child.kill('SIGTERM'));
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  const json = <T = Record<string, unknown>>(r: Run): T => {
    expect(r.stdout.trim().split('\n'), r.stderr).to.have.length(1);
    return JSON.parse(r.stdout) as T;
  };

  before(async () => {
    fake = await startFakeResponses();
    // A corrupt index file: it is a cache, so the service replaces it instead of failing.
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'state'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'state', 'sessions-index.sqlite'),
      'not a database'.repeat(100),
    );
    svc = await startService({ dir, config: { appServer: { args: fake.codexArgs() } } });
    await waitReady(svc);
    await svc.waitForLog((l) => l.msg === 'session index unreadable; rebuilding it');
  });

  after(async () => {
    await svc?.stop();
    await fake?.close();
  });

  it('starts a session with a prompt, then lists, shows, searches and sends with --wait', async () => {
    fake.enqueue(
      { kind: 'text', text: 'first reply from the fake' },
      { kind: 'text', text: 'second reply' },
    );
    // --wait: the first turn ends before the second prompt is sent; a prompt sent while a turn
    // runs would join that turn (one assistant message fewer: the CI flake this test once had).
    const started = json<{ session: { id: string }; turn: { id: string }; status: string }>(
      await run(['start', '--cwd', svc.dir, '--wait', 'hello from the cli']),
    );
    const id = started.session.id;
    expect(started.turn.id).to.be.a('string');
    expect(started.status).to.equal('completed');
    const sent = await run(['send', id, 'and a second prompt', '--wait']);
    expect(sent.code, sent.stdout + sent.stderr).to.equal(0);
    const second = json<{ status: string; turnId: string }>(sent);
    expect(second.status).to.equal('completed');
    expect(second.turnId).not.to.equal(started.turn.id);
    const list = json<{ sessions: { id: string }[]; total: number }>(
      await run(['list', '--limit', '5']),
    );
    expect(list.sessions.map((s) => s.id)).to.include(id);
    // The index follows the rollout file (a watcher): the turn's last message may land in it
    // just after `send --wait` returns, so wait for the count the rollout will reach. Its promise
    // is the watcher or, at worst, the 30 s full rescan (service/sessions/index.ts rescanMs).
    type Shown = { id: string; title: string; messageCount: number };
    const show = await waitFor(
      'the index to hold the 4 messages of the rollout',
      async () => {
        const shown = json<Shown>(await run(['show', id]));
        return shown.messageCount >= 4 && shown;
      },
      35_000,
    );
    expect(show).to.include({ id, title: 'hello from the cli' });
    expect(show.messageCount).to.equal(4);
    const found = json<{ results: { sessionId: string }[] }>(
      await run(['search', 'second', 'reply', '--role', 'assistant']),
    );
    expect(found.results.map((r) => r.sessionId)).to.deep.equal([id]);
  });

  it('--wait sees the end of a turn that ended before its start was answered (the stream opens first)', async () => {
    const conn = { endpoint: svc.endpoint, token: svc.token };
    const { session } = await call<SessionStartedJson>(conn, '/api/sessions', {
      body: { cwd: svc.dir },
    });
    const turns = `/api/sessions/${session.id}/turns`;
    // A held reply: the turn is seen running, then released, then seen over, all before the
    // start is answered.
    fake.enqueue({ kind: 'held', then: { kind: 'text', text: 'quick' } });
    const activeTurn = () =>
      call<SessionJson>(conn, `/api/sessions/${session.id}`).then(
        (s) => s.activeTurnId,
        () => undefined, // 404 until the index has the session's file
      );
    const { answer, status } = await beginAndWait(conn, session.id, 'quiet', async () => {
      const r = await call<TurnStartedJson>(conn, turns, { body: { input: 'be quick' } });
      const held = await fake.waitForRequest((q) => q.prompt === 'be quick');
      await waitFor('the turn to run', async () => (await activeTurn()) === r.turnId, 20_000);
      held.release();
      // Answer only once the turn is over: a stream opened after this would never see it end
      // (a --wait that subscribed after starting the turn waited here for ever).
      await waitFor('the turn to end', async () => (await activeTurn()) === null, 20_000);
      return r;
    });
    expect(status).to.equal('completed');
    expect(answer.turnId).to.be.a('string');
  });

  it('watches a session as NDJSON, lists and answers an approval, archives', async () => {
    const started = json<{ session: { id: string } }>(
      await run([
        'start',
        '--cwd',
        svc.dir,
        '--approval-policy',
        'untrusted',
        '--sandbox',
        'read-only',
      ]),
    );
    const id = started.session.id;
    const lines: { event: string; data: { method?: string } }[] = [];
    const watching = run(['watch', id], {}, (l, kill) => {
      const e = JSON.parse(l) as { event: string; data: { method?: string } };
      lines.push(e);
      if (e.event === 'notification' && e.data.method === 'turn/completed') kill();
    });
    await new Promise((r) => setTimeout(r, 300));
    fake.enqueue({ kind: 'exec', command: ['true'] }, { kind: 'text', text: 'ran it' });
    json(await run(['send', id, 'run true']));
    let pending: { approvals: { id: string }[] } = { approvals: [] };
    for (let i = 0; i < 100 && !pending.approvals.length; i++) {
      pending = json(await run(['approve', '--session', id]));
      if (!pending.approvals.length) await new Promise((r) => setTimeout(r, 100));
    }
    expect(pending.approvals).to.have.length(1);
    const answered = json<{ decision: string }>(
      await run(['approve', (pending.approvals[0] as { id: string }).id, '--decision', 'accept']),
    );
    expect(answered.decision).to.equal('accept');
    const again = await run(['approve', (pending.approvals[0] as { id: string }).id]);
    expect(again.code).to.not.equal(0);
    expect(json<{ error: { code: string } }>(again).error.code).to.equal(
      'approval_already_answered',
    );
    await watching;
    expect(lines.some((l) => l.event === 'approval')).to.equal(true);
    expect(lines.some((l) => l.event === 'rollout')).to.equal(true);
    const archived = json<{ session: { archived: boolean } }>(await run(['archive', id]));
    expect(archived.session.archived).to.equal(true);
  });

  it('reports errors as one JSON object with a non-zero exit', async () => {
    const bad = await run(['show', '../../etc/passwd']);
    expect(bad.code).to.not.equal(0);
    expect(json<{ error: { code: string } }>(bad).error.code).to.equal('invalid_session_id');
    const wrongToken = await run(['list'], { CODEX_SM_TOKEN: 'x'.repeat(32) });
    expect(json<{ error: { code: string } }>(wrongToken).error.code).to.equal('unauthorized');
    const listed = json<{ total: number }>(await run(['list', '--all'])).total;
    const waitless = await run(['start', '--wait', '--cwd', svc.dir]);
    expect(waitless.code).to.equal(64);
    expect(json<{ error: { code: string } }>(waitless).error.code).to.equal('usage');
    // Refused before anything was created.
    expect(json<{ total: number }>(await run(['list', '--all'])).total).to.equal(listed);
  });
});

describe('session send --wait when the service is killed mid-turn (real service, FAKE Responses API)', function () {
  this.timeout(90_000);

  it('exits 1, the turn status unknown, instead of hanging or dying with an unsettled wait', async () => {
    const fake = await startFakeResponses();
    const svc = await startService({ config: { appServer: { args: fake.codexArgs() } } });
    try {
      await waitReady(svc);
      const conn = { endpoint: svc.endpoint, token: svc.token };
      const { session } = await call<SessionStartedJson>(conn, '/api/sessions', {
        body: { cwd: svc.dir },
      });
      fake.enqueue({ kind: 'hang' });
      const sending = runCli(
        path.join(svc.dir, 'config.json'),
        new URL(svc.endpoint).port,
        svc.dir,
        ['session', 'send', session.id, 'never answered', '--wait'],
      );
      await fake.waitForRequest((q) => q.prompt === 'never answered');
      svc.child.kill('SIGKILL');
      const r = await sending;
      expect(r.code, r.stderr).to.equal(1);
      const out = JSON.parse(r.stdout) as { turnId: string; status?: string };
      expect(out.turnId).to.be.a('string');
      expect(out.status).to.equal(undefined);
    } finally {
      await svc.stop();
      await fake.close();
    }
  });
});
