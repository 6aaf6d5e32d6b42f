/**
 * The ServiceManager for macOS: a LaunchAgent driven with launchctl's modern verbs (bootstrap,
 * bootout, enable, kickstart, print). Every OS effect goes through the CommandRunner; files are
 * written with writeFileAtomic.
 *
 * Lifecycle (the states a caller can see in LifecycleResult.status):
 *   not installed ──install──► loaded+running ──stop──► installed, not loaded (notRunning)
 *   `start` loads (bootstrap) or kickstarts; `restart` is kickstart -k, or bootout + bootstrap when
 *   the plist on disk is not the one launchd loaded; `uninstall` boots out and removes the plist.
 *
 * Where the service is loaded: gui/<uid> when there is an Aqua login, otherwise user/<uid> (SSH;
 * bootstrap into gui fails with 125). Nothing records which; every command probes both with
 * `launchctl print`, gui first.
 *
 * restart decides between kickstart -k and bootout + bootstrap with definitionChanged()
 * (agent-files.ts: a copy of the plist taken at each bootstrap, cross-checked with `print`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fetchServiceStatus, serviceRequest } from '../../client.js';
import { CodexSmError, EXIT } from '../../errors.js';
import { stateDir as defaultStateDir } from '../../paths.js';
import type { CommandRunner } from '../../runner.js';
import { writeFileAtomic } from '../../token.js';
import type {
  InstallPreview,
  LifecycleResult,
  LifecycleStatus,
  LogsOptions,
  ServiceManager,
  ServicePlan,
} from '../types.js';
import {
  definitionChanged,
  logSources,
  rememberLoadedDefinition,
  type AgentFiles,
} from './agent-files.js';
import { launchdJobs } from './jobs.js';
import { launchctlVia } from './launchctl.js';
import { readLastLines, showLogFiles, type FollowOptions } from './logs.js';
import { describeLastExit, launchdActivity } from './parse.js';
import { defaultLaunchdLogDir, launchAgentPath, renderPlist } from './render.js';
import { launchdResult, type LoadedJob } from './result.js';

export interface LaunchdManagerOptions {
  runner: CommandRunner;
  uid: number;
  home: string;
  label: string;
  /** Default ~/Library/LaunchAgents/<label>.plist. */
  plistPath?: string;
  /** Default ~/Library/Logs/codex-sm (only used when the plist on disk does not name the files). */
  logDir?: string;
  /** Instance name used in default log file names (default "codex-sm"). */
  name?: string;
  /** Where the copy of the loaded plist is kept (default the XDG state dir under home). */
  stateDir?: string;
  /** The service's HTTP endpoint, for /readyz and /status. */
  endpoint: string;
  token?: string;
  /** Between `launchctl print` / `/readyz` polls (default 200 ms). */
  pollIntervalMs?: number;
  /** How long bootout may take to drain (default 30 s). */
  timeoutMs?: number;
  /** How long to wait for /readyz after a start (default 60 s; install uses the plan's start timeout if longer). */
  readyTimeoutMs?: number;
  /** The launchctl binary (default `launchctl` from PATH, /bin/launchctl on every Mac). */
  launchctl?: string;
}

type Located = LoadedJob;

