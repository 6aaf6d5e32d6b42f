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
import { codexVersion } from '../codex.js';
import { endpointFor, fetchServiceStatus, type ServiceStatusJson } from '../client.js';
import { CodexSmError } from '../errors.js';
import { packageInfo } from '../package-info.js';
import type { Env } from '../paths.js';
import { acquireLifecycleLock } from '../platform/lock.js';
import type { ServicePlan } from '../platform/types.js';
import { readTokenFile } from '../token.js';
import { ensureSecrets, filesDiffer, purgeFiles, writeFiles, type Account } from './files.js';
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
  filesDigest,
  readInstallRecord,
  RECORD_VERSION,
  writeInstallRecord,
  type InstallRecord,
} from './record.js';

/** What the current config says, for a service installed without a record (or not at all). */
export interface ConfigFallback {
  host: string;
  port: number;
  tokenFile: string;
  secretsFile: string;
  stateDir: string;
  codexHome: string;
  codexPath?: string;
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
}

function isRunning(st: JobState): boolean {
  return st.activeState === 'active' || st.activeState === 'reloading';
}

function isUp(st: JobState): boolean {
  return isRunning(st) || st.activeState === 'activating' || st.activeState === 'deactivating';
}

/** The service's /status when it is up and our token opens it. */
async function serviceStatusVia(
  endpoint: string,
  tokenFile: string,
): Promise<ServiceStatusJson | undefined> {
  let token: string | undefined;
  try {
    token = readTokenFile(tokenFile);
  } catch {
    token = undefined;
  }
  return fetchServiceStatus(endpoint, token, 3000);
}

/** The record without its timestamp, to tell whether a reinstall changed anything. */
function sameInstall(a: InstallRecord | undefined, b: InstallRecord): boolean {
  return (
    a !== undefined &&
    JSON.stringify({ ...a, installedAt: '' }) === JSON.stringify({ ...b, installedAt: '' })
  );
}

export class LifecycleEngine {
  private readonly backend: ServiceBackend;

  constructor(private readonly opts: EngineOptions) {
    this.backend = opts.backend;
  }

