/**
 * The `serve` suite's proxy part: round trips, pipelined requests and streamed deltas through
 * codex-sm, straight to its app-server, and through a bare byte-pipe hop, interleaved.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import WebSocket from 'ws';
import { RpcClient, wsAddress } from '../../service/rpc.js';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import { startService, waitReady } from '../../harness/service.js';
import { INIT_PARAMS, median, now, ratioRow, cpuMs, summarize, track } from '../lib.js';
import { SERVICE_CONFIG, type Env, killAndWait, serviceStatus } from './common.js';

function openRpc(url: string, headers: Record<string, string> = {}): Promise<RpcClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers,
      perMessageDeflate: false,
      maxPayload: 256 * 1024 * 1024,
    });
    ws.once('open', () => resolve(new RpcClient(ws, { requestTimeoutMs: 120_000 })));
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`HTTP ${res.statusCode} from ${url}`)),
    );
    ws.once('error', reject);
  });
}

/** `total` requests with at most `window` in flight; requests per second. */
async function pipelined(
  c: RpcClient,
  method: string,
  params: unknown,
  total: number,
  window: number,
): Promise<number> {
  const t0 = now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let done = 0;
    const pump = () => {
      while (sent - done < window && sent < total) {
        sent++;
        c.request(method, params).then(() => {
          if (++done === total) resolve();
          else pump();
        }, reject);
      }
    };
    pump();
  });
  return total / ((now() - t0) / 1000);
}

interface StreamResult {
  deltas: number;
  bytes: number;
  /** First delta → turn/completed. */
  streamMs: number;
  /** turn/start sent → turn/completed. */
  turnMs: number;
}

/** One turn whose reply is streamed as `chunks` deltas; counts what arrives on this connection. */
async function streamedTurn(
  c: RpcClient,
  fake: FakeResponsesServer,
  threadId: string,
  chunks: number,
): Promise<StreamResult> {
  const text = 'abcdefghijklmnop'.repeat(chunks); // 16 characters per delta
  fake.enqueue({ kind: 'text', text, chunks });
  let deltas = 0;
  let bytes = 0;
  let first = 0;
  const t0 = now();
  const completed = new Promise<number>((resolve) => {
    const on = (method: string, params: unknown, msg: unknown) => {
      if ((params as { threadId?: string } | undefined)?.threadId !== threadId) return;
      if (method === 'item/agentMessage/delta') {
        if (deltas++ === 0) first = now();
        bytes += JSON.stringify(msg).length;
      } else if (method === 'turn/completed') {
        c.off('notification', on);
        resolve(now());
      }
    };
    c.on('notification', on);
  });
  await c.request('turn/start', {
    threadId,
    input: [{ type: 'text', text: 'stream a long reply', text_elements: [] }],
  });
  const end = await completed;
  return { deltas, bytes, streamMs: end - (first || t0), turnMs: end - t0 };
}

type Side = 'through' | 'direct' | 'pipe';
const SIDES: readonly Side[] = ['through', 'direct', 'pipe'];

/** Every side once, in an order rotated by i, so none is always first or last. */
function rotation(i: number): Side[] {
  const k = i % SIDES.length;
  return [...SIDES.slice(k), ...SIDES.slice(0, k)];
}

function perSide<T>(make: () => T): Record<Side, T> {
  return { through: make(), direct: make(), pipe: make() };
}

/**
 * A second anchor: the cheapest possible extra hop — a node process piping bytes between a
 * loopback TCP port and the app-server's unix socket (no WebSocket parsing, no auth). What
 * codex-sm adds beyond this is its gateway's own doing; up to this is the price of any hop.
 */
