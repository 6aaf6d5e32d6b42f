/**
 * The supervisor's timing and process helpers: how long a stopping app-server gets, how long to
 * wait before the next attempt, how to stop a child for good, whether its socket answers.
 */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

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
