/**
 * The LaunchAgent plist as a pure function of a ServicePlan (launchd.plist(5)). No I/O: the
 * manager writes the text, the golden tests compare it byte for byte.
 *
 * Choices that come from field evidence (reference/service-managers.md §2):
 * - ProgramArguments are absolute (node path + script): launchd resolves argv[0] before it applies
 *   EnvironmentVariables and expands neither `~` nor `$PATH` (pitfall 1).
 * - PATH is baked in from install time; launchd's default is /usr/bin:/bin:/usr/sbin:/sbin.
 * - No secrets: the plist is 0644 (launchd refuses agents others cannot read), so the token stays
 *   in its 0600 file which the service reads itself.
 * - LimitLoadToSessionType [Aqua, Background] so the same plist loads into gui/<uid> and, over SSH
 *   where there is no Aqua session, into user/<uid> (pitfall 10).
 * - No Umask key: codex writes into users' repositories, and a restrictive umask would make every
 *   file it creates private.
 */
import path from 'node:path';
import { build } from 'plist';
import type { PlistValue } from 'plist';
import { CodexSmError, EXIT } from '../../errors.js';
import type { ServicePlan } from '../types.js';

/** Seconds launchd waits after SIGTERM beyond the service's own stop budget before SIGKILL. */
export const EXIT_TIMEOUT_MARGIN_SEC = 5;

/** Environment variable through which the service learns which files launchd appends to. */
export const LOG_FILES_ENV = 'CODEX_SM_LOG_FILES';

/** Keys that look like secrets never go into a world-readable plist (paths to secret files may). */
const SECRET_KEY = /(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_?KEY|CREDENTIAL)/i;

export interface LaunchdLogPaths {
  stdout: string;
  stderr: string;
}

/** Where launchd sends the service's stdout/stderr: `<logDir>/<name>.out.log` / `.err.log`. */
export function launchdLogPaths(logDir: string, name: string): LaunchdLogPaths {
  return {
    stdout: path.join(logDir, `${name}.out.log`),
    stderr: path.join(logDir, `${name}.err.log`),
  };
}

/** `~/Library/LaunchAgents/<label>.plist`. */
export function launchAgentPath(home: string, label: string): string {
  return path.join(home, 'Library', 'LaunchAgents', `${label}.plist`);
}

/** `~/Library/Logs/codex-sm`, the default plan.logDir. */
export function defaultLaunchdLogDir(home: string): string {
  return path.join(home, 'Library', 'Logs', 'codex-sm');
}

/** Reverse-DNS: letters, digits, '-', '_', at least two dot-separated parts, no slashes. */
export function isValidLabel(label: string): boolean {
  return /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(label);
}

function planError(message: string, hint: string): CodexSmError {
  return new CodexSmError('launchd_plan_invalid', message, { hint, exitCode: EXIT.config });
}

/** The checks a plist must pass before launchd would accept it; throws a CodexSmError. */
export function validateLaunchdPlan(plan: ServicePlan): void {
  if (!isValidLabel(plan.label)) {
    throw planError(
      `launchd label "${plan.label}" is not a reverse-DNS name`,
      'use a label like dev.codex-sm.service',
    );
  }
  for (const [what, p] of [
    ['node path', plan.nodePath],
    ['CLI script', plan.cliScript],
    ['working directory', plan.workingDirectory],
    ['log directory', plan.logDir],
  ] as const) {
    if (!path.isAbsolute(p)) {
      throw planError(
        `the ${what} "${p}" is not absolute`,
        'launchd expands neither ~ nor $PATH: install from a shell where `node` resolves to an absolute path',
      );
    }
  }
  for (const key of Object.keys(plan.environment)) {
    if (SECRET_KEY.test(key) && !/_(FILE|PATH|DIR)$/i.test(key)) {
      throw planError(
        `environment variable ${key} looks like a secret and would be written into a world-readable plist`,
        `put it in ${plan.secretsEnvFile} (mode 0600) instead`,
      );
    }
  }
  if (!Number.isFinite(plan.stopTimeoutSec) || plan.stopTimeoutSec <= 0) {
    throw planError(
      `stop timeout ${plan.stopTimeoutSec}s is not a positive number`,
      'set stopTimeoutMs in the config',
    );
  }
}

/** ExitTimeOut: the service's stop budget plus a margin, so launchd's SIGKILL comes last. */
export function exitTimeOutFor(plan: ServicePlan): number {
  return Math.ceil(plan.stopTimeoutSec) + EXIT_TIMEOUT_MARGIN_SEC;
}

/** ThrottleInterval: the minimum seconds between spawns, systemd's RestartSec in launchd terms. */
export function throttleIntervalFor(plan: ServicePlan): number {
  return Math.max(1, Math.ceil(plan.restartSec));
}

/** The plist as a JS object, keys in the order they are rendered. */
export function plistObject(plan: ServicePlan): Record<string, PlistValue> {
  validateLaunchdPlan(plan);
  const logs = launchdLogPaths(plan.logDir, plan.name);
  const environment: Record<string, string> = {};
  // Sorted so that the rendered file does not depend on how the plan was assembled.
  for (const key of Object.keys(plan.environment).sort())
    environment[key] = plan.environment[key] ?? '';
  // ':' like PATH (macOS's delimiter, whatever OS renders the plist for --dry-run).
  environment[LOG_FILES_ENV] = `${logs.stdout}:${logs.stderr}`;
  return {
    Label: plan.label,
    ProgramArguments: [plan.nodePath, plan.cliScript, ...plan.args],
    EnvironmentVariables: environment,
    WorkingDirectory: plan.workingDirectory,
    RunAtLoad: true,
    // Restart after a crash or a non-zero exit; a clean exit (0) is a deliberate stop.
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: throttleIntervalFor(plan),
    ExitTimeOut: exitTimeOutFor(plan),
    // Background would throttle CPU and I/O; a server answering remote clients is Standard.
    ProcessType: 'Standard',
    LimitLoadToSessionType: ['Aqua', 'Background'],
    StandardOutPath: logs.stdout,
    StandardErrorPath: logs.stderr,
  };
}

/** The LaunchAgent plist text (XML, tab-indented, trailing newline). */
export function renderPlist(plan: ServicePlan): string {
  return build(plistObject(plan), { pretty: true, indent: '\t', newline: '\n' }) + '\n';
}
