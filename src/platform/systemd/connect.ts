/**
 * Preflight: find the systemd manager we are meant to talk to and connect to it.
 *
 * The classic failure is a shell without a user session (sudo -u, su, cron): `systemctl --user`
 * then says "Failed to connect to bus: $DBUS_SESSION_BUS_ADDRESS and $XDG_RUNTIME_DIR not defined"
 * (pitfall 6). When the runtime directory /run/user/UID exists anyway (linger, or another login
 * of that user) we simply use it; otherwise we explain how to get a session instead of failing
 * with systemd's message.
 */
import fs from 'node:fs';
import { CodexSmError, EXIT } from '../../errors.js';
import type { CommandRunner } from '../../runner.js';
import type { SystemdApi } from './api.js';
import { connectSystemdBus } from './dbus.js';
import { SystemctlSystemd } from './systemctl.js';

export interface SystemdContext {
  api: SystemdApi;
  scope: 'user' | 'system';
  /** Environment for systemctl/journalctl/loginctl children (XDG_RUNTIME_DIR fixed up). */
  env: NodeJS.ProcessEnv;
  /** Why D-Bus was not used, when we fell back to systemctl. */
  busFallbackReason?: string;
}

export type BusConnector = typeof connectSystemdBus;

export interface ConnectOptions {
  scope: 'user' | 'system';
  env: NodeJS.ProcessEnv;
  uid: number;
  userName: string;
  runner: CommandRunner;
  connectBus?: BusConnector;
}

function noSession(userName: string, uid: number, why: string): CodexSmError {
  return new CodexSmError(
    'no_user_manager',
    `no systemd user manager reachable for ${userName}: ${why}`,
    {
      hint:
        `this shell has no user session (typical after sudo/su). Log in as ${userName} directly ` +
        `(ssh ${userName}@host, or \`machinectl shell ${userName}@\`), or run \`sudo loginctl enable-linger ${userName}\` ` +
        `and then \`export XDG_RUNTIME_DIR=/run/user/${uid}\``,
      exitCode: EXIT.unavailable,
    },
  );
}

/** $XDG_RUNTIME_DIR, else /run/user/UID when it exists; it must belong to us. */
export function userRuntimeDir(
  env: NodeJS.ProcessEnv,
  uid: number,
  userName: string,
  stat: (p: string) => fs.Stats | undefined = safeStat,
): string {
  const dir = env.XDG_RUNTIME_DIR || `/run/user/${uid}`;
  const st = stat(dir);
  if (!st) {
    throw noSession(
      userName,
      uid,
      env.XDG_RUNTIME_DIR
        ? `XDG_RUNTIME_DIR=${dir} does not exist`
        : `XDG_RUNTIME_DIR is not defined and ${dir} does not exist`,
    );
  }
  if (st.uid !== uid) {
    throw noSession(
      userName,
      uid,
      `XDG_RUNTIME_DIR=${dir} belongs to uid ${st.uid}, not ${uid} (an environment kept across sudo/su?)`,
    );
  }
  return dir;
}

function safeStat(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

export async function connectManager(opts: ConnectOptions): Promise<SystemdContext> {
  const connectBus = opts.connectBus ?? connectSystemdBus;
  if (opts.scope === 'system') {
    const address = 'unix:path=/run/dbus/system_bus_socket';
    const { api, reason } = await connectBus(address);
    if (api) return { api, scope: 'system', env: opts.env };
    return {
      api: new SystemctlSystemd(opts.runner, 'system', opts.env),
      scope: 'system',
      env: opts.env,
      busFallbackReason: reason,
    };
  }
  const runtimeDir = userRuntimeDir(opts.env, opts.uid, opts.userName);
  const address = `unix:path=${runtimeDir}/bus`;
  const env = {
    ...opts.env,
    XDG_RUNTIME_DIR: runtimeDir,
    DBUS_SESSION_BUS_ADDRESS: opts.env.DBUS_SESSION_BUS_ADDRESS || address,
  };
  const { api, reason } = safeStat(`${runtimeDir}/bus`)
    ? await connectBus(address)
    : { api: undefined, reason: `${runtimeDir}/bus does not exist` };
  if (api) return { api, scope: 'user', env };
  // No bus: systemctl can still reach the manager over its private socket ($XDG_RUNTIME_DIR/systemd/private).
  const probe = await opts.runner.run('systemctl', ['--user', 'is-system-running'], {
    env,
    timeoutMs: 10_000,
  });
  const state = probe.stdout.trim();
  if (probe.spawnError) {
    throw new CodexSmError(
      'systemd_missing',
      'systemctl was not found: this system does not run systemd',
      {
        hint: 'codex-sm install-service needs systemd (or launchd on macOS); run `codex-sm serve` under your own supervisor instead',
        exitCode: EXIT.unavailable,
      },
    );
  }
  if (!['running', 'degraded', 'starting', 'initializing', 'maintenance'].includes(state)) {
    throw noSession(
      opts.userName,
      opts.uid,
      (probe.stderr.trim().split('\n')[0] || state || 'no answer') +
        (reason ? `; D-Bus: ${reason}` : ''),
    );
  }
  return {
    api: new SystemctlSystemd(opts.runner, 'user', env),
    scope: 'user',
    env,
    ...(reason ? { busFallbackReason: reason } : {}),
  };
}
