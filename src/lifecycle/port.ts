/**
 * The narrow port between the lifecycle engine (./engine.ts) and an OS service manager. The
 * engine decides (lock, idempotence, install record, files, output); a backend only carries
 * out: render its files, reload the manager, enable/disable, start/stop/restart the job and wait
 * for the outcome, read the job's state and its logs. Implemented by systemd
 * (src/platform/systemd/backend.ts) and launchd (src/platform/launchd/backend.ts), and by an
 * in-memory fake in the unit tests.
 */
import type { Backend, ServicePlan } from '../platform/types.js';
import type { InstallRecord } from './record.js';

export type Scope = 'user' | 'system';

/** A file an install writes: installed files as data (cloudflared's ServiceTemplate). */
export interface InstalledFile {
  path: string;
  mode: number;
  content: string;
}

export type ActiveState =
  'active' | 'reloading' | 'activating' | 'deactivating' | 'inactive' | 'failed';

/** What the manager says about the service's job, in the same words on every backend. */
export interface JobState {
  /** The manager knows the job: a loaded systemd unit, a job loaded in a launchd domain. */
  loaded: boolean;
  /** The name the manager knows it by: `codex-sm.service`, `gui/501/dev.codex-sm.service`. */
  unit: string;
  activeState: ActiveState;
  /** The manager's own word: systemd's SubState, launchd's state ("running", "not loaded", …). */
  subState: string;
  mainPid: number | null;
  nRestarts: number;
  /** sd_notify STATUS= under systemd; what launchd's print shows otherwise. */
  statusText: string;
  /** CLOCK_MONOTONIC µs at which the running process started, where the manager says (systemd). */
  startedAtUs: number | null;
  /** Why it is not running, in words; null when nothing failed. */
  reason: string | null;
  /** Facts only this backend has (systemd: loadState, unitFileState, result, via; launchd: domain, runs, last exit). */
  native: Record<string, unknown>;
}

/** The periodic updater's job, when installed. */
export interface UpdaterState {
  /** `codex-sm-update.timer`, or the launchd target of the updater agent. */
  unit: string;
  /** The timer is armed / the agent is loaded. */
  active: boolean;
  /** ISO time of the next run, where the manager tells it (systemd); null otherwise. */
  nextRun: string | null;
}

export interface RenderedInstall {
  /** The name the manager will know the job by. */
  unit: string;
  files: InstalledFile[];
  /** The OS commands an install runs, for --dry-run. */
  commands: string[][];
  /** Files the manager writes the service's output to (launchd); [] under journald. */
  logFiles: string[];
}

export interface LogsOptions {
  follow: boolean;
  lines: number;
  since?: string;
  json: boolean;
  /** Stops a follow (-f); without it, following ends with the process (Ctrl-C). */
  signal?: AbortSignal;
}

/** One command's connection to the manager (systemd: one D-Bus connection). */
export interface BackendSession {
  /** What the backend had to work around (e.g. no GUI session: loaded into user/<uid>). */
  readonly notes: string[];
  state(): Promise<JobState>;
  /** Make the manager re-read the files just written (systemd daemon-reload; a no-op for launchd). */
  reload(): Promise<void>;
  /** Start the written files at login/boot (systemd enable; launchctl enable). */
  enable(files: readonly string[]): Promise<void>;
  /** Stop and disable the jobs of files about to be removed. Never fails for a job that is gone. */
  disable(files: readonly string[]): Promise<void>;
  /** Start (or reload a changed definition) and return once ready; throws start_failed. */
  start(record: InstallRecord): Promise<void>;
  restart(record: InstallRecord): Promise<void>;
  /** Stop and return once the job is down; throws stop_failed. */
  stop(record: InstallRecord): Promise<void>;
  /** The updater's job, or null when it is not installed. */
  updater(): Promise<UpdaterState | null>;
  /** The service's last log lines, for a failure report. */
  tail(record: InstallRecord | undefined, lines: number): Promise<string[]>;
  /**
   * Whether the service outlives logout and starts at boot (systemd user units: linger); null
   * where it does not apply or cannot be told. `check` warns when it is off, `enable` turns it on
   * first (failures become warnings), `read` only reads.
   */
  linger(mode: 'read' | 'check' | 'enable', warnings: string[]): Promise<boolean | null>;
  close(): void;
}

export interface ServiceBackend {
  readonly backend: Backend;
  readonly scope: Scope;
  /** The primary file (unit or plist) and where the install record lives beside it. */
  readonly unitPath: string;
  readonly recordPath: string;
  /** How a person reads the logs (used in hints). */
  readonly logCommand: string;
  /** Every file this backend may have installed, for an uninstall without a record. */
  readonly knownFiles: readonly string[];
  /** The files the manager appends the service's output to now (launchd); [] under journald. */
  logFiles(): string[];
  /**
   * Fill in what only this machine knows (systemd's version); for a real install also refuse
   * what cannot work here (a LaunchAgent for root). A preview touches nothing.
   */
  prepare(plan: ServicePlan, purpose: 'preview' | 'install'): Promise<ServicePlan>;
  /** Pure: what an install of `plan` writes and runs. */
  render(plan: ServicePlan): RenderedInstall;
  open(): Promise<BackendSession>;
  logs(
    record: InstallRecord | undefined,
    opts: LogsOptions,
    write: (line: string) => void,
  ): Promise<void>;
}
