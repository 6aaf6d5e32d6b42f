/**
 * The systemd backend of the lifecycle engine (src/lifecycle/port.ts): the units from
 * ./render.ts, jobs through the SystemdApi (D-Bus, or systemctl as the fallback), logs from the
 * journal, linger through loginctl. It decides nothing the engine decides; what it knows that the
 * engine does not is systemd's own: job results, Type=notify readiness, socket units, daemon-reload.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CodexSmError } from '../../errors.js';
import type {
  ActiveState,
  BackendSession,
  JobState,
  LogsOptions,
  Scope,
  ServiceBackend,
  UpdaterState,
} from '../../lifecycle/port.js';
import type { InstallRecord } from '../../lifecycle/record.js';
import type { CommandRunner } from '../../runner.js';
import type { ServicePlan } from '../types.js';
import { parseSystemdVersion, type UnitState } from './api.js';
import { connectManager, type BusConnector, type SystemdContext } from './connect.js';
import { explainState } from './describe.js';
import { enableLinger, lingerWarning, readLinger } from './linger.js';
import { followJournal, formatEntry, journalCommand, readJournal, tailLines } from './journal.js';
import {
  renderUnits,
  renderUpdaterUnits,
  serviceUnitName,
  socketUnitName,
  unitDir,
  updaterServiceUnitName,
  updaterTimerUnitName,
} from './render.js';

export interface SystemdBackendOptions {
  scope: Scope;
  runner: CommandRunner;
  env: NodeJS.ProcessEnv;
  uid: number;
  userName: string;
  connectBus?: BusConnector;
}

const NAME = { name: 'codex-sm' };
const SERVICE = serviceUnitName(NAME);
const SOCKET = socketUnitName(NAME);
const UPDATE_SERVICE = updaterServiceUnitName(NAME);
const UPDATE_TIMER = updaterTimerUnitName(NAME);
/** Units started by their timer only: nothing to enable (no [Install] section). */
const NOT_ENABLED = new Set([UPDATE_SERVICE]);
/** Extra time over the unit's own timeouts before we stop waiting for a job ourselves. */
const JOB_MARGIN_MS = 15_000;
const ACTIVE_STATES: readonly ActiveState[] = [
  'active',
  'reloading',
  'activating',
  'deactivating',
  'inactive',
  'failed',
];

function activeStateOf(s: string): ActiveState {
  return ACTIVE_STATES.find((a) => a === s) ?? 'inactive';
}

function jobState(st: UnitState, via: string): JobState {
  return {
    loaded: st.loadState !== 'not-found' && st.loadState !== '',
    unit: SERVICE,
    activeState: activeStateOf(st.activeState),
    subState: st.subState,
    mainPid: st.mainPid > 0 ? st.mainPid : null,
    nRestarts: st.nRestarts,
    statusText: st.statusText,
    startedAtUs: st.execMainStartMonotonicUs > 0 ? st.execMainStartMonotonicUs : null,
    reason: explainState(st) ?? null,
    native: {
      loadState: st.loadState,
      unitFileState: st.unitFileState,
      result: st.result,
      via,
    },
  };
}

function usesSocket(record: InstallRecord): boolean {
  return record.files.some((f) => path.basename(f) === SOCKET);
}

class SystemdSession implements BackendSession {
  readonly notes: string[] = [];

  constructor(
    private readonly ctx: SystemdContext,
    private readonly opts: SystemdBackendOptions,
  ) {}

  private get api() {
    return this.ctx.api;
  }

  async state(): Promise<JobState> {
    return jobState(await this.api.state(SERVICE), this.api.via);
  }

  reload(): Promise<void> {
    return this.api.reload();
  }

  async enable(files: readonly string[]): Promise<void> {
    const units = files.map((f) => path.basename(f));
    await this.api.enable(units.filter((u) => !NOT_ENABLED.has(u)));
    // Enabling a timer arms it from the next login on; arm it now too (a no-op when it is).
    for (const timer of units.filter((u) => u.endsWith('.timer'))) {
      const job = await this.api.start(timer, JOB_MARGIN_MS);
      if (job !== 'done')
        this.notes.push(
          `${timer} did not start ("${job}"): see \`systemctl --user status ${timer}\``,
        );
    }
  }

