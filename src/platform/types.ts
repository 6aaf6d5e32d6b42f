/**
 * What an install renders: a ServicePlan, resolved once from the config, from which every unit and
 * plist is a pure function. The lifecycle engine (src/lifecycle) drives the OS through a backend
 * port; the plan is what it hands the backends' renderers.
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
  /** The bearer token file the service reads (created 0600 at install when missing). */
  tokenFile: string;
  /** CODEX_HOME and codex-sm's own state directory of the service. */
  codexHome: string;
  stateDir: string;
  socketActivation: boolean;
  /** Also install the periodic updater (systemd timer / launchd StartInterval agent). */
  updater: boolean;
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
