/**
 * Hostile input, at random: fast-check throws requests at a real `codex-sm serve` (the REAL
 * app-server, a FAKE Responses API) with a valid token — every route the service documents plus
 * made-up ones, any method, ids that are real, random or path tricks, random queries, JSON
 * bodies of any shape (lone UTF-16 surrogates included), broken JSON, wrong content types, and
 * WebSocket upgrades that send random messages. The service must answer every one with a JSON
 * body and no 5xx, and still be the same process at the end.
 *
 * FUZZ_RUNS sets the number of requests (CI: 2000; the full run is FUZZ_RUNS=10000),
 * FUZZ_SEED replays a failing run.
 */
import http from 'node:http';
import { expect } from 'chai';
import fc from 'fast-check';
import WebSocket from 'ws';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import { startService, waitReady, type ServiceProcess } from '../../harness/service.js';
import { frame, rawWebSocket } from '../helpers/raw-ws.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

interface Answer {
  status: number;
  type: string;
  body: string;
}

interface Req {
  method: string;
  path: string;
  contentType: string | null;
  body: string | null;
}

/** One raw request (node:http: fetch refuses TRACE and friends); event streams are cut after their headers. */
function send(base: URL, token: string, r: Req): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method: r.method,
        path: r.path,
        headers: {
          authorization: `Bearer ${token}`,
          ...(r.contentType ? { 'content-type': r.contentType } : {}),
          ...(r.body !== null ? { 'content-length': Buffer.byteLength(r.body) } : {}),
        },
      },
      (res) => {
        const type = String(res.headers['content-type'] ?? '');
        if (type.startsWith('text/event-stream')) {
          res.destroy();
          return resolve({ status: res.statusCode ?? 0, type, body: '' });
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type, body }));
      },
    );
    req.on('error', reject);
    req.end(r.body ?? undefined);
  });
}

