/**
 * One typed output per lifecycle command (docs/lifecycle.md), with the same keys on every
 * backend: what only one backend knows sits under `native`, a value that does not apply is null.
 * The human forms are pure functions of the outputs.
 */
import {
  remoteControlPhrase,
  type RemoteControlJson,
  type ServiceStatusJson,
} from '../../service/status-json.js';
import type { Backend } from '../platform/types.js';
import type { ActiveState, InstalledFile, Scope, UpdaterState } from './port.js';
import { table } from '../table.js';

/**
 * The service's own GET /status, as the lifecycle outputs carry it: `version` is the codex-sm
 * version the running service is; `pendingRestart` (config keys changed since start that only a
 * restart applies) is empty for services older than it.
 */
export type ServiceSelfReport = Pick<
  ServiceStatusJson,
  'pid' | 'version' | 'state' | 'statusText' | 'uptimeSec' | 'appServer'
> &
  Required<Pick<ServiceStatusJson, 'pendingRestart'>>;

/** What every command that looks at the service reports about it. */
export interface ServiceView {
  backend: Backend;
  scope: Scope;
  unit: string;
  unitPath: string;
  mainPid: number | null;
  activeState: ActiveState;
  subState: string;
  nRestarts: number;
  statusText: string;
  endpoint: string;
  codexPath: string | null;
  codexVersion: string | null;
  appServerVersion: string | null;
  /** systemd user units: loginctl's Linger; null elsewhere or when logind cannot say. */
  linger: boolean | null;
  /** The periodic updater's job; null when it is not installed. */
  updater: UpdaterState | null;
  reason: string | null;
  lastLogLines: string[];
  service: ServiceSelfReport | null;
  /** The current config does not validate (the command fell back to defaults to still report). */
  configError: string | null;
  /** The install record the values come from (without one, they come from the current config). */
  recordPath: string;
  warnings: string[];
  native: Record<string, unknown>;
}

export type StatusOutput = ServiceView & {
  status: 'running' | 'notRunning' | 'failed' | 'notInstalled';
};
export type StartOutput = ServiceView & { status: 'started' | 'alreadyRunning' };
export type StopOutput = ServiceView & { status: 'stopped' | 'notRunning' | 'notInstalled' };
export type RestartOutput = ServiceView & { status: 'restarted'; coalesced: boolean };

export type InstallAction = 'started' | 'restarted' | 'alreadyRunning' | 'notStarted';
export type InstallOutput = ServiceView & {
  status: 'installed';
  action: InstallAction;
  unitChanged: boolean;
  /** The codex-sm version installed (this CLI's). */
  cliVersion: string;
  /**
   * The version the service was running as when that differed from `cliVersion` (an upgrade in
   * place); null otherwise or when it was not running. With `--no-start` it keeps running it.
   */
  upgradedFrom: string | null;
  /** Files written or removed by this install (unchanged ones are not rewritten). */
  files: string[];
  tokenFile: string;
  tokenCreated: boolean;
};

export interface LeftBehind {
  path: string;
  why: string;
}

export interface UninstallOutput {
  status: 'uninstalled' | 'notInstalled';
  backend: Backend;
  scope: Scope;
  unit: string;
  unitPath: string;
  removed: string[];
  leftBehind: LeftBehind[];
  warnings: string[];
}

export interface PlanOutput {
  status: 'planned';
  backend: Backend;
  scope: Scope;
  unit: string;
  unitPath: string;
  endpoint: string;
  codexPath: string;
  files: InstalledFile[];
  commands: string[][];
  warnings: string[];
}

/** `bootstrap`: install-service with the updater (and remote control), for `ssh host codex-sm bootstrap --json`. */
export type BootstrapOutput = ServiceView & {
  status: 'bootstrapped' | 'alreadyBootstrapped';
  /** What happened to the service: as install-service's `action`. */
  action: InstallAction;
  unitChanged: boolean;
  cliVersion: string;
  /** As install-service's `upgradedFrom`. */
  upgradedFrom: string | null;
  remoteControlEnabled: boolean;
  /** The app-server alone was restarted to apply a remote-control change. */
  appServerRestarted: boolean;
};

/** `enable-remote-control` / `disable-remote-control` (the Codex daemon's statuses). */
export interface RemoteControlOutput {
  status: 'enabled' | 'disabled' | 'alreadyEnabled' | 'alreadyDisabled';
  remoteControlEnabled: boolean;
  backend: Backend;
  endpoint: string;
  settingsFile: string;
  /** The service's main PID when it runs (it stays: only the app-server restarts). */
  mainPid: number | null;
  appServerRestarted: boolean;
  appServerPid: number | null;
  /** What the running app-server reports (`remoteControl/status/changed`); null when not running. */
  remoteControl: RemoteControlJson | null;
  warnings: string[];
}

