/**
 * The lifecycle engine: install, uninstall, start, stop, restart, status and logs, over one
 * ServiceBackend (./port.ts), in the shape of Codex's own app-server-daemon (`Daemon::run` over
 * `backend/`). It owns what must be the same on every OS:
 * - the one lifecycle lock (mutating commands run one after the other, per user or per system);
 * - the idempotence decisions (`alreadyRunning`, `notRunning`, `notInstalled`, coalesced restarts);
 * - the install record (./record.ts), written after the files it names and before any start;
 * - the token, secrets and --purge steps (./files.ts);
 * - one typed output per command (./outputs.ts).
 * Backends only carry out what the engine decided.
 */
import fs from 'node:fs';
import type { ServiceStatusJson } from '../../service/status-json.js';
import { endpointFor } from '../client.js';
import { CodexSmError } from '../errors.js';
import { packageInfo } from '../package-info.js';
import type { Env } from '../paths.js';
import { acquireLifecycleLock } from '../platform/lock.js';
import type { ServicePlan } from '../platform/types.js';
import { ensureSecrets, purgeFiles, writeFiles, type Account, type WrittenFiles } from './files.js';
import type {
  InstallAction,
  InstallOutput,
  PlanOutput,
  RestartOutput,
  ServiceView,
  StartOutput,
  StatusOutput,
  StopOutput,
  UninstallOutput,
} from './outputs.js';
import type { BackendSession, JobState, LogsOptions, ServiceBackend } from './port.js';
import {
  activeVersionOf,
  filesDigest,
  InstallRecords,
  RECORD_VERSION,
  type ConfigFallback,
  type InstallRecord,
} from './record.js';
import { describeService, isRunning, isUp } from './view.js';

export interface InstallOptions {
  start: boolean;
  enableLinger?: boolean;
  /** Warnings from before the install (e.g. the dry-run codex assumption). */
  warnings?: string[];
}

export interface EngineOptions {
  backend: ServiceBackend;
  /** The environment of the account the service runs as. */
  env: Env;
  lockFile: string;
  lockTimeoutMs?: number;
  /** Whether this process may manage a system-scope service. */
  isRoot: boolean;
  /** For a root install of a system unit: who owns the token and secrets. */
  account?: Account;
  fallback: ConfigFallback;
  /** The current config does not validate (reported, not fatal, except for install). */
  configError?: string;
  serviceStatus?: (endpoint: string, tokenFile: string) => Promise<ServiceStatusJson | undefined>;
  codexVersion?: (codexPath: string) => Promise<string | undefined>;
  /** CLOCK_MONOTONIC in µs (the clock systemd stamps process starts with). */
  monotonicUs?: () => number;
  /** This codex-sm's version (package.json); tests stand in another to model an upgrade. */
  cliVersion?: string;
}

/** The record without its timestamp, to tell whether a reinstall changed anything. */
function sameInstall(a: InstallRecord | undefined, b: InstallRecord): boolean {
  return (
    a !== undefined &&
    JSON.stringify({ ...a, installedAt: '' }) === JSON.stringify({ ...b, installedAt: '' })
  );
}

export class LifecycleEngine {
  readonly backend: ServiceBackend;
  readonly records: InstallRecords;
  readonly cliVersion: string;

  constructor(private readonly opts: EngineOptions) {
    this.backend = opts.backend;
    this.cliVersion = opts.cliVersion ?? packageInfo().version;
    this.records = new InstallRecords(opts.backend, opts.fallback, this.cliVersion);
  }

  /**
   * Run one command: connect, take the lifecycle lock when it mutates, always release and
   * disconnect. The one place the lock is taken; commands built on the engine (bootstrap,
   * remote control, update) run their steps inside it too.
   */
  async session<T>(mutating: boolean, act: (s: BackendSession) => Promise<T>): Promise<T> {
    if (mutating && this.backend.scope === 'system' && !this.opts.isRoot) {
      throw new CodexSmError('needs_root', 'managing the system unit needs root', {
        hint: 'run it with sudo',
      });
    }
    const session = await this.backend.open();
    try {
      const lock = mutating
        ? await acquireLifecycleLock(this.opts.lockFile, { timeoutMs: this.opts.lockTimeoutMs })
        : undefined;
      try {
        return await act(session);
      } finally {
        await lock?.release();
      }
    } finally {
      session.close();
    }
  }

