/**
 * The systemd units as pure functions of a ServicePlan. The unit text is data: the templates in
 * units/systemd/ (codex-sm.service with its user- and system-only blocks, codex-sm.socket, the
 * updater's codex-sm-update.service and .timer; syntax in ../template.ts). This module only
 * computes each placeholder's value with the quoting systemd applies to that setting
 * (./escape.ts) and says which optional blocks apply. Golden-file tested, and every variant is
 * clean under `systemd-analyze verify`.
 *
 * Choices that come from field evidence (reference/service-managers.md §2):
 * - Type=notify (notify-reload from systemd 253): "active" means READY=1 arrived, i.e. HTTP is
 *   bound and the app-server answered initialize. ExecStart is node itself, so node is the main
 *   PID and its notifications are accepted (pitfall 14).
 * - RestartPreventExitStatus=78: a config error (EX_CONFIG) is not fixed by restarting.
 * - StartLimitBurst/IntervalSec belong in [Unit] (in [Service] they are deprecated aliases).
 * - User units get only hardening that needs no privileges (seccomp-based, with NoNewPrivileges);
 *   namespace options fail or are ignored there (pitfall 13), and MemoryDenyWriteExecute would
 *   kill V8's JIT. WantedBy=default.target (multi-user.target is a no-op for user units, pitfall 4);
 *   no network-online.target ordering in user units (no-op there, pitfall 5).
 * - The system variant may use namespaces, but the Codex sandbox inside it uses bubblewrap
 *   (user namespaces, mount, pivot_root, capset) plus landlock/seccomp, so those stay allowed:
 *   test/system/systemd-system.test.ts runs a sandboxed command under the installed system unit.
 * - The updater is a oneshot service started by an hourly timer (Persistent=, so a tick missed
 *   while the machine was off runs at the next boot): the OS runs the periodic job, no detached
 *   loop. It gets the service's Environment= and EnvironmentFile=, and no Restart=.
 */
import net from 'node:net';
import path from 'node:path';
import { CodexSmError, EXIT } from '../../errors.js';
import type { ServicePlan } from '../types.js';
import { UPDATER_ARGS, updaterName } from '../updater.js';
import { renderTemplate, type TemplateValue } from '../template.js';
import { environmentAssignment, execLine, pathListItem, pathValue, textValue } from './escape.js';

/** First systemd release with Type=notify-reload (and MONOTONIC_USEC-checked reloads). */
export const NOTIFY_RELOAD_MIN_VERSION = 253;

const TEMPLATE = {
  service: 'systemd/codex-sm.service',
  socket: 'systemd/codex-sm.socket',
  updaterService: 'systemd/codex-sm-update.service',
  updaterTimer: 'systemd/codex-sm-update.timer',
} as const;

/** Unit names go into file names and comments unquoted, so only systemd's own name characters. */
function unitName(name: string): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(name)) {
    throw new CodexSmError('plan_invalid', `invalid systemd unit name ${JSON.stringify(name)}`, {
      exitCode: EXIT.usage,
    });
  }
  return name;
}

export function serviceUnitName(plan: Pick<ServicePlan, 'name'>): string {
  return `${plan.name}.service`;
}

export function socketUnitName(plan: Pick<ServicePlan, 'name'>): string {
  return `${plan.name}.socket`;
}

export function updaterServiceUnitName(plan: Pick<ServicePlan, 'name'>): string {
  return `${updaterName(plan)}.service`;
}

export function updaterTimerUnitName(plan: Pick<ServicePlan, 'name'>): string {
  return `${updaterName(plan)}.timer`;
}

/** Where the units live: ~/.config/systemd/user (XDG_CONFIG_HOME) or /etc/systemd/system. */
export function unitDir(
  scope: 'user' | 'system',
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (scope === 'system') return '/etc/systemd/system';
  const configHome = env.XDG_CONFIG_HOME || path.join(env.HOME ?? '', '.config');
  return path.join(configHome, 'systemd', 'user');
}

function usesNotifyReload(plan: ServicePlan): boolean {
  return (plan.systemdVersion ?? 0) >= NOTIFY_RELOAD_MIN_VERSION;
}

/** Writable paths for the system variant: the user's home (Codex edits repositories there) and CODEX_HOME. */
function writablePaths(plan: ServicePlan): string[] {
  const out = [plan.workingDirectory];
  const codexHome = plan.environment.CODEX_HOME;
  if (codexHome && !codexHome.startsWith(plan.workingDirectory + '/')) out.push(codexHome);
  return out;
}

/** The header every unit file starts with: its own name and how to edit it for good. */
function headerValues(unitFile: string, plan: ServicePlan): Record<string, string> {
  return {
    UNIT_FILE: unitName(unitFile),
    SYSTEMCTL: plan.scope === 'system' ? 'systemctl' : 'systemctl --user',
  };
}

/** What the service and its updater share: where they run, with which environment and secrets. */
function processValues(plan: ServicePlan, argv: readonly string[]): Record<string, TemplateValue> {
  return {
    EXEC_START: execLine(argv),
    WORKING_DIRECTORY: pathValue(plan.workingDirectory),
    ENVIRONMENT: Object.entries(plan.environment).map(([k, v]) => environmentAssignment(k, v)),
    SECRETS_ENV_FILE: pathValue(plan.secretsEnvFile),
  };
}

