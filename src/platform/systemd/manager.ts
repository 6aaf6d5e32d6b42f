/**
 * The systemd ServiceManager: install/uninstall/start/stop/restart/status/logs for the
 * codex-sm unit, as explicit lifecycle states. Every mutating command runs under the per-user
 * lifecycle lock; every OS effect goes through the SystemdApi (D-Bus, or systemctl via the
 * CommandRunner), the runner (journalctl, loginctl, codex), or plain file writes of our own files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CodexSmError, EXIT } from '../../errors.js';
import { execRunner, type CommandRunner } from '../../runner.js';
import { acquireLifecycleLock, lifecycleLockFile, SYSTEM_LIFECYCLE_LOCK } from '../lock.js';
import type {
  InstallPreview,
  LifecycleResult,
  LifecycleStatus,
  LogsOptions,
  ServiceManager,
  ServicePlan,
} from '../types.js';
import type { UnitState } from './api.js';
import { connectManager, type BusConnector, type SystemdContext } from './connect.js';
import {
  codexVersionVia,
  describe,
  explainState,
  readLinger,
  statusFromState,
} from './describe.js';
import {
  enableLinger,
  installFiles,
  lingerWarning,
  preparePlan,
  purgeFiles,
} from './install-steps.js';
import { parseInstalledUnit, type InstalledUnit } from './installed.js';
import { followJournal, formatEntry, journalCommand, readJournal, tailLines } from './journal.js';
import { renderUnits, serviceUnitName, socketUnitName, unitDir } from './render.js';

export interface SystemdManagerOptions {
  scope?: 'user' | 'system';
  runner?: CommandRunner;
  env?: NodeJS.ProcessEnv;
  /** From the resolved config: used before a unit exists (and for --purge). */
  fallback: { host: string; port: number; tokenFile: string; stateDir: string; codexPath?: string };
  /** --enable-linger on install. */
  enableLinger?: boolean;
  connectBus?: BusConnector;
  lockFile?: string;
  lockTimeoutMs?: number;
}

const DEFAULT_START_TIMEOUT_SEC = 90;
const DEFAULT_STOP_TIMEOUT_SEC = 15;
/** Extra time over the unit's own timeouts before we stop waiting for a job ourselves. */
const JOB_MARGIN_MS = 15_000;

type StatusRule = LifecycleStatus | ((st: UnitState, installed: boolean) => LifecycleStatus);

/** What a lifecycle step decided; the reported object is built from it afterwards. */
interface Outcome {
  status: StatusRule;
  extra?: Record<string, unknown>;
}

function outcome(status: StatusRule, extra?: Record<string, unknown>): Outcome {
  return extra ? { status, extra } : { status };
}

export function createSystemdManager(opts: SystemdManagerOptions): ServiceManager {
  return new SystemdManager(opts);
}

class SystemdManager implements ServiceManager {
  readonly backend = 'systemd' as const;
  private readonly scope: 'user' | 'system';
  private readonly runner: CommandRunner;
  private readonly env: NodeJS.ProcessEnv;
  private readonly userName = os.userInfo().username;
  private readonly uid = os.userInfo().uid;

  constructor(private readonly opts: SystemdManagerOptions) {
    this.scope = opts.scope ?? 'user';
    this.runner = opts.runner ?? execRunner;
    this.env = opts.env ?? process.env;
  }

  private get service(): string {
    return serviceUnitName({ name: 'codex-sm' });
  }
  private get socket(): string {
    return socketUnitName({ name: 'codex-sm' });
  }
  private unitPath(unit: string): string {
    return path.join(unitDir(this.scope, this.env), unit);
  }

  preview(plan: ServicePlan): InstallPreview {
    const u = this.scope === 'user' ? ['--user'] : [];
    const units = renderUnits(plan);
    const names = units.map((x) => x.name);
    return {
      files: units.map((x) => ({
        path: path.join(unitDir(plan.scope, this.env), x.name),
        mode: 0o644,
        content: x.content,
      })),
      commands: [
        ['systemctl', ...u, 'daemon-reload'],
        ['systemctl', ...u, 'enable', ...names],
        ['systemctl', ...u, 'start', ...names.slice().reverse()],
      ],
    };
  }

