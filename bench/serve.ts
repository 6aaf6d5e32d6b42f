/**
 * `serve` suite: what codex-sm's service front costs, against anchors measured in the same run.
 *
 * - ready:  spawn → READY=1 (sd_notify datagram) for `codex-sm serve`, against spawn →
 *           `initialize` answered for a bare `codex app-server` (same binary, same unix-socket
 *           transport; and over stdio, the cheapest way in). Interleaved rounds. CPU at READY=1
 *           against a node that only sends READY=1 (the floor) and against READY=1's own work
 *           done with codex-sm's libraries and none of its code (bench/anchors/ready-libs.ts).
 * - proxy:  request round trips (`config/read`, `thread/list`) through codex-sm's WebSocket
 *           endpoint against the same requests sent straight to the app-server codex-sm spawned
 *           (its unix socket from /status) and through a bare byte-pipe hop (the floor for any
 *           proxy process), interleaved one by one; relay throughput for many
 *           pipelined small requests and for a long streamed reply (`item/agentMessage/delta`
 *           notifications from a turn against the fake Responses API).
 * - rss:    the service's node process idle and with N connected, initialized, idle clients;
 *           against a bare app-server idle and with N direct clients.
 *
 * Real processes only (the real app-server from the dev dependency); the one fake is the
 * Responses API, as in the integration tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { resolveCodexBin } from '../src/codex.js';
import { RpcClient, wsAddress } from '../service/rpc.js';
import { startFakeResponses, type FakeResponsesServer } from '../harness/fake-responses.js';
import {
  startService,
  tempDir,
  TestClient,
  waitReady,
  type ServiceProcess,
} from '../harness/service.js';
import {
  Cleanup,
  diffRow,
  limitRow,
  median,
  now,
  plainRow,
  ratioRow,
  rssKiB,
  cpuMs,
  threadCpuMs,
  sleep,
  summarize,
  track,
  type BenchContext,
  type BenchSuite,
  type Row,
  type SuiteResult,
} from './lib.js';

const INIT_PARAMS = {
  clientInfo: { name: 'codex-sm-bench', title: null, version: '0.0.0' },
  capabilities: { experimentalApi: true },
};

/** The service's log level during the benchmark: what a deployment runs with. */
const SERVICE_CONFIG = { logLevel: 'info' };

export const suite: BenchSuite = {
  name: 'serve',
  description: 'codex-sm serve vs the bare app-server: ready time, proxy latency/throughput, RSS',
  flags: {
    parts: 'comma list of ready,proxy,rss (default all)',
    rounds: 'ready: rounds per side (15)',
    requests: 'proxy: timed round trips per method and side (400)',
    pipelined: 'proxy: requests per pipelined-throughput round (5000)',
    'pipelined-method':
      'proxy: the small request sent in the pipelined rounds (thread/loaded/list)',
    window: 'proxy: requests in flight in the pipelined rounds (64)',
    deltas: 'proxy: item/agentMessage/delta notifications per streamed turn (5000)',
    'stream-rounds': 'proxy: pipelined and streamed rounds per side (7)',
    clients: 'rss: idle clients (200)',
    settle: 'rss: ms to wait before reading RSS (2000)',
    idle: 'rss: ms after start for a second idle reading, once V8 has trimmed its heap (25000; 0 = skip)',
  },
  run,
};

interface Env {
  ctx: BenchContext;
  codexBin: string;
  cleanup: Cleanup;
  rows: Row[];
  data: Record<string, unknown>;
  notes: string[];
}

async function run(ctx: BenchContext): Promise<SuiteResult> {
  const parts = new Set((ctx.flags.parts ?? 'ready,proxy,rss').split(',').map((s) => s.trim()));
  const scratch = tempDir('codex-sm-bench-');
  const codexBin = resolveCodexBin({ codexHome: scratch, env: { PATH: '' } }).path;
  const env: Env = {
    ctx,
    codexBin,
    cleanup: new Cleanup(),
    rows: [],
    data: { codexBin },
    notes: [],
  };
  env.cleanup.add(() => fs.rmSync(scratch, { recursive: true, force: true }));
  try {
    if (parts.has('ready')) await benchReady(env, scratch);
    if (parts.has('proxy')) await benchProxy(env, scratch);
    if (parts.has('rss')) await benchRss(env, scratch);
  } finally {
    await env.cleanup.run();
  }
  return { suite: 'serve', rows: env.rows, data: env.data, notes: env.notes };
}