describe('hostile input at random (fast-check; real app-server, fake Responses API)', function () {
  this.timeout(300_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;
  let token: string;
  let paths: string[] = [];
  const ids: string[] = [];

  before(async () => {
    fake = await startFakeResponses();
    svc = await startService({ config: { appServer: { args: fake.codexArgs() } } });
    await waitReady(svc);
    const owner = { authorization: `Bearer ${svc.token}`, 'content-type': 'application/json' };
    // Every scope but admin: restarting the app-server or minting tokens is not what we test.
    const t = await fetch(`${svc.endpoint}/api/tokens`, {
      method: 'POST',
      headers: owner,
      body: JSON.stringify({
        name: 'fuzz',
        scopes: ['sessions:read', 'sessions:write', 'approvals', 'queues', 'groups', 'metrics'],
      }),
    });
    token = ((await t.json()) as { token: string }).token;
    const doc = (await (
      await fetch(`${svc.endpoint}/openapi.json`, { headers: owner })
    ).json()) as { paths: Record<string, unknown> };
    paths = [...Object.keys(doc.paths), '/status', '/healthz', '/readyz', '/nope', '/api'];
    // Real ids, so some requests reach deep into the handlers.
    const s = await fetch(`${svc.endpoint}/api/sessions`, {
      method: 'POST',
      headers: owner,
      body: JSON.stringify({ cwd: svc.dir }),
    });
    ids.push(((await s.json()) as { session: { id: string } }).session.id);
    const q = await fetch(`${svc.endpoint}/api/queues`, {
      method: 'POST',
      headers: owner,
      body: JSON.stringify({ name: 'fuzz', cwd: svc.dir, prompts: ['a', 'b'] }),
    });
    const queue = (await q.json()) as { id: string; prompts: { id: string }[] };
    ids.push(queue.id, ...queue.prompts.map((p) => p.id));
  });

  after(async () => {
    await svc?.stop();
    await fake?.close();
  });

  /** The generators; built once the ids and paths they draw from exist. */
  const arbitraries = () => {
    const segment = () =>
      fc.oneof(
        fc.constantFrom(...ids),
        fc.uuid(),
        fc.constantFrom('..', '%2e%2e', '%00', '%ff', 'a'.repeat(300), '~', '%F0%9F%98%80', '-1'),
        fc.string({ maxLength: 12 }).map(encodeURIComponent),
      );
    const pathArb = () =>
      fc
        .tuple(fc.constantFrom(...paths), fc.array(segment(), { minLength: 3, maxLength: 3 }))
        .map(([p, segs]) => {
          let i = 0;
          return p.replace(/\{[^}]+\}/g, () => segs[i++ % segs.length] as string);
        });
    const query = fc
      .dictionary(
        fc.constantFrom('limit', 'offset', 'cursor', 'q', 'sort', 'order', 'follow', 'status', 'x'),
        fc.oneof(fc.string({ maxLength: 20 }), fc.integer().map(String)),
        { maxKeys: 3 },
      )
      .map((d) => new URLSearchParams(d).toString());
    /** Strings of every kind of UTF-16 code unit: lone surrogates included. */
    const nasty = fc.string({ unit: 'binary', maxLength: 40 });
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        nasty,
        fc.string({ maxLength: 30 }),
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(
          fc.oneof(
            fc.constantFrom(
              'name',
              'cwd',
              'input',
              'text',
              'prompt',
              'images',
              'mode',
              'to',
              'now',
              'sessionId',
              'sessionIds',
              'decision',
              'maxConcurrent',
              'prompts',
              'model',
              'sandbox',
              'approvalPolicy',
            ),
            nasty,
          ),
          tie('value'),
          { maxKeys: 5 },
        ),
      ),
    })).value;
    const bodyArb = fc.oneof(
      fc.constant({ contentType: null, body: null }),
      json.map((v) => ({ contentType: 'application/json', body: JSON.stringify(v) })),
      fc.string({ maxLength: 50 }).map((s) => ({ contentType: 'application/json', body: `{${s}` })),
      json.map((v) => ({ contentType: 'text/plain', body: JSON.stringify(v) })),
    );
    const reqArb = fc
      .record({
        method: fc.constantFrom(
          'GET',
          'GET',
          'POST',
          'POST',
          'PATCH',
          'DELETE',
          'PUT',
          'HEAD',
          'OPTIONS',
          'TRACE',
          'PROPFIND',
        ),
        path: pathArb(),
        query,
        body: bodyArb,
      })
      .map((r): Req => ({
        method: r.method,
        path: r.query ? `${r.path}?${r.query}` : r.path,
        contentType: r.body.contentType,
        body: r.method === 'GET' || r.method === 'HEAD' ? null : r.body.body,
      }));
    return { segment, json, reqArb };
  };

  it(`${RUNS} random requests: every answer is JSON, none is a 5xx, the service lives on`, async () => {
    const { reqArb } = arbitraries();
    const base = new URL(svc.endpoint);
    const pidNow = async () =>
      (
        (await (
          await fetch(`${svc.endpoint}/status`, {
            headers: { authorization: `Bearer ${svc.token}` },
          })
        ).json()) as { pid: number }
      ).pid;
    const pid = await pidNow();
    await fc.assert(
      fc.asyncProperty(reqArb, async (r) => {
        const a = await send(base, token, r);
        const where = `${r.method} ${r.path} → ${a.status} ${a.type} ${a.body.slice(0, 200)}`;
        expect(a.status, where).to.be.below(500);
        if (r.method === 'HEAD' || a.type.startsWith('text/event-stream')) return;
        if (a.status < 400 && a.body === '') return; // OPTIONS: 200, Allow, no body
        expect(a.type, where).to.match(/^application\/json/);
        const parsed = JSON.parse(a.body) as { error?: { code?: unknown } };
        if (a.status >= 400) expect(parsed.error?.code, where).to.be.a('string');
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    expect(await pidNow(), 'the same process').to.equal(pid);
    expect(svc.child.exitCode, 'still running').to.equal(null);
  });

  it('random messages on /ws never take the service down, and each gets an answer', async () => {
    const { segment, json } = arbitraries();
    const ws = new WebSocket(`${svc.wsUrl}/ws`, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const answers: unknown[] = [];
    ws.on('message', (d) => answers.push(JSON.parse(String(d))));
    const messages = fc.sample(
      fc.oneof(
        json.map((v) => JSON.stringify(v)),
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc
          .record({
            type: fc.constantFrom(
              'subscribe_session',
              'subscribe_queue',
              'unsubscribe_group',
              'subscribe_new_sessions',
              'nope',
            ),
            sessionId: segment(),
            queueId: segment(),
            groupId: segment(),
          })
          .map((m) => JSON.stringify(m)),
      ),
      { numRuns: Math.min(RUNS, 300), seed: SEED },
    );
    for (const m of messages) ws.send(m);
    // A ping round-trip after the last message: everything before it was read.
    await new Promise<void>((r) => {
      ws.once('pong', () => r());
      ws.ping();
    });
    ws.close();
    const health = await fetch(`${svc.endpoint}/healthz`);
    expect(health.status).to.equal(200);
    expect(svc.child.exitCode).to.equal(null);
    expect(answers.length, 'malformed ones are answered with an error').to.be.greaterThan(0);
  });

  it('random frames, well-formed or not, on /ws, / and /app-server never take the service down', async () => {
    const port = Number(new URL(svc.endpoint).port);
    const frameArb = fc.record({
      opcode: fc.integer({ min: 0, max: 15 }),
      rsv: fc.integer({ min: 0, max: 7 }),
      fin: fc.boolean(),
      masked: fc.boolean(),
      payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      lie: fc.option(fc.integer({ min: 0, max: 70_000 }), { freq: 4 }),
    });
    const plans = fc.sample(
      fc.record({
        path: fc.constantFrom('/ws', '/', '/app-server'),
        frames: fc.array(frameArb, { minLength: 1, maxLength: 4 }),
      }),
      { numRuns: Math.min(RUNS, 150), seed: SEED },
    );
    for (const plan of plans) {
      const { conn } = await rawWebSocket(port, plan.path, svc.token);
      for (const f of plan.frames)
        conn.write(frame({ ...f, declaredLength: f.lie === null ? undefined : f.lie }));
      conn.socket.destroy();
    }
    const health = await fetch(`${svc.endpoint}/healthz`);
    expect(health.status).to.equal(200);
    expect(svc.child.exitCode, 'still running').to.equal(null);
    expect(
      svc.logs.filter((l) => l.level >= 50).map((l) => l.msg),
      'no error logged',
    ).to.deep.equal([]);
  });
});
