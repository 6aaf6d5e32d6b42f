/**
 * What every lifecycle command reports about the service (ServiceView): the manager's state, the
 * service's own /status, the codex binary's version, linger and the updater — read while the
 * command still holds the lock, so it is the state the command left behind.
 */
import { codexVersion } from '../codex.js';
import { fetchServiceStatus } from '../client.js';
import type { ServiceStatusJson } from '../../service/status-json.js';
import { readTokenOrUndefined } from '../token.js';
import type { ServiceView } from './outputs.js';
import type { BackendSession, JobState, ServiceBackend } from './port.js';
import type { InstallRecord, InstallRecords } from './record.js';

export interface ViewDeps {
  backend: ServiceBackend;
  records: InstallRecords;
  configError?: string;
  serviceStatus?: (endpoint: string, tokenFile: string) => Promise<ServiceStatusJson | undefined>;
  codexVersion?: (codexPath: string) => Promise<string | undefined>;
  /** This codex-sm's version: a service that reports another one runs older (or newer) code. */
  cliVersion?: string;
}

export function isRunning(st: JobState): boolean {
  return st.activeState === 'active' || st.activeState === 'reloading';
}

export function isUp(st: JobState): boolean {
  return isRunning(st) || st.activeState === 'activating' || st.activeState === 'deactivating';
}

/** The service's /status when it is up and our token opens it. */
export async function serviceStatusVia(
  endpoint: string,
  tokenFile: string,
): Promise<ServiceStatusJson | undefined> {
  return fetchServiceStatus(endpoint, readTokenOrUndefined(tokenFile), 3000);
}

export async function describeService(
  d: ViewDeps,
  s: BackendSession,
  record: InstallRecord | undefined,
  warnings: string[],
  linger?: boolean | null,
): Promise<{ view: ServiceView; state: JobState }> {
  const ref = record ?? d.records.fromConfig();
  const st = await s.state();
  const running = isRunning(st);
  const statusOf = d.serviceStatus ?? serviceStatusVia;
  const svc = running ? await statusOf(ref.endpoint, ref.tokenFile) : undefined;
  if (svc && st.mainPid !== null && svc.pid !== st.mainPid)
    warnings.push(
      `${ref.endpoint} is answered by pid ${svc.pid}, not by the manager's pid ${st.mainPid}`,
    );
  if (svc && d.cliVersion && svc.version !== d.cliVersion)
    warnings.push(
      `the service runs codex-sm ${svc.version} and this CLI is ${d.cliVersion} (upgraded?): \`codex-sm install-service\` restarts it on ${d.cliVersion} (a packaged unit: \`systemctl --user restart codex-sm\`)`,
    );
  const versionOf = d.codexVersion ?? ((p: string) => codexVersion(p).catch(() => undefined));
  const statusText =
    st.statusText ||
    svc?.statusText ||
    (running ? `running; not answering on ${ref.endpoint}` : '');
  const view: ServiceView = {
    backend: d.backend.backend,
    scope: d.backend.scope,
    unit: st.unit,
    unitPath: d.backend.unitPath,
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
          version: svc.version,
          state: svc.state,
          statusText: svc.statusText,
          uptimeSec: svc.uptimeSec,
          appServer: svc.appServer,
          pendingRestart: svc.pendingRestart ?? [],
        }
      : null,
    configError: d.configError ?? null,
    recordPath: d.backend.recordPath,
    warnings: [...warnings, ...s.notes],
    native: st.native,
  };
  return { view, state: st };
}