/** `update`: run the update command, restart only the app-server when codex changed. */
export interface UpdateOutput {
  status: 'planned' | 'upToDate' | 'updated' | 'updateFailed' | 'deferred';
  command: string[];
  /** How the command was chosen: `config` (update.command) or the install kind. */
  commandSource: 'config' | 'standalone' | 'npm';
  codexPath: string;
  versionBefore: string | null;
  versionAfter: string | null;
  /** The running app-server's version after the command (null when the service is not running). */
  appServerVersion: string | null;
  appServerRestarted: boolean;
  /** updateFailed: the command's exit code (null: killed or timed out) and last output lines. */
  exitCode: number | null;
  lastOutputLines: string[];
  /** deferred: turns that were still running after waiting `waitIdleMs`. */
  runningTurns: number;
  warnings: string[];
}

export type LifecycleOutput =
  | StatusOutput
  | StartOutput
  | StopOutput
  | RestartOutput
  | InstallOutput
  | UninstallOutput
  | PlanOutput
  | BootstrapOutput;

function humanView(r: ServiceView & { status: string }): string {
  const rows: [string, unknown][] = [
    ['status', r.status],
    ['unit', `${r.unit} (${r.unitPath})`],
    ['state', `${r.activeState}/${r.subState}${r.mainPid ? `, pid ${r.mainPid}` : ''}`],
    ['restarts', r.nRestarts],
    ['says', r.statusText || null],
    ['endpoint', r.endpoint],
    ['codex', r.codexPath ? `${r.codexPath}${r.codexVersion ? ` (${r.codexVersion})` : ''}` : null],
  ];
  if (r.linger !== null) rows.push(['linger', r.linger ? 'on' : 'off']);
  if (r.updater)
    rows.push([
      'updater',
      `${r.updater.unit} ${r.updater.active ? 'active' : 'inactive'}${r.updater.nextRun ? `, next run ${r.updater.nextRun}` : ''}`,
    ]);
  if (r.reason) rows.push(['why', r.reason]);
  const rc = r.service?.appServer.remoteControl;
  if (rc) rows.push(['remote control', remoteControlPhrase(rc)]);
  if (r.service?.pendingRestart.length)
    rows.push(['pending', `restart to apply ${r.service.pendingRestart.join(', ')}`]);
  const out = [table(rows)];
  for (const w of r.warnings) out.push(`warning: ${w}`);
  for (const l of r.lastLogLines) out.push(`  | ${l}`);
  if (r.configError) out.push(`warning: config: ${r.configError}`);
  return out.join('\n');
}

function humanUninstall(r: UninstallOutput): string {
  return [
    `status  ${r.status}`,
    ...r.removed.map((p) => `removed: ${p}`),
    ...r.leftBehind.map((l) => `left: ${l.path} — ${l.why}`),
    ...r.warnings.map((w) => `warning: ${w}`),
  ].join('\n');
}

function humanPlan(r: PlanOutput): string {
  return [
    ...r.files.map((x) => `# ${x.path} (mode ${x.mode.toString(8)})\n${x.content}`),
    '# commands:',
    ...r.commands.map((c) => c.join(' ')),
    ...r.warnings.map((x) => `warning: ${x}`),
  ].join('\n');
}

export function humanOutput(r: LifecycleOutput): string {
  if (r.status === 'planned') return humanPlan(r);
  if (!('activeState' in r)) return humanUninstall(r);
  const upgraded =
    'upgradedFrom' in r && r.upgradedFrom ? `\nupgraded  ${r.upgradedFrom} → ${r.cliVersion}` : '';
  const view = humanView(r) + upgraded;
  // bootstrap: the saved setting, which a running app-server's row above may not show yet.
  if ('remoteControlEnabled' in r)
    return `${view}\nremote control setting  ${r.remoteControlEnabled ? 'enabled' : 'disabled'}`;
  return view;
}

export function humanRemoteControl(r: RemoteControlOutput): string {
  const reports = r.remoteControl
    ? `, the app-server reports ${r.remoteControl.status ?? 'nothing yet'}`
    : '';
  return [
    table([
      ['status', r.status],
      ['remote control', `${r.remoteControlEnabled ? 'enabled' : 'disabled'}${reports}`],
      [
        'app-server',
        r.appServerRestarted ? `restarted (pid ${r.appServerPid ?? '?'})` : 'not restarted',
      ],
      ['settings', r.settingsFile],
    ]),
    ...r.warnings.map((w) => `warning: ${w}`),
  ].join('\n');
}

export function humanUpdate(r: UpdateOutput): string {
  const rows: [string, unknown][] = [
    ['status', r.status],
    ['command', `${r.command.join(' ')} (${r.commandSource})`],
    ['codex', `${r.codexPath}: ${r.versionBefore ?? '?'} → ${r.versionAfter ?? '?'}`],
    [
      'app-server',
      r.appServerRestarted
        ? `restarted on ${r.appServerVersion ?? '?'}`
        : (r.appServerVersion ?? 'not running'),
    ],
  ];
  if (r.status === 'deferred') rows.push(['deferred', `${r.runningTurns} turn(s) still running`]);
  if (r.status === 'updateFailed') rows.push(['exit', r.exitCode]);
  return [
    table(rows),
    ...r.lastOutputLines.map((l) => `  | ${l}`),
    ...r.warnings.map((w) => `warning: ${w}`),
  ].join('\n');
}
