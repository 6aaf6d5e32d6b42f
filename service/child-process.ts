/**
 * The supervisor's process and timing helpers: how the app-server is spawned, where its socket
 * goes and when it answers, how long a stopping app-server gets, how long to wait before the
 * next attempt, how to stop a child for good.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { childEnv, withParentDeathSignal } from './app-server-launch.js';

/** How long a stopping app-server gets after SIGTERM before SIGKILL: half the stop budget, ≤ 5 s. */
export function appServerGraceMs(stopTimeoutMs: number): number {
  return Math.min(5000, Math.floor(stopTimeoutMs / 2));
}

/** Delay before restart attempt n (0-based): initial·2ⁿ, capped. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
}

/** SIGTERM, SIGKILL after graceMs; resolves once the child is gone. */
export async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Whether something accepts connections on the unix socket. */
export function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** How often a unix socket is tried while the app-server starts: READY=1 waits on it. */
const SOCKET_POLL_MS = 10;

/**
 * Poll until a connect to the unix socket succeeds (the unix listener prints no "listening"
 * line); rejects once `gone()` says the child exited. A failed connect is cheap: poll often.
 */
export async function waitForSocket(socketPath: string, gone: () => boolean): Promise<void> {
  for (;;) {
    if (gone()) throw new Error('app-server exited');
    if (await canConnect(socketPath)) return;
    await new Promise((r) => setTimeout(r, SOCKET_POLL_MS));
  }
}

/**
 * A new directory only we can enter (0700), for the app-server's socket: its WebSocket listener
 * has no auth of its own. Under XDG_RUNTIME_DIR when that exists, else the temp directory.
 */
export function privateSocketDir(env: NodeJS.ProcessEnv): string {
  const runtime = env.XDG_RUNTIME_DIR;
  const base = runtime && fs.existsSync(runtime) ? runtime : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'codex-sm-'));
  fs.chmodSync(dir, 0o700);
  return dir;
}

/**
 * Spawn the app-server: in CODEX_HOME, with the child's environment, under the parent-death
 * signal, its output piped to be logged.
 */
export function spawnAppServer(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  codexHome: string,
): ChildProcess {
  const [cmd, argv] = withParentDeathSignal(bin, args);
  return spawn(cmd, argv, {
    env: childEnv(env, codexHome),
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: codexHome,
  });
}

/** Each line the child writes, on stdout or stderr, to `onLine`. */
export function onChildLines(child: ChildProcess, onLine: (line: string) => void): void {
  for (const input of [child.stdout, child.stderr])
    if (input) readline.createInterface({ input }).on('line', onLine);
}