  async updater(): Promise<UpdaterState | null> {
    if (!fs.existsSync(path.join(unitDir(this.opts.scope, this.opts.env), UPDATE_TIMER)))
      return null;
    const st = await this.api.state(UPDATE_TIMER);
    return {
      unit: UPDATE_TIMER,
      active: st.activeState === 'active',
      nextRun:
        st.nextElapseRealtimeUs > 0 ? new Date(st.nextElapseRealtimeUs / 1000).toISOString() : null,
    };
  }

  async disable(files: readonly string[]): Promise<void> {
    const units = files.map((f) => path.basename(f));
    // The socket first, or a connection in between would start the service again.
    const ordered = [...units.filter((u) => u !== SERVICE), ...units.filter((u) => u === SERVICE)];
    for (const u of ordered) {
      if (u !== SERVICE) {
        // A unit whose file is gone may be unknown to the manager already: nothing to stop.
        await this.api.stop(u, JOB_MARGIN_MS * 2).catch(() => undefined);
        continue;
      }
      // A unit the manager no longer knows has nothing to stop (a stop job would fail on it).
      if ((await this.api.state(u)).loadState === 'not-found') continue;
      const job = await this.api.stop(u, JOB_MARGIN_MS * 2);
      if (job !== 'done') throw await this.stopFailure(job);
    }
    await this.api.disable(units).catch(() => undefined);
    await this.api.resetFailed(SERVICE);
  }

  private timeouts(record: InstallRecord): { startMs: number; stopMs: number } {
    return {
      startMs: record.startTimeoutSec * 1000 + JOB_MARGIN_MS,
      stopMs: record.stopTimeoutSec * 1000 + JOB_MARGIN_MS,
    };
  }

  /** Start (or restart) and insist on "active": for Type=notify that means READY=1 arrived. */
  private async run(how: 'start' | 'restart', record: InstallRecord): Promise<void> {
    const t = this.timeouts(record);
    // An explicit start is the user's decision: clear "failed" and the crash-loop brake first.
    await this.api.resetFailed(SERVICE);
    // A unit file edited on disk but not reloaded would start the old definition (pitfall 9).
    if ((await this.api.state(SERVICE)).needDaemonReload) await this.api.reload();
    let job: string;
    if (usesSocket(record)) {
      // A socket refuses to listen while its service runs on its own ("already active, refusing"),
      // e.g. right after switching to socket activation: stop, open the socket, start.
      if (how === 'restart') await this.api.stop(SERVICE, t.stopMs);
      await this.api.start(SOCKET, t.startMs);
      job = await this.api.start(SERVICE, t.startMs);
    } else {
      job =
        how === 'start'
          ? await this.api.start(SERVICE, t.startMs)
          : await this.api.restart(SERVICE, t.startMs + t.stopMs);
    }
    const st = await this.api.state(SERVICE);
    if (job !== 'done' || st.activeState !== 'active') {
      const why = explainState(st) ?? `job result "${job}", unit ${st.activeState}/${st.subState}`;
      throw new CodexSmError('start_failed', `${SERVICE} ${how} failed: ${why}`, {
        hint: `see the log: ${journalCommand(this.opts.scope, SERVICE)}`,
        details: {
          lastLogLines: await this.tail(record, 20),
          logCommand: journalCommand(this.opts.scope, SERVICE),
          activeState: st.activeState,
          subState: st.subState,
          result: st.result,
        },
      });
    }
  }

  start(record: InstallRecord): Promise<void> {
    return this.run('start', record);
  }

  restart(record: InstallRecord): Promise<void> {
    return this.run('restart', record);
  }

