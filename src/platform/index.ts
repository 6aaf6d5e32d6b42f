/**
 * Platform selection: systemd on Linux, launchd on macOS; `--platform systemd|launchd` picks one
 * explicitly, which only --dry-run may do on a foreign OS (rendering is pure; managing is not).
 */
import os from 'node:os';
import { CodexSmError, EXIT } from '../errors.js';
import type { ServiceBackend } from '../lifecycle/port.js';
import { execRunner, type CommandRunner } from '../runner.js';
import { launchdBackend } from './launchd/backend.js';
import { LAUNCHD_LABEL } from './plan.js';
import { systemdBackend } from './systemd/backend.js';
import type { Backend } from './types.js';

export const BACKENDS: readonly Backend[] = ['systemd', 'launchd'];

/** The backend this OS runs, or undefined (Windows, BSDs). */
export function nativeBackend(platform: NodeJS.Platform = process.platform): Backend | undefined {
  if (platform === 'linux') return 'systemd';
  if (platform === 'darwin') return 'launchd';
  return undefined;
}

/**
 * The backend for a command: the --platform flag if given (validated), else the native one.
 * A foreign backend is allowed only when nothing is going to be touched (dry run).
 */
export function selectBackend(
  flag: string | undefined,
  opts: { dryRun: boolean; platform?: NodeJS.Platform },
): Backend {
  const native = nativeBackend(opts.platform);
  if (flag !== undefined && !BACKENDS.includes(flag as Backend)) {
    throw new CodexSmError('usage', `unknown --platform "${flag}"`, {
      hint: `use one of: ${BACKENDS.join(', ')}`,
      exitCode: EXIT.usage,
    });
  }
  const chosen = (flag as Backend | undefined) ?? native;
  if (!chosen) {
    throw new CodexSmError(
      'unsupported_platform',
      `no service manager backend for ${opts.platform ?? process.platform}`,
      {
        hint: 'run `codex-sm serve` under your own supervisor, or preview a unit with --dry-run --platform systemd',
        exitCode: EXIT.unavailable,
      },
    );
  }
  if (chosen !== native && !opts.dryRun) {
    throw new CodexSmError(
      'usage',
      `--platform ${chosen} on ${process.platform} only works with --dry-run`,
      {
        hint: `this machine's backend is ${native ?? 'none'}`,
        exitCode: EXIT.usage,
      },
    );
  }
  return chosen;
}

export interface BackendContext {
  scope: 'user' | 'system';
  /** The environment of the account the service runs as. */
  env: NodeJS.ProcessEnv;
  runner?: CommandRunner;
  /** codex-sm's state directory of that account (launchd keeps its records there). */
  stateDir: string;
}

/** The backend port for `backend` (src/lifecycle/port.ts). */
export function createBackend(backend: Backend, ctx: BackendContext): ServiceBackend {
  const runner = ctx.runner ?? execRunner;
  const me = os.userInfo();
  if (backend === 'systemd') {
    return systemdBackend({
      scope: ctx.scope,
      runner,
      env: ctx.env,
      uid: me.uid,
      userName: me.username,
    });
  }
  if (ctx.scope === 'system') {
    throw new CodexSmError(
      'usage',
      '--system is for systemd; on macOS the LaunchAgent runs as the logged-in user',
    );
  }
  return launchdBackend({
    runner,
    uid: me.uid,
    home: ctx.env.HOME ?? os.homedir(),
    label: LAUNCHD_LABEL,
    stateDir: ctx.stateDir,
  });
}