  /** What every command reports about the service, read while the lock is still held. */
  view(
    s: BackendSession,
    record: InstallRecord | undefined,
    warnings: string[],
    linger?: boolean | null,
  ): Promise<{ view: ServiceView; state: JobState }> {
    return describeService(
      {
        backend: this.backend,
        records: this.records,
        ...(this.opts.configError ? { configError: this.opts.configError } : {}),
        ...(this.opts.serviceStatus ? { serviceStatus: this.opts.serviceStatus } : {}),
        ...(this.opts.codexVersion ? { codexVersion: this.opts.codexVersion } : {}),
        cliVersion: this.cliVersion,
      },
      s,
      record,
      warnings,
      linger,
    );
  }

  /** What an install would write and run (--dry-run): no lock, no manager, no files. */
  async plan(plan: ServicePlan, warnings: string[] = []): Promise<PlanOutput> {
    const full = await this.backend.prepare(plan, 'preview');
    const rendered = this.backend.render(full);
    return {
      status: 'planned',
      backend: this.backend.backend,
      scope: this.backend.scope,
      unit: rendered.unit,
      unitPath: this.backend.unitPath,
      endpoint: endpointFor(full.host, full.port),
      codexPath: full.codexPath,
      files: rendered.files,
      commands: rendered.commands,
      warnings,
    };
  }

  async install(plan: ServicePlan, opts: InstallOptions): Promise<InstallOutput> {
    return this.session(true, (s) => this.installIn(s, plan, opts));
  }

  /** install-service's steps, in a session that holds the lock (bootstrap builds on it). */
  async installIn(
    s: BackendSession,
    plan: ServicePlan,
    opts: InstallOptions,
  ): Promise<InstallOutput> {
    const warnings = [...(opts.warnings ?? [])];
    const full = await this.backend.prepare(plan, 'install');
    const rendered = this.backend.render(full);
    const previous = this.records.read();
    const wanted = rendered.files.map((f) => f.path);
    const stale = (previous?.files ?? this.backend.knownFiles).filter((p) => !wanted.includes(p));
    const record: InstallRecord = {
      version: RECORD_VERSION,
      backend: this.backend.backend,
      scope: this.backend.scope,
      installedAt: new Date().toISOString(),
      cliVersion: this.cliVersion,
      files: wanted,
      endpoint: endpointFor(full.host, full.port),
      host: full.host,
      port: full.port,
      tokenFile: full.tokenFile,
      secretsFile: full.secretsEnvFile,
      stateDir: full.stateDir,
      codexHome: full.codexHome,
      codexPath: full.codexPath,
      socketActivation: full.socketActivation,
      updater: full.updater,
      startTimeoutSec: full.startTimeoutSec,
      stopTimeoutSec: full.stopTimeoutSec,
      logFiles: rendered.logFiles,
      activeDigest: previous?.activeDigest ?? null,
      activeCliVersion: activeVersionOf(previous),
    };
    const before = await s.state();
    const { tokenCreated } = ensureSecrets(
      {
        tokenFile: record.tokenFile,
        secretsFile: record.secretsFile,
        ...(this.opts.account ? { account: this.opts.account } : {}),
      },
      warnings,
    );
    // Jobs of files this install no longer writes (e.g. the socket after --socket-activation
    // was dropped) are stopped while their files still exist.
    const retired = stale.filter((p) => fs.existsSync(p));
    if (retired.length) await s.disable(retired);
    let written: WrittenFiles | undefined;
    try {
      written = writeFiles(rendered.files, retired);
      // Always: a run killed between writing and reloading left files the manager has not read.
      await s.reload();
      await s.enable(wanted);
    } catch (e) {
      // Put back what was there, jobs included, before anything else can go wrong.
      written?.rollback();
      await s.reload().catch(() => undefined);
      if (retired.length) await s.enable(retired).catch(() => undefined);
      throw e;
    }
    const changed = written.changed.length > 0;
    if (!sameInstall(previous, record)) this.records.write(record);
    const running = isRunning(before);
    // Running from these very files as this very version: nothing to do. Running from older
    // files (written by an install --no-start), unknown ones, or older code under the same files
    // (an upgrade in place: `npm update -g`, a newer .deb): restart.
    const sameFiles = record.activeDigest === filesDigest(record.files);
    const runningAs = activeVersionOf(record);
    const upgradedFrom = running && runningAs !== this.cliVersion ? runningAs : null;
    const current = running && sameFiles && runningAs === this.cliVersion;
    let action: InstallAction = 'notStarted';
    if (opts.start) {
      if (current) action = 'alreadyRunning';
      else if (running) {
        await s.restart(record);
        action = 'restarted';
      } else {
        await s.start(record);
        action = 'started';
      }
      if (!current) this.records.markActive(record);
    } else if (!current && running) {
      warnings.push(
        sameFiles
          ? `the running service is still codex-sm ${upgradedFrom ?? '(an unknown version)'}, this is ${this.cliVersion}: run \`codex-sm restart\``
          : 'the running service still uses the previous definition: run `codex-sm restart`',
      );
    }
    const linger = await s.linger(opts.enableLinger ? 'enable' : 'check', warnings);
    const { view } = await this.view(s, record, warnings, linger);
    return {
      ...view,
      status: 'installed',
      action,
      unitChanged: changed,
      cliVersion: this.cliVersion,
      upgradedFrom,
      files: written.changed,
      tokenFile: record.tokenFile,
      tokenCreated,
    };
  }