  private lockFile(): string {
    if (this.opts.lockFile) return this.opts.lockFile;
    return this.scope === 'system' ? SYSTEM_LIFECYCLE_LOCK : lifecycleLockFile(this.env);
  }

  /**
   * Connect, run `act` (under the lifecycle lock when it mutates), then describe the result.
   * The lock covers only the state change: describing (codex --version, linger, /status) happens
   * after it is released, so serialized callers queue for the part that needs it.
   */
  private async session(
    mutating: boolean,
    act: (ctx: SystemdContext) => Promise<Outcome>,
  ): Promise<LifecycleResult> {
    if (mutating && this.scope === 'system' && this.uid !== 0) {
      throw new CodexSmError('needs_root', 'managing the system unit needs root', {
        hint: 'run it with sudo',
        exitCode: EXIT.failure,
      });
    }
    const ctx = await connectManager({
      scope: this.scope,
      env: this.env,
      uid: this.uid,
      userName: this.userName,
      runner: this.runner,
      connectBus: this.opts.connectBus,
    });
    try {
      const lock = mutating
        ? await acquireLifecycleLock(this.lockFile(), {
            timeoutMs: this.opts.lockTimeoutMs,
          })
        : undefined;
      try {
        const outcome = await act(ctx);
        // Read the state we report while still holding the lock: once it is released the next
        // queued restart may already be stopping the unit ("restarted" + "deactivating").
        return await this.result(ctx, outcome.status, outcome.extra);
      } finally {
        await lock?.release();
      }
    } finally {
      ctx.api.close();
    }
  }

  private installedUnit(): InstalledUnit | undefined {
    try {
      return parseInstalledUnit(fs.readFileSync(this.unitPath(this.service), 'utf8'));
    } catch {
      return undefined;
    }
  }

  private timeouts(installed: InstalledUnit | undefined): { startMs: number; stopMs: number } {
    const start = (installed?.timeoutStartSec ?? DEFAULT_START_TIMEOUT_SEC) * 1000;
    const stop = (installed?.timeoutStopSec ?? DEFAULT_STOP_TIMEOUT_SEC) * 1000;
    return { startMs: start + JOB_MARGIN_MS, stopMs: stop + JOB_MARGIN_MS };
  }

  private async result(
    ctx: SystemdContext,
    status: StatusRule,
    extra: Record<string, unknown> = {},
  ): Promise<LifecycleResult> {
    const state = await ctx.api.state(this.service);
    const installed = this.installedUnit();
    const s = typeof status === 'function' ? status(state, installed !== undefined) : status;
    const linger =
      this.scope === 'user' ? await readLinger(this.runner, ctx.env, this.userName) : undefined;
    const res = await describe({
      status: s,
      unit: this.service,
      unitPath: this.unitPath(this.service),
      state,
      ...(installed ? { installed } : {}),
      fallback: this.opts.fallback,
      ...(linger !== undefined ? { linger } : {}),
      codexVersion: await codexVersionVia(
        this.runner,
        this.env,
        installed?.codexBin ?? this.opts.fallback.codexPath,
      ),
      via: ctx.api.via,
      extra,
    });
    if (res.reason && s !== 'running')
      res.lastLogLines = await tailLines(this.runner, ctx.env, this.scope, this.service, 5);
    return res;
  }

  /** A job that did not end "done" with the unit active: the error carries the journal tail. */
  private async startFailure(
    ctx: SystemdContext,
    what: string,
    job: string,
  ): Promise<CodexSmError> {
    const st = await ctx.api.state(this.service);
    const why = explainState(st) ?? `job result "${job}", unit ${st.activeState}/${st.subState}`;
    return new CodexSmError('start_failed', `codex-sm.service ${what} failed: ${why}`, {
      hint: `see the log: ${journalCommand(this.scope, this.service)}`,
      exitCode: EXIT.failure,
      details: {
        journal: await tailLines(this.runner, ctx.env, this.scope, this.service, 20),
        journalCommand: journalCommand(this.scope, this.service),
        activeState: st.activeState,
        subState: st.subState,
        result: st.result,
      },
    });
  }

