/**
 * The LifecycleResult for launchd, as a pure function of what launchctl printed and what the
 * service said on /status. Field meanings follow systemd's so `status` reads the same on both
 * systems: activeState is active/activating/deactivating/inactive/failed, subState is launchd's
 * own state word ("running", "spawn scheduled", ... or "not loaded"), nRestarts is runs - 1.
 */
import type { ServiceStatusJson } from '../../client.js';
import type { LifecycleResult, LifecycleStatus } from '../types.js';
import type { LogSource } from './logs.js';
import { describeLastExit, launchdActivity, type LaunchdPrintInfo } from './parse.js';

export interface LoadedJob {
  /** gui/501 or user/501. */
  domain: string;
  /** gui/501/<label>. */
  target: string;
  info: LaunchdPrintInfo;
}

export interface ResultInput {
  status: LifecycleStatus;
  /** undefined: launchd has no such job loaded. */
  job: LoadedJob | undefined;
  /** The service's own /status, when it answered. */
  service: ServiceStatusJson | undefined;
  plistPath: string;
  plistExists: boolean;
  /** The target to report when nothing is loaded (gui/<uid>/<label>). */
  defaultTarget: string;
  endpoint: string;
  logs: LogSource[];
  warnings?: string[];
  /** Command-specific fields (replaced, removed, reloadedDefinition, ...). */
  extra?: Record<string, unknown>;
}

export function launchdResult(input: ResultInput): LifecycleResult {
  const { job, service, endpoint } = input;
  const info = job?.info ?? {};
  const warnings = [...(input.warnings ?? [])];
  if (service && info.pid !== undefined && service.pid !== info.pid) {
    warnings.push(
      `${endpoint} is answered by pid ${service.pid}, not by launchd's pid ${info.pid}`,
    );
  }
  const lastExit = describeLastExit(info);
  const statusText =
    service?.statusText ??
    (job
      ? `${info.state ?? 'loaded'}${lastExit ? `, last run ${lastExit}` : ''}${info.pid !== undefined ? `; not answering on ${endpoint}` : ''}`
      : input.plistExists
        ? 'installed, not loaded'
        : 'not installed');
  return {
    status: input.status,
    backend: 'launchd',
    unit: job?.target ?? input.defaultTarget,
    unitPath: input.plistPath,
    ...(info.pid !== undefined ? { mainPid: info.pid } : {}),
    activeState: job ? launchdActivity(info) : 'inactive',
    subState: job ? (info.state ?? 'unknown') : 'not loaded',
    nRestarts: Math.max(0, (info.runs ?? 0) - 1),
    statusText,
    endpoint,
    ...(service?.appServer.version ? { appServerVersion: service.appServer.version } : {}),
    domain: job?.domain ?? null,
    loaded: Boolean(job),
    ...(info.runs !== undefined ? { runs: info.runs } : {}),
    ...(info.lastExitCode !== undefined ? { lastExitCode: info.lastExitCode } : {}),
    ...(info.lastSignal !== undefined ? { lastSignal: info.lastSignal } : {}),
    ...(info.lastExitReason !== undefined ? { lastExitReason: info.lastExitReason } : {}),
    logFiles: Object.fromEntries(input.logs.map((s) => [s.stream, s.path])),
    ...input.extra,
    ...(warnings.length ? { warnings } : {}),
  };
}