// ---------------------------------------------------------------------------------------- ready

interface NotifyListener {
  path: string;
  /** Resolves with now() at the arrival of the first datagram after reset() matching pred. */
  wait(pred: (fields: Record<string, string>) => boolean, timeoutMs?: number): Promise<number>;
  reset(): void;
  close(): void;
}

/** A NOTIFY_SOCKET bound by us, as systemd would (unix datagram; node has none built in). */
function bindNotify(sockPath: string): NotifyListener {
  const require = createRequire(import.meta.url);
  const unix = require('unix-dgram') as {
    createSocket(
      t: 'unix_dgram',
      cb: (buf: Buffer) => void,
    ): { bind(p: string): void; close(): void };
  };
  let seen: { at: number; fields: Record<string, string> }[] = [];
  let waiter:
    { pred: (f: Record<string, string>) => boolean; resolve: (at: number) => void } | undefined;
  const sock = unix.createSocket('unix_dgram', (buf) => {
    const at = now();
    const fields: Record<string, string> = {};
    for (const line of buf.toString().split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1);
    }
    seen.push({ at, fields });
    if (waiter?.pred(fields)) {
      waiter.resolve(at);
      waiter = undefined;
    }
  });
  sock.bind(sockPath);
  return {
    path: sockPath,
    reset: () => (seen = []),
    wait(pred, timeoutMs = 60_000) {
      const hit = seen.find((d) => pred(d.fields));
      if (hit) return Promise.resolve(hit.at);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no READY=1 datagram in time')), timeoutMs);
        waiter = { pred, resolve: (at) => (clearTimeout(t), resolve(at)) };
      });
    },
    close: () => sock.close(),
  };
}

interface BareAppServer {
  child: ChildProcess;
  /** spawn → initialize answered, ms. */
  readyMs: number;
  /** CPU the app-server had used when initialize was answered (unix variant only). */
  cpuMs?: number;
  endpoint: string;
  client?: RpcClient;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

async function killAndWait(child: ChildProcess): Promise<void> {
  const done = exited(child);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

/**
 * A bare `codex app-server --listen unix://…`, as codex-sm starts it (same binary, env, cwd),
 * with a client that retries the connect every 2 ms — as fast as a client can get in.
 */
async function startBareUnix(codexBin: string, home: string, sock: string): Promise<BareAppServer> {
  fs.rmSync(sock, { force: true });
  const endpoint = `unix://${sock}`;
  const t0 = now();
  const child = track(
    spawn(codexBin, ['app-server', '--listen', endpoint], {
      env: { PATH: process.env.PATH, HOME: path.dirname(home), CODEX_HOME: home },
      stdio: ['ignore', 'ignore', 'ignore'],
      cwd: home,
    }),
  );
  let client: RpcClient | undefined;
  for (const until = t0 + 60_000; !client;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error('bare app-server exited');
    if (now() > until) throw new Error('bare app-server did not listen in 60 s');
    try {
      client = await RpcClient.connect(endpoint, {
        connectTimeoutMs: 5000,
        requestTimeoutMs: 60_000,
      });
    } catch {
      await sleep(2);
    }
  }
  await client.initialize(INIT_PARAMS);
  const readyMs = now() - t0;
  return {
    child,
    readyMs,
    cpuMs: threadCpuMs(child.pid),
    endpoint,
    client,
    stop: async () => {
      client?.close();
      await killAndWait(child);
    },
  };
}

/** A bare `codex app-server` on stdio (its default transport): no socket to wait for at all. */
async function startBareStdio(codexBin: string, home: string): Promise<BareAppServer> {
  const t0 = now();
  const child = track(
    spawn(codexBin, ['app-server'], {
      env: { PATH: process.env.PATH, HOME: path.dirname(home), CODEX_HOME: home },
      stdio: ['pipe', 'pipe', 'ignore'],
      cwd: home,
    }),
  );
  const answered = new Promise<void>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      try {
        const m = JSON.parse(line) as { id?: unknown; result?: unknown };
        if (m.id === 1 && m.result) resolve();
      } catch {
        /* not JSON */
      }
    });
    child.once('exit', () => reject(new Error('bare app-server (stdio) exited')));
  });
  child.stdin!.write(JSON.stringify({ id: 1, method: 'initialize', params: INIT_PARAMS }) + '\n');
  await answered;
  const readyMs = now() - t0;
  return {
    child,
    readyMs,
    endpoint: 'stdio://',
    stop: async () => {
      const done = exited(child);
      child.stdin!.end(); // closing stdin is how a stdio app-server is told to exit
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    },
  };
}

