/**
 * Queues survive SIGKILL (docs/queues.md, "Crash safety") under a REAL `systemd --user` with
 * journald (./lab.ts), the real app-server, and a FAKE Responses API served by this process
 * (the lab shares our network namespace). Each round runs a 5-prompt queue, kills the whole
 * service at a chosen point (before a turn, mid-turn with the model's reply held, right after a
 * completion), lets Restart=on-failure bring it back, and checks the invariants: every prompt
 * ends in one terminal state, and the model saw each prompt at most once per recorded attempt.
 * Then only the app-server is killed mid-turn, with and without a retry.
 *
 * The kill points come from a seeded random: a failing round prints its seed and point;
 * rerun it with QUEUE_CRASH_SEED=<seed>. QUEUE_CRASH_ROUNDS changes the number of rounds.
 * Needs root. Without it the suite says loudly that it did not run, and why.
 */
import { expect } from 'chai';
import { mulberry32 } from '../../harness/gen-home.js';
import fs from 'node:fs';
import {
  startFakeResponses,
  type FakeReply,
  type FakeResponsesServer,
} from '../../harness/fake-responses.js';
import {
  byText,
  ServiceApi,
  TERMINAL_PROMPT,
  type Queue,
  type QueueStatus,
} from '../helpers/queues-api.js';
import {
  freePort,
  httpStatus,
  labSuiteHooks,
  skipUnlessLab,
  SystemdUserLab,
  waitFor,
} from './lab.js';

const UNIT = 'codex-sm.service';
const ROUNDS = Number(process.env.QUEUE_CRASH_ROUNDS ?? 20);
const SEED = Number(process.env.QUEUE_CRASH_SEED ?? Date.now() % 2 ** 31);
const PROMPTS = 5;
const QUEUE_DONE: readonly QueueStatus[] = ['completed', 'failed'];

type KillPoint = 'before-turn' | 'mid-turn' | 'after-completion';
const POINTS: readonly KillPoint[] = ['before-turn', 'mid-turn', 'after-completion'];

const answer = (prompt: string) => `answer to ${prompt}`;