function withoutSecrets(values: Record<string, TemplateValue>): Record<string, TemplateValue> {
  const { SECRETS_ENV_FILE: _secrets, ...rest } = values;
  return rest;
}

/** codex-sm.service. */
export function renderServiceUnit(plan: ServicePlan): string {
  if (plan.scope === 'system' && !plan.user) {
    throw new CodexSmError('plan_invalid', 'a system unit needs the account to run as (User=)', {
      exitCode: EXIT.usage,
    });
  }
  const system = plan.scope === 'system';
  const reload = usesNotifyReload(plan);
  const systemOnly: Record<string, string> = {};
  if (system && plan.user) {
    systemOnly.USER = textValue(plan.user);
    systemOnly.GROUP = textValue(plan.group ?? plan.user);
    systemOnly.READ_WRITE_PATHS = writablePaths(plan)
      .map((p) => `-${pathListItem(p)}`)
      .join(' ');
  }
  return renderTemplate(TEMPLATE.service, {
    values: {
      ...headerValues(serviceUnitName(plan), plan),
      DESCRIPTION: textValue(plan.description),
      ...(plan.socketActivation ? { SOCKET_UNIT: unitName(socketUnitName(plan)) } : {}),
      START_LIMIT_INTERVAL_SEC: plan.startLimitIntervalSec,
      START_LIMIT_BURST: plan.startLimitBurst,
      SERVICE_TYPE: reload ? 'notify-reload' : 'notify',
      ...systemOnly,
      ...processValues(plan, [plan.nodePath, plan.cliScript, ...plan.args]),
      RESTART_SEC: plan.restartSec,
      TIMEOUT_START_SEC: plan.startTimeoutSec,
      TIMEOUT_STOP_SEC: plan.stopTimeoutSec,
      ...(plan.watchdogSec > 0 ? { WATCHDOG_SEC: plan.watchdogSec } : {}),
      SYSLOG_IDENTIFIER: textValue(plan.name),
    },
    flags: {
      system,
      user: !system,
      'socket-activation': plan.socketActivation,
      'exec-reload': !reload,
      watchdog: plan.watchdogSec > 0,
    },
  });
}

/** The ListenStream= address: an IP literal (systemd does not resolve names) and the port. */
export function listenAddress(host: string, port: number): string {
  const family = net.isIP(host);
  if (family === 0) {
    throw new CodexSmError(
      'plan_invalid',
      `socket activation needs an IP address to listen on, got "${host}"`,
      {
        hint: 'use --host 127.0.0.1 (or ::1, 0.0.0.0) with --socket-activation',
        exitCode: EXIT.usage,
      },
    );
  }
  return family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** codex-sm.socket (--socket-activation): systemd holds the listening socket and passes it as fd 3. */
export function renderSocketUnit(plan: ServicePlan): string {
  return renderTemplate(TEMPLATE.socket, {
    values: {
      ...headerValues(socketUnitName(plan), plan),
      DESCRIPTION: textValue(plan.description),
      LISTEN_STREAM: listenAddress(plan.host, plan.port),
    },
    flags: { 'dual-stack': plan.host === '::' },
  });
}

export interface RenderedUnit {
  name: string;
  content: string;
}

/** All units a plan needs, service first. */
export function renderUnits(plan: ServicePlan): RenderedUnit[] {
  const out = [{ name: serviceUnitName(plan), content: renderServiceUnit(plan) }];
  if (plan.socketActivation)
    out.push({ name: socketUnitName(plan), content: renderSocketUnit(plan) });
  return out;
}

/**
 * The updater: codex-sm-update.service (a oneshot `codex-sm update --json` with the service's
 * environment and secrets) and codex-sm-update.timer (hourly, randomized, persistent), timer
 * last. User scope only: the updater belongs to the user whose Codex it updates.
 */
export function renderUpdaterUnits(plan: ServicePlan): RenderedUnit[] {
  if (plan.scope !== 'user') {
    throw new CodexSmError('plan_invalid', 'the updater is installed for user services only', {
      hint: 'install the service with user scope to get the updater',
      exitCode: EXIT.usage,
    });
  }
  const service = updaterServiceUnitName(plan);
  const timer = updaterTimerUnitName(plan);
  return [
    {
      name: service,
      content: renderTemplate(TEMPLATE.updaterService, {
        values: {
          ...headerValues(service, plan),
          DESCRIPTION: textValue(`${plan.name}: update Codex (started by ${timer})`),
          TIMER_UNIT: unitName(timer),
          // Not SECRETS_ENV_FILE: the update command (a downloaded installer) gets no secrets.
          ...withoutSecrets(processValues(plan, [plan.nodePath, plan.cliScript, ...UPDATER_ARGS])),
          SYSLOG_IDENTIFIER: textValue(updaterName(plan)),
        },
      }),
    },
    {
      name: timer,
      content: renderTemplate(TEMPLATE.updaterTimer, {
        values: {
          ...headerValues(timer, plan),
          DESCRIPTION: textValue(`${plan.name}: hourly Codex update check`),
          SERVICE_UNIT: unitName(service),
        },
      }),
    },
  ];
}
