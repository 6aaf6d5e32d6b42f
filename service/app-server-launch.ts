/**
 * How the app-server child is launched, as pure functions the supervisor calls at each spawn:
 * its argv (the configured args, then the flags codex-sm adds), its environment, the
 * parent-death wrapper, and how its log lines and remote-control notifications read.
 */
import fs from 'node:fs';
import type { RemoteControlJson } from './status-json.js';

/** What codex-sm's managed settings (src/settings.ts) decide about a launch, read at each spawn. */
export interface LaunchSettings {
  remoteControl: boolean;
}

/** Saves loaded threads when the app-server is shut down (SIGTERM): codex-sm is a managed daemon. */
export const MANAGED_DAEMON_FLAG = '--managed-daemon';
export const REMOTE_CONTROL_FLAG = '--remote-control';

/**
 * `app-server <configured args> --managed-daemon [--remote-control] --listen <url>`. A flag the
 * configured args already carry is not repeated (the app-server refuses a repeated flag).
 */
export function appServerArgv(
  configuredArgs: readonly string[],
  listen: string,
  launch: LaunchSettings,
): string[] {
  const ours = [MANAGED_DAEMON_FLAG, ...(launch.remoteControl ? [REMOTE_CONTROL_FLAG] : [])];
  return [
    'app-server',
    ...configuredArgs,
    ...ours.filter((f) => !configuredArgs.includes(f)),
    '--listen',
    listen,
  ];
}

/** Sent by the app-server after `initialize`, and again on every change. */
export const REMOTE_CONTROL_STATUS_METHOD = 'remoteControl/status/changed';
export const REMOTE_CONTROL_STATUSES = [
  'disabled',
  'connecting',
  'connected',
  'errored',
] as const satisfies readonly NonNullable<RemoteControlJson['status']>[];

/** The status and server name of a `remoteControl/status/changed` notification; undefined when it is not one. */
export function parseRemoteControlStatus(
  params: unknown,
): Pick<RemoteControlJson, 'status' | 'serverName'> | undefined {
  if (!params || typeof params !== 'object') return undefined;
  const p = params as { status?: unknown; serverName?: unknown };
  const status = REMOTE_CONTROL_STATUSES.find((s) => s === p.status);
  if (!status) return undefined;
  return { status, serverName: typeof p.serverName === 'string' ? p.serverName : null };
}

/** Variables a child must not inherit: ours to consume (sd_notify, socket activation) or secrets. */
const PRIVATE_ENV =
  /^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID|LISTEN_PID|LISTEN_FDS|LISTEN_FDNAMES|CODEX_SM_.*)$/;

export function childEnv(env: NodeJS.ProcessEnv, codexHome: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!PRIVATE_ENV.test(k)) out[k] = v;
  out.CODEX_HOME = codexHome;
  return out;
}

/** What a launch's argv says about remote control, before the app-server reports a status. */
export function remoteControlAtLaunch(args: string[]): RemoteControlJson {
  return { enabled: args.includes(REMOTE_CONTROL_FLAG), status: null, serverName: null };
}

/** The `ws://` address in the app-server's "listening on:" line (the ws transport's port). */
export function listeningUrl(line: string): string | undefined {
  return /listening on: (ws:\/\/\S+)/.exec(line)?.[1];
}

/** Strip ANSI colours and map the app-server's tracing level to a pino level. */
export function parseChildLogLine(line: string): {
  level: 'error' | 'warn' | 'info' | 'debug';
  msg: string;
} {
  // eslint-disable-next-line no-control-regex
  const msg = line.replace(/\x1b\[[0-9;]*m/g, '').trim();
  const m = /^\S+\s+(ERROR|WARN|INFO|DEBUG|TRACE)\s/.exec(msg);
  const lvl = m?.[1];
  return {
    level:
      lvl === 'ERROR'
        ? 'error'
        : lvl === 'WARN'
          ? 'warn'
          : lvl === 'DEBUG' || lvl === 'TRACE'
            ? 'debug'
            : 'info',
    msg,
  };
}

/**
 * If codex-sm itself is killed (SIGKILL, OOM) outside a service manager, its app-server must not
 * live on as an orphan holding CODEX_HOME. Under systemd the cgroup takes care of it; elsewhere,
 * on Linux, util-linux `setpriv --pdeathsig` arranges a SIGTERM on our death and then execs codex,
 * so the child keeps the same pid and no extra process stays around.
 */
export function withParentDeathSignal(
  bin: string,
  args: string[],
  platform = process.platform,
): [string, string[]] {
  const setpriv = platform === 'linux' ? findSetpriv() : undefined;
  return setpriv ? [setpriv, ['--pdeathsig', 'TERM', '--', bin, ...args]] : [bin, args];
}

let setprivPath: string | null | undefined;
function findSetpriv(): string | undefined {
  if (setprivPath === undefined)
    setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p)) ?? null;
  return setprivPath ?? undefined;
}
