/**
 * The launchd backend of the lifecycle engine (src/lifecycle/port.ts): a LaunchAgent driven with
 * launchctl's modern verbs (bootstrap, bootout, enable, kickstart, print) through the
 * CommandRunner, readiness from the service's own /readyz (launchd has no READY=1).
 *
 *   not loaded ──start──► bootstrap (gui/<uid>, or user/<uid> over SSH) ──► wait for /readyz
 *   loaded, plist unchanged: start = kickstart, restart = kickstart -k
 *   loaded, plist changed since it was loaded (./agent-files.ts): bootout + bootstrap
 *   stop / disable = bootout, polled until launchd has forgotten the job
 *
 * Where the job is loaded is not recorded: every command probes gui then user with `print`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { serviceRequest } from '../../client.js';
import { CodexSmError, EXIT } from '../../errors.js';
import type {
  BackendSession,
  JobState,
  ServiceBackend,
  UpdaterState,
} from '../../lifecycle/port.js';
import type { InstallRecord } from '../../lifecycle/record.js';
import type { CommandRunner } from '../../runner.js';
import { readTokenOrUndefined } from '../../token.js';
import type { ServicePlan } from '../types.js';
import {
  definitionChanged,
  logSources,
  rememberLoadedDefinition,
  type AgentFiles,
} from './agent-files.js';
import { launchdJobs, type LaunchdJobs, type LoadedJob } from './jobs.js';
import { launchctlVia } from './launchctl.js';
import { readLastLines, showLogFiles } from './logs.js';
import { describeLastExit, launchdActivity } from './parse.js';
import {
  defaultLaunchdLogDir,
  launchAgentPath,
  launchdLogPaths,
  renderPlist,
  renderUpdaterPlist,
  updaterLabel,
} from './render.js';
import { updaterName } from '../updater.js';

export interface LaunchdBackendOptions {
  runner: CommandRunner;
  uid: number;
  home: string;
  label: string;
  /** Where the copy of the loaded plist and the install record are kept. */
  stateDir: string;
  /** Default ~/Library/LaunchAgents/<label>.plist. */
  plistPath?: string;
  /** Default ~/Library/Logs/codex-sm. */
  logDir?: string;
  /** Between `launchctl print` / `/readyz` polls (default 200 ms). */
  pollIntervalMs?: number;
  /** How long bootout may take to drain (default 30 s). */
  drainTimeoutMs?: number;
  /** The launchctl binary (default `launchctl` from PATH, /bin/launchctl on every Mac). */
  launchctl?: string;
}

function jobState(job: LoadedJob | undefined, guiTarget: string, logFiles: string[]): JobState {
  const info = job?.info ?? {};
  const activity = job ? launchdActivity(info) : 'inactive';
  const lastExit = describeLastExit(info);
  const failed = activity === 'failed';
  return {
    loaded: job !== undefined,
    unit: job?.target ?? guiTarget,
    activeState: activity,
    subState: job ? (info.state ?? 'unknown') : 'not loaded',
    mainPid: info.pid ?? null,
    nRestarts: Math.max(0, (info.runs ?? 0) - 1),
    // launchd has no STATUS=: say what print says, the service's own /status speaks when it runs.
    statusText:
      job && activity !== 'active'
        ? `${info.state ?? 'loaded'}${lastExit ? `, last run ${lastExit}` : ''}`
        : '',
    startedAtUs: null,
    reason: failed
      ? info.lastExitCode === EXIT.config
        ? 'exited with status 78 (EX_CONFIG: configuration error) — see `codex-sm logs`, fix the config, then `codex-sm start`'
        : `last run ${lastExit ?? 'failed'}; launchd restarts it every ThrottleInterval`
      : null,
    native: {
      domain: job?.domain ?? null,
      runs: info.runs ?? null,
      lastExitCode: info.lastExitCode ?? null,
      lastSignal: info.lastSignal ?? null,
      lastExitReason: info.lastExitReason ?? null,
      logFiles,
    },
  };
}

/** One LaunchAgent: its launchctl operations and its files. */
interface Agent {
  jobs: LaunchdJobs;
  files: AgentFiles;
}

class LaunchdSession implements BackendSession {
  readonly notes: string[] = [];
  private readonly jobs: LaunchdJobs;
  private readonly files: AgentFiles;

  constructor(
    service: Agent,
    private readonly updaterAgent: Agent,
    private readonly opts: LaunchdBackendOptions & { pollIntervalMs: number },
  ) {
    this.jobs = service.jobs;
    this.files = service.files;
  }

  private logPaths(): string[] {
    return logSources(this.files).map((s) => s.path);
  }

  async state(): Promise<JobState> {
    return jobState(await this.jobs.locate(), this.jobs.guiTarget, this.logPaths());
  }

  async reload(): Promise<void> {
    // launchd reads a plist at bootstrap; there is nothing to re-read before that.
  }

