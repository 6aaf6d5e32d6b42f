/**
 * Turning the manager's view of the unit (plus linger and the service's own /status) into the
 * one LifecycleResult object, and explaining in words why a unit is not running. The
 * explanation is pure (tested); the gathering does I/O through the runner and HTTP client.
 */
import fs from 'node:fs';
import { fetchServiceStatus, endpointFor, type ServiceStatusJson } from '../../client.js';
import type { CommandRunner } from '../../runner.js';
import { readTokenFile } from '../../token.js';
import type { LifecycleResult, LifecycleStatus } from '../types.js';
import type { UnitState } from './api.js';
import type { InstalledUnit } from './installed.js';

/** Why the unit is not running, in words, from Result/ExecMainStatus; undefined when nothing failed. */
export function explainState(st: UnitState): string | undefined {
  if (st.activeState === 'active' || st.activeState === 'reloading') return undefined;
  const failedOrRestarting = st.activeState === 'failed' || st.subState === 'auto-restart';
  if (!failedOrRestarting && st.result === 'success') return undefined;
  switch (st.result) {
    case 'exit-code':
      return st.execMainStatus === 78
        ? 'exited with status 78 (EX_CONFIG: configuration error); systemd does not restart it until the config is fixed — see `codex-sm logs`, then `codex-sm start`'
        : `exited with status ${st.execMainStatus}`;
    case 'signal':
    case 'core-dump':
      return `killed by signal ${st.execMainStatus}${st.result === 'core-dump' ? ' (core dumped)' : ''}`;
    case 'watchdog':
      return 'killed by the watchdog: no WATCHDOG=1 within WatchdogSec (event loop blocked or process stopped)';
    case 'timeout':
      return 'timed out (no READY=1 within TimeoutStartSec, or did not stop within TimeoutStopSec)';
    case 'start-limit-hit':
      return 'restarted too often in a short time (StartLimitBurst); `codex-sm start` resets the limit';
    case 'resources':
      return 'systemd could not set up the process (missing executable, working directory or file): see `codex-sm logs`';
    case 'protocol':
      return 'the process broke the notify protocol (exited or forked before READY=1)';
    case 'oom-kill':
      return 'killed by the out-of-memory killer';
    default:
      return st.result && st.result !== 'success' ? `result: ${st.result}` : undefined;
  }
}

export function statusFromState(st: UnitState, installed: boolean): LifecycleStatus {
  if (!installed && st.loadState === 'not-found') return 'notInstalled';
  if (st.activeState === 'active' || st.activeState === 'reloading') return 'running';
  if (st.activeState === 'failed') return 'failed';
  return 'notRunning';
}

/** `loginctl show-user USER -p Linger --value` → true/false; undefined when logind cannot say. */
export async function readLinger(
  runner: CommandRunner,
  env: NodeJS.ProcessEnv,
  userName: string,
): Promise<boolean | undefined> {
  const r = await runner.run('loginctl', ['show-user', userName, '-p', 'Linger', '--value'], {
    env,
    timeoutMs: 5000,
  });
  const v = r.stdout.trim();
  if (r.code === 0 && (v === 'yes' || v === 'no')) return v === 'yes';
  // A user without a session is unknown to logind, but linger may still be on (a file in /var/lib/systemd/linger).
  if (fs.existsSync('/var/lib/systemd/linger') && r.code !== null)
    return fs.existsSync(`/var/lib/systemd/linger/${userName}`);
  return undefined;
}

export interface DescribeInput {
  status: LifecycleStatus;
  unit: string;
  unitPath: string;
  state: UnitState;
  installed?: InstalledUnit;
  fallback: { host: string; port: number; tokenFile: string; codexPath?: string };
  linger?: boolean;
  codexVersion?: string;
  via: string;
  extra?: Record<string, unknown>;
}

export function endpointOf(
  installed: InstalledUnit | undefined,
  fallback: { host: string; port: number },
): string {
  return endpointFor(installed?.host ?? fallback.host, installed?.port ?? fallback.port);
}

/** The service's own /status, when it is up and our token opens it. */
export async function serviceStatus(
  endpoint: string,
  tokenFile: string,
): Promise<ServiceStatusJson | undefined> {
  let token: string | undefined;
  try {
    token = readTokenFile(tokenFile);
  } catch {
    token = undefined;
  }
  return fetchServiceStatus(endpoint, token, 3000);
}

export async function describe(input: DescribeInput): Promise<LifecycleResult> {
  const st = input.state;
  const endpoint = endpointOf(input.installed, input.fallback);
  const running = st.activeState === 'active' || st.activeState === 'reloading';
  const svc = running
    ? await serviceStatus(endpoint, input.installed?.tokenFile ?? input.fallback.tokenFile)
    : undefined;
  const reason = explainState(st);
  const result: LifecycleResult = {
    status: input.status,
    backend: 'systemd',
    unit: input.unit,
    unitPath: input.unitPath,
    ...(st.mainPid > 0 ? { mainPid: st.mainPid } : {}),
    loadState: st.loadState,
    activeState: st.activeState,
    subState: st.subState,
    unitFileState: st.unitFileState,
    result: st.result,
    nRestarts: st.nRestarts,
    statusText: st.statusText,
    ...(input.linger !== undefined ? { linger: input.linger } : {}),
    endpoint,
    codexPath: input.installed?.codexBin ?? input.fallback.codexPath,
    ...(input.codexVersion ? { codexVersion: input.codexVersion } : {}),
    ...(svc?.appServer?.version ? { appServerVersion: svc.appServer.version } : {}),
    ...(reason ? { reason } : {}),
    ...(svc
      ? {
          service: {
            pid: svc.pid,
            state: svc.state,
            statusText: svc.statusText,
            uptimeSec: svc.uptimeSec,
            appServer: svc.appServer,
          },
        }
      : {}),
    via: input.via,
    ...input.extra,
  };
  return result;
}

/** `codex --version` of the binary the unit runs (undefined when it cannot say). */
export async function codexVersionVia(
  runner: CommandRunner,
  env: NodeJS.ProcessEnv,
  bin: string | undefined,
): Promise<string | undefined> {
  if (!bin) return undefined;
  const r = await runner.run(bin, ['--version'], {
    timeoutMs: 10_000,
    env: { ...env, NO_COLOR: '1' },
  });
  return r.code === 0 ? /(\d+\.\d+\.\d+[\w.+-]*)/.exec(r.stdout)?.[1] : undefined;
}
