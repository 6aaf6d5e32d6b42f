/**
 * Queues end to end (docs/queues.md): `codex-sm serve` (child process) with the REAL app-server,
 * driven by a FAKE Responses API (the only fake: OpenAI's API cannot run here). Turns are held
 * open at the fake and released by the test, so every "while it runs" step waits for an event,
 * never for time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import {
  startFakeResponses,
  type FakeReply,
  type FakeResponsesServer,
} from '../../harness/fake-responses.js';
import { startService, waitReady, type ServiceProcess } from '../../harness/service.js';
import {
  byText,
  cliError,
  cliJson,
  runCli,
  ServiceApi,
  TERMINAL_PROMPT,
  type Prompt,
  type Queue,
} from '../helpers/queues-api.js';

const answer = (prompt: string) => `answer to ${prompt}`;

describe('queues against the real app-server (fake Responses API)', function () {
  this.timeout(90_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;
  let api: ServiceApi;
  /** Prompts whose model request the fake holds open until the test releases it. */
  const held = new Set<string>();
  let n = 0;
  /** Prompt texts unique to the test run, so each request names its prompt. */
  const texts = (tag: string, count: number) =>
    Array.from({ length: count }, (_, i) => `${tag} prompt ${i + 1} #${++n}`);
  const requestsFor = (text: string) => fake.arrivals.filter((r) => r.prompt === text);
  const cli = (...args: string[]) =>
    runCli(path.join(svc.dir, 'config.json'), new URL(svc.endpoint).port, svc.dir, args);

  /**
   * A barrier: a one-prompt queue run to completion. The engine starts turns in order, so a
   * prompt it wrongly went on with would have reached the fake by the time this one is done.
   */
  const settle = async () => {
    const [text] = texts('barrier', 1) as [string];
    const q = await api.createQueue({ name: 'barrier', cwd: svc.dir, prompts: [{ text }] });
    const ev = await api.queueEvents(q.id);
    await api.ok('POST', `/api/queues/${q.id}/start`, {}, 200);
    await ev.next('queue_completed');
    ev.close();
  };

  before(async () => {
    fake = await startFakeResponses();
    fake.fallback = ({ prompt }): FakeReply =>
      held.has(prompt)
        ? { kind: 'held', then: { kind: 'text', text: answer(prompt) } }
        : { kind: 'text', text: answer(prompt) };
    svc = await startService({
      config: {
        appServer: { args: fake.codexArgs(), backoffInitialMs: 100 },
        approvals: { timeoutMs: 60_000 },
      },
    });
    await waitReady(svc);
    api = new ServiceApi(svc.endpoint, svc.token);
  });

  after(async () => {
    await svc?.stop();
    await fake?.close();
  });

  it('runs a 3-prompt queue in order in one thread and stores each result', async () => {
    const prompts = texts('ordered', 3);
    const q = await api.createQueue({
      name: 'ordered',
      cwd: svc.dir,
      prompts: prompts.map((text) => ({ text })),
    });
    expect(q.status).to.equal('idle');
    expect(q.sessionId).to.equal(null);
    expect(q.prompts.map((p) => [p.text, p.status, p.position])).to.deep.equal(
      prompts.map((t, i) => [t, 'pending', i + 1]),
    );
    const ev = await api.queueEvents(q.id);
    expect((await ev.snapshot<Queue>()).id).to.equal(q.id);
    const started = await api.ok<Queue>('POST', `/api/queues/${q.id}/start`, {}, 200);
    expect(started.status).to.equal('running');
    const done = await ev.next('queue_completed');
    ev.close();

    // The model saw the prompts once each, in order, each request carrying the earlier answers.
    const seen = fake.arrivals.filter((r) => prompts.includes(r.prompt));
    expect(seen.map((r) => r.prompt)).to.deep.equal(prompts);
    expect(JSON.stringify(seen[2]?.body)).to.include(answer(prompts[0] as string));
    expect(JSON.stringify(seen[2]?.body)).to.include(answer(prompts[1] as string));

    const final = await api.queue(q.id);
    expect(done.queue.status).to.equal('completed');
    expect(final.status).to.equal('completed');
    expect(final.sessionId).to.be.a('string');
    expect(final.counts).to.include({ completed: 3, pending: 0, running: 0 });
    for (const text of prompts) {
      const p = byText(final, text);
      expect(p.status).to.equal('completed');
      expect(p.attempts).to.equal(1);
      expect(p.turnId).to.be.a('string');
      expect(p.result?.message).to.equal(answer(text));
      expect(p.result?.usage).to.include({ inputTokens: 10, outputTokens: 5, totalTokens: 15 });
      expect(p.startedAt).to.be.a('string');
      expect(p.finishedAt).to.be.a('string');
    }
    expect(new Set(final.prompts.map((p) => p.turnId)).size).to.equal(3);
    // The events told the same story, in order.
    const lifecycle = ev.all
      .filter((e) => ['prompt_started', 'prompt_completed'].includes(e.type))
      .map((e) => `${e.type}:${e.prompt?.text}`);
    expect(lifecycle).to.deep.equal(
      prompts.flatMap((t) => [`prompt_started:${t}`, `prompt_completed:${t}`]),
    );
    // The queue's thread is a session like any other: its turns are the prompts.
    const session = await api.call<{ id: string }>('GET', `/api/sessions/${final.sessionId}`);
    expect(session.status).to.equal(200);
    const listed = await api.ok<{ queues: { id: string; status: string }[] }>(
      'GET',
      '/api/queues',
      undefined,
      200,
    );
    expect(listed.queues.find((x) => x.id === q.id)).to.include({ status: 'completed' });
  });

  it('pauses after the current turn and resumes with the next prompt', async () => {
    const [p1, p2, p3] = texts('pause', 3) as [string, string, string];
    held.add(p1);
    const q = await api.createQueue({
      name: 'pausable',
      cwd: svc.dir,
      prompts: [p1, p2, p3].map((text) => ({ text })),
    });
    const ev = await api.queueEvents(q.id);
    await api.ok('POST', `/api/queues/${q.id}/start`, {}, 200);
    const r1 = await fake.waitForRequest((r) => r.prompt === p1);
    const running = await api.queue(q.id);
    expect(byText(running, p1).status).to.equal('running');
    expect(byText(running, p1).turnId, 'a running prompt names its turn').to.be.a('string');

    const paused = await api.ok<Queue>('POST', `/api/queues/${q.id}/pause`, {}, 200);
    expect(paused.status, 'the status changes at once').to.equal('paused');
    expect(byText(paused, p1).status, 'the current turn goes on').to.equal('running');
    await ev.next('queue_paused');
    r1.release();
    await ev.prompt('prompt_completed', byText(paused, p1).id);
    await settle();
    const still = await api.queue(q.id);
    expect(still.status).to.equal('paused');
    expect(byText(still, p1)).to.include({ status: 'completed' });
    expect(byText(still, p1).result?.message, 'the paused turn keeps its result').to.equal(
      answer(p1),
    );
    expect([byText(still, p2).status, byText(still, p3).status]).to.deep.equal([
      'pending',
      'pending',
    ]);
    expect(requestsFor(p2), 'no prompt starts while paused').to.have.length(0);

    const twice = await api.fails('POST', `/api/queues/${q.id}/pause`, {}, 409);
    expect(twice).to.equal('queue_not_running');
    const resumed = await api.ok<Queue>('POST', `/api/queues/${q.id}/resume`, {}, 200);
    expect(resumed.status).to.equal('running');
    await ev.next('queue_resumed');
    await ev.next('queue_completed');
    ev.close();
    expect(
      fake.arrivals.filter((r) => [p1, p2, p3].includes(r.prompt)).map((r) => r.prompt),
    ).to.deep.equal([p1, p2, p3]);
    expect((await api.queue(q.id)).counts).to.include({ completed: 3 });
  });

  it('stops after the current turn; start goes on from there', async () => {
    const [p1, p2, p3] = texts('stop', 3) as [string, string, string];
    held.add(p1);
    const q = await api.createQueue({
      name: 'stoppable',
      cwd: svc.dir,
      prompts: [p1, p2, p3].map((text) => ({ text })),
    });
    const ev = await api.queueEvents(q.id);
    await api.ok('POST', `/api/queues/${q.id}/start`, {}, 200);
    const r1 = await fake.waitForRequest((r) => r.prompt === p1);
    const stopped = await api.ok<Queue>('POST', `/api/queues/${q.id}/stop`, {}, 200);
    expect(stopped.status).to.equal('stopped');
    await ev.next('queue_stopped');
    r1.release();
    await ev.prompt('prompt_completed', byText(stopped, p1).id);
    await settle();
    const after = await api.queue(q.id);
    expect(after.status).to.equal('stopped');
    expect(byText(after, p1).status).to.equal('completed');
    expect(byText(after, p1).result?.message).to.equal(answer(p1));
    expect(after.counts).to.include({ completed: 1, pending: 2, running: 0 });
    expect(requestsFor(p2), 'nothing runs after stop').to.have.length(0);
    expect(await api.fails('POST', `/api/queues/${q.id}/stop`, {}, 409)).to.equal(
      'queue_not_running',
    );
    expect(await api.fails('POST', `/api/queues/${q.id}/resume`, {}, 409)).to.equal(
      'queue_not_paused',
    );

    await api.ok('POST', `/api/queues/${q.id}/start`, {}, 200);
    await ev.next('queue_completed');
    ev.close();
    const done = await api.queue(q.id);
    expect(done.prompts.map((p) => p.status)).to.deep.equal([
      'completed',
      'completed',
      'completed',
    ]);
    expect(requestsFor(p1), 'the completed prompt is not run again').to.have.length(1);
  });

  it('edits, moves, switches and removes pending prompts, and runs what is left in the new order', async () => {
    const [a, b, c, d] = texts('edit', 4) as [string, string, string, string];
    const q = await api.createQueue({
      name: 'editable',
      cwd: svc.dir,
      prompts: [{ text: a }, { text: b }],
    });
    // Both spellings add a prompt: ours, and codex-agent's /commands with {prompt}.
    const pc = await api.ok<Prompt>('POST', `/api/queues/${q.id}/prompts`, { text: c }, 201);
    const pd = await api.ok<Prompt>('POST', `/api/queues/${q.id}/commands`, { prompt: d }, 201);
    expect([pc.status, pd.status, pd.text]).to.deep.equal(['pending', 'pending', d]);
    const [pa, pb] = q.prompts as [Prompt, Prompt];

    const bEdited = `${b} (edited)`;
    const edited = await api.ok<Prompt>(
      'PATCH',
      `/api/queues/${q.id}/prompts/${pb.id}`,
      { text: bEdited },
      200,
    );
    expect(edited.text).to.equal(bEdited);
    const moved = await api.ok<Queue>(
      'POST',
      `/api/queues/${q.id}/prompts/${pd.id}/move`,
      { to: 1 },
      200,
    );
    expect(moved.prompts.filter((p) => p.status === 'pending').map((p) => p.text)).to.deep.equal([
      d,
      a,
      bEdited,
      c,
    ]);
    const removed = await api.ok<{ deleted: boolean; id: string }>(
      'DELETE',
      `/api/queues/${q.id}/prompts/${pc.id}`,
      undefined,
      200,
    );
    expect(removed).to.deep.equal({ deleted: true, id: pc.id });
    const manual = await api.ok<Prompt>(
      'POST',
      `/api/queues/${q.id}/prompts/${pa.id}/mode`,
      { mode: 'manual' },
      200,
    );
    expect(manual.mode).to.equal('manual');
    const auto = await api.ok<Prompt>(
      'POST',
      `/api/queues/${q.id}/prompts/${pa.id}/mode`,
      { mode: 'auto' },
      200,
    );
    expect(auto.mode).to.equal('auto');

    const ev = await api.queueEvents(q.id);
    await api.ok('POST', `/api/queues/${q.id}/start`, {}, 200);
    await ev.next('queue_completed');
    ev.close();
    const ran = fake.arrivals
      .filter((r) => [a, b, bEdited, c, d].includes(r.prompt))
      .map((r) => r.prompt);
    expect(ran).to.deep.equal([d, a, bEdited]);
    const final = await api.queue(q.id);
    expect(final.prompts.map((p) => [p.text, p.status])).to.deep.equal([
      [d, 'completed'],
      [a, 'completed'],
      [bEdited, 'completed'],
    ]);
  });

  it('refuses to change a running or completed prompt or a running queue (409), changing nothing', async () => {
    const [p1, p2] = texts('locked', 2) as [string, string];
    held.add(p1);
    const q = await api.createQueue({
      name: 'locked',
      cwd: svc.dir,
      prompts: [{ text: p1 }, { text: p2 }],
    });
    const ev = await api.queueEvents(q.id);
    await api.ok('POST', `/api/queues/${q.id}/start`, {}, 200);
    const r1 = await fake.waitForRequest((r) => r.prompt === p1);
    const before = await api.queue(q.id);
    const running = byText(before, p1);
    expect(running.status).to.equal('running');
    const base = `/api/queues/${q.id}/prompts/${running.id}`;
    expect(await api.fails('PATCH', base, { text: 'changed' }, 409)).to.equal(
      'prompt_not_editable',
    );
    expect(await api.fails('POST', `${base}/move`, { to: 2 }, 409)).to.equal('prompt_not_editable');
    expect(await api.fails('POST', `${base}/mode`, { mode: 'manual' }, 409)).to.equal(
      'prompt_not_editable',
    );
    expect(await api.fails('DELETE', base, undefined, 409)).to.equal('prompt_not_editable');
    expect(await api.fails('DELETE', `/api/queues/${q.id}`, undefined, 409)).to.equal(
      'queue_running',
    );
    expect(await api.queue(q.id), 'nothing changed').to.deep.equal(before);

    r1.release();
    await ev.next('queue_completed');
    ev.close();
    const done = await api.queue(q.id);
    const completed = byText(done, p1);
    const cbase = `/api/queues/${q.id}/prompts/${completed.id}`;
    expect(await api.fails('PATCH', cbase, { text: 'changed' }, 409)).to.equal(
      'prompt_not_editable',
    );
    expect(await api.fails('POST', `${cbase}/move`, { to: 1 }, 409)).to.equal(
      'prompt_not_editable',
    );
    expect(await api.fails('DELETE', cbase, undefined, 409)).to.equal('prompt_not_editable');
    expect(await api.queue(q.id), 'nothing changed').to.deep.equal(done);
    expect(requestsFor(p1)).to.have.length(1);

    const deleted = await api.ok<{ deleted: boolean; id: string }>(
      'DELETE',
      `/api/queues/${q.id}`,
      undefined,
      200,
    );
    expect(deleted).to.deep.equal({ deleted: true, id: q.id });
    expect((await api.call('GET', `/api/queues/${q.id}`)).status).to.equal(404);
  });

  it('answers bad input with 4xx JSON errors and changes nothing', async () => {
    const q = await api.createQueue({
      name: 'untouched',
      cwd: svc.dir,
      prompts: [{ text: 'never run' }],
    });
    const pid = (q.prompts[0] as Prompt).id;
    const unknown = '0a0a0a0a-0000-4000-8000-000000000000';
    const listBefore = await api.ok('GET', '/api/queues', undefined, 200);
    const cases: [string, string, unknown, number][] = [
      ['GET', `/api/queues/${unknown}`, undefined, 404],
      ['POST', `/api/queues/${unknown}/start`, {}, 404],
      ['POST', `/api/queues/${unknown}/prompts`, { text: 'x' }, 404],
      ['DELETE', `/api/queues/${unknown}`, undefined, 404],
      ['PATCH', `/api/queues/${q.id}/prompts/${unknown}`, { text: 'x' }, 404],
      ['DELETE', `/api/queues/${q.id}/prompts/${unknown}`, undefined, 404],
      ['POST', `/api/queues/${q.id}/prompts/${unknown}/move`, { to: 1 }, 404],
      ['POST', '/api/queues', { name: 'no place' }, 400],
      ['POST', '/api/queues', { name: 'both', cwd: svc.dir, sessionId: unknown }, 400],
      ['POST', '/api/queues', { name: 'relative', cwd: 'some/dir' }, 400],
      ['POST', '/api/queues', { name: 'missing', cwd: path.join(svc.dir, 'does-not-exist') }, 400],
      ['POST', '/api/queues', { name: 'retries', cwd: svc.dir, maxRetries: -1 }, 400],
      ['POST', '/api/queues', { name: 7, cwd: svc.dir }, 400],
      ['POST', `/api/queues/${q.id}/prompts`, { text: 42 }, 400],
      ['POST', `/api/queues/${q.id}/prompts`, {}, 400],
      ['POST', `/api/queues/${q.id}/prompts`, { text: 'x', mode: 'sometimes' }, 400],
      ['PATCH', `/api/queues/${q.id}/prompts/${pid}`, { mode: 'sometimes' }, 400],
      ['POST', `/api/queues/${q.id}/prompts/${pid}/move`, { to: 0 }, 400],
      ['POST', `/api/queues/${q.id}/prompts/${pid}/move`, { to: 'first' }, 400],
      ['POST', `/api/queues/${q.id}/pause`, {}, 409],
      ['POST', `/api/queues/${q.id}/resume`, {}, 409],
      ['POST', `/api/queues/${q.id}/stop`, {}, 409],
    ];
    for (const [method, p, body, status] of cases) {
      const code = await api.fails(method, p, body, status);
      if (status === 404) expect(code, `${method} ${p}`).to.match(/not_found$/);
    }
    const malformed = await fetch(`${svc.endpoint}/api/queues`, {
      method: 'POST',
      headers: { ...api.auth, 'content-type': 'application/json' },
      body: '{"name": ',
    });
    expect(malformed.status).to.equal(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).to.equal(
      'invalid_json',
    );
    expect((await fetch(`${svc.endpoint}/api/queues`)).status, 'no token').to.equal(401);
    expect(await api.queue(q.id), 'the queue is unchanged').to.deep.equal(q);
    expect(
      await api.ok('GET', '/api/queues', undefined, 200),
      'no queue was created',
    ).to.deep.equal(listBefore);
    expect(requestsFor('never run')).to.have.length(0);
    expect(svc.child.exitCode).to.equal(null);
  });

  it('holds a queued turn on an approval, says so, and goes on once it is answered over HTTP', async () => {
    const marker = path.join(svc.dir, `queue-approved-${n}`);
    const [text] = texts('approval', 1) as [string];
    fake.enqueue(
      { kind: 'exec', command: ['touch', marker] },
      { kind: 'text', text: 'touched it' },
    );
    const q = await api.createQueue({
      name: 'needs approval',
      cwd: svc.dir,
      approvalPolicy: 'untrusted',
      // workspace-write: the approved command writes in the cwd inside the sandbox (under
      // read-only codex reruns it outside only if it spots the denial: missed under load)
      sandbox: 'workspace-write',
      prompts: [{ text }],
    });
    const ev = await api.queueEvents(q.id);
    await api.ok('POST', `/api/queues/${q.id}/start`, {}, 200);
    await ev.next('approval');
    const waiting = await api.queue(q.id);
    expect(waiting.waitingFor).to.equal('approval');
    expect(waiting.approvals).to.have.length(1);
    const approval = waiting.approvals[0] as { id: string; status: string };
    expect(approval.status).to.equal('pending');
    expect(fs.existsSync(marker), 'not before the answer').to.equal(false);
    const listed = await api.ok<{ approvals: { id: string }[] }>(
      'GET',
      '/api/approvals',
      undefined,
      200,
    );
    expect(listed.approvals.map((x) => x.id)).to.include(approval.id);
    const answered = await api.ok<{ decision: string }>(
      'POST',
      `/api/approvals/${approval.id}`,
      { decision: 'accept' },
      200,
    );
    expect(answered.decision).to.equal('accept');
    await ev.next('queue_completed');
    ev.close();
    expect(fs.existsSync(marker), 'the approved command ran').to.equal(true);
    const done = await api.queue(q.id);
    expect(done.waitingFor).to.equal(null);
    expect(byText(done, text).status).to.equal('completed');
    expect(byText(done, text).result?.message).to.equal('touched it');
  });

  it('through the CLI: a manual prompt waits for the go-ahead of `queue start`', async () => {
    const [p1, p2, p3] = texts('cli', 3) as [string, string, string];
    const created = cliJson<Queue>(
      await cli('queue', 'create', 'from the cli', '--cwd', svc.dir, p1),
    );
    expect(created.id).to.be.a('string');
    // `queue add` prints what the HTTP answer is (the prompt); the queue would do as well.
    const addOut = cliJson<Prompt | Queue>(await cli('queue', 'add', created.id, p2, '--manual'));
    const added = 'prompts' in addOut ? byText(addOut, p2) : addOut;
    expect(added).to.include({ mode: 'manual', text: p2 });
    cliJson(await cli('queue', 'add', created.id, p3));
    const list = cliJson<{ queues: { id: string }[] }>(await cli('queue', 'list'));
    expect(list.queues.map((x) => x.id)).to.include(created.id);

    const ev = await api.queueEvents(created.id);
    // By a unique id prefix, as `list` shows them.
    const started = cliJson<Queue>(await cli('queue', 'start', created.id.slice(0, 8)));
    expect(started.status).to.equal('running');
    await ev.prompt('prompt_waiting', added.id);
    await settle();
    const waiting = cliJson<Queue>(await cli('queue', 'show', created.id));
    expect(waiting.waitingFor).to.equal('go-ahead');
    expect(waiting.prompts.map((p) => p.status)).to.deep.equal(['completed', 'waiting', 'pending']);
    expect(requestsFor(p2), 'the manual prompt waits').to.have.length(0);

    cliJson(await cli('queue', 'start', created.id));
    await ev.next('queue_completed');
    ev.close();
    const shown = cliJson<Queue>(await cli('queue', 'show', created.id));
    expect(shown.status).to.equal('completed');
    expect(shown.waitingFor).to.equal(null);
    expect(shown.prompts.map((p) => [p.text, p.status, p.result?.message])).to.deep.equal([
      [p1, 'completed', answer(p1)],
      [p2, 'completed', answer(p2)],
      [p3, 'completed', answer(p3)],
    ]);
    for (const p of shown.prompts) expect(p.turnId).to.be.a('string');

    expect(cliError(await cli('queue', 'show', '0a0a0a0a-0000-4000-8000-000000000000'))).to.match(
      /not_found$/,
    );
    expect(
      cliError(await cli('queue', 'edit', created.id, (shown.prompts[0] as Prompt).id, 'x')),
    ).to.equal('prompt_not_editable');
    expect(cliJson<Queue>(await cli('queue', 'show', created.id))).to.deep.equal(shown);
  });

  // Last: after a turn is interrupted mid-stream this app-server (0.169.0) may send no further
  // /v1/responses request in the same process (see sessions-api.test.ts).
  it('stop --now interrupts the running turn: the prompt ends interrupted and is not run again', async () => {
    const [p1, p2] = texts('now', 2) as [string, string];
    held.add(p1);
    const q = await api.createQueue({
      name: 'interrupted',
      cwd: svc.dir,
      prompts: [{ text: p1 }, { text: p2 }],
    });
    const ev = await api.queueEvents(q.id);
    await api.ok('POST', `/api/queues/${q.id}/start`, {}, 200);
    await fake.waitForRequest((r) => r.prompt === p1);
    const pid = byText(await api.queue(q.id), p1).id;
    const stopped = await api.ok<Queue>('POST', `/api/queues/${q.id}/stop`, { now: true }, 200);
    expect(stopped.status).to.equal('stopped');
    const interrupted = await ev.prompt('prompt_interrupted', pid);
    ev.close();
    expect(interrupted.prompt?.status).to.equal('interrupted');
    const after = await api.queue(q.id);
    expect(after.status).to.equal('stopped');
    expect(byText(after, p1).status).to.equal('interrupted');
    expect(TERMINAL_PROMPT).to.include(byText(after, p1).status);
    expect(byText(after, p2).status).to.equal('pending');
    expect(requestsFor(p1)).to.have.length(1);
    expect(requestsFor(p2)).to.have.length(0);
  });
});