  /** Start (or restart) and insist on "active": for Type=notify that means READY=1 arrived. */
  private async runStart(
    ctx: SystemdContext,
    how: 'start' | 'restart',
    installed: InstalledUnit | undefined,
  ): Promise<void> {
    const t = this.timeouts(installed);
    // An explicit start is the user's decision: clear "failed" and the crash-loop brake first.
    await ctx.api.resetFailed(this.service);
    // A unit file edited on disk but not reloaded would start the old definition (pitfall 9).
    if ((await ctx.api.state(this.service)).needDaemonReload) await ctx.api.reload();
    let job: string;
    if (installed?.socketActivation) {
      // A socket refuses to listen while its service runs on its own ("already active, refusing"),
      // e.g. right after switching to socket activation: stop, open the socket, start.
      if (how === 'restart') await ctx.api.stop(this.service, t.stopMs);
      await ctx.api.start(this.socket, t.startMs);
      job = await ctx.api.start(this.service, t.startMs);
    } else {
      job =
        how === 'start'
          ? await ctx.api.start(this.service, t.startMs)
          : await ctx.api.restart(this.service, t.startMs + t.stopMs);
    }
    const st = await ctx.api.state(this.service);
    if (job !== 'done' || st.activeState !== 'active') throw await this.startFailure(ctx, how, job);
  }

  async install(plan: ServicePlan, opts: { start: boolean }): Promise<LifecycleResult> {
    return this.session(true, async (ctx) => {
      const warnings: string[] = [];
      const full = await preparePlan(plan, ctx);
      const before = await ctx.api.state(this.service);
      if (!full.socketActivation && fs.existsSync(this.unitPath(this.socket))) {
        // Socket activation was on before and is off now: release the port before removing the unit.
        await ctx.api.stop(this.socket, this.timeouts(undefined).stopMs).catch(() => undefined);
        await ctx.api.disable([this.socket]).catch(() => undefined);
      }
      const files = installFiles(full, this.env, warnings);
      const units = renderUnits(full).map((u) => u.name);
      try {
        if (files.changed || before.needDaemonReload) await ctx.api.reload();
        await ctx.api.enable(units);
      } catch (e) {
        files.rollback();
        await ctx.api.reload().catch(() => undefined);
        throw e;
      }
      let action: 'started' | 'restarted' | 'alreadyRunning' | 'notStarted' = 'notStarted';
      if (opts.start) {
        const installed = this.installedUnit();
        if (before.activeState === 'active' && !files.changed) action = 'alreadyRunning';
        else {
          action = before.activeState === 'active' ? 'restarted' : 'started';
          await this.runStart(ctx, action === 'restarted' ? 'restart' : 'start', installed);
        }
      } else if (files.changed && before.activeState === 'active') {
        warnings.push('the running service still uses the previous unit: run `codex-sm restart`');
      }
      let linger =
        this.scope === 'user' ? await readLinger(this.runner, ctx.env, this.userName) : undefined;
      if (this.scope === 'user' && this.opts.enableLinger && linger !== true) {
        linger = await enableLinger(this.runner, ctx.env, this.userName, warnings);
      }
      const lw = this.scope === 'user' ? lingerWarning(linger, this.userName) : undefined;
      if (lw) warnings.push(lw);
      return outcome('installed', {
        action,
        unitChanged: files.changed,
        files: files.written,
        tokenFile: files.tokenFile,
        tokenCreated: files.tokenCreated,
        systemdVersion: full.systemdVersion,
        warnings,
      });
    });
  }