interface SmRound {
  readyMs: number;
  /** spawn → the service's first log line (node start + module loading + config). */
  bootMs?: number;
  /** 'starting app-server' log → 'app-server ready' log (the app-server's own start, seen by codex-sm). */
  appServerMs?: number;
  /** CPU the node process had used when READY=1 arrived (less load-sensitive than wall time). */
  cpuMs: number;
}

async function codexSmReadyRound(dir: string, notify: NotifyListener): Promise<SmRound> {
  notify.reset();
  const wall0 = Date.now();
  const t0 = now();
  const svc = await startService({
    dir,
    noWait: true,
    config: SERVICE_CONFIG,
    env: { NOTIFY_SOCKET: notify.path },
  });
  track(svc.child);
  let at: number;
  let cpu = NaN;
  try {
    at = await notify.wait((f) => f.READY === '1');
    cpu = threadCpuMs(svc.child.pid);
  } finally {
    await svc.stop();
  }
  const e = await svc.exited;
  if (e.code !== 0) throw new Error(`codex-sm serve exited ${e.code ?? e.signal} after SIGTERM`);
  // Read the log timestamps after the exit: every line has been read by then.
  const time = (msg: string) => {
    const l = svc.logs.find((x) => x.msg === msg);
    return l ? Date.parse(String(l.time)) : undefined;
  };
  const first = svc.logs[0] ? Date.parse(String(svc.logs[0].time)) : undefined;
  const starting = time('starting app-server');
  const ready = time('app-server ready');
  return {
    readyMs: at - t0,
    bootMs: first !== undefined ? first - wall0 : undefined,
    appServerMs: starting !== undefined && ready !== undefined ? ready - starting : undefined,
    cpuMs: cpu,
  };
}

/**
 * The floor for any node service: spawn → READY=1 from a node process that loads unix-dgram,
 * sends READY=1 and then idles until killed (so its CPU can be read when READY=1 arrives).
 * No app-server, no HTTP: node's own start-up, in wall time and in CPU.
 */
async function nodeFloorRound(notify: NotifyListener): Promise<{ ms: number; cpuMs: number }> {
  notify.reset();
  const dgram = createRequire(import.meta.url).resolve('unix-dgram');
  const script = `
    const s = require(process.argv[1]).createSocket('unix_dgram');
    const b = Buffer.from('READY=1');
    s.send(b, 0, b.length, process.env.NOTIFY_SOCKET, () => s.close());
    setInterval(() => {}, 60000);`;
  const t0 = now();
  const child = track(
    spawn(process.execPath, ['-e', script, dgram], {
      env: { PATH: process.env.PATH, NOTIFY_SOCKET: notify.path },
      stdio: 'ignore',
    }),
  );
  const at = await notify.wait((f) => f.READY === '1');
  const cpu = threadCpuMs(child.pid);
  await killAndWait(child);
  return { ms: at - t0, cpuMs: cpu };
}

/**
 * READY=1's own work with codex-sm's libraries and none of its code (bench/anchors/ready-libs.ts,
 * bundled by `make build`): spawn the app-server, listen, poll its socket, `ws` initialize,
 * pino, READY=1. Same CODEX_HOME layout and socket dir as the bare app-server rounds.
 */