describe('queues survive SIGKILL (real systemd --user + journald, fake Responses API)', function () {
  this.timeout(120_000);
  let lab: SystemdUserLab;
  let fake: FakeResponsesServer;
  let api: ServiceApi;
  let port: number;
  let work: string;
  /** Prompts whose model request the fake holds open (never released: the kill ends them). */
  const held = new Set<string>();

  labSuiteHooks({
    lab: () => lab,
    journal: async () =>
      (await lab.run(['journalctl', '--user', '-n', '120', '--no-pager'])).stdout,
    first: async () => fake?.close(),
  });

  before(async function () {
    this.timeout(180_000);
    skipUnlessLab(this);
    console.log(`    queue crash seed: ${SEED} (rerun with QUEUE_CRASH_SEED=${SEED})`);
    fake = await startFakeResponses();
    fake.fallback = ({ prompt }): FakeReply =>
      held.has(prompt) ? { kind: 'held' } : { kind: 'text', text: answer(prompt) };
    lab = await SystemdUserLab.up();
    port = await freePort();
    lab.writeUserFile(
      '.config/codex-sm/config.json',
      JSON.stringify({
        stopTimeoutMs: 1000,
        appServer: { args: fake.codexArgs(), backoffInitialMs: 100 },
      }),
    );
    work = lab.writeUserFile('work/README', 'the queues run here\n').replace(/\/README$/, '');
    const r = await lab.cli([
      'install-service',
      '--json',
      '--port',
      String(port),
      '--codex-home',
      `${lab.home}/codex-home`,
      '--restart-sec',
      '1',
    ]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.json).to.include({ status: 'installed', activeState: 'active' });
    const token = fs.readFileSync(`${lab.home}/.config/codex-sm/token`, 'utf8').trim();
    api = new ServiceApi(`http://127.0.0.1:${port}`, token);
  });

  const mainPid = async () => Number((await lab.show(UNIT, ['MainPID'])).MainPID);

  /** Polls (the lab's way: systemd has no event we can subscribe to from here) until a new main process is ready. */
  async function backAfter(oldPid: number): Promise<void> {
    await waitFor(
      'the service restarted by Restart=on-failure',
      async () => {
        const s = await lab.show(UNIT, ['MainPID', 'ActiveState']);
        const pid = Number(s.MainPID);
        return s.ActiveState === 'active' && pid !== 0 && pid !== oldPid;
      },
      60_000,
    );
    await waitFor(
      'readyz',
      async () => (await httpStatus(`${api.endpoint}/readyz`)) === 200,
      30_000,
    );
    // Twenty kills in a few minutes are a crash loop to StartLimitBurst; reset it like an operator would.
    await lab.systemctl('reset-failed', UNIT);
  }

  /** SIGKILL every process of the unit (node and its app-server), as an OOM kill or a power cut would. */
  async function killService(): Promise<number> {
    const pid = await mainPid();
    const r = await lab.systemctl('kill', '-s', 'KILL', UNIT);
    expect(r.code, r.stderr).to.equal(0);
    return pid;
  }

  /** Waits (on the queue's event stream) until the queue is done, and returns it. */
  async function finished(id: string): Promise<Queue> {
    const ev = await api.queueEvents(id);
    try {
      const snap = await ev.snapshot<Queue>();
      if (QUEUE_DONE.includes(snap.status)) return snap;
      const done = await ev.sse.waitFor((e) => {
        if (e.event === 'snapshot') return false;
        return QUEUE_DONE.includes(ev.sse.json<{ queue: Queue }>(e).queue.status);
      }, 60_000);
      return ev.sse.json<{ queue: Queue }>(done).queue;
    } finally {
      ev.close();
    }
  }

  /** What every queue must look like after any crash. */
  function expectInvariants(q: Queue, texts: string[], where: string): void {
    expect(
      q.prompts.map((p) => p.text).sort(),
      `${where}: the same prompts, once each`,
    ).to.deep.equal([...texts].sort());
    for (const p of q.prompts) {
      const seen = fake.arrivals.filter((r) => r.prompt === p.text).length;
      const what = `${where}: ${p.text} (${p.status}, attempts ${p.attempts}, model saw it ${seen}x)`;
      expect(TERMINAL_PROMPT, what).to.include(p.status);
      expect(seen, `${what}: at most once per recorded attempt`).to.be.at.most(p.attempts);
      // An attempt that never reached the app-server (killed between committing it and
      // turn/start) is not a retry: it runs again. Retries are turns the model saw.
      expect(seen, `${what}: no retries beyond maxRetries`).to.be.at.most(q.maxRetries + 1);
      if (p.status === 'completed') {
        expect(seen, what).to.be.at.least(1);
        expect(p.turnId, what).to.be.a('string');
        expect(p.result?.message, what).to.equal(answer(p.text));
      }
    }
  }

  it(`SIGKILL of the service at random points of a ${PROMPTS}-prompt queue, ${ROUNDS} rounds: every prompt ends once, nothing runs twice silently`, async function () {
    this.timeout(ROUNDS * 30_000);
    const rand = mulberry32(SEED);
    const tally: Record<string, number> = {};
    for (let round = 1; round <= ROUNDS; round++) {
      const point = POINTS[Math.floor(rand() * POINTS.length)] as KillPoint;
      const k = Math.floor(rand() * PROMPTS); // the prompt the kill is about (0-based)
      const where = `round ${round} (seed ${SEED}, ${point} of prompt ${k + 1})`;
      const texts = Array.from(
        { length: PROMPTS },
        (_, i) => `crash round ${round} prompt ${i + 1}`,
      );
      const target = texts[k] as string;
      if (point === 'mid-turn') held.add(target);
      const q = await api.createQueue({
        name: `crash ${round}`,
        cwd: work,
        prompts: texts.map((text) => ({ text })),
      });
      const targetId = byText(q, target).id;
      const ev = await api.queueEvents(q.id);
      await api.ok('POST', `/api/queues/${q.id}/start`, {}, 200);
      if (point === 'before-turn' && k > 0) await ev.prompt('prompt_started', targetId);
      if (point === 'mid-turn') await fake.waitForRequest((r) => r.prompt === target);
      if (point === 'after-completion') await ev.prompt('prompt_completed', targetId);
      const old = await killService();
      ev.close();
      held.delete(target);
      await backAfter(old);

      const done = await finished(q.id);
      expectInvariants(done, texts, where);
      const final = byText(done, target);
      // One turn runs at a time, so the kill can cut at most one; turns are quick with the fake,
      // so between the event we kill on and the kill landing the queue may have gone on a few
      // prompts: the cut one is k or later (k itself when its reply was held). The rest completed.
      const cut = done.prompts.filter((p) => p.status !== 'completed');
      expect(cut.length, `${where}: at most the one running turn is cut`).to.be.at.most(1);
      for (const p of cut) {
        expect(p.status, `${where}: ${p.text}`).to.equal('interrupted');
        expect(texts.indexOf(p.text), `${where}: ${p.text} cut`).to.be.at.least(k);
      }
      if (point === 'after-completion') expect(final.status, where).to.equal('completed');
      if (point === 'mid-turn')
        expect(final.status, `${where}: maxRetries 0`).to.equal('interrupted');
      const outcome = `${point}:${cut.length ? `cut ${texts.indexOf(cut[0]?.text ?? '') - k}` : 'none cut'}`;
      tally[outcome] = (tally[outcome] ?? 0) + 1;
    }
    console.log(`    kill points and outcomes: ${JSON.stringify(tally)}`);
  });

  /** Runs a 3-prompt queue, kills only the app-server while prompt 2 is at the model. */
  async function killAppServerMidTurn(maxRetries: number): Promise<{ q: Queue; texts: string[] }> {
    const texts = [1, 2, 3].map((i) => `app-server crash retries ${maxRetries} prompt ${i}`);
    const [, second] = texts as [string, string, string];
    held.add(second);
    const q = await api.createQueue({
      name: `app-server crash ${maxRetries}`,
      cwd: work,
      maxRetries,
      prompts: texts.map((text) => ({ text })),
    });
    const main = await mainPid();
    await api.ok('POST', `/api/queues/${q.id}/start`, {}, 200);
    await fake.waitForRequest((r) => r.prompt === second);
    const status = await api.ok<{ appServer: { pid: number } }>('GET', '/status', undefined, 200);
    held.delete(second);
    // The pid is the service's view, inside the lab's PID namespace: kill it from there.
    const k = await lab.run(['kill', '-KILL', String(status.appServer.pid)], { root: true });
    expect(k.code, k.stderr).to.equal(0);
    const done = await finished(q.id);
    expect(await mainPid(), 'only the app-server died').to.equal(main);
    expectInvariants(done, texts, `app-server killed, maxRetries ${maxRetries}`);
    for (const text of [texts[0], texts[2]] as string[])
      expect(byText(done, text).status).to.equal('completed');
    return { q: done, texts };
  }

  it('SIGKILL of only the app-server mid-turn with maxRetries 0: the prompt ends interrupted, the queue goes on', async () => {
    const { q, texts } = await killAppServerMidTurn(0);
    const p = byText(q, texts[1] as string);
    expect(p.status).to.equal('interrupted');
    expect(p.attempts).to.equal(1);
    expect(fake.arrivals.filter((r) => r.prompt === p.text)).to.have.length(1);
  });

  it('SIGKILL of only the app-server mid-turn with maxRetries 1: the prompt runs again, both turns recorded', async () => {
    const { q, texts } = await killAppServerMidTurn(1);
    const p = byText(q, texts[1] as string);
    expect(p.status).to.equal('completed');
    expect(p.attempts).to.equal(2);
    expect(fake.arrivals.filter((r) => r.prompt === p.text)).to.have.length(2);
  });
});
