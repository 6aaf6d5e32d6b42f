/**
 * The contract between the lifecycle CLI commands and the OS service managers. Rendering a
 * unit or plist is a pure function of a ServicePlan; everything that touches the OS goes through
 * a ServiceManager, whose real implementations call D-Bus / systemctl / journalctl / launchctl
 * through the CommandRunner seam (src/runner.ts).
 */

export type Backend = 'systemd' | 'launchd';

/** Everything a unit/plist needs, resolved at install time (absolute paths, captured PATH). */
export interface ServicePlan {
  backend: Backend;
  /** user: systemd --user / LaunchAgent; system: a root-installed system unit with User=. */
  scope: 'user' | 'system';
  /** systemd unit base name ("codex-sm") — the unit is `${name}.service`. */
  name: string;
  /** launchd label (reverse DNS), e.g. "dev.codex-sm.service". */
  label: string;
  description: string;
  /** Absolute node binary: node must be the main PID (sd_notify), never npx/env/sh -c. */
  nodePath: string;
  /** Absolute path of dist/src/cli/main.js. */
  cliScript: string;
  /** Arguments after the script, starting with "serve". */
  args: string[];
  workingDirectory: string;
  /** Non-secret environment captured at install (PATH, HOME, CODEX_HOME, ...). */
  environment: Record<string, string>;
  /** 0600 file with secrets (CODEX_SM_TOKEN=...) read by the manager, never rendered inline. */
  secretsEnvFile: string;
  /** For system scope: the account the service runs as. */
  user?: string;
  group?: string;
  host: string;
  port: number;
  socketActivation: boolean;
  stopTimeoutSec: number;
  startTimeoutSec: number;
  watchdogSec: number;
  restartSec: number;
  startLimitBurst: number;
  startLimitIntervalSec: number;
  /** systemd major version, when known (>= 253 enables Type=notify-reload). */
  systemdVersion?: number;
  /** launchd: where StandardOutPath/StandardErrorPath go (~/Library/Logs/codex-sm). */
  logDir: string;
  codexPath: string;
  codexVersion?: string;
}

export type LifecycleStatus =
  | 'installed'
  | 'started'
  | 'alreadyRunning'
  | 'stopped'
  | 'notRunning'
  | 'restarted'
  | 'uninstalled'
  | 'notInstalled'
  | 'running'
  | 'failed'
  | 'planned';

/** The one JSON object every lifecycle command prints (camelCase; docs/lifecycle.md). */
export interface LifecycleResult {
  status: LifecycleStatus;
  backend: Backend;
  /** systemd unit name, or launchd service target (gui/501/dev.codex-sm.service). */
  unit: string;
  unitPath: string;
  mainPid?: number;
  activeState: string;
  subState: string;
  nRestarts: number;
  statusText: string;
  linger?: boolean;
  endpoint: string;
  codexPath?: string;
  codexVersion?: string;
  appServerVersion?: string;
  /** Anything backend-specific (launchd lastExitCode, warnings, files left behind, ...). */
  [extra: string]: unknown;
}

export interface LogsOptions {
  follow: boolean;
  lines: number;
  since?: string;
  json: boolean;
  /** Stops a follow (-f); without it, following ends with the process (Ctrl-C). */
  signal?: AbortSignal;
}

/** What `install-service --dry-run` prints: the files it would write and the commands it would run. */
export interface InstallPreview {
  files: { path: string; mode: number; content: string }[];
  commands: string[][];
}

export interface ServiceManager {
  readonly backend: Backend;
  /** Pure: no side effects. Used by --dry-run on any OS. */
  preview(plan: ServicePlan): InstallPreview;
  install(plan: ServicePlan, opts: { start: boolean }): Promise<LifecycleResult>;
  uninstall(opts: { purge: boolean }): Promise<LifecycleResult>;
  start(): Promise<LifecycleResult>;
  stop(): Promise<LifecycleResult>;
  restart(): Promise<LifecycleResult>;
  status(): Promise<LifecycleResult>;
  /** Write log lines to `write` (readable text, or one JSON object per line with json). */
  logs(opts: LogsOptions, write: (line: string) => void): Promise<void>;
}
