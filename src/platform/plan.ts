/**
 * buildServicePlan: everything a unit or plist needs, resolved once at install time from the
 * validated config. Shared by the systemd and launchd backends; pure except for the two
 * defaults that describe this very process (process.execPath, packageInfo().cliScript), which
 * tests pass explicitly.
 *
 * Why values are captured rather than looked up at start: service managers start the process
 * with a minimal environment (launchd: /usr/bin:/bin:/usr/sbin:/sbin; systemd --user: the
 * manager's environment), so `node`, `codex` and CODEX_HOME must be absolute and baked in
 * (pitfalls 1 and 2). Re-running install-service after a node or codex upgrade refreshes them.
 */
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { CodexSmError, EXIT } from '../errors.js';
import { packageInfo } from '../package-info.js';
import { secretsEnvFile, type Env } from '../paths.js';
import type { Backend, ServicePlan } from './types.js';
import { envVariables } from '../config/load.js';

export const SERVICE_NAME = 'codex-sm';
export const LAUNCHD_LABEL = 'dev.codex-sm.service';

/** Knobs that are not config keys (they describe the unit, not the service), with defaults. */
export interface PlanTimings {
  /** WatchdogSec: a hung event loop is killed after this long without WATCHDOG=1. 0 disables. */
  watchdogSec: number;
  restartSec: number;
  /** Time from spawn to READY=1 (HTTP bound and app-server initialized). */
  startTimeoutSec: number;
  startLimitBurst: number;
}

export const DEFAULT_TIMINGS: PlanTimings = {
  watchdogSec: 30,
  restartSec: 2,
  startTimeoutSec: 90,
  startLimitBurst: 5,
};

/**
 * systemd's SIGKILL must come after the service's own graceful-stop budget (config stopTimeoutMs),
 * never before: the budget covers draining clients and stopping the app-server child, and
 * the margin covers node's own exit and the journal flush.
 */
export const STOP_MARGIN_SEC = 5;

export interface PlanOptions {
  backend: Backend;
  scope?: 'user' | 'system';
  /** The environment of the installing user (PATH and HOME are captured from it). */
  env: Env;
  codexPath: string;
  codexVersion?: string;
  socketActivation?: boolean;
  /** Install the periodic updater too (`install-service --updater`, `bootstrap`). */
  updater?: boolean;
  systemdVersion?: number;
  /** An explicit --config/CODEX_SM_CONFIG: passed to the service as CODEX_SM_CONFIG. */
  configFile?: string;
  /** Extra flags given at install that the service must keep (e.g. --log-level). */
  extraArgs?: string[];
  /** System scope: the account the service runs as, and its home. */
  user?: string;
  group?: string;
  timings?: Partial<PlanTimings>;
  nodePath?: string;
  cliScript?: string;
}

/** PATH for the service: the installer's PATH minus relative entries, with node's own dir first. */
export function capturePath(envPath: string | undefined, nodePath: string): string {
  const dirs = [
    path.dirname(nodePath),
    ...(envPath ?? '').split(':'),
    '/usr/local/bin',
    '/usr/bin',
    '/bin',
  ];
  const seen = new Set<string>();
  return dirs.filter((d) => d.startsWith('/') && !seen.has(d) && seen.add(d)).join(':');
}

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) {
    throw new CodexSmError('plan_invalid', `${name} must be an integer >= ${min}, got ${v}`, {
      exitCode: EXIT.usage,
    });
  }
  return v;
}

export function buildServicePlan(config: Config, opts: PlanOptions): ServicePlan {
  const env = opts.env;
  const home = env.HOME;
  if (!home || !home.startsWith('/')) {
    throw new CodexSmError('home_unknown', 'HOME is not set to an absolute path', {
      hint: 'run install-service from a login shell of the user the service should run as',
      exitCode: EXIT.config,
    });
  }
  const nodePath = opts.nodePath ?? process.execPath;
  const cliScript = opts.cliScript ?? packageInfo().cliScript;
  for (const [what, p] of [
    ['node', nodePath],
    ['CLI script', cliScript],
    ['codex', opts.codexPath],
  ] as const) {
    if (!path.isAbsolute(p))
      throw new CodexSmError('plan_invalid', `${what} path must be absolute, got ${p}`, {
        exitCode: EXIT.config,
      });
  }
  const t = { ...DEFAULT_TIMINGS, ...opts.timings };
  positiveInt('watchdog seconds', t.watchdogSec, 0);
  positiveInt('restart seconds', t.restartSec, 1);
  positiveInt('start timeout seconds', t.startTimeoutSec, 1);
  positiveInt('start limit burst', t.startLimitBurst, 1);
  if (opts.socketActivation && config.port === 0) {
    throw new CodexSmError('plan_invalid', 'socket activation needs a fixed port, not --port 0', {
      exitCode: EXIT.usage,
    });
  }

  const args = [
    'serve',
    '--host',
    config.host,
    '--port',
    String(config.port),
    '--codex-home',
    config.codexHome,
    '--codex-bin',
    opts.codexPath,
    '--token-file',
    config.tokenFile,
    ...(opts.extraArgs ?? []),
  ];
  const environment: Record<string, string> = {
    PATH: capturePath(env.PATH, nodePath),
    HOME: home,
    CODEX_HOME: config.codexHome,
  };
  // Config given through CODEX_SM_* at install time is config of the service too. Only the
  // schema's own variables: the token is a secret and stays in its file, CODEX_SM_DEBUG is for
  // the shell it was set in, CODEX_SM_LOG_FILES is the plist's own.
  const configVars = new Set(envVariables().map((v) => v.name));
  for (const [k, v] of Object.entries(env)) {
    if (configVars.has(k) && v !== undefined) environment[k] = v;
  }
  if (opts.configFile) environment.CODEX_SM_CONFIG = opts.configFile;

  return {
    backend: opts.backend,
    scope: opts.scope ?? 'user',
    name: SERVICE_NAME,
    label: LAUNCHD_LABEL,
    description: 'codex-sm: Codex session manager (app-server supervisor)',
    nodePath,
    cliScript,
    args,
    workingDirectory: home,
    environment,
    secretsEnvFile: secretsEnvFile(env),
    ...(opts.user ? { user: opts.user } : {}),
    ...(opts.group ? { group: opts.group } : {}),
    host: config.host,
    port: config.port,
    tokenFile: config.tokenFile,
    codexHome: config.codexHome,
    stateDir: config.stateDir,
    socketActivation: Boolean(opts.socketActivation),
    updater: Boolean(opts.updater),
    stopTimeoutSec: Math.ceil(config.stopTimeoutMs / 1000) + STOP_MARGIN_SEC,
    startTimeoutSec: t.startTimeoutSec,
    watchdogSec: t.watchdogSec,
    restartSec: t.restartSec,
    startLimitBurst: t.startLimitBurst,
    // The window must be long enough for `burst` crash-restarts to fall inside it, or the
    // crash-loop brake never engages (RestartSec=2 × 5 inside 60 s does).
    startLimitIntervalSec: Math.max(60, t.startLimitBurst * (t.restartSec + 10)),
    ...(opts.systemdVersion !== undefined ? { systemdVersion: opts.systemdVersion } : {}),
    logDir: path.join(home, 'Library', 'Logs', SERVICE_NAME),
    codexPath: opts.codexPath,
    ...(opts.codexVersion ? { codexVersion: opts.codexVersion } : {}),
  };
}