  async uninstall(opts: { purge: boolean }): Promise<LifecycleResult> {
    return this.session(true, async (ctx) => {
      const installed = this.installedUnit();
      const t = this.timeouts(installed);
      const before = await ctx.api.state(this.service);
      const paths = [this.service, this.socket]
        .map((u) => this.unitPath(u))
        .filter((p) => fs.existsSync(p));
      const removed: string[] = [];
      if (paths.length > 0 || before.loadState !== 'not-found') {
        await ctx.api.stop(this.socket, t.stopMs).catch(() => undefined);
        await ctx.api.stop(this.service, t.stopMs);
        await ctx.api.disable([this.service, this.socket]).catch(() => undefined);
        for (const p of paths) {
          fs.rmSync(p, { force: true });
          removed.push(p);
        }
        await ctx.api.reload();
        await ctx.api.resetFailed(this.service);
      }
      const purge = purgeFiles(opts.purge, {
        tokenFile: installed?.tokenFile ?? this.opts.fallback.tokenFile,
        stateDir: this.opts.fallback.stateDir,
        codexHome: installed?.codexHome,
        env: this.env,
      });
      removed.push(...purge.removed);
      const status: LifecycleStatus =
        paths.length > 0 || before.loadState !== 'not-found' ? 'uninstalled' : 'notInstalled';
      return outcome(status, { removed, leftBehind: purge.leftBehind });
    });
  }

  async start(): Promise<LifecycleResult> {
    return this.session(true, async (ctx) => {
      const installed = this.requireInstalled();
      const st = await ctx.api.state(this.service);
      if (st.activeState === 'active' || st.activeState === 'reloading')
        return outcome('alreadyRunning');
      await this.runStart(ctx, 'start', installed);
      return outcome('started');
    });
  }

  async stop(): Promise<LifecycleResult> {
    return this.session(true, async (ctx) => {
      const installed = this.installedUnit();
      const st = await ctx.api.state(this.service);
      if (!installed && st.loadState === 'not-found') return outcome('notInstalled');
      const t = this.timeouts(installed);
      // Stop the socket first, or the next connection would start the service again.
      if (installed?.socketActivation) await ctx.api.stop(this.socket, t.stopMs);
      if (st.activeState === 'inactive' || st.activeState === 'failed')
        return outcome('notRunning');
      const job = await ctx.api.stop(this.service, t.stopMs);
      if (job !== 'done')
        throw new CodexSmError('stop_failed', `stopping codex-sm.service ended with "${job}"`, {
          hint: journalCommand(this.scope, this.service),
        });
      return outcome('stopped');
    });
  }

  async restart(): Promise<LifecycleResult> {
    // Captured before waiting for the lock: a restart that another caller completed after this
    // moment already satisfies ours (20 parallel restarts → one restart, not twenty).
    const requestedUs = Number(process.hrtime.bigint() / 1000n);
    return this.session(true, async (ctx) => {
      const installed = this.requireInstalled();
      const st = await ctx.api.state(this.service);
      if (st.activeState === 'active' && st.execMainStartMonotonicUs > requestedUs) {
        return outcome('restarted', { coalesced: true });
      }
      await this.runStart(ctx, 'restart', installed);
      return outcome('restarted', { coalesced: false });
    });
  }

  async status(): Promise<LifecycleResult> {
    return this.session(false, async () => outcome(statusFromState));
  }

  async logs(opts: LogsOptions, write: (line: string) => void): Promise<void> {
    // journalctl reads the journal files directly: no manager connection needed.
    if (opts.follow) return followJournal(this.env, this.scope, this.service, opts, write);
    for (const e of await readJournal(this.runner, this.env, this.scope, this.service, opts))
      write(opts.json ? JSON.stringify(e) : formatEntry(e));
  }

  private requireInstalled(): InstalledUnit {
    const installed = this.installedUnit();
    if (!installed) {
      throw new CodexSmError(
        'not_installed',
        `codex-sm is not installed as a ${this.scope} service (${this.unitPath(this.service)} does not exist)`,
        {
          hint: `run \`codex-sm install-service${this.scope === 'system' ? ' --system' : ''}\``,
          exitCode: EXIT.failure,
        },
      );
    }
    return installed;
  }
}