async function readyLibsRound(
  notify: NotifyListener,
  codexBin: string,
  home: string,
  sock: string,
): Promise<{ ms: number; cpuMs: number }> {
  notify.reset();
  fs.rmSync(sock, { force: true });
  const anchor = fileURLToPath(new URL('anchors/ready-libs.bundle.js', import.meta.url));
  const t0 = now();
  const child = track(
    spawn(process.execPath, [anchor, codexBin, home, sock], {
      env: { PATH: process.env.PATH, NOTIFY_SOCKET: notify.path },
      stdio: 'ignore',
    }),
  );
  const at = await notify.wait((f) => f.READY === '1');
  const cpu = threadCpuMs(child.pid);
  await killAndWait(child);
  return { ms: at - t0, cpuMs: cpu };
}

async function benchReady(env: Env, scratch: string): Promise<void> {
  const rounds = env.ctx.num('rounds', 15);
  const smDir = path.join(scratch, 'ready-sm');
  const bareDir = path.join(scratch, 'ready-bare');
  const bareHome = path.join(bareDir, 'codex-home');
  fs.mkdirSync(bareHome, { recursive: true });
  const notify = bindNotify(path.join(scratch, 'notify.sock'));
  env.cleanup.add(() => notify.close());
  const sock = path.join(bareDir, 'app-server.sock');

  const sm: SmRound[] = [];
  const bare: number[] = [];
  const stdio: number[] = [];
  const nodeFloor: number[] = [];
  const nodeFloorCpu: number[] = [];
  const libs: number[] = [];
  const libsCpu: number[] = [];
  const bareRss: number[] = [];
  const bareCpu: number[] = [];
  const bareRound = async (record: boolean) => {
    const b = await startBareUnix(env.codexBin, bareHome, sock);
    const rss = rssKiB(b.child.pid);
    await b.stop();
    if (record) {
      bare.push(b.readyMs);
      if (rss) bareRss.push(rss);
      if (b.cpuMs !== undefined) bareCpu.push(b.cpuMs);
    }
  };
  const stdioRound = async (record: boolean) => {
    const b = await startBareStdio(env.codexBin, bareHome);
    await b.stop();
    if (record) stdio.push(b.readyMs);
  };
  const smRound = async (record: boolean) => {
    const r = await codexSmReadyRound(smDir, notify);
    if (record) sm.push(r);
  };
  const nodeRound = async (record: boolean) => {
    const r = await nodeFloorRound(notify);
    if (record) {
      nodeFloor.push(r.ms);
      nodeFloorCpu.push(r.cpuMs);
    }
  };
  const libsRound = async (record: boolean) => {
    const r = await readyLibsRound(notify, env.codexBin, bareHome, sock);
    if (record) {
      libs.push(r.ms);
      libsCpu.push(r.cpuMs);
    }
  };

  // One unrecorded round each: the first start on a fresh CODEX_HOME creates its SQLite state
  // (much slower; see the reference) and warms the page cache for the binaries.
  env.ctx.log(`ready: warm-up, then ${rounds} interleaved rounds per side`);
  await smRound(false);
  await bareRound(false);
  await stdioRound(false);
  await nodeRound(false);
  await libsRound(false);
  for (let i = 0; i < rounds; i++) {
    // Rotate the order so neither side always runs right after the other's teardown.
    const order = [smRound, bareRound, stdioRound, nodeRound, libsRound];
    for (let k = 0; k < i % order.length; k++) order.push(order.shift()!);
    for (const f of order) await f(true);
    env.ctx.log(
      `ready: round ${i + 1}/${rounds}: codex-sm ${sm.at(-1)?.readyMs.toFixed(0)} ms, bare ${bare.at(-1)?.toFixed(0)} ms, stdio ${stdio.at(-1)?.toFixed(0)} ms, node floor ${nodeFloor.at(-1)?.toFixed(0)} ms, READY=1's work alone ${libs.at(-1)?.toFixed(0)} ms`,
    );
  }

  const smS = summarize(sm.map((r) => r.readyMs));
  const bareS = summarize(bare);
  const stdioS = summarize(stdio);
  const nodeS = summarize(nodeFloor);
  const boot = sm.flatMap((r) => (r.bootMs === undefined ? [] : [r.bootMs]));
  const appMs = sm.flatMap((r) => (r.appServerMs === undefined ? [] : [r.appServerMs]));
  env.rows.push(
    diffRow(
      'ready p50 (spawn → READY=1)',
      'ms',
      smS.p50,
      'bare app-server, unix socket',
      bareS.p50,
      100,
    ),
    diffRow(
      'ready p90 (spawn → READY=1)',
      'ms',
      smS.p90,
      'bare app-server, unix socket',
      bareS.p90,
      100,
    ),
    diffRow(
      'ready p50 (spawn → READY=1)',
      'ms',
      smS.p50,
      'bare app-server, stdio',
      stdioS.p50,
      100,
    ),
    ratioRow(
      'ready p50 (spawn → READY=1)',
      'ms',
      smS.p50,
      'node that only sends READY=1',
      nodeS.p50,
    ),
    ratioRow(
      'CPU used by codex-sm node at READY=1, p50',
      'ms',
      median(sm.map((r) => r.cpuMs)),
      'node floor CPU at READY=1',
      median(nodeFloorCpu),
      { max: 2 },
    ),
    ratioRow(
      'CPU used by codex-sm node at READY=1, p50',
      'ms',
      median(sm.map((r) => r.cpuMs)),
      "READY=1's work alone, same libraries",
      median(libsCpu),
    ),
    ratioRow(
      "CPU of READY=1's work alone (same libraries)",
      'ms',
      median(libsCpu),
      'node floor CPU at READY=1',
      median(nodeFloorCpu),
    ),
    ratioRow(
      'CPU used by codex-sm node at READY=1, p50',
      'ms',
      median(sm.map((r) => r.cpuMs)),
      'bare app-server CPU at initialize',
      median(bareCpu),
    ),
  );
  env.data.ready = {
    rounds,
    codexSm: smS,
    bareUnix: bareS,
    bareStdio: stdioS,
    nodeFloor: nodeS,
    nodeFloorCpuMs: summarize(nodeFloorCpu),
    readyLibs: summarize(libs),
    readyLibsCpuMs: summarize(libsCpu),
    codexSmCpuMs: summarize(sm.map((r) => r.cpuMs)),
    bareUnixCpuMs: summarize(bareCpu),
    codexSmBootMs: boot.length ? summarize(boot) : undefined,
    codexSmAppServerMs: appMs.length ? summarize(appMs) : undefined,
    bareRssKiB: bareRss.length ? median(bareRss) : undefined,
  };
  if (boot.length) {
    env.notes.push(
      `ready breakdown (p50): spawn → first codex-sm log line ${median(boot).toFixed(0)} ms (node + module loading); ` +
        `'starting app-server' → 'app-server ready' ${median(appMs).toFixed(0)} ms (log timestamps, 1 ms resolution)`,
    );
  }
  if (bareRss.length) env.data.bareAppServerRssKiB = median(bareRss);
}

