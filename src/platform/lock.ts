/**
 * One lifecycle lock per user: install/uninstall/start/stop/restart hold it for their whole
 * duration, so concurrent invocations (scripts, two SSH sessions, 20 parallel restarts) never
 * interleave their daemon-reload/enable/start/stop steps.
 *
 * Mechanism, and why: Node has no flock(2), and a pid file with "stale" detection is racy exactly
 * when it matters (two waiters both judge the same dead owner stale; one deletes the other's fresh
 * lock). So the lock is a kernel flock held by a child process: `flock <file> cat` (util-linux,
 * Linux; busybox has it too) or `lockf -k <file> cat` (macOS base system). We write one line to
 * the child's stdin; `cat` only runs, and echoes it back, once the lock is held. Releasing = closing
 * stdin (cat exits, flock exits, the kernel drops the lock). If we die in any way, even SIGKILL,
 * the kernel closes our end of the pipe and the lock goes with it: no stale state, ever.
 * Only when neither tool exists do we fall back to an exclusive-create lock file holding our pid,
 * broken when that pid is gone (good enough for that rare case; the race above is documented).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CodexSmError, EXIT } from '../errors.js';
import { stateDir, type Env } from '../paths.js';

export interface LifecycleLock {
  readonly file: string;
  readonly mechanism: 'flock' | 'lockf' | 'pidfile';
  release(): Promise<void>;
}

export interface LockOptions {
  /** Give up waiting after this long (a restart can take TimeoutStopSec + TimeoutStartSec). */
  timeoutMs?: number;
  /** Test seam: which helper to try first. */
  helpers?: ('flock' | 'lockf')[];
}

/**
 * The system unit is managed by root: its lock lives in root's /run, never in the service
 * account's home (a root-owned ~/.local/state/codex-sm there locks the service out of its own
 * state dir: EACCES at start-up, a restart loop).
 */
export const SYSTEM_LIFECYCLE_LOCK = '/run/lock/codex-sm/system-lifecycle.lock';

/** Per user, independent of config flags: every invocation by one user agrees on it. */
export function lifecycleLockFile(env: Env = process.env): string {
  return path.join(stateDir(env), 'lifecycle.lock');
}

function ownerFile(file: string): string {
  return `${file}.owner`;
}

/** Who holds the lock (pid and command), for the timeout message; informational only. */
function describeOwner(file: string): string {
  try {
    return fs.readFileSync(ownerFile(file), 'utf8').trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

function timeoutError(file: string, timeoutMs: number): CodexSmError {
  return new CodexSmError(
    'lock_timeout',
    `another codex-sm lifecycle command is still running (waited ${Math.round(timeoutMs / 1000)} s)`,
    {
      hint: `holder: ${describeOwner(file)}; lock: ${file}`,
      exitCode: EXIT.tempFail,
    },
  );
}

type HelperOutcome = { lock: LifecycleLock } | { missing: true };

function helperArgv(helper: 'flock' | 'lockf', file: string): [string, string[]] {
  return helper === 'flock'
    ? ['flock', ['--exclusive', file, 'cat']]
    : ['lockf', ['-k', file, 'cat']];
}

function lockWithHelper(
  helper: 'flock' | 'lockf',
  file: string,
  timeoutMs: number,
): Promise<HelperOutcome> {
  return new Promise((resolve, reject) => {
    const [cmd, args] = helperArgv(helper, file);
    // Own process group: a Ctrl-C aimed at us must not kill the lock holder before we clean up.
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(
      () => finish(() => (child.kill('SIGKILL'), reject(timeoutError(file, timeoutMs)))),
      timeoutMs,
    );
    child.on('error', (e: NodeJS.ErrnoException) =>
      finish(() =>
        e.code === 'ENOENT'
          ? resolve({ missing: true })
          : reject(new CodexSmError('lock_failed', `${cmd}: ${e.message}`)),
      ),
    );
    child.on('exit', (code) =>
      finish(() =>
        reject(
          new CodexSmError(
            'lock_failed',
            `${cmd} exited with ${code} before taking the lock on ${file}`,
          ),
        ),
      ),
    );
    child.stdout.once('data', () =>
      finish(() => {
        const exited = new Promise<void>((r) => child.once('close', () => r()));
        resolve({
          lock: {
            file,
            mechanism: helper,
            release: async () => {
              child.stdin.end();
              await exited;
            },
          },
        });
      }),
    );
    child.stdin.on('error', () => {}); // EPIPE if the helper died; reported through 'exit'
    child.stdin.write('locked\n');
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function lockWithPidFile(file: string, timeoutMs: number): Promise<LifecycleLock> {
  const pidFile = `${file}.pid`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.writeFileSync(pidFile, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return {
        file,
        mechanism: 'pidfile',
        release: async () => fs.rmSync(pidFile, { force: true }),
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let text: string;
    let ageMs: number;
    try {
      text = fs.readFileSync(pidFile, 'utf8').trim();
      ageMs = Date.now() - fs.statSync(pidFile).mtimeMs;
    } catch {
      continue; // released between our attempt and the read: try again at once
    }
    const owner = Number(text);
    // An empty file is a lock being written right now, unless it stays empty (its writer died mid-write).
    const stale =
      text === '' ? ageMs > 5000 : !Number.isInteger(owner) || owner <= 0 || !pidAlive(owner);
    if (stale) fs.rmSync(pidFile, { force: true });
    else if (Date.now() > deadline) throw timeoutError(file, timeoutMs);
    else await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
  }
}

export async function acquireLifecycleLock(
  file: string,
  opts: LockOptions = {},
): Promise<LifecycleLock> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  const helpers =
    opts.helpers ?? (process.platform === 'darwin' ? ['lockf', 'flock'] : ['flock', 'lockf']);
  let lock: LifecycleLock | undefined;
  for (const helper of helpers) {
    const outcome = await lockWithHelper(helper, file, timeoutMs);
    if ('lock' in outcome) {
      lock = outcome.lock;
      break;
    }
  }
  lock ??= await lockWithPidFile(file, timeoutMs);
  try {
    fs.writeFileSync(ownerFile(file), `pid ${process.pid}: ${process.argv.slice(2).join(' ')}\n`, {
      mode: 0o600,
    });
  } catch {
    /* informational only */
  }
  return lock;
}

/** Run `fn` holding the lock; always released, also when fn throws. */
export async function withLifecycleLock<T>(
  file: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  const lock = await acquireLifecycleLock(file, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