  async enable(files: readonly string[]): Promise<void> {
    // launchd opens StandardOutPath itself and does not create missing directories.
    fs.mkdirSync(this.files.logDir, { recursive: true, mode: 0o755 });
    // A `launchctl disable` override survives bootout and rewrites; enabled, the agent loads at login.
    const { result, outcome } = await this.jobs.lc.run(['enable', this.jobs.guiTarget]);
    if (outcome !== 'ok' && outcome !== 'noSession')
      throw this.jobs.fail(['enable', this.jobs.guiTarget], result);
    if (files.includes(this.updaterAgent.files.plistPath)) await this.loadUpdater();
  }

  /** The updater runs only while loaded (StartInterval): load it, or reload a changed plist. */
  private async loadUpdater(): Promise<void> {
    const { jobs, files } = this.updaterAgent;
    const at = await jobs.locate();
    if (at && !definitionChanged(files, at.info)) return;
    if (at) await jobs.bootoutAndWait(at.target);
    await jobs.bootstrapAgent(this.notes);
  }

  async disable(files: readonly string[]): Promise<void> {
    for (const { jobs, files: agentFiles } of [
      this.updaterAgent,
      { jobs: this.jobs, files: this.files },
    ]) {
      if (!files.includes(agentFiles.plistPath)) continue;
      const at = await jobs.locate();
      if (at) await jobs.bootoutAndWait(at.target);
      fs.rmSync(agentFiles.recordPath, { force: true });
    }
  }

  async updater(): Promise<UpdaterState | null> {
    const { jobs, files } = this.updaterAgent;
    if (!fs.existsSync(files.plistPath)) return null;
    const at = await jobs.locate();
    // StartInterval counts from when launchd loaded the job; launchd does not say when that was.
    return { unit: at?.target ?? jobs.guiTarget, active: at !== undefined, nextRun: null };
  }

  /** Wait until the service answers /readyz from a process other than `since.pid`. */
  private async waitForReady(
    record: InstallRecord,
    since: { pid?: number; runs: number },
  ): Promise<void> {
    const token = readTokenOrUndefined(record.tokenFile);
    const deadline = Date.now() + record.startTimeoutSec * 1000;
    for (;;) {
      const at = await this.jobs.locate();
      if (!at)
        throw this.notReady(
          record,
          'was unloaded from launchd while starting (someone ran `launchctl bootout`?)',
          undefined,
        );
      const newProcess = at.info.pid !== undefined && at.info.pid !== since.pid;
      if (newProcess && (await this.answersReady(record.endpoint, token))) return;
      const exitedSince = (at.info.runs ?? 0) > since.runs && at.info.pid === undefined;
      if (exitedSince && at.info.lastExitCode === EXIT.config) {
        // The service refused its config; launchd would respawn it every ThrottleInterval for ever.
        await this.jobs.bootoutAndWait(at.target);
        throw this.notReady(
          record,
          'exited with 78 (EX_CONFIG): its configuration is invalid; unloaded it to stop the restart loop',
          at,
          EXIT.config,
        );
      }
      if (Date.now() > deadline)
        throw this.notReady(
          record,
          `did not answer ${record.endpoint}/readyz within ${record.startTimeoutSec}s; launchd keeps trying to start it`,
          at,
          EXIT.tempFail,
        );
      await delay(this.opts.pollIntervalMs);
    }
  }

  private async answersReady(endpoint: string, token: string | undefined): Promise<boolean> {
    try {
      return (await serviceRequest(endpoint, token, '/readyz', { timeoutMs: 2000 })).status === 200;
    } catch {
      return false;
    }
  }

  private notReady(
    record: InstallRecord,
    why: string,
    at: LoadedJob | undefined,
    exitCode: number = EXIT.failure,
  ): CodexSmError {
    const st = jobState(at, this.jobs.guiTarget, this.logPaths());
    return new CodexSmError('start_failed', `${this.opts.label} ${why}`, {
      hint: 'see `codex-sm logs`; fix the cause, then `codex-sm start`',
      exitCode,
      details: {
        lastLogLines: this.tailSync(record, 20),
        logCommand: 'codex-sm logs',
        activeState: st.activeState,
        subState: st.subState,
        lastExit: at ? (describeLastExit(at.info) ?? null) : null,
      },
    });
  }

  async start(record: InstallRecord): Promise<void> {
    const at = await this.jobs.locate();
    let since = { runs: 0 };
    if (!at) await this.bootstrap();
    else if (definitionChanged(this.files, at.info)) {
      // kickstart would start the definition launchd loaded, not the one on disk.
      await this.jobs.bootoutAndWait(at.target);
      await this.bootstrap();
    } else {
      const args = ['kickstart', at.target];
      const { result, outcome } = await this.jobs.lc.run(args);
      if (outcome === 'notFound')
        await this.bootstrap(); // unloaded since we looked
      else if (outcome !== 'ok') throw this.jobs.fail(args, result, at.target);
      else since = { runs: at.info.runs ?? 0 };
    }
    await this.waitForReady(record, since);
  }

