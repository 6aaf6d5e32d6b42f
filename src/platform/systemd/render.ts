/**
 * The systemd units as pure functions of a ServicePlan (golden-file tested, and every variant is
 * clean under `systemd-analyze verify`). Rendered in code rather than from a text template in
 * units/: every value needs its own systemd quoting (./escape.ts) and the variants differ by whole
 * directives, which a template language would only hide.
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
 */
import net from 'node:net';
import path from 'node:path';
import { CodexSmError, EXIT } from '../../errors.js';
import type { ServicePlan } from '../types.js';
import { environmentAssignment, execLine, pathListItem, pathValue, textValue } from './escape.js';

/** First systemd release with Type=notify-reload (and MONOTONIC_USEC-checked reloads). */
export const NOTIFY_RELOAD_MIN_VERSION = 253;

type Line = string | [key: string, value: string | number];

function section(name: string, lines: Line[]): string {
  return [`[${name}]`, ...lines.map((l) => (typeof l === 'string' ? l : `${l[0]}=${l[1]}`))].join(
    '\n',
  );
}

function header(unitFile: string, plan: ServicePlan): string {
  const edit = plan.scope === 'system' ? 'systemctl edit' : 'systemctl --user edit';
  return [
    `# ${unitFile}: written by \`codex-sm install-service\`; re-run it to change this file.`,
    `# Local additions belong in a drop-in (\`${edit} ${unitFile}\`), which survives reinstalls.`,
  ].join('\n');
}

export function serviceUnitName(plan: Pick<ServicePlan, 'name'>): string {
  return `${plan.name}.service`;
}