  /** Run one command: connect, lock when it mutates, always release and disconnect. */
  private async run<T>(mutating: boolean, act: (s: BackendSession) => Promise<T>): Promise<T> {
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

  private record(): InstallRecord | undefined {
    return readInstallRecord(this.backend.recordPath);
  }

  /** The record, or for a unit installed without one (an older codex-sm) the config's values. */
  private recordOrFallback(warnings: string[]): InstallRecord | undefined {
    const record = this.record();
    if (record) return record;
    const present = this.backend.knownFiles.filter((p) => fs.existsSync(p));
    if (present.length === 0) return undefined;
    warnings.push(
      `no install record at ${this.backend.recordPath} (installed by an older codex-sm?): endpoint and paths come from the current config; run \`codex-sm install-service\` again to record them`,
    );
    return { ...this.fallbackRecord(), files: present };
  }

  private fallbackRecord(): InstallRecord {
    const f = this.opts.fallback;
    return {
      version: RECORD_VERSION,
      backend: this.backend.backend,
      scope: this.backend.scope,
      installedAt: '',
      cliVersion: packageInfo().version,
      files: [],
      endpoint: endpointFor(f.host, f.port),
      host: f.host,
      port: f.port,
      tokenFile: f.tokenFile,
      secretsFile: f.secretsFile,
      stateDir: f.stateDir,
      codexHome: f.codexHome,
      codexPath: f.codexPath ?? '',
      socketActivation: false,
      updater: false,
      startTimeoutSec: 90,
      stopTimeoutSec: 15,
      logFiles: this.backend.logFiles(),
      activeDigest: null,
    };
  }

  private requireRecord(warnings: string[]): InstallRecord {
    const record = this.recordOrFallback(warnings);
    if (record) return record;
    throw new CodexSmError(
      'not_installed',
      `codex-sm is not installed as a ${this.backend.scope} service (${this.backend.unitPath} does not exist)`,
      {
        hint: `run \`codex-sm install-service${this.backend.scope === 'system' ? ' --system' : ''}\``,
      },
    );
  }

  /** The job now runs from the record's files as they are: remember which (a recorded install only). */
  private markActive(record: InstallRecord): void {
    if (!this.record()) return; // an install without a record (older codex-sm): not ours to write
    const digest = filesDigest(record.files);
    if (record.activeDigest === digest) return;
    record.activeDigest = digest;
    writeInstallRecord(this.backend.recordPath, record);
  }

  /** What every command reports about the service, read while the lock is still held. */
  private async view(
    s: BackendSession,
    record: InstallRecord | undefined,
    warnings: string[],
    linger?: boolean | null,
  ): Promise<{ view: ServiceView; state: JobState }> {
    const ref = record ?? this.fallbackRecord();
    const st = await s.state();
    const running = isRunning(st);
    const statusOf = this.opts.serviceStatus ?? serviceStatusVia;
    const svc = running ? await statusOf(ref.endpoint, ref.tokenFile) : undefined;
    if (svc && st.mainPid !== null && svc.pid !== st.mainPid)
      warnings.push(
        `${ref.endpoint} is answered by pid ${svc.pid}, not by the manager's pid ${st.mainPid}`,
      );
    const versionOf =
      this.opts.codexVersion ?? ((p: string) => codexVersion(p).catch(() => undefined));
    const statusText =
      st.statusText ||
      svc?.statusText ||
      (running ? `running; not answering on ${ref.endpoint}` : '');
    const view: ServiceView = {
      backend: this.backend.backend,
      scope: this.backend.scope,
      unit: st.unit,
      unitPath: this.backend.unitPath,
      mainPid: st.mainPid,
      activeState: st.activeState,
      subState: st.subState,
      nRestarts: st.nRestarts,
      statusText,
      endpoint: ref.endpoint,
      codexPath: ref.codexPath || null,
      codexVersion: (ref.codexPath ? await versionOf(ref.codexPath) : undefined) ?? null,
      appServerVersion: svc?.appServer?.version ?? null,
      linger: linger === undefined ? await s.linger('read', []) : linger,
      updater: await s.updater(),
      reason: st.reason,
      lastLogLines: st.reason && !running ? await s.tail(record, 5) : [],
      service: svc
        ? {
            pid: svc.pid,
            state: svc.state,
            statusText: svc.statusText,
            uptimeSec: svc.uptimeSec,
            appServer: svc.appServer,
            pendingRestart: svc.pendingRestart ?? [],
          }
        : null,
      configError: this.opts.configError ?? null,
      recordPath: this.backend.recordPath,
      warnings: [...warnings, ...s.notes],
      native: st.native,
    };
    return { view, state: st };
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

  async install(
    plan: ServicePlan,
    opts: { start: boolean; enableLinger?: boolean; warnings?: string[] },
  ): Promise<InstallOutput> {
    return this.run(true, async (s) => {
      const warnings = [...(opts.warnings ?? [])];
      const full = await this.backend.prepare(plan, 'install');
      const rendered = this.backend.render(full);
      const previous = this.record();
      const wanted = rendered.files.map((f) => f.path);
      const stale = (previous?.files ?? this.backend.knownFiles).filter((p) => !wanted.includes(p));
      const record: InstallRecord = {
        version: RECORD_VERSION,
        backend: this.backend.backend,
        scope: this.backend.scope,
        installedAt: new Date().toISOString(),
        cliVersion: packageInfo().version,
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
      const changed = filesDiffer(rendered.files, retired);
      const written = writeFiles(rendered.files, retired);
      try {
        if (changed) await s.reload();
        await s.enable(wanted);
      } catch (e) {
        written.rollback();
        await s.reload().catch(() => undefined);
        throw e;
      }
      if (!sameInstall(previous, record)) writeInstallRecord(this.backend.recordPath, record);
      const running = isRunning(before);
      // Running from these very files: nothing to do. Running from older ones (written by an
      // install --no-start) or from unknown ones: restart.
      const current = running && record.activeDigest === filesDigest(record.files);
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
        if (!current) this.markActive(record);
      } else if (!current && running) {
        warnings.push(
          'the running service still uses the previous definition: run `codex-sm restart`',
        );
      }
      const linger = await s.linger(opts.enableLinger ? 'enable' : 'check', warnings);
      const { view } = await this.view(s, record, warnings, linger);
      return {
        ...view,
        status: 'installed',
        action,
        unitChanged: changed,
        files: written.changed,
        tokenFile: record.tokenFile,
        tokenCreated,
      };
    });
  }

  async uninstall(opts: { purge: boolean }): Promise<UninstallOutput> {
    return this.run(true, async (s) => {
      const warnings: string[] = [];
      const record = this.record();
      const ref = record ?? this.fallbackRecord();
      const st = await s.state();
      const recorded = record?.files ?? [];
      const present = [...new Set([...recorded, ...this.backend.knownFiles])].filter((p) =>
        fs.existsSync(p),
      );
      const files = [...new Set([...recorded, ...present])];
      const installed = present.length > 0 || st.loaded || record !== undefined;
      const removed: string[] = [];
      if (installed) {
        await s.disable(files);
        for (const p of present) {
          fs.rmSync(p, { force: true });
          removed.push(p);
        }
        await s.reload();
      }
      fs.rmSync(this.backend.recordPath, { force: true });
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
    return this.run(true, async (s) => {
      const warnings: string[] = [];
      const record = this.requireRecord(warnings);
      if (isRunning(await s.state())) {
        const { view } = await this.view(s, record, warnings);
        return { ...view, status: 'alreadyRunning' };
      }
      await s.start(record);
      this.markActive(record);
      const { view } = await this.view(s, record, warnings);
      return { ...view, status: 'started' };
    });
  }

  async stop(): Promise<StopOutput> {
    return this.run(true, async (s) => {
      const warnings: string[] = [];
      const record = this.recordOrFallback(warnings);
      const before = await s.state();
      if (!record && !before.loaded) {
        const { view } = await this.view(s, record, warnings);
        return { ...view, status: 'notInstalled' };
      }
      await s.stop(record ?? this.fallbackRecord());
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
    return this.run(true, async (s) => {
      const warnings: string[] = [];
      const record = this.requireRecord(warnings);
      const st = await s.state();
      const coalesced = isRunning(st) && st.startedAtUs !== null && st.startedAtUs > requestedUs;
      if (!coalesced) {
        await s.restart(record);
        this.markActive(record);
      }
      const { view } = await this.view(s, record, warnings);
      return { ...view, status: 'restarted', coalesced };
    });
  }

  async status(): Promise<StatusOutput> {
    return this.run(false, async (s) => {
      const warnings: string[] = [];
      const record = this.recordOrFallback(warnings);
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
    await this.backend.logs(this.recordOrFallback([]), opts, write);
  }
}
