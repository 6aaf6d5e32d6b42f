/**
 * The launchctl operations on one job, with launchd's asynchrony and error codes handled:
 * where it is loaded (gui/<uid> or user/<uid>), bootout polled until gone, enable + bootstrap with
 * the 125 fallback and the retries that a bootstrap racing a draining bootout needs (pitfall 9).
 * Everything goes through the Launchctl wrapper (the CommandRunner seam).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CodexSmError, EXIT } from '../../errors.js';
import type { RunResult } from '../../runner.js';
import { launchctlError, type Launchctl, type LaunchctlOutcome } from './launchctl.js';
import { launchdActivity, parseLaunchctlPrint, type LaunchdPrintInfo } from './parse.js';

export interface LaunchdJobsOptions {
  lc: Launchctl;
  uid: number;
  label: string;
  plistPath: string;
  pollMs: number;
  /** How long a booted-out job may stay visible before we give up. */
  drainTimeoutMs: number;
  /** Called after each successful bootstrap (to remember what was loaded). */
  onBootstrapped: () => void;
}

export interface LoadedJob {
  /** gui/501 or user/501. */
  domain: string;
  /** gui/501/<label>. */
  target: string;
  info: LaunchdPrintInfo;
}

export interface LaunchdJobs {
  readonly lc: Launchctl;
  /** gui/<uid>/<label>: the target reported when nothing is loaded. */
  readonly guiTarget: string;
  /** Probe gui then user; undefined when launchd has no such job loaded. */
  locate(): Promise<LoadedJob | undefined>;
  /** bootout is asynchronous: ask, then poll `print` until launchd has forgotten the job. */
  bootoutAndWait(target: string): Promise<void>;
  /** enable + bootstrap, gui/<uid> first, user/<uid> on 125; returns the domain. */
  bootstrapAgent(warnings: string[]): Promise<string>;
  /** A CodexSmError for a launchctl result nobody could handle. */
  fail(args: readonly string[], r: RunResult, target?: string): CodexSmError;
}

export function launchdJobs(opts: LaunchdJobsOptions): LaunchdJobs {
  const { lc, uid, label, plistPath, pollMs, drainTimeoutMs } = opts;
  const domains = [`gui/${uid}`, `user/${uid}`];
  const guiTarget = `${domains[0]}/${label}`;
  type Located = LoadedJob;

  const fail = (args: readonly string[], r: RunResult, target = guiTarget): CodexSmError =>
    launchctlError(args, r, { target, plistPath, uid });

  /** Probe gui then user; undefined when launchd has no such service loaded. */
  async function locate(): Promise<Located | undefined> {
    for (const domain of domains) {
      const target = `${domain}/${label}`;
      const { result, outcome } = await lc.run(['print', target]);
      if (outcome === 'ok') return { domain, target, info: parseLaunchctlPrint(result.stdout) };
      if (outcome === 'missing') throw fail(['print', target], result, target);
      // notFound / noSession / anything else: not loaded in this domain.
    }
    return undefined;
  }

  /** What launchd holds for one target, or undefined when it is not loaded there. */
  async function probe(target: string): Promise<LaunchdPrintInfo | undefined> {
    const { result, outcome } = await lc.run(['print', target]);
    if (outcome === 'missing') throw fail(['print', target], result, target);
    return outcome === 'ok' ? parseLaunchctlPrint(result.stdout) : undefined;
  }

  async function isLoaded(target: string): Promise<boolean> {
    return (await probe(target)) !== undefined;
  }

  /** bootout is asynchronous: ask, then poll `print` until launchd has forgotten the service. */
  async function bootoutAndWait(target: string): Promise<void> {
    const args = ['bootout', target];
    for (let attempt = 0; ; attempt++) {
      const { result, outcome } = await lc.run(args);
      if (outcome === 'ok' || outcome === 'inProgress' || outcome === 'notFound') break;
      if (outcome === 'missing') throw fail(args, result, target);
      // Versions differ in what bootout of an unloaded service says (3, 5, 113): ask print instead.
      if (!(await isLoaded(target))) return;
      if ((outcome === 'busy' || outcome === 'ioError') && attempt < 5) {
        await delay(pollMs);
        continue;
      }
      throw fail(args, result, target);
    }
    const deadline = Date.now() + drainTimeoutMs;
    while (await isLoaded(target)) {
      if (Date.now() > deadline) {
        throw new CodexSmError(
          'stop_failed',
          `${target} was still loaded ${drainTimeoutMs / 1000}s after bootout`,
          {
            hint: `launchd is still waiting for the process to exit: \`launchctl kill SIGKILL ${target}\`, then retry`,
            exitCode: EXIT.tempFail,
          },
        );
      }
      await delay(pollMs);
    }
  }

  /** enable + bootstrap, gui/<uid> first and user/<uid> when there is no GUI session (125). */
  async function bootstrapAgent(warnings: string[]): Promise<string> {
    let noSession: CodexSmError | undefined;
    for (const domain of domains) {
      const target = `${domain}/${label}`;
      // A `launchctl disable` override survives bootout and plist rewrites; clear it first.
      const enable = await lc.run(['enable', target]);
      if (enable.outcome === 'noSession') {
        noSession = fail(['enable', target], enable.result, target);
        continue;
      }
      if (enable.outcome !== 'ok') throw fail(['enable', target], enable.result, target);
      const bootstrap = await bootstrapWithRetry(domain, target, warnings);
      if (bootstrap.outcome === 'noSession') {
        noSession = fail(['bootstrap', domain, plistPath], bootstrap.result, target);
        continue;
      }
      if (domain !== domains[0])
        warnings.push(`no GUI login session: loaded into ${domain} instead of ${domains[0]}`);
      opts.onBootstrapped();
      return domain;
    }
    throw (
      noSession ?? new CodexSmError('launchd_no_session', `no launchd domain accepted ${label}`)
    );
  }

  async function bootstrapWithRetry(
    domain: string,
    target: string,
    warnings: string[],
  ): Promise<{ outcome: 'ok' | 'noSession'; result: RunResult }> {
    const args = ['bootstrap', domain, plistPath];
    for (let attempt = 0; ; attempt++) {
      const { result, outcome } = await lc.run(args);
      if (outcome === 'ok' || outcome === 'noSession') return { outcome, result };
      const retryable: LaunchctlOutcome[] = ['ioError', 'busy', 'alreadyLoaded'];
      const there = retryable.includes(outcome) ? await probe(target) : undefined;
      if (there && launchdActivity(there) !== 'deactivating') {
        // 5 or "already loaded" while a live job is loaded: someone loaded it between our bootout and now.
        warnings.push(`${target} was already loaded by someone else when codex-sm bootstrapped it`);
        return { outcome: 'ok', result };
      }
      // 5 right after a bootout is usually the old instance still draining (pitfall 9): retry a few times.
      if ((outcome === 'ioError' || outcome === 'busy') && attempt < 4) {
        await delay(pollMs * (attempt + 1));
        continue;
      }
      throw fail(args, result, target);
    }
  }

  return { lc, guiTarget, locate, bootoutAndWait, bootstrapAgent, fail };
}
