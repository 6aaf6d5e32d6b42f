/**
 * Groups end to end (docs/queues.md): `codex-sm serve` (child process) with the REAL app-server,
 * driven by a FAKE Responses API. Concurrency is counted where it matters, at the model: the
 * fake holds every group turn open until the test releases it, and counts open responses.
 */
import path from 'node:path';
import { expect } from 'chai';
import {
  startFakeResponses,
  type FakeReply,
  type FakeRequest,
  type FakeResponsesServer,
} from '../../harness/fake-responses.js';
import { startService, waitReady, type ServiceProcess } from '../../harness/service.js';
import { cliError, cliJson, runCli, ServiceApi, type Group } from '../helpers/queues-api.js';
import { methodOf, SseClient } from '../helpers/sessions-sse.js';

const answer = (prompt: string) => `answer to ${prompt}`;

describe('groups against the real app-server (fake Responses API)', function () {
  this.timeout(120_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;
  let api: ServiceApi;
  let sessions: string[] = [];
  /** Prompts whose model requests the fake holds open until the test releases them. */
  const held = new Set<string>();
  const cli = (...args: string[]) =>
    runCli(path.join(svc.dir, 'config.json'), new URL(svc.endpoint).port, svc.dir, args);

  /** A session with one finished turn (so it is indexed like any session a user has). */
  const newSession = async (i: number): Promise<string> => {
    const r = await api.ok<{ session: { id: string } }>(
      'POST',
      '/api/sessions',
      { cwd: svc.dir },
      201,
    );
    const id = r.session.id;
    const sse = await SseClient.open(
      `${svc.endpoint}/api/sessions/${id}/events?follow=true`,
      api.auth,
    );
    await api.ok('POST', `/api/sessions/${id}/turns`, { input: `group member ${i}` }, 202);
    await sse.waitFor((e) => methodOf(e) === 'turn/completed');
    sse.close();
    return id;
  };

  before(async () => {
    fake = await startFakeResponses();
    fake.fallback = ({ prompt }): FakeReply =>
      held.has(prompt)
        ? { kind: 'held', then: { kind: 'text', text: answer(prompt) } }
        : { kind: 'text', text: answer(prompt) };
    svc = await startService({
      config: { appServer: { args: fake.codexArgs(), backoffInitialMs: 100 } },
    });
    await waitReady(svc);
    api = new ServiceApi(svc.endpoint, svc.token);
    sessions = [];
    for (let i = 1; i <= 5; i++) sessions.push(await newSession(i));
  });

  after(async () => {
    await svc?.stop();
    await fake?.close();
  });

  it('runs one prompt on 5 sessions with maxConcurrent 2: never more than 2 turns at the model', async () => {
    const prompt = 'bump the lockfile';
    held.add(prompt);
    const g = await api.ok<Group>(
      'POST',
      '/api/groups',
      { name: 'five', description: 'all of them', sessionIds: sessions },
      201,
    );
    expect(g.sessionIds).to.have.members(sessions);
    expect(g.run).to.equal(null);
    const ev = await api.groupEvents(g.id);
    fake.resetMaxInFlight();
    const base = fake.arrivals.length;
    const ours = (r: FakeRequest) => r.seq > base && r.prompt === prompt;
    const nth = (k: number) =>
      fake.waitForRequest((r) => ours(r) && fake.arrivals.filter(ours).indexOf(r) === k);

    const started = await api.ok<Group>(
      'POST',
      `/api/groups/${g.id}/run`,
      { prompt, maxConcurrent: 2 },
      202,
    );
    expect(started.run).to.include({ prompt, maxConcurrent: 2, status: 'running' });
    await ev.next('run_started');

    // Two turns reach the model; the service says two run and three wait.
    const first = [await nth(0), await nth(1)];
    await ev.next('session_started', (d) => (d.group.run?.progress.running.length ?? 0) === 2);
    const two = await api.group(g.id);
    expect(two.run?.progress.running).to.have.length(2);
    expect(two.run?.progress.pending).to.have.length(3);
    expect(fake.inFlight).to.equal(2);

    // Each release lets exactly one more in: the peak at the model never passes 2.
    const open: FakeRequest[] = [...first];
    for (let k = 2; k < 5; k++) {
      open.shift()?.release();
      open.push(await nth(k));
      expect(fake.inFlight, `after turn ${k + 1} arrived`).to.be.at.most(2);
    }
    for (const r of open) r.release();
    const done = await ev.next('group_completed');
    ev.close();
    expect(fake.maxInFlight, 'peak of open responses at the model').to.equal(2);
    expect(fake.arrivals.filter(ours)).to.have.length(5);

    const run = done.group.run;
    expect(run?.status).to.equal('completed');
    expect(run?.progress.completed).to.have.members(sessions);
    expect(run?.progress.failed).to.deep.equal([]);
    for (const s of run?.sessions ?? []) {
      expect(s.status).to.equal('completed');
      expect(s.attempts).to.equal(1);
      expect(s.turnId).to.be.a('string');
      expect(s.result?.message).to.equal(answer(prompt));
    }
    expect(run?.sessions.map((s) => s.sessionId)).to.have.members(sessions);
    const types = ev.types();
    expect(types.filter((t) => t === 'session_started')).to.have.length(5);
    expect(types.filter((t) => t === 'session_completed')).to.have.length(5);
    expect((await api.group(g.id)).run?.status).to.equal('completed');
  });

  it('pause holds back new turns, a removed session is cancelled, resume finishes the run', async () => {
    const prompt = 'regenerate the docs';
    held.add(prompt);
    const g = await api.ok<Group>(
      'POST',
      '/api/groups',
      { name: 'pausable', sessionIds: sessions.slice(0, 3) },
      201,
    );
    const ev = await api.groupEvents(g.id);
    const base = fake.arrivals.length;
    const ours = (r: FakeRequest) => r.seq > base && r.prompt === prompt;
    await api.ok('POST', `/api/groups/${g.id}/run`, { text: prompt, maxConcurrent: 1 }, 202);
    const r1 = await fake.waitForRequest(ours);
    const paused = await api.ok<Group>('POST', `/api/groups/${g.id}/pause`, {}, 200);
    expect(paused.paused).to.equal(true);
    await ev.next('group_paused');
    const running = paused.run?.progress.running[0] as string;
    const pending = paused.run?.progress.pending ?? [];
    expect(pending).to.have.length(2);
    const removed = pending[1] as string;
    const after = await api.ok<Group>(
      'DELETE',
      `/api/groups/${g.id}/sessions/${removed}`,
      undefined,
      200,
    );
    expect(after.sessionIds).to.not.include(removed);
    await ev.next('session_cancelled', (d) => d.sessionId === removed);
    expect(await api.fails('DELETE', `/api/groups/${g.id}`, undefined, 409)).to.equal('group_busy');
    r1.release();
    await ev.next('session_completed', (d) => d.sessionId === running);
    expect(await api.fails('POST', `/api/groups/${g.id}/run`, { prompt: 'again' }, 409)).to.equal(
      'group_busy',
    );
    // A barrier: one more whole turn through the service; a wrongly started turn would be in by now.
    await newSession(99);
    const stillPaused = await api.group(g.id);
    expect(stillPaused.run?.progress.pending).to.deep.equal([pending[0]]);
    expect(fake.arrivals.filter(ours), 'no new turn while paused').to.have.length(1);

    const resumed = await api.ok<Group>('POST', `/api/groups/${g.id}/resume`, {}, 200);
    expect(resumed.paused).to.equal(false);
    const r2 = await fake.waitForRequest((r) => ours(r) && r !== r1);
    r2.release();
    const done = await ev.next('group_completed');
    ev.close();
    const byId = new Map(done.group.run?.sessions.map((s) => [s.sessionId, s.status]));
    expect(byId.get(running)).to.equal('completed');
    expect(byId.get(pending[0] as string)).to.equal('completed');
    expect(byId.get(removed)).to.equal('cancelled');
    expect(fake.arrivals.filter(ours)).to.have.length(2);
  });

  it('through the CLI: create, add, show, and errors as one JSON object', async () => {
    const created = cliJson<Group>(
      await cli('group', 'create', 'cli group', sessions[0] as string),
    );
    expect(created.sessionIds).to.deep.equal([sessions[0]]);
    const added = cliJson<Group>(await cli('group', 'add', created.id, sessions[1] as string));
    expect(added.sessionIds).to.have.members([sessions[0], sessions[1]]);
    const shown = cliJson<Group>(await cli('group', 'show', created.id.slice(0, 8)));
    expect(shown.id).to.equal(created.id);
    const list = cliJson<{ groups: { id: string }[] }>(await cli('group', 'list'));
    expect(list.groups.map((x) => x.id)).to.include(created.id);
    expect(
      cliError(await cli('group', 'add', created.id, '01a20000-0000-7000-8000-00000000dead')),
    ).to.equal('session_not_found');
    expect(cliJson<Group>(await cli('group', 'show', created.id))).to.deep.equal(shown);
  });

  it('answers bad input with 4xx JSON errors and changes nothing', async () => {
    const empty = await api.ok<Group>('POST', '/api/groups', { name: 'empty' }, 201);
    const g = await api.ok<Group>(
      'POST',
      '/api/groups',
      { name: 'one', sessionIds: [sessions[0]] },
      201,
    );
    const unknownGroup = '0a0a0a0a-0000-4000-8000-000000000000';
    const unknownSession = '01a20000-0000-7000-8000-00000000dead';
    const listBefore = await api.ok('GET', '/api/groups', undefined, 200);
    const before = [await api.group(empty.id), await api.group(g.id)];
    const requestsBefore = fake.arrivals.length;
    const cases: [string, string, unknown, number, string?][] = [
      ['POST', `/api/groups/${empty.id}/run`, { prompt: 'x' }, 409, 'group_empty'],
      ['POST', `/api/groups/${g.id}/run`, { prompt: 'x', maxConcurrent: 0 }, 400],
      ['POST', `/api/groups/${g.id}/run`, { prompt: 'x', maxConcurrent: 65 }, 400],
      ['POST', `/api/groups/${g.id}/run`, {}, 400],
      [
        'POST',
        `/api/groups/${g.id}/sessions`,
        { sessionId: unknownSession },
        404,
        'session_not_found',
      ],
      ['POST', `/api/groups/${g.id}/sessions`, {}, 400],
      ['POST', '/api/groups', { name: 'bad ids', sessionIds: ['../../etc'] }, 400],
      ['POST', '/api/groups', { description: 'no name' }, 400],
      ['GET', `/api/groups/${unknownGroup}`, undefined, 404],
      ['POST', `/api/groups/${unknownGroup}/run`, { prompt: 'x' }, 404],
      ['DELETE', `/api/groups/${unknownGroup}`, undefined, 404],
    ];
    for (const [method, p, body, status, want] of cases) {
      const code = await api.fails(method, p, body, status);
      if (want) expect(code, `${method} ${p}`).to.equal(want);
      else if (status === 404) expect(code, `${method} ${p}`).to.match(/not_found$/);
    }
    expect([await api.group(empty.id), await api.group(g.id)], 'nothing changed').to.deep.equal(
      before,
    );
    expect(await api.ok('GET', '/api/groups', undefined, 200)).to.deep.equal(listBefore);
    expect(fake.arrivals.length, 'no turn started').to.equal(requestsBefore);
    const deleted = await api.ok('DELETE', `/api/groups/${empty.id}`, undefined, 200);
    expect(deleted).to.deep.equal({ deleted: true, id: empty.id });
  });
});