export function socketUnitName(plan: Pick<ServicePlan, 'name'>): string {
  return `${plan.name}.socket`;
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

const USER_HARDENING: Line[] = [
  '# Only hardening that works without privileges in a user manager (seccomp-based).',
  ['NoNewPrivileges', 'yes'],
  ['LockPersonality', 'yes'],
  ['RestrictRealtime', 'yes'],
  ['RestrictSUIDSGID', 'yes'],
  ['SystemCallArchitectures', 'native'],
];

function systemHardening(plan: ServicePlan): Line[] {
  return [
    '# Hardening (check with `systemd-analyze security codex-sm.service`). Not used, on purpose:',
    '# MemoryDenyWriteExecute (V8 JIT), RestrictNamespaces/PrivateUsers (the Codex sandbox uses',
    '# bubblewrap), ProtectHome (Codex edits repositories in the home directory).',
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    [
      'ReadWritePaths',
      writablePaths(plan)
        .map((p) => `-${pathListItem(p)}`)
        .join(' '),
    ],
    ['PrivateTmp', 'yes'],
    ['PrivateDevices', 'yes'],
    ['PrivateIPC', 'yes'],
    ['PrivateMounts', 'yes'],
    ['ProtectKernelTunables', 'yes'],
    ['ProtectKernelModules', 'yes'],
    ['ProtectKernelLogs', 'yes'],
    ['ProtectControlGroups', 'yes'],
    ['ProtectClock', 'yes'],
    ['ProtectHostname', 'yes'],
    ['ProtectProc', 'invisible'],
    ['RestrictAddressFamilies', 'AF_UNIX AF_INET AF_INET6 AF_NETLINK'],
    ['RestrictRealtime', 'yes'],
    ['RestrictSUIDSGID', 'yes'],
    ['LockPersonality', 'yes'],
    ['RemoveIPC', 'yes'],
    ['KeyringMode', 'private'],
    ['CapabilityBoundingSet', ''],
    ['AmbientCapabilities', ''],
    ['SystemCallArchitectures', 'native'],
    '# The Codex sandbox installs its own seccomp filter and landlock rules.',
    [
      'SystemCallFilter',
      '@system-service @mount seccomp landlock_create_ruleset landlock_add_rule landlock_restrict_self',
    ],
    [
      'SystemCallFilter',
      '~@privileged @resources @obsolete @debug @cpu-emulation @raw-io @reboot @swap @module @clock',
    ],
    '# bubblewrap needs these inside its own user namespace (without them a sandboxed command',
    '# hangs); outside it they are harmless, as the service holds no capabilities at all.',
    ['SystemCallFilter', 'pivot_root capset'],
    ['SystemCallErrorNumber', 'EPERM'],
  ];
}

/** codex-sm.service. */
export function renderServiceUnit(plan: ServicePlan): string {
  if (plan.scope === 'system' && !plan.user) {
    throw new CodexSmError('plan_invalid', 'a system unit needs the account to run as (User=)', {
      exitCode: EXIT.usage,
    });
  }
  const system = plan.scope === 'system';
  const unit: Line[] = [['Description', textValue(plan.description)]];
  if (system) unit.push(['Wants', 'network-online.target'], ['After', 'network-online.target']);
  if (plan.socketActivation)
    unit.push(['Requires', socketUnitName(plan)], ['After', socketUnitName(plan)]);
  unit.push(
    '# Crash-loop brake for automatic restarts (`codex-sm start` resets it on purpose).',
    ['StartLimitIntervalSec', plan.startLimitIntervalSec],
    ['StartLimitBurst', plan.startLimitBurst],
  );

  const reload = usesNotifyReload(plan);
  const service: Line[] = [
    '# READY=1 only once HTTP is bound and the app-server answered initialize.',
    ['Type', reload ? 'notify-reload' : 'notify'],
    ['NotifyAccess', 'main'],
  ];
  if (system)
    service.push(
      ['User', textValue(plan.user as string)],
      ['Group', textValue(plan.group ?? (plan.user as string))],
    );
  service.push(['ExecStart', execLine([plan.nodePath, plan.cliScript, ...plan.args])]);
  if (!reload) service.push(['ExecReload', '/bin/kill -s HUP $MAINPID']);
  service.push(['WorkingDirectory', pathValue(plan.workingDirectory)]);
  for (const [k, v] of Object.entries(plan.environment))
    service.push(['Environment', environmentAssignment(k, v)]);
  service.push(
    '# Secrets (0600), never inline: the unit file itself is world-readable.',
    ['EnvironmentFile', `-${pathValue(plan.secretsEnvFile)}`],
    ['Restart', 'on-failure'],
    ['RestartSec', plan.restartSec],
    '# 78 = EX_CONFIG: a bad config is not fixed by restarting.',
    ['RestartPreventExitStatus', 78],
    ['TimeoutStartSec', plan.startTimeoutSec],
    '# The service stops gracefully within its own budget (stopTimeoutMs); SIGKILL only after it.',
    ['TimeoutStopSec', plan.stopTimeoutSec],
  );
  if (plan.watchdogSec > 0) service.push(['WatchdogSec', plan.watchdogSec]);
  service.push(
    '# SIGTERM to node only (it stops the app-server itself), SIGKILL to everything left at the end.',
    ['KillMode', 'mixed'],
    ['SyslogIdentifier', plan.name],
    ...(system ? systemHardening(plan) : USER_HARDENING),
  );

  const install: Line[] = [['WantedBy', system ? 'multi-user.target' : 'default.target']];
  return (
    [
      header(serviceUnitName(plan), plan),
      section('Unit', unit),
      section('Service', service),
      section('Install', install),
    ].join('\n\n') + '\n'
  );
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
  const socket: Line[] = [
    ['ListenStream', listenAddress(plan.host, plan.port)],
    ['FileDescriptorName', 'http'],
    ['NoDelay', 'true'],
  ];
  if (plan.host === '::') socket.push(['BindIPv6Only', 'both']);
  return (
    [
      header(socketUnitName(plan), plan),
      section('Unit', [['Description', textValue(`${plan.description} (listening socket)`)]]),
      section('Socket', socket),
      section('Install', [['WantedBy', 'sockets.target']]),
    ].join('\n\n') + '\n'
  );
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