  async restart(record: InstallRecord): Promise<void> {
    const at = await this.jobs.locate();
    if (!at || definitionChanged(this.files, at.info)) {
      if (at) await this.jobs.bootoutAndWait(at.target);
      await this.bootstrap();
      return this.waitForReady(record, { runs: 0 });
    }
    const args = ['kickstart', '-k', at.target];
    const { result, outcome } = await this.jobs.lc.run(args);
    if (outcome !== 'ok') throw this.jobs.fail(args, result, at.target);
    await this.waitForReady(record, {
      ...(at.info.pid !== undefined ? { pid: at.info.pid } : {}),
      runs: at.info.runs ?? 0,
    });
  }

  private async bootstrap(): Promise<void> {
    await this.jobs.bootstrapAgent(this.notes);
  }

  async stop(): Promise<void> {
    const at = await this.jobs.locate();
    if (at) await this.jobs.bootoutAndWait(at.target);
  }

  private tailSync(_record: InstallRecord | undefined, lines: number): string[] {
    const stderr = logSources(this.files).find((s) => s.stream === 'stderr');
    return stderr ? readLastLines(stderr.path, lines).lines : [];
  }

  async tail(record: InstallRecord | undefined, lines: number): Promise<string[]> {
    return this.tailSync(record, lines);
  }

  async linger(): Promise<null> {
    // A LaunchAgent runs while its user is logged in (gui) or has a session (user); no linger.
    return null;
  }

  close(): void {}
}

export function launchdBackend(opts: LaunchdBackendOptions): ServiceBackend {
  const plistPath = opts.plistPath ?? launchAgentPath(opts.home, opts.label);
  const logDir = opts.logDir ?? defaultLaunchdLogDir(opts.home);
  const pollIntervalMs = opts.pollIntervalMs ?? 200;
  const agent = (label: string, plist: string, name: string): Agent => {
    const files: AgentFiles = {
      plistPath: plist,
      recordPath: path.join(opts.stateDir, 'launchd', `${label}.loaded.plist`),
      logDir,
      name,
    };
    const jobs = launchdJobs({
      lc: launchctlVia(opts.runner, opts.launchctl),
      uid: opts.uid,
      label,
      plistPath: plist,
      pollMs: pollIntervalMs,
      drainTimeoutMs: opts.drainTimeoutMs ?? 30_000,
      onBootstrapped: () => rememberLoadedDefinition(files),
    });
    return { jobs, files };
  };
  const name = 'codex-sm';
  const updaterPlan = { name, label: opts.label };
  const updaterPlist = launchAgentPath(opts.home, updaterLabel(updaterPlan));
  // Stateless wrappers over launchctl and the agents' files: one of each serves every session.
  const service = agent(opts.label, plistPath, name);
  const updater = agent(updaterLabel(updaterPlan), updaterPlist, updaterName(updaterPlan));
  const files = service.files;
  const guiTarget = `gui/${opts.uid}/${opts.label}`;
  return {
    backend: 'launchd',
    scope: 'user',
    unitPath: plistPath,
    recordPath: path.join(opts.stateDir, 'launchd', `${opts.label}.install.json`),
    logCommand: 'codex-sm logs',
    knownFiles: [plistPath, updaterPlist],
    // What the plist on disk names (an agent installed by hand or an older codex-sm), else the defaults.
    logFiles: () => logSources(files).map((s) => s.path),

    async prepare(plan: ServicePlan, purpose) {
      if (purpose === 'install' && opts.uid === 0) {
        throw new CodexSmError(
          'launchd_root',
          'a LaunchAgent runs as the logged-in user, not as root',
          {
            hint: 'run `codex-sm install-service` without sudo, as the user who will use it',
          },
        );
      }
      return plan;
    },

    render(plan) {
      const logs = launchdLogPaths(plan.logDir, plan.name);
      const updaterLogs = launchdLogPaths(plan.logDir, updaterName(plan));
      return {
        unit: guiTarget,
        files: [
          { path: plistPath, mode: 0o644, content: renderPlist(plan) },
          ...(plan.updater
            ? [{ path: updaterPlist, mode: 0o644, content: renderUpdaterPlist(plan) }]
            : []),
        ],
        // bootout only acts when an old instance is loaded (then polled with `print` until gone);
        // bootstrap falls back to user/<uid> on error 125 (no GUI session).
        commands: [
          ['launchctl', 'bootout', guiTarget],
          ['launchctl', 'enable', guiTarget],
          ['launchctl', 'bootstrap', `gui/${opts.uid}`, plistPath],
        ],
        logFiles: [
          logs.stdout,
          logs.stderr,
          ...(plan.updater ? [updaterLogs.stdout, updaterLogs.stderr] : []),
        ],
      };
    },

    async open() {
      return new LaunchdSession(service, updater, { ...opts, pollIntervalMs });
    },

    async logs(_record, logOpts, write) {
      await showLogFiles(
        logSources(files),
        { ...logOpts, pollIntervalMs: Math.min(pollIntervalMs, 250) },
        write,
      );
    },
  };
}
