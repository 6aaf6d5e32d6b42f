/**
 * The `serve` suite's ready part: spawn → READY=1 for `codex-sm serve` against the bare
 * app-server (unix socket, stdio), the node floor and READY=1's work alone
 * (../anchors/ready-libs.ts); CPU at READY=1 against each. Interleaved rounds.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { inspect } from 'node:util';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bindNotifySocket, type Datagram, type NotifySocket } from '../../harness/notify-socket.js';
import { startService } from '../../harness/service.js';
import { diffRow, median, now, ratioRow, rssKiB, threadCpuMs, summarize, track } from '../lib.js';
import { SERVICE_CONFIG, type Env, killAndWait, startBareUnix, startBareStdio } from './common.js';

interface SmRound {
  readyMs: number;
  /** spawn → the service's first log line (node start + module loading + config). */
  bootMs?: number;
  /** 'starting app-server' log → 'app-server ready' log (the app-server's own start, seen by codex-sm). */
  appServerMs?: number;
  /** CPU the node process had used when READY=1 arrived (less load-sensitive than wall time). */
  cpuMs: number;
}

/**
 * The next READY=1 on `notify` counted from this call, made before a spawn: the wait for it,
 * which fails as soon as `exited` settles (a process that died at start sends no READY=1; the
 * round fails then, not 60 s later).
 */
function nextReady(notify: NotifySocket): (exited: Promise<unknown>) => Promise<Datagram> {
  const from = notify.messages.length;
  return (exited) => {
    const died = new AbortController();
    const stop = (how: unknown) =>
      died.abort(new Error(`the process ended before READY=1: ${inspect(how)}`));
    // An exit (code, signal) or a spawn error; one after READY=1 aborts a finished wait: a no-op.
    exited.then(stop, stop);
    return notify.waitFor((d) => d.seq >= from && d.fields.READY === '1', 60_000, died.signal);
  };
}

async function codexSmReadyRound(dir: string, notify: NotifySocket): Promise<SmRound> {
  const readyDatagram = nextReady(notify);
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
    at = (await readyDatagram(svc.exited)).at;
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
async function nodeFloorRound(notify: NotifySocket): Promise<NodeRound> {
  const dgram = createRequire(import.meta.url).resolve('unix-dgram');
  const script = `
    const s = require(process.argv[1]).createSocket('unix_dgram');
    const b = Buffer.from('READY=1');
    s.send(b, 0, b.length, process.env.NOTIFY_SOCKET, () => s.close());
    setInterval(() => {}, 60000);`;
  return nodeReadyRound(notify, ['-e', script, dgram]);
}

/**
 * READY=1's own work with codex-sm's libraries and none of its code (bench/anchors/ready-libs.ts,
 * bundled by `make build`): spawn the app-server, listen, poll its socket, `ws` initialize,
 * pino, READY=1. Same CODEX_HOME layout and socket dir as the bare app-server rounds.
 */
async function readyLibsRound(
  notify: NotifySocket,
  codexBin: string,
  home: string,
  sock: string,
): Promise<NodeRound> {
  fs.rmSync(sock, { force: true });
  const anchor = fileURLToPath(new URL('../anchors/ready-libs.bundle.js', import.meta.url));
  return nodeReadyRound(notify, [anchor, codexBin, home, sock]);
}

interface NodeRound {
  ms: number;
  cpuMs: number;
}

/** spawn → READY=1 of `node ...args` in a minimal environment, and its CPU then; then stop it. */
async function nodeReadyRound(notify: NotifySocket, args: string[]): Promise<NodeRound> {
  const ready = nextReady(notify);
  const t0 = now();
  const child = track(
    spawn(process.execPath, args, {
      env: { PATH: process.env.PATH, NOTIFY_SOCKET: notify.path },
      stdio: 'ignore',
    }),
  );
  const { at } = await ready(once(child, 'exit'));
  const cpu = threadCpuMs(child.pid);
  await killAndWait(child);
  return { ms: at - t0, cpuMs: cpu };
}

export async function benchReady(env: Env, scratch: string): Promise<void> {
  const rounds = env.ctx.num('rounds', 15);
  const smDir = path.join(scratch, 'ready-sm');
  const bareDir = path.join(scratch, 'ready-bare');
  const bareHome = path.join(bareDir, 'codex-home');
  fs.mkdirSync(bareHome, { recursive: true });
  const notify = bindNotifySocket(path.join(scratch, 'notify.sock'), now);
  env.cleanup.add(() => notify.close());
  const sock = path.join(bareDir, 'app-server.sock');

  const sm: SmRound[] = [];
  const bare: number[] = [];
  const stdio: number[] = [];
  const nodeFloor: NodeRound[] = [];
  const libs: NodeRound[] = [];
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
    if (record) nodeFloor.push(r);
  };
  const libsRound = async (record: boolean) => {
    const r = await readyLibsRound(notify, env.codexBin, bareHome, sock);
    if (record) libs.push(r);
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
      `ready: round ${i + 1}/${rounds}: codex-sm ${sm.at(-1)?.readyMs.toFixed(0)} ms, bare ${bare.at(-1)?.toFixed(0)} ms, stdio ${stdio.at(-1)?.toFixed(0)} ms, node floor ${nodeFloor.at(-1)?.ms.toFixed(0)} ms, READY=1's work alone ${libs.at(-1)?.ms.toFixed(0)} ms`,
    );
  }

  const smS = summarize(sm.map((r) => r.readyMs));
  const bareS = summarize(bare);
  const stdioS = summarize(stdio);
  const nodeS = summarize(nodeFloor.map((r) => r.ms));
  const smCpu = sm.map((r) => r.cpuMs);
  const nodeFloorCpu = nodeFloor.map((r) => r.cpuMs);
  const libsCpu = libs.map((r) => r.cpuMs);
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
      median(smCpu),
      'node floor CPU at READY=1',
      median(nodeFloorCpu),
      { max: 2 },
    ),
    ratioRow(
      'CPU used by codex-sm node at READY=1, p50',
      'ms',
      median(smCpu),
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
      median(smCpu),
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
    readyLibs: summarize(libs.map((r) => r.ms)),
    readyLibsCpuMs: summarize(libsCpu),
    codexSmCpuMs: summarize(smCpu),
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
}
