/**
 * Platform selection: systemd on Linux, launchd on macOS; `--platform systemd|launchd` picks one
 * explicitly, which only --dry-run may do on a foreign OS (rendering is pure; managing is not).
 */
import os from 'node:os';
import { endpointFor } from '../client.js';
import { CodexSmError, EXIT } from '../errors.js';
import type { Env } from '../paths.js';
import { execRunner, type CommandRunner } from '../runner.js';
import { readTokenFile } from '../token.js';
import { createLaunchdManager } from './launchd/manager.js';
import { lifecycleLockFile, serializeLifecycle } from './lock.js';
import { LAUNCHD_LABEL } from './plan.js';
import { createSystemdManager } from './systemd/manager.js';
import type { Backend, ServiceManager } from './types.js';

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

/** What every backend needs to know about the service, from the resolved config. */
export interface ManagerContext {
  scope: 'user' | 'system';
  env: Env;
  runner?: CommandRunner;
  host: string;
  port: number;
  tokenFile: string;
  stateDir: string;
  codexPath?: string;
  enableLinger?: boolean;
}

function tokenOrUndefined(file: string): string | undefined {
  try {
    return readTokenFile(file);
  } catch {
    return undefined;
  }
}

export function createServiceManager(backend: Backend, ctx: ManagerContext): ServiceManager {
  const runner = ctx.runner ?? execRunner;
  const env = ctx.env as NodeJS.ProcessEnv;
  if (backend === 'systemd') {
    return createSystemdManager({
      scope: ctx.scope,
      runner,
      env,
      fallback: {
        host: ctx.host,
        port: ctx.port,
        tokenFile: ctx.tokenFile,
        stateDir: ctx.stateDir,
        ...(ctx.codexPath ? { codexPath: ctx.codexPath } : {}),
      },
      ...(ctx.enableLinger ? { enableLinger: true } : {}),
    });
  }
  if (ctx.scope === 'system') {
    throw new CodexSmError(
      'usage',
      '--system is for systemd; on macOS the LaunchAgent runs as the logged-in user',
      { exitCode: EXIT.usage },
    );
  }
  const token = tokenOrUndefined(ctx.tokenFile);
  const launchd = createLaunchdManager({
    runner,
    uid: os.userInfo().uid,
    home: env.HOME ?? os.homedir(),
    label: LAUNCHD_LABEL,
    stateDir: ctx.stateDir,
    endpoint: endpointFor(ctx.host, ctx.port),
    ...(token ? { token } : {}),
  });
  return serializeLifecycle(launchd, lifecycleLockFile(ctx.env));
}