async function startPipe(socketPath: string): Promise<{ url: string; child: ChildProcess }> {
  const script = `
    const net = require('node:net');
    const srv = net.createServer({ noDelay: true }, (c) => {
      const u = net.connect(process.argv[1]);
      c.pipe(u); u.pipe(c);
      const end = () => { c.destroy(); u.destroy(); };
      for (const s of [c, u]) { s.on('error', end); s.on('close', end); }
    });
    srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));`;
  const child = track(
    spawn(process.execPath, ['-e', script, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  const port = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', () => reject(new Error('pipe process exited')));
  });
  return { url: `ws://127.0.0.1:${port.trim()}/`, child };
}

export async function benchProxy(env: Env, scratch: string): Promise<void> {
  const { ctx } = env;
  const requests = ctx.num('requests', 400);
  const total = ctx.num('pipelined', 5000);
  const window = ctx.num('window', 64);
  const pipeMethod = ctx.flags['pipelined-method'] ?? 'thread/loaded/list';
  const chunks = ctx.num('deltas', 5000);
  const streamRounds = ctx.num('stream-rounds', 7);

  const fake = await startFakeResponses();
  env.cleanup.add(() => fake.close());
  const svc = await startService({
    dir: path.join(scratch, 'proxy-sm'),
    config: { ...SERVICE_CONFIG, appServer: { args: fake.codexArgs() } },
  });
  track(svc.child);
  env.cleanup.add(() => svc.stop());
  await waitReady(svc);
  const status = await serviceStatus(svc);
  const upstream = status.appServer.endpoint;
  const appPid = status.appServer.pid;
  if (!upstream?.startsWith('unix://'))
    throw new Error(`/status has no unix appServer.endpoint (${upstream})`);
  const pipe = await startPipe(upstream.slice('unix://'.length));
  env.cleanup.add(() => killAndWait(pipe.child));

  const sides: Record<Side, RpcClient> = {
    through: await openRpc(`${svc.wsUrl}/`, { authorization: `Bearer ${svc.token}` }),
    direct: await openRpc(wsAddress(upstream)),
    pipe: await openRpc(pipe.url),
  };
  env.cleanup.add(() => SIDES.forEach((s) => sides[s].close()));
  for (const s of SIDES) await sides[s].initialize(INIT_PARAMS);

  // Round trips, one request at a time, the sides interleaved request by request.
  const methods: [string, unknown][] = [
    ['config/read', {}],
    ['thread/list', { limit: 20 }],
  ];
  const rtt: Record<string, Record<Side, number[]>> = {};
  for (const [method, params] of methods) {
    const r = (rtt[method] = perSide<number[]>(() => []));
    ctx.log(`proxy: ${method} × ${requests} per side (codex-sm, direct, byte pipe), interleaved`);
    for (let i = 0; i < 30; i++) for (const s of SIDES) await sides[s].request(method, params); // warm-up
    for (let i = 0; i < requests; i++) {
      for (const side of rotation(i)) {
        const t0 = now();
        await sides[side].request(method, params);
        r[side].push(now() - t0);
      }
    }
  }

  // Throughput of many small requests in flight at once (frames relayed both ways), and the
  // CPU each process spends on them: robust where wall-clock rates suffer from a busy machine.
  ctx.log(
    `proxy: pipelined ${pipeMethod}, ${total} requests, window ${window}, ${streamRounds} rounds per side`,
  );
  const pipeRates = perSide<number[]>(() => []);
  const pipeCpu = perSide(() => ({ service: 0, appServer: 0, pipe: 0, requests: 0 }));
  for (const s of SIDES) await pipelined(sides[s], pipeMethod, {}, Math.min(total, 500), window); // warm-up
  for (let i = 0; i < streamRounds; i++) {
    for (const side of rotation(i)) {
      const c0 = {
        service: cpuMs(svc.child.pid),
        appServer: cpuMs(appPid),
        pipe: cpuMs(pipe.child.pid),
      };
      pipeRates[side].push(await pipelined(sides[side], pipeMethod, {}, total, window));
      const acc = pipeCpu[side];
      acc.service += cpuMs(svc.child.pid) - c0.service;
      acc.appServer += cpuMs(appPid) - c0.appServer;
      acc.pipe += cpuMs(pipe.child.pid) - c0.pipe;
      acc.requests += total;
    }
  }

  // Throughput of a notification stream: one turn streaming `chunks` deltas.
  ctx.log(`proxy: streamed turns of ${chunks} deltas, ${streamRounds} rounds per side`);
  const threads = perSide(() => '');
  for (const s of SIDES)
    threads[s] = (
      (await sides[s].request('thread/start', { cwd: svc.dir })) as { thread: { id: string } }
    ).thread.id;
  const stream = perSide<StreamResult[]>(() => []);
  const streamCpu = perSide(() => ({ service: 0, appServer: 0, deltas: 0 }));
  for (const s of SIDES) await streamedTurn(sides[s], fake, threads[s], Math.min(chunks, 200)); // warm-up
  for (let i = 0; i < streamRounds; i++) {
    for (const side of rotation(i)) {
      const c0 = { service: cpuMs(svc.child.pid), appServer: cpuMs(appPid) };
      const res = await streamedTurn(sides[side], fake, threads[side], chunks);
      stream[side].push(res);
      streamCpu[side].service += cpuMs(svc.child.pid) - c0.service;
      streamCpu[side].appServer += cpuMs(appPid) - c0.appServer;
      streamCpu[side].deltas += res.deltas;
    }
  }
  const rate = (xs: StreamResult[]) => xs.map((s) => s.deltas / (s.streamMs / 1000));
  const short = SIDES.flatMap((s) => stream[s]).filter((s) => s.deltas !== chunks);
  if (short.length)
    env.notes.push(
      `streamed turns: ${short.length} turn(s) delivered a delta count ≠ ${chunks} (${short.map((s) => s.deltas).join(', ')})`,
    );

  for (const [method] of methods) {
    const r = rtt[method]!;
    const [t, d, p] = [summarize(r.through), summarize(r.direct), summarize(r.pipe)];
    env.rows.push(
      ratioRow(`${method} round trip p50`, 'ms', t.p50, 'direct to app-server', d.p50, {
        max: 1.1,
      }),
      ratioRow(`${method} round trip p99`, 'ms', t.p99, 'direct to app-server', d.p99, {
        max: 1.25,
      }),
      ratioRow(`${method} round trip p50`, 'ms', t.p50, 'byte-pipe hop (node)', p.p50, {
        max: 1.03,
      }),
    );
    env.notes.push(
      `${method}: codex-sm adds p50 ${us(t.p50 - d.p50)} µs, p99 ${us(t.p99 - d.p99)} µs over direct; ` +
        `a bare byte-pipe hop adds p50 ${us(p.p50 - d.p50)} µs, p99 ${us(p.p99 - d.p99)} µs`,
    );
  }
  const perReq = (cpu: number, n: number) => (cpu * 1000) / n; // µs
  env.rows.push(
    ratioRow(
      `pipelined ${pipeMethod} (window ${window})`,
      'req/s',
      median(pipeRates.through),
      'direct to app-server',
      median(pipeRates.direct),
      { min: 0.9 },
    ),
    ratioRow(
      `pipelined ${pipeMethod} (window ${window})`,
      'req/s',
      median(pipeRates.through),
      'byte-pipe hop (node)',
      median(pipeRates.pipe),
      { min: 0.97 },
    ),
    ratioRow(
      'codex-sm CPU per pipelined request',
      'µs',
      perReq(pipeCpu.through.service, pipeCpu.through.requests),
      "app-server's own CPU per request",
      perReq(pipeCpu.direct.appServer, pipeCpu.direct.requests),
    ),
    ratioRow(
      `streamed deltas (${chunks}/turn)`,
      'msg/s',
      median(rate(stream.through)),
      'direct to app-server',
      median(rate(stream.direct)),
      { min: 0.9 },
    ),
    ratioRow(
      `streamed deltas (${chunks}/turn)`,
      'msg/s',
      median(rate(stream.through)),
      'byte-pipe hop (node)',
      median(rate(stream.pipe)),
    ),
    ratioRow(
      'codex-sm CPU per streamed delta',
      'µs',
      perReq(streamCpu.through.service, streamCpu.through.deltas),
      "app-server's own CPU per delta",
      perReq(streamCpu.direct.appServer, streamCpu.direct.deltas),
    ),
    ratioRow(
      'streamed turn, turn/start → turn/completed',
      'ms',
      median(stream.through.map((s) => s.turnMs)),
      'direct to app-server',
      median(stream.direct.map((s) => s.turnMs)),
    ),
  );
  const bySide = <T, U>(rec: Record<Side, T>, f: (v: T) => U): Record<Side, U> => ({
    through: f(rec.through),
    direct: f(rec.direct),
    pipe: f(rec.pipe),
  });
  env.data.proxy = {
    requests,
    roundTripMs: Object.fromEntries(Object.entries(rtt).map(([m, r]) => [m, bySide(r, summarize)])),
    pipelined: {
      method: pipeMethod,
      window,
      total,
      reqPerSec: bySide(pipeRates, (xs) => xs.map(Math.round)),
      cpuMs: pipeCpu,
    },
    streamed: {
      deltasPerTurn: chunks,
      bytesPerTurn: stream.through[0]?.bytes,
      turns: bySide(stream, (xs) =>
        xs.map((s) => ({
          deltas: s.deltas,
          streamMs: Math.round(s.streamMs),
          turnMs: Math.round(s.turnMs),
        })),
      ),
      cpuMs: streamCpu,
    },
    appServerVersion: status.appServer.version,
  };
}

const us = (ms: number) => (ms * 1000).toFixed(0);