  async uninstall(opts: { purge: boolean }): Promise<UninstallOutput> {
    return this.session(true, async (s) => {
      const warnings: string[] = [];
      const record = this.records.read();
      const ref = record ?? this.records.fromConfig();
      const st = await s.state();
      const recorded = record?.files ?? [];
      const present = [...new Set([...recorded, ...this.backend.knownFiles])].filter((p) =>
        fs.existsSync(p),
      );
      const files = [...new Set([...recorded, ...present])];
      const installed = present.length > 0 || st.loaded || record !== undefined;
      // The record goes first: a run killed after it still finds the files (knownFiles), while
      // a record left behind would name jobs the manager has already forgotten.
      this.records.remove();
      const removed: string[] = [];
      if (installed) {
        await s.disable(files);
        for (const p of present) {
          fs.rmSync(p, { force: true });
          removed.push(p);
        }
        await s.reload();
      }
      const purge = purgeFiles({
        purge: opts.purge,
        tokenFile: ref.tokenFile,
        secretsFile: ref.secretsFile,
        stateDir: ref.stateDir,
        logFiles: ref.logFiles,
        ...(record ? { codexHome: record.codexHome } : {}),
        journal: this.backend.backend === 'systemd',
        env: this.opts.env,
      });
      return {
        status: installed ? 'uninstalled' : 'notInstalled',
        backend: this.backend.backend,
        scope: this.backend.scope,
        unit: st.unit,
        unitPath: this.backend.unitPath,
        removed: [...removed, ...purge.removed],
        leftBehind: purge.leftBehind,
        warnings,
      };
    });
  }

  async start(): Promise<StartOutput> {
    return this.session(true, async (s) => {
      const warnings: string[] = [];
      const record = this.records.require(warnings);
      if (isRunning(await s.state())) {
        const { view } = await this.view(s, record, warnings);
        return { ...view, status: 'alreadyRunning' };
      }
      await s.start(record);
      this.records.markActive(record);
      const { view } = await this.view(s, record, warnings);
      return { ...view, status: 'started' };
    });
  }

  async stop(): Promise<StopOutput> {
    return this.session(true, async (s) => {
      const warnings: string[] = [];
      const record = this.records.readOrFallback(warnings);
      const before = await s.state();
      if (!record && !before.loaded) {
        const { view } = await this.view(s, record, warnings);
        return { ...view, status: 'notInstalled' };
      }
      await s.stop(record ?? this.records.fromConfig());
      const { view } = await this.view(s, record, warnings);
      return { ...view, status: isUp(before) ? 'stopped' : 'notRunning' };
    });
  }

  async restart(): Promise<RestartOutput> {
    // Taken before waiting for the lock: a restart another caller completed after this moment
    // already satisfies ours (20 parallel restarts → one restart, not twenty).
    const requestedUs = (
      this.opts.monotonicUs ?? (() => Number(process.hrtime.bigint() / 1000n))
    )();
    return this.session(true, async (s) => {
      const warnings: string[] = [];
      const record = this.records.require(warnings);
      const st = await s.state();
      const coalesced = isRunning(st) && st.startedAtUs !== null && st.startedAtUs > requestedUs;
      if (!coalesced) {
        await s.restart(record);
        this.records.markActive(record);
      }
      const { view } = await this.view(s, record, warnings);
      return { ...view, status: 'restarted', coalesced };
    });
  }

  async status(): Promise<StatusOutput> {
    return this.session(false, async (s) => {
      const warnings: string[] = [];
      const record = this.records.readOrFallback(warnings);
      const { view, state } = await this.view(s, record, warnings);
      const status: StatusOutput['status'] =
        !record && !state.loaded
          ? 'notInstalled'
          : isRunning(state)
            ? 'running'
            : state.activeState === 'failed'
              ? 'failed'
              : 'notRunning';
      return { ...view, status };
    });
  }

  async logs(opts: LogsOptions, write: (line: string) => void): Promise<void> {
    await this.backend.logs(this.records.readOrFallback([]), opts, write);
  }
}
