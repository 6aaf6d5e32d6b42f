/**
 * The small slice of the systemd manager API the lifecycle commands use, behind one interface
 * with two implementations: D-Bus (./dbus.ts, preferred: job results arrive as JobRemoved
 * signals) and `systemctl` through the CommandRunner (./systemctl.ts, when no bus is reachable).
 */

/** man org.freedesktop.systemd1: how a job ended. */
export type JobResult = 'done' | 'canceled' | 'timeout' | 'failed' | 'dependency' | 'skipped';

/** The manager's view of one unit (Unit + Service interface properties we report). */
export interface UnitState {
  loadState: string;
  activeState: string;
  subState: string;
  unitFileState: string;
  fragmentPath: string;
  needDaemonReload: boolean;
  mainPid: number;
  nRestarts: number;
  statusText: string;
  /** Service result: success, exit-code, signal, watchdog, start-limit-hit, timeout, ... */
  result: string;
  /** Exit status (or signal number) of the last main process, and CLD_* code (1 exited, 2 killed, 3 dumped). */
  execMainStatus: number;
  execMainCode: number;
  /** CLOCK_MONOTONIC µs of the last main-process start; 0 when never started. */
  execMainStartMonotonicUs: number;
  /** Timers: wall-clock µs of the next elapse; 0 when none is scheduled (or not a timer). */
  nextElapseRealtimeUs: number;
}

/** D-Bus property names of UnitState fields (also the `systemctl show -p` names). */
export const UNIT_PROPERTIES: Record<keyof UnitState, string> = {
  loadState: 'LoadState',
  activeState: 'ActiveState',
  subState: 'SubState',
  unitFileState: 'UnitFileState',
  fragmentPath: 'FragmentPath',
  needDaemonReload: 'NeedDaemonReload',
  mainPid: 'MainPID',
  nRestarts: 'NRestarts',
  statusText: 'StatusText',
  result: 'Result',
  execMainStatus: 'ExecMainStatus',
  execMainCode: 'ExecMainCode',
  execMainStartMonotonicUs: 'ExecMainStartTimestampMonotonic',
  nextElapseRealtimeUs: 'NextElapseUSecRealtime',
};

const NUMERIC = new Set<keyof UnitState>([
  'mainPid',
  'nRestarts',
  'execMainStatus',
  'execMainCode',
  'execMainStartMonotonicUs',
  'nextElapseRealtimeUs',
]);

/** Build a UnitState from raw property values (strings from systemctl, variants' values from D-Bus). */
export function unitStateFrom(get: (prop: string) => unknown): UnitState {
  const out: Record<string, unknown> = {};
  for (const [field, prop] of Object.entries(UNIT_PROPERTIES) as [keyof UnitState, string][]) {
    const raw = get(prop);
    if (field === 'needDaemonReload') out[field] = raw === true || raw === 'yes';
    else if (NUMERIC.has(field)) {
      // systemctl show --timestamp=unix prints wall-clock timestamps as "@<seconds>".
      const n =
        typeof raw === 'bigint'
          ? Number(raw)
          : typeof raw === 'string' && raw.startsWith('@')
            ? Number(raw.slice(1)) * 1e6
            : Number(raw ?? 0);
      out[field] = Number.isFinite(n) ? n : 0;
    } else out[field] = raw === undefined || raw === null ? '' : String(raw);
  }
  return out as unknown as UnitState;
}

/** Parse `systemctl show -p A -p B` output (KEY=VALUE lines; values may contain '='). */
export function parseShow(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

export interface SystemdApi {
  /** How we talk to the manager (reported in JSON as `via`). */
  readonly via: 'dbus' | 'systemctl';
  /** Manager version (major), e.g. 252. */
  version(): Promise<number | undefined>;
  /** daemon-reload; resolves when the manager has re-read the unit files. */
  reload(): Promise<void>;
  enable(units: string[]): Promise<void>;
  disable(units: string[]): Promise<void>;
  /** Queue a job (mode "replace") and wait for its result. */
  start(unit: string, timeoutMs: number): Promise<JobResult>;
  stop(unit: string, timeoutMs: number): Promise<JobResult>;
  restart(unit: string, timeoutMs: number): Promise<JobResult>;
  /** Clear the failed state and the start rate limiter. Harmless on a unit that is not failed. */
  resetFailed(unit: string): Promise<void>;
  state(unit: string): Promise<UnitState>;
  close(): void;
}

/** Parse the leading major version out of "systemd 252 (252.38-1~deb12u1)" or "252.38-1~deb12u1". */
export function parseSystemdVersion(text: string): number | undefined {
  const m = /(?:^|systemd\s+)(\d{3})\b/m.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}
