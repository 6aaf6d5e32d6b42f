/**
 * The LaunchAgent plists as pure functions of a ServicePlan (launchd.plist(5)): the service's and
 * the updater's. The XML is data, in units/launchd/ (syntax in ../template.ts); this module
 * computes each value and escapes it as XML text. No writes: the manager writes the text, the
 * golden tests compare it byte for byte and check it with libplist's plistutil.
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
 * - The updater (dev.codex-sm.update) runs `codex-sm update --json` every StartInterval (3600 s),
 *   not at load, with the service's environment; its logs sit next to the service's.
 */
import path from 'node:path';
import { parse } from 'plist';
import type { PlistValue } from 'plist';
import { CodexSmError, EXIT } from '../../errors.js';
import { renderTemplate } from '../template.js';
import type { ServicePlan } from '../types.js';
import { UPDATER_ARGS, updaterName } from '../updater.js';

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

/**
 * Text content of an XML element, escaped as the `plist` package (xmlbuilder) does, so files
 * written before the templates compare equal: `&`, `<`, `>`, and `\r` (which an XML parser would
 * otherwise turn into `\n`). Characters XML 1.0 cannot carry at all are refused.
 */
export function xmlText(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what we refuse
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|\p{Cs}/u.test(value)) {
    throw planError(
      `${JSON.stringify(value)} contains a character a plist (XML 1.0) cannot hold`,
      'choose a path or value without control characters',
    );
  }
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#xD;');
}

function xmlInteger(n: number): string {
  if (!Number.isSafeInteger(n)) throw planError(`${n} is not an integer`, 'a codex-sm bug');
  return String(n);
}

/** The `<key>`/`<string>` lines of a string dict, in the given order. */
function dictLines(entries: readonly (readonly [string, string])[]): string[] {
  return entries.flatMap(([k, v]) => [
    `<key>${xmlText(k)}</key>`,
    `<string>${xmlText(v)}</string>`,
  ]);
}

/** The installed environment, sorted so that the file does not depend on how the plan was assembled. */
function environmentEntries(plan: ServicePlan): [string, string][] {
  return Object.keys(plan.environment)
    .sort()
    .map((k) => [k, plan.environment[k] ?? '']);
}

/** The service's LaunchAgent plist text (XML, tab-indented, trailing newline). */
export function renderPlist(plan: ServicePlan): string {
  validateLaunchdPlan(plan);
  const logs = launchdLogPaths(plan.logDir, plan.name);
  return renderTemplate('launchd/codex-sm.plist', {
    values: {
      LABEL: xmlText(plan.label),
      PROGRAM_ARGUMENTS: [plan.nodePath, plan.cliScript, ...plan.args].map(xmlText),
      ENVIRONMENT_VARIABLES: dictLines([
        ...environmentEntries(plan),
        // ':' like PATH (macOS's delimiter, whatever OS renders the plist for --dry-run).
        [LOG_FILES_ENV, `${logs.stdout}:${logs.stderr}`],
      ]),
      WORKING_DIRECTORY: xmlText(plan.workingDirectory),
      THROTTLE_INTERVAL: xmlInteger(throttleIntervalFor(plan)),
      EXIT_TIMEOUT: xmlInteger(exitTimeOutFor(plan)),
      STANDARD_OUT_PATH: xmlText(logs.stdout),
      STANDARD_ERROR_PATH: xmlText(logs.stderr),
    },
  });
}

/** The plist as launchd will read it (the rendered text, parsed). */
export function plistObject(plan: ServicePlan): Record<string, PlistValue> {
  // The template's top level is a <dict>, so parse returns an object.
  return parse(renderPlist(plan)) as Record<string, PlistValue>;
}

/** The updater's label: dev.codex-sm.service → dev.codex-sm.update, any other label + ".update". */
export function updaterLabel(plan: Pick<ServicePlan, 'label'>): string {
  return plan.label.endsWith('.service')
    ? `${plan.label.slice(0, -'.service'.length)}.update`
    : `${plan.label}.update`;
}

/** The updater's LaunchAgent plist text: `codex-sm update --json` every hour. */
export function renderUpdaterPlist(plan: ServicePlan): string {
  validateLaunchdPlan(plan);
  const logs = launchdLogPaths(plan.logDir, updaterName(plan));
  return renderTemplate('launchd/codex-sm-update.plist', {
    values: {
      LABEL: xmlText(updaterLabel(plan)),
      PROGRAM_ARGUMENTS: [plan.nodePath, plan.cliScript, ...UPDATER_ARGS].map(xmlText),
      ENVIRONMENT_VARIABLES: dictLines(environmentEntries(plan)),
      WORKING_DIRECTORY: xmlText(plan.workingDirectory),
      STANDARD_OUT_PATH: xmlText(logs.stdout),
      STANDARD_ERROR_PATH: xmlText(logs.stderr),
    },
  });
}