export function createLaunchdManager(opts: LaunchdManagerOptions): ServiceManager {
  const { uid, label, endpoint, token } = opts;
  const plistPath = opts.plistPath ?? launchAgentPath(opts.home, label);
  const logDir = opts.logDir ?? defaultLaunchdLogDir(opts.home);
  const name = opts.name ?? 'codex-sm';
  const recordPath = path.join(
    opts.stateDir ?? defaultStateDir({ HOME: opts.home }),
    'launchd',
    `${label}.loaded.plist`,
  );
  const pollMs = opts.pollIntervalMs ?? 200;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  const files: AgentFiles = { plistPath, recordPath, logDir, name };
  const lc = launchctlVia(opts.runner, opts.launchctl);
  const { guiTarget, locate, bootoutAndWait, bootstrapAgent, fail } = launchdJobs({
    lc,
    uid,
    label,
    plistPath,
    pollMs,
    drainTimeoutMs: opts.timeoutMs ?? 30_000,
    onBootstrapped: () => rememberLoadedDefinition(files),
  });

  /**
   * Wait for /readyz = 200 while launchd runs a process other than `since.pid` (the instance a
   * kickstart -k replaces still answers for a moment). Fails early when a run that started after
   * `since.runs` exited 78 (EX_CONFIG).
   */
  async function waitForReady(
    timeoutMs: number,
    since: { pid?: number; runs: number },
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: Located | undefined;
    for (;;) {
      last = await locate();
      if (!last) {
        throw new CodexSmError(
          'service_unloaded',
          `${label} was unloaded from launchd while starting`,
          {
            hint: 'someone ran `launchctl bootout` meanwhile; run `codex-sm start`',
          },
        );
      }
      const newProcess = last.info.pid !== undefined && last.info.pid !== since.pid;
      if (newProcess && (await answersReady())) return;
      const exitedSince = (last.info.runs ?? 0) > since.runs && last.info.pid === undefined;
      if (exitedSince && last.info.lastExitCode === EXIT.config) {
        // The service refused its config; launchd would respawn it every ThrottleInterval for ever.
        await bootoutAndWait(last.target);
        throw notReady(
          `${label} exited with 78 (EX_CONFIG): its configuration is invalid; unloaded it to stop the restart loop`,
          last,
          'fix the config (`codex-sm config validate`), then `codex-sm start`',
          EXIT.config,
        );
      }
      if (Date.now() > deadline) {
        throw notReady(
          `${label} did not answer ${endpoint}/readyz within ${Math.round(timeoutMs / 1000)}s`,
          last,
          'see `codex-sm logs`; launchd keeps trying to start it',
          EXIT.tempFail,
        );
      }
      await delay(pollMs);
    }
  }

  function notReady(message: string, at: Located, hint: string, exitCode: number): CodexSmError {
    const errTail = readLastLines(
      logSources(files).find((s) => s.stream === 'stderr')?.path ?? '',
      20,
    ).lines;
    return new CodexSmError('service_not_ready', message, {
      hint,
      exitCode,
      details: {
        launchdState: at.info.state,
        lastExit: describeLastExit(at.info),
        stderrTail: errTail,
      },
    });
  }

  async function answersReady(): Promise<boolean> {
    try {
      return (await serviceRequest(endpoint, token, '/readyz', { timeoutMs: 2000 })).status === 200;
    } catch {
      return false;
    }
  }

  async function result(
    status: LifecycleStatus,
    extra: Record<string, unknown> & { warnings?: string[] } = {},
    at?: Located | null,
  ): Promise<LifecycleResult> {
    const job = at === undefined ? await locate() : (at ?? undefined);
    const { warnings, ...rest } = extra;
    return launchdResult({
      status,
      job,
      service: job ? await fetchServiceStatus(endpoint, token) : undefined,
      plistPath,
      plistExists: fs.existsSync(plistPath),
      defaultTarget: guiTarget,
      endpoint,
      logs: logSources(files),
      ...(warnings ? { warnings } : {}),
      extra: rest,
    });
  }

  function requireInstalled(): void {
    if (!fs.existsSync(plistPath)) {
      throw new CodexSmError(
        'service_not_installed',
        `the LaunchAgent ${plistPath} does not exist`,
        {
          hint: 'run `codex-sm install-service` first',
        },
      );
    }
  }

  return {
    backend: 'launchd',

    preview(plan: ServicePlan): InstallPreview {
      const file = opts.plistPath ?? launchAgentPath(opts.home, plan.label);
      const target = `gui/${uid}/${plan.label}`;
      return {
        files: [{ path: file, mode: 0o644, content: renderPlist(plan) }],
        // bootout only acts when an old instance is loaded (then polled with `print` until gone);
        // bootstrap falls back to user/<uid> on error 125 (no GUI session).
        commands: [
          ['launchctl', 'bootout', target],
          ['launchctl', 'enable', target],
          ['launchctl', 'bootstrap', `gui/${uid}`, file],
        ],
      };
    },

    async install(plan, { start }) {
      if (plan.label !== label) {
        throw new CodexSmError(
          'internal',
          `plan label ${plan.label} differs from the manager's ${label}`,
          { exitCode: EXIT.software },
        );
      }
      if (uid === 0) {
        throw new CodexSmError(
          'launchd_root',
          'a LaunchAgent runs as the logged-in user, not as root',
          {
            hint: 'run `codex-sm install-service` without sudo, as the user who will use it',
            exitCode: EXIT.usage,
          },
        );
      }
      const content = renderPlist(plan); // validation errors here change nothing
      const warnings: string[] = [];
      const old = await locate();
      if (old) await bootoutAndWait(old.target);
      // launchd opens StandardOutPath itself and does not create missing directories.
      fs.mkdirSync(plan.logDir, { recursive: true, mode: 0o755 });
      fs.mkdirSync(path.dirname(plistPath), { recursive: true, mode: 0o755 });
      writeFileAtomic(plistPath, content, 0o644);
      if (!start) {
        // Enabled and on disk: launchd loads it at the next login (RunAtLoad starts it then).
        const enable = await lc.run(['enable', guiTarget]);
        if (enable.outcome !== 'ok' && enable.outcome !== 'noSession')
          throw fail(['enable', guiTarget], enable.result);
        return result('installed', { replaced: Boolean(old), started: false, warnings }, null);
      }
      await bootstrapAgent(warnings);
      await waitForReady(Math.max(readyTimeoutMs, plan.startTimeoutSec * 1000), { runs: 0 });
      return result('installed', { replaced: Boolean(old), started: true, warnings });
    },

    async uninstall({ purge }) {
      const at = await locate();
      if (at) await bootoutAndWait(at.target);
      const removed: string[] = [];
      const logs = logSources(files);
      for (const file of [plistPath, recordPath, ...(purge ? logs.map((s) => s.path) : [])]) {
        try {
          fs.unlinkSync(file);
          if (file !== recordPath) removed.push(file);
        } catch {
          /* already gone */
        }
      }
      if (purge) {
        try {
          fs.rmdirSync(logDir); // only when empty: someone may keep other files there
        } catch {
          /* not empty or missing */
        }
      }
      const leftBehind = purge ? [] : logs.map((s) => s.path).filter((f) => fs.existsSync(f));
      const status: LifecycleStatus = at || removed.length > 0 ? 'uninstalled' : 'notInstalled';
      return result(status, { removed, leftBehind, wasLoaded: Boolean(at) }, null);
    },

    async start() {
      requireInstalled();
      const warnings: string[] = [];
      const at = await locate();
      if (at && launchdActivity(at.info) === 'active') return result('alreadyRunning', {}, at);
      let since = { runs: 0 };
      if (at) {
        const args = ['kickstart', at.target];
        const { result: r, outcome } = await lc.run(args);
        if (outcome === 'notFound')
          await bootstrapAgent(warnings); // unloaded since we looked
        else if (outcome !== 'ok') throw fail(args, r, at.target);
        else since = { runs: at.info.runs ?? 0 };
      } else {
        await bootstrapAgent(warnings);
      }
      await waitForReady(readyTimeoutMs, since);
      return result('started', { warnings });
    },

    async stop() {
      const at = await locate();
      if (!at) {
        requireInstalled();
        return result('notRunning', {}, null);
      }
      await bootoutAndWait(at.target);
      return result('stopped', {}, null);
    },

    async restart() {
      requireInstalled();
      const warnings: string[] = [];
      const at = await locate();
      let reloaded = true;
      if (!at) {
        await bootstrapAgent(warnings);
      } else if (definitionChanged(files, at.info)) {
        await bootoutAndWait(at.target);
        await bootstrapAgent(warnings);
      } else {
        reloaded = false;
        const args = ['kickstart', '-k', at.target];
        const { result: r, outcome } = await lc.run(args);
        if (outcome !== 'ok') throw fail(args, r, at.target);
      }
      await waitForReady(
        readyTimeoutMs,
        reloaded || !at ? { runs: 0 } : { pid: at.info.pid, runs: at.info.runs ?? 0 },
      );
      return result('restarted', { reloadedDefinition: reloaded, warnings });
    },

    async status() {
      const at = await locate();
      if (!at) return result(fs.existsSync(plistPath) ? 'notRunning' : 'notInstalled', {}, null);
      const activity = launchdActivity(at.info);
      return result(
        activity === 'active' ? 'running' : activity === 'failed' ? 'failed' : 'notRunning',
        {},
        at,
      );
    },

    async logs(logOpts: LogsOptions & Pick<FollowOptions, 'signal'>, write) {
      await showLogFiles(
        logSources(files),
        { ...logOpts, pollIntervalMs: Math.min(pollMs, 250) },
        write,
      );
    },
  };
}
