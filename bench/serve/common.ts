/**
 * What the `serve` suite's parts share: the service's config, the bare app-server anchors (unix
 * socket and stdio), /status, and stopping a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { RpcClient } from '../../service/rpc.js';
import type { ServiceProcess } from '../../harness/service.js';
import {
  Cleanup,
  INIT_PARAMS,
  now,
  threadCpuMs,
  sleep,
  track,
  type BenchContext,
  type Row,
} from '../lib.js';

/** The service's log level during the benchmark: what a deployment runs with. */
export const SERVICE_CONFIG = { logLevel: 'info' };

/** One run of the suite: its context, the app-server binary, and what each part reports. */
export interface Env {
  ctx: BenchContext;
  codexBin: string;
  cleanup: Cleanup;
  rows: Row[];
  data: Record<string, unknown>;
  notes: string[];
}

export interface BareAppServer {
  child: ChildProcess;
  /** spawn → initialize answered, ms. */
  readyMs: number;
  /** CPU the app-server had used when initialize was answered (unix variant only). */
  cpuMs?: number;
  endpoint: string;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** Ask a child to exit (SIGTERM unless told how), SIGKILL it after 5 s; resolves once it has. */
export async function killAndWait(
  child: ChildProcess,
  ask = (): void => void child.kill('SIGTERM'),
): Promise<void> {
  const done = exited(child);
  if (child.exitCode === null && child.signalCode === null) ask();
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

/**
 * A bare `codex app-server --listen unix://…`, as codex-sm starts it (same binary, env, cwd),
 * with a client that retries the connect every 2 ms — as fast as a client can get in.
 */
export async function startBareUnix(
  codexBin: string,
  home: string,
  sock: string,
): Promise<BareAppServer> {
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
    stop: async () => {
      client?.close();
      await killAndWait(child);
    },
  };
}

/** A bare `codex app-server` on stdio (its default transport): no socket to wait for at all. */
export async function startBareStdio(codexBin: string, home: string): Promise<BareAppServer> {
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
    // Closing stdin is how a stdio app-server is told to exit.
    stop: () => killAndWait(child, () => child.stdin!.end()),
  };
}

export interface StatusBody {
  pid: number;
  clients: number;
  appServer: { pid?: number; endpoint?: string; version?: string; state: string };
}

export async function serviceStatus(svc: ServiceProcess): Promise<StatusBody> {
  const res = await fetch(`${svc.endpoint}/status`, {
    headers: { authorization: `Bearer ${svc.token}` },
  });
  if (res.status !== 200) throw new Error(`/status answered ${res.status}`);
  return (await res.json()) as StatusBody;
}