// ---------------------------------------------------------------------------------------- proxy

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

interface StatusBody {
  pid: number;
  clients: number;
  appServer: { pid?: number; endpoint?: string; version?: string; state: string };
}

async function serviceStatus(svc: ServiceProcess): Promise<StatusBody> {
  const res = await fetch(`${svc.endpoint}/status`, {
    headers: { authorization: `Bearer ${svc.token}` },
  });
  if (res.status !== 200) throw new Error(`/status answered ${res.status}`);
  return (await res.json()) as StatusBody;
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

async function benchProxy(env: Env, scratch: string): Promise<void> {
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

// ------------------------------------------------------------------------------------------ rss

async function connectMany(
  url: string,
  n: number,
  headers: Record<string, string>,
): Promise<TestClient[]> {
  const out: TestClient[] = [];
  for (let i = 0; i < n; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, async () => {
        const c = await TestClient.connect(url, headers);
        await c.initialize('codex-sm-bench-idle');
        return c;
      }),
    );
    out.push(...batch);
  }
  return out;
}

async function closeAll(clients: TestClient[]): Promise<void> {
  await Promise.all(clients.map((c) => (c.close(), Promise.race([c.closed, sleep(5000)]))));
}

const mib = (kib: number | undefined) => (kib ?? NaN) / 1024;

