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
import fs from 'node:fs';
import { resolveCodexBin } from '../src/codex.js';
import { tempDir } from '../harness/service.js';
import { Cleanup, type BenchContext, type BenchSuite, type SuiteResult } from './lib.js';
import type { Env } from './serve/common.js';
import { benchProxy } from './serve/proxy.js';
import { benchReady } from './serve/ready.js';
import { benchRss } from './serve/rss.js';

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