  private async stopFailure(job: string): Promise<CodexSmError> {
    return new CodexSmError('stop_failed', `stopping ${SERVICE} ended with "${job}"`, {
      hint: journalCommand(this.opts.scope, SERVICE),
    });
  }

  async stop(record: InstallRecord): Promise<void> {
    const t = this.timeouts(record);
    // Stop the socket first, or the next connection would start the service again.
    if (usesSocket(record)) await this.api.stop(SOCKET, t.stopMs);
    const st = await this.api.state(SERVICE);
    if (st.activeState === 'inactive' || st.activeState === 'failed') return;
    const job = await this.api.stop(SERVICE, t.stopMs);
    if (job !== 'done') throw await this.stopFailure(job);
  }

  tail(_record: InstallRecord | undefined, lines: number): Promise<string[]> {
    return tailLines(this.opts.runner, this.ctx.env, this.opts.scope, SERVICE, lines);
  }

  async linger(mode: 'read' | 'check' | 'enable', warnings: string[]): Promise<boolean | null> {
    if (this.opts.scope !== 'user') return null;
    const { runner, userName } = this.opts;
    let linger = await readLinger(runner, this.ctx.env, userName);
    if (mode === 'enable' && linger !== true)
      linger = await enableLinger(runner, this.ctx.env, userName, warnings);
    const warning = mode === 'read' ? undefined : lingerWarning(linger, userName);
    if (warning) warnings.push(warning);
    return linger ?? null;
  }

  close(): void {
    this.api.close();
  }
}

export function systemdBackend(opts: SystemdBackendOptions): ServiceBackend {
  const dir = unitDir(opts.scope, opts.env);
  const u = opts.scope === 'user' ? ['--user'] : [];
  return {
    backend: 'systemd',
    scope: opts.scope,
    unitPath: path.join(dir, SERVICE),
    // systemd loads only files named like units; this one it ignores.
    recordPath: path.join(dir, 'codex-sm.install.json'),
    logCommand: journalCommand(opts.scope, SERVICE),
    knownFiles: [SERVICE, SOCKET, UPDATE_SERVICE, UPDATE_TIMER].map((u) => path.join(dir, u)),
    logFiles: () => [], // the journal keeps the lines

    async prepare(plan: ServicePlan): Promise<ServicePlan> {
      if (plan.systemdVersion !== undefined) return plan;
      // The version decides Type=notify-reload (>= 253).
      const r = await opts.runner.run('systemctl', ['--version'], {
        env: opts.env,
        timeoutMs: 5000,
      });
      const v = parseSystemdVersion(r.stdout);
      return v === undefined ? plan : { ...plan, systemdVersion: v };
    },

    render(plan) {
      const units = [...renderUnits(plan), ...(plan.updater ? renderUpdaterUnits(plan) : [])];
      const names = units.map((x) => x.name).filter((n) => !NOT_ENABLED.has(n));
      return {
        unit: SERVICE,
        files: units.map((x) => ({
          path: path.join(dir, x.name),
          mode: 0o644,
          content: x.content,
        })),
        commands: [
          ['systemctl', ...u, 'daemon-reload'],
          ['systemctl', ...u, 'enable', ...names],
          ['systemctl', ...u, 'start', ...names.slice().reverse()],
        ],
        logFiles: [],
      };
    },

    async open() {
      const ctx = await connectManager({
        scope: opts.scope,
        env: opts.env,
        uid: opts.uid,
        userName: opts.userName,
        runner: opts.runner,
        ...(opts.connectBus ? { connectBus: opts.connectBus } : {}),
      });
      return new SystemdSession(ctx, opts);
    },

    async logs(_record, logOpts: LogsOptions, write) {
      // journalctl reads the journal files directly: no manager connection needed.
      if (logOpts.follow) return followJournal(opts.env, opts.scope, SERVICE, logOpts, write);
      for (const e of await readJournal(opts.runner, opts.env, opts.scope, SERVICE, logOpts))
        write(logOpts.json ? JSON.stringify(e) : formatEntry(e));
    },
  };
}