async function benchRss(env: Env, scratch: string): Promise<void> {
  const { ctx } = env;
  const n = ctx.num('clients', 200);
  const settle = ctx.num('settle', 2000);

  ctx.log(`rss: codex-sm idle, then with ${n} idle clients`);
  const svc = await startService({ dir: path.join(scratch, 'rss-sm'), config: SERVICE_CONFIG });
  track(svc.child);
  env.cleanup.add(() => svc.stop());
  await waitReady(svc);
  await sleep(settle);
  const st = await serviceStatus(svc);
  const nodeIdle = rssKiB(svc.child.pid);
  const appIdle = rssKiB(st.appServer.pid);
  // V8 keeps the young generation it grew while loading until its memory reducer runs, ~10-20 s
  // into an idle process: the RSS a service settles at is read after that.
  const idleMs = ctx.flags.idle === '0' ? 0 : ctx.num('idle', 25_000);
  if (idleMs > settle) await sleep(idleMs - settle);
  const nodeLongIdle = idleMs ? rssKiB(svc.child.pid) : undefined;
  const clients = await connectMany(`${svc.wsUrl}/`, n, { authorization: `Bearer ${svc.token}` });
  await sleep(settle);
  const st2 = await serviceStatus(svc);
  if (st2.clients !== n)
    env.notes.push(`rss: /status counted ${st2.clients} clients, expected ${n}`);
  const nodeN = rssKiB(svc.child.pid);
  const appN = rssKiB(st.appServer.pid);
  await closeAll(clients);
  await svc.stop();

  ctx.log(`rss: bare app-server idle, then with ${n} direct clients`);
  const home = path.join(scratch, 'rss-bare', 'codex-home');
  fs.mkdirSync(home, { recursive: true });
  const bare = await startBareUnix(
    env.codexBin,
    home,
    path.join(scratch, 'rss-bare', 'app-server.sock'),
  );
  env.cleanup.add(() => bare.stop());
  await sleep(settle);
  const bareIdle = rssKiB(bare.child.pid);
  const direct = await connectMany(wsAddress(bare.endpoint), n, {});
  await sleep(settle);
  const bareN = rssKiB(bare.child.pid);
  await closeAll(direct);
  await bare.stop();

  env.rows.push(
    limitRow('RSS idle: codex-sm node process', 'MiB', mib(nodeIdle), 60),
    // The same target, once V8's memory reducer has given back what start-up grew: what a
    // service that sits idle for hours holds (docs/benchmarks.md, "RSS").
    ...(nodeLongIdle
      ? [
          limitRow(
            `RSS idle ${idleMs / 1000} s after ready: codex-sm node`,
            'MiB',
            mib(nodeLongIdle),
            60,
          ),
        ]
      : []),
    ratioRow(
      'RSS idle: its app-server',
      'MiB',
      mib(appIdle),
      'bare app-server idle',
      mib(bareIdle),
    ),
    ratioRow(
      'RSS idle: node + its app-server',
      'MiB',
      mib((nodeIdle ?? NaN) + (appIdle ?? NaN)),
      'bare app-server idle',
      mib(bareIdle),
    ),
    plainRow(`RSS ${n} idle clients: codex-sm node process`, 'MiB', mib(nodeN)),
    ratioRow(
      `RSS ${n} idle clients: its app-server`,
      'MiB',
      mib(appN),
      `bare app-server, ${n} direct clients`,
      mib(bareN),
    ),
    // Against the reading just before the clients connected (the later one when there is one).
    limitRow(
      `RSS per idle client: codex-sm node process`,
      'KiB',
      ((nodeN ?? NaN) - (nodeLongIdle ?? nodeIdle ?? NaN)) / n,
      30,
    ),
    ratioRow(
      `RSS ${n} idle clients: node + app-server`,
      'MiB',
      mib((nodeN ?? NaN) + (appN ?? NaN)),
      `bare app-server, ${n} direct clients`,
      mib(bareN),
    ),
  );
  env.data.rss = {
    clients: n,
    settleMs: settle,
    kib: {
      codexSmNodeIdle: nodeIdle,
      codexSmNodeLongIdle: nodeLongIdle,
      codexSmAppServerIdle: appIdle,
      codexSmNodeWithClients: nodeN,
      codexSmAppServerWithClients: appN,
      bareAppServerIdle: bareIdle,
      bareAppServerWithClients: bareN,
    },
  };
}
