/**
 * The sessions API end to end: `codex-sm serve` (child process) with the REAL app-server, driven
 * by a FAKE Responses API (the only fake: OpenAI's API cannot run here).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import WebSocket from 'ws';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import { startService, TestClient, waitReady, type ServiceProcess } from '../../harness/service.js';
import { methodOf, SseClient, type SseEvent } from '../helpers/sessions-sse.js';

interface Res<T = Record<string, unknown>> {
  status: number;
  body: T;
}

describe('sessions API against the real app-server (fake Responses API)', function () {
  this.timeout(90_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;
  let auth: Record<string, string>;

  const api = async <T = Record<string, unknown>>(
    method: string,
    p: string,
    body?: unknown,
    raw?: string,
  ): Promise<Res<T>> => {
    const r = await fetch(svc.endpoint + p, {
      method,
      headers: {
        ...auth,
        ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const follow = (id: string, headers: Record<string, string> = {}) =>
    SseClient.open(`${svc.endpoint}/api/sessions/${id}/events?follow=true`, {
      ...auth,
      ...headers,
    });
  const turnCompleted = (sse: SseClient, after = 0) =>
    sse.waitFor((e) => sse.events.indexOf(e) >= after && methodOf(e) === 'turn/completed');
  const startSession = async (body: Record<string, unknown> = {}) => {
    const r = await api<{ session: { id: string } }>('POST', '/api/sessions', {
      cwd: svc.dir,
      ...body,
    });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body.session.id;
  };

  before(async () => {
    fake = await startFakeResponses();
    svc = await startService({
      config: {
        appServer: { args: fake.codexArgs(), backoffInitialMs: 100 },
        approvals: { timeoutMs: 60_000 },
      },
    });
    await waitReady(svc);
    auth = { authorization: `Bearer ${svc.token}` };
  });

  after(async () => {
    await svc?.stop();
    await fake?.close();
  });

  it('starts a session, runs a turn and follows it over SSE to turn/completed; the index and search see it', async () => {
    const id = await startSession();
    const sse = await follow(id);
    expect(sse.status).to.equal(200);
    fake.enqueue({ kind: 'text', text: 'Hello from the fake model', chunks: 3 });
    const t = await api<{ turnId: string }>('POST', `/api/sessions/${id}/turns`, {
      input: 'say hello please',
    });
    expect(t.status).to.equal(202);
    expect(t.body.turnId).to.be.a('string');
    const done = sse.json<{ params: { turn: { id: string; status: string } } }>(
      await turnCompleted(sse),
    );
    expect(done.params.turn.status).to.equal('completed');
    expect(done.params.turn.id).to.equal(t.body.turnId);
    const deltas = sse.events
      .filter((e) => methodOf(e) === 'item/agentMessage/delta')
      .map((e) => sse.json<{ params: { delta: string } }>(e).params.delta);
    expect(deltas.join('')).to.equal('Hello from the fake model');
    // The rollout lines arrive too (session_meta first), each with a resumable id.
    const meta = await sse.waitFor(
      (e) => e.event === 'rollout' && e.data.includes('"session_meta"'),
    );
    expect(meta.id).to.match(/^\d+:\d+$/);
    await sse.waitFor((e) => e.event === 'rollout' && e.data.includes('"task_complete"'));
    sse.close();

    const s = await api<{ title: string; messageCount: number; status?: string }>(
      'GET',
      `/api/sessions/${id}`,
    );
    expect(s.status).to.equal(200);
    expect(s.body.title).to.equal('say hello please');
    expect(s.body.messageCount).to.equal(2);
    const list = await api<{ sessions: { id: string }[]; total: number }>(
      'GET',
      '/api/sessions?limit=10',
    );
    expect(list.body.sessions.map((x) => x.id)).to.include(id);
    const found = await api<{ results: { sessionId: string; matches: { role: string }[] }[] }>(
      'GET',
      '/api/sessions/search?q=fake%20model&role=assistant',
    );
    expect(found.body.results.map((r) => r.sessionId)).to.include(id);
  });

  it('resumes an SSE stream with Last-Event-ID without repeating or losing rollout lines', async () => {
    const id = await startSession();
    fake.enqueue({ kind: 'text', text: 'first answer' });
    const sse = await follow(id);
    await api('POST', `/api/sessions/${id}/turns`, { input: 'one' });
    await turnCompleted(sse);
    await sse.waitFor((e) => e.event === 'rollout' && e.data.includes('"task_complete"'));
    sse.close();
    const rollouts = sse.events.filter((e) => e.event === 'rollout');
    const cut = rollouts[Math.floor(rollouts.length / 2)] as SseEvent;
    const again = await SseClient.open(`${svc.endpoint}/api/sessions/${id}/events`, {
      ...auth,
      'last-event-id': cut.id as string,
    });
    await again.ended;
    const rest = again.events.filter((e) => e.event === 'rollout').map((e) => e.data);
    expect(rest).to.deep.equal(rollouts.slice(rollouts.indexOf(cut) + 1).map((e) => e.data));
  });

  it('holds an approval the model asks for, lists it, answers it over HTTP, and the turn continues', async () => {
    const marker = path.join(svc.dir, 'approved-marker');
    // workspace-write: the approved command writes in the cwd inside the sandbox (under
    // read-only codex reruns it outside only if it spots the denial: missed under load)
    const id = await startSession({ approvalPolicy: 'untrusted', sandbox: 'workspace-write' });
    const sse = await follow(id);
    fake.enqueue({ kind: 'exec', command: ['touch', marker] }, { kind: 'text', text: 'done' });
    await api('POST', `/api/sessions/${id}/turns`, { input: 'touch the marker' });
    const ev = await sse.waitFor((e) => e.event === 'approval');
    const held = sse.json<{ id: string; status: string; method: string; threadId: string }>(ev);
    expect(held).to.include({
      status: 'pending',
      method: 'item/commandExecution/requestApproval',
      threadId: id,
    });
    const list = await api<{ approvals: { id: string }[] }>(
      'GET',
      `/api/approvals?sessionId=${id}`,
    );
    expect(list.body.approvals.map((a) => a.id)).to.deep.equal([held.id]);
    const ans = await api<{ status: string; decision: string }>(
      'POST',
      `/api/approvals/${held.id}`,
      { decision: 'accept' },
    );
    expect(ans.status).to.equal(200);
    expect(ans.body).to.include({ status: 'answered', decision: 'accept' });
    const done = sse.json<{ params: { turn: { status: string } } }>(await turnCompleted(sse));
    expect(done.params.turn.status).to.equal('completed');
    expect(fs.existsSync(marker), 'the approved command ran').to.equal(true);
    const twice = await api<{ error: { code: string } }>('POST', `/api/approvals/${held.id}`, {
      decision: 'decline',
    });
    expect(twice.status).to.equal(409);
    expect(twice.body.error.code).to.equal('approval_already_answered');
    expect(
      (await api<{ approvals: unknown[] }>('GET', '/api/approvals')).body.approvals,
    ).to.have.length(0);
    sse.close();
  });

  it('streams every approval service-wide: pending ones in a snapshot, then each as held and answered; Last-Event-ID resumes', async () => {
    type A = { id: string; status: string; threadId: string; kind: string; decision?: string };
    const url = `${svc.endpoint}/api/approvals/events`;
    const inbox = await SseClient.open(url, auth);
    expect(inbox.status).to.equal(200);
    const first = await inbox.waitFor(() => true);
    expect(first.event).to.equal('snapshot');
    expect(inbox.json<{ approvals: A[] }>(first).approvals).to.deep.equal([]);

    const marker = path.join(svc.dir, 'inbox-stream-marker');
    const id = await startSession({ approvalPolicy: 'untrusted', sandbox: 'read-only' });
    fake.enqueue(
      { kind: 'exec', command: ['touch', marker] },
      { kind: 'text', text: 'answered from the inbox stream' },
    );
    await api('POST', `/api/sessions/${id}/turns`, { input: 'touch it' });
    const heldEvent = await inbox.waitFor((e) => e.event === 'approval');
    const held = inbox.json<A>(heldEvent);
    expect(held).to.include({ status: 'pending', threadId: id, kind: 'commandExecution' });
    // Who connects now finds it in the snapshot.
    const late = await SseClient.open(url, auth);
    const snap = late.json<{ approvals: A[] }>(await late.waitFor((e) => e.event === 'snapshot'));
    expect(snap.approvals.map((a) => a.id)).to.deep.equal([held.id]);
    late.close();

    expect(
      (await api('POST', `/api/approvals/${held.id}`, { decision: 'accept' })).status,
    ).to.equal(200);
    const answeredEvent = await inbox.waitFor(
      (e) => e.event === 'approval' && inbox.json<A>(e).status === 'answered',
    );
    expect(inbox.json<A>(answeredEvent)).to.include({ id: held.id, decision: 'accept' });
    await fake.waitForRequest((r) => r.reply.kind === 'text' && r.reply.text.includes('inbox'));
    inbox.close();

    // A reconnect from the held event gets what followed it, and no snapshot.
    const resumed = await SseClient.open(url, { ...auth, 'last-event-id': heldEvent.id ?? '' });
    await resumed.waitFor((e) => e.id === answeredEvent.id);
    expect(resumed.events.map((e) => e.event)).to.deep.equal(['approval']);
    resumed.close();
    // One it cannot place (another boot, or no longer buffered) starts over with a snapshot.
    const unknown = await SseClient.open(url, { ...auth, 'last-event-id': '0badb007:1' });
    const fresh = await unknown.waitFor(() => true);
    expect(fresh.event).to.equal('snapshot');
    unknown.close();
  });

  it('resumes and forks a session', async () => {
    const id = await startSession();
    const sse = await follow(id);
    fake.enqueue({ kind: 'text', text: 'parent answer' });
    await api('POST', `/api/sessions/${id}/turns`, { input: 'parent question' });
    await turnCompleted(sse);
    sse.close();
    const resumed = await api<{ session: { id: string } }>(
      'POST',
      `/api/sessions/${id}/resume`,
      {},
    );
    expect(resumed.status, JSON.stringify(resumed.body)).to.equal(200);
    expect(resumed.body.session.id).to.equal(id);
    const forked = await api<{
      session: { id: string; forkedFromId: string };
      forkedFromId: string;
    }>('POST', `/api/sessions/${id}/fork`, {});
    expect(forked.status, JSON.stringify(forked.body)).to.equal(201);
    expect(forked.body.session.id).to.not.equal(id);
    expect(forked.body.forkedFromId).to.equal(id);
    const child = forked.body.session.id;
    const sse2 = await follow(child);
    fake.enqueue({ kind: 'text', text: 'child answer' });
    const t = await api('POST', `/api/sessions/${child}/turns`, { input: 'child question' });
    expect(t.status).to.equal(202);
    await turnCompleted(sse2);
    sse2.close();
    const shown = await api<{ forkedFromId: string | null; messageCount: number }>(
      'GET',
      `/api/sessions/${child}`,
    );
    expect(shown.body.forkedFromId).to.equal(id);
  });

  it('leaves approvals of threads other clients started to those clients', async () => {
    const c = await TestClient.connect(svc.wsUrl + '/', auth);
    await c.initialize();
    const st = await c.request('thread/start', {
      cwd: svc.dir,
      approvalPolicy: 'untrusted',
      sandbox: 'read-only',
    });
    const threadId = (st.thread as { id: string }).id;
    fake.enqueue({ kind: 'exec', command: ['true'] }, { kind: 'text', text: 'done' });
    await c.request('turn/start', {
      threadId,
      input: [{ type: 'text', text: 'run true', text_elements: [] }],
    });
    const req = await c.waitFor((m) => m.method === 'item/commandExecution/requestApproval');
    const held = await api<{ approvals: unknown[] }>(
      'GET',
      `/api/approvals?status=all&sessionId=${threadId}`,
    );
    expect(held.body.approvals).to.have.length(0);
    c.ws.send(JSON.stringify({ id: req.id, result: { decision: 'accept' } }));
    await c.waitFor((m) => m.method === 'turn/completed');
    c.close();
    // The thread is still listed (thread/started reaches every client; its rollout is indexed).
    const shown = await api('GET', `/api/sessions/${threadId}`);
    expect(shown.status).to.equal(200);
  });

  it('names, archives (the file moves) and unarchives a session', async () => {
    const id = await startSession();
    const sse = await follow(id);
    fake.enqueue({ kind: 'text', text: 'ok' });
    await api('POST', `/api/sessions/${id}/turns`, { input: 'something to archive' });
    await turnCompleted(sse).catch((e: Error) => {
      throw new Error(`${e.message}\nfake requests: ${fake.requests.length}`);
    });
    sse.close();
    const named = await api<{ session: { title: string; name: string } }>(
      'POST',
      `/api/sessions/${id}/name`,
      { name: 'Archive me' },
    );
    expect(named.body.session.title).to.equal('Archive me');
    const a = await api<{ session: { archived: boolean; rolloutPath: string } }>(
      'POST',
      `/api/sessions/${id}/archive`,
    );
    expect(a.status, JSON.stringify(a.body)).to.equal(200);
    expect(a.body.session.archived).to.equal(true);
    expect(
      a.body.session.rolloutPath.startsWith(
        path.join(svc.codexHome, 'archived_sessions') + path.sep,
      ),
    ).to.equal(true);
    expect(fs.existsSync(a.body.session.rolloutPath)).to.equal(true);
    const active = await api<{ sessions: { id: string }[] }>('GET', '/api/sessions?limit=500');
    expect(active.body.sessions.map((s) => s.id)).to.not.include(id);
    const archived = await api<{ sessions: { id: string }[] }>(
      'GET',
      '/api/sessions?archived=true',
    );
    expect(archived.body.sessions.map((s) => s.id)).to.include(id);
    const u = await api<{ session: { archived: boolean; rolloutPath: string } }>(
      'POST',
      `/api/sessions/${id}/unarchive`,
      {},
    );
    expect(u.body.session.archived).to.equal(false);
    expect(
      u.body.session.rolloutPath.startsWith(path.join(svc.codexHome, 'sessions') + path.sep),
    ).to.equal(true);
  });

  it('shows lines appended to a rollout file while following, and new sessions on /ws', async () => {
    const refused = await new Promise<number>((resolve) => {
      const w = new WebSocket(svc.wsUrl + '/ws');
      w.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      w.on('open', () => resolve(101));
      w.on('error', () => undefined);
    });
    expect(refused, '/ws without a token').to.equal(401);
    const ws = new WebSocket(svc.wsUrl + '/ws', { headers: auth });
    const msgs: Record<string, unknown>[] = [];
    ws.on('message', (d) => msgs.push(JSON.parse(d.toString()) as Record<string, unknown>));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'subscribe_new_sessions' }));
    const id = '01a20000-0000-7000-8000-0000000000aa';
    ws.send(JSON.stringify({ type: 'subscribe_session', sessionId: id }));
    const dir = path.join(svc.codexHome, 'sessions', '2026', '01', '02');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `rollout-2026-01-02T03-04-05-${id}.jsonl`);
    const meta = {
      timestamp: '2026-01-02T03:04:05.000Z',
      type: 'session_meta',
      payload: {
        id,
        timestamp: '2026-01-02T03:04:05.000Z',
        cwd: '/x',
        source: 'cli',
        cli_version: '0.1.0',
      },
    };
    fs.writeFileSync(file, JSON.stringify(meta) + '\n');
    const until = Date.now() + 5000;
    while ((await api('GET', `/api/sessions/${id}`)).status !== 200 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    const sse = await follow(id);
    await sse.waitFor((e) => e.event === 'rollout' && e.data.includes('session_meta'));
    const line = {
      timestamp: '2026-01-02T03:05:00.000Z',
      type: 'event_msg',
      payload: { type: 'user_message', message: 'appended later' },
    };
    fs.appendFileSync(file, JSON.stringify(line) + '\n');
    await sse.waitFor((e) => e.event === 'rollout' && e.data.includes('appended later'), 5000);
    sse.close();
    const deadline = Date.now() + 5000;
    const appended = (m: Record<string, unknown>) =>
      m.type === 'session_event' && JSON.stringify(m.event).includes('appended later');
    while (!msgs.some(appended) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(msgs.find((m) => m.type === 'new_session')).to.include({ sessionId: id, path: file });
    expect(msgs.some((m) => m.type === 'subscribed' && m.channel === `session:${id}`)).to.equal(
      true,
    );
    const ev = msgs.find(appended) as { event: { payload: { message: string } } };
    expect(ev.event.payload.message).to.equal('appended later');
    ws.send('not json');
    await new Promise((r) => setTimeout(r, 100));
    expect(msgs[msgs.length - 1]).to.include({ type: 'error' });
    ws.close();
  });

  it('answers bad input with 4xx JSON errors and keeps running', async () => {
    const bad: [string, string, number, string, string | undefined][] = [
      ['POST', '/api/sessions', 400, 'invalid_json', '{"cwd": '],
      ['POST', '/api/sessions', 400, 'invalid_body', JSON.stringify({ cwd: 42 })],
      ['POST', '/api/sessions', 400, 'invalid_body', JSON.stringify({ sandbox: 'yolo' })],
      ['POST', '/api/sessions', 400, 'invalid_body', JSON.stringify({ unknownField: 1 })],
      ['POST', '/api/sessions', 400, 'invalid_body', '[]'],
      [
        'POST',
        '/api/sessions',
        413,
        'body_too_large',
        JSON.stringify({ input: 'x'.repeat(5 * 1024 * 1024) }),
      ],
      ['GET', '/api/sessions/..%2F..%2F..%2Fetc%2Fpasswd', 400, 'invalid_session_id', undefined],
      ['GET', '/api/sessions/%00', 400, 'invalid_session_id', undefined],
      ['GET', `/api/sessions/${'a'.repeat(5000)}/events`, 400, 'invalid_session_id', undefined],
      [
        'POST',
        '/api/sessions/..%2Fx/turns',
        400,
        'invalid_session_id',
        JSON.stringify({ input: 'x' }),
      ],
      [
        'GET',
        '/api/sessions/01a20000-0000-7000-8000-00000000dead',
        404,
        'session_not_found',
        undefined,
      ],
      [
        'POST',
        '/api/sessions/01a20000-0000-7000-8000-00000000dead/turns',
        404,
        'session_not_found',
        JSON.stringify({ input: 'x' }),
      ],
      [
        'POST',
        '/api/sessions/01a20000-0000-7000-8000-00000000dead/turns',
        400,
        'invalid_body',
        JSON.stringify({ input: 5 }),
      ],
      ['GET', '/api/sessions?limit=0', 400, 'invalid_query', undefined],
      ['GET', '/api/sessions?sort=sideways', 400, 'invalid_query', undefined],
      ['GET', '/api/sessions?cursor=garbage', 400, 'invalid_cursor', undefined],
      // A well-formed cursor for this sort order, but hand-made with a negative offset.
      [
        'GET',
        `/api/sessions?cursor=${Buffer.from(JSON.stringify({ v: 0, id: 'x', n: -5, s: 'created', o: 'desc' })).toString('base64url')}`,
        400,
        'invalid_cursor',
        undefined,
      ],
      ['GET', '/api/sessions/search', 400, 'invalid_query', undefined],
      // Images a client may name (docs/api.md#images): refused before a thread is created.
      [
        'POST',
        '/api/sessions',
        400,
        'invalid_image',
        JSON.stringify({ input: 'x', images: ['/etc/shadow'] }),
      ],
      [
        'POST',
        '/api/sessions',
        400,
        'invalid_image',
        JSON.stringify({ input: [{ type: 'localImage', path: '/etc/passwd' }] }),
      ],
      [
        'POST',
        '/api/approvals/not-an-id',
        400,
        'invalid_approval_id',
        JSON.stringify({ decision: 'accept' }),
      ],
      [
        'POST',
        '/api/approvals/0a0a0a0a-0000-4000-8000-000000000000',
        404,
        'approval_not_found',
        JSON.stringify({ decision: 'accept' }),
      ],
      [
        'POST',
        '/api/approvals/0a0a0a0a-0000-4000-8000-000000000000',
        400,
        'invalid_body',
        JSON.stringify({ decision: 'maybe' }),
      ],
      ['GET', '/api/nothing-here', 404, 'not_found', undefined],
      ['DELETE', '/api/sessions', 405, '', undefined],
    ];
    for (const [method, p, status, code, raw] of bad) {
      const r = await fetch(svc.endpoint + p, {
        method,
        headers: { ...auth, ...(raw !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: raw,
      }).catch((e: Error) => e);
      if (r instanceof Error) {
        // A server may close the connection on an oversize body after answering; that is fine.
        expect(status).to.equal(413);
        continue;
      }
      expect(r.status, `${method} ${p.slice(0, 60)}`).to.equal(status);
      if (code) {
        const b = (await r.json()) as { error: { code: string; message: string } };
        expect(b.error.code, `${method} ${p.slice(0, 60)}`).to.equal(code);
        expect(b.error.message).to.be.a('string');
      }
    }
    const wrongType = await api<{ error: { schemaPath: string } }>('POST', '/api/sessions', {
      model: 7,
    });
    expect(wrongType.body.error.schemaPath).to.equal('#/properties/model/type');
    const noAuth = await fetch(`${svc.endpoint}/api/sessions`);
    expect(noAuth.status).to.equal(401);
    expect((await api('GET', '/api/sessions')).status).to.equal(200);
    expect(svc.child.exitCode).to.equal(null);
  });

  it('serves the OpenAPI document with the sessions paths', async () => {
    const r = await api<{
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    }>('GET', '/openapi.json');
    expect(r.status).to.equal(200);
    expect(r.body.paths).to.include.keys(
      '/api/sessions',
      '/api/sessions/{id}/events',
      '/api/approvals/{id}',
    );
    expect(r.body.components.schemas).to.include.keys('StartTurn', 'Session', 'AnswerApproval');
  });
  // Last: after a turn is interrupted mid-stream, the fake's hung response stays open and this
  // app-server (0.169.0) sends no further /v1/responses request in the same process.
  it('interrupts a running turn', async () => {
    const id = await startSession();
    const sse = await follow(id);
    fake.enqueue({ kind: 'hang' });
    const t = await api<{ turnId: string }>('POST', `/api/sessions/${id}/turns`, {
      input: 'take forever',
    });
    await sse.waitFor((e) => methodOf(e) === 'turn/started');
    const steered = await api<{ turnId: string }>('POST', `/api/sessions/${id}/steer`, {
      input: 'and hurry up',
    });
    expect(steered.status, JSON.stringify(steered.body)).to.equal(200);
    expect(steered.body.turnId).to.equal(t.body.turnId);
    const r = await api<{ interrupted: boolean; turnId: string }>(
      'POST',
      `/api/sessions/${id}/interrupt`,
      {},
    );
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body.turnId).to.equal(t.body.turnId);
    const done = sse.json<{ params: { turn: { status: string } } }>(await turnCompleted(sse));
    expect(done.params.turn.status).to.equal('interrupted');
    sse.close();
    const again = await api<{ error: { code: string } }>(
      'POST',
      `/api/sessions/${id}/interrupt`,
      {},
    );
    expect(again.status).to.equal(409);
  });

  it('ends open event streams at shutdown instead of waiting out the stop budget', async () => {
    const id = await startSession();
    const sse = await follow(id);
    const inbox = await SseClient.open(`${svc.endpoint}/api/approvals/events`, auth);
    await inbox.waitFor((e) => e.event === 'snapshot');
    const exited = await svc.stop();
    await sse.ended;
    await inbox.ended;
    expect(exited.code).to.equal(0);
    const stopped = svc.logs.find((l) => l.msg === 'stopped') as { ms: number } | undefined;
    expect(stopped?.ms, 'stop took the whole budget').to.be.below(9_000);
  });
});
