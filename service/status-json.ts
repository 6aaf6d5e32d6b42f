/**
 * What the service answers about itself and its app-server, typed once: the `/status` body, the
 * supervisor's snapshot inside it, and `POST /api/app-server/restart`'s answers. The service
 * builds them against these types (routes.ts, supervisor.ts, app-server-api.ts) and the CLI
 * reads them through the same ones (src/client.ts, src/lifecycle/), as does the dashboard. Types
 * and one pure function, with no import: the CLI and dashboard bundles load nothing of the service
 * but this file for them.
 */

/** The supervisor's states (docs/serve.md): `ready` once the app-server answered `initialize`. */
export type AppServerState =
  'stopped' | 'starting' | 'ready' | 'backoff' | 'failed' | 'restarting' | 'stopping';

/** The service as a whole: `degraded` once the app-server it had went away. */
export type ServiceState = 'starting' | 'ready' | 'degraded' | 'stopping';

/** The app-server's remote control as /status reports it. */
export interface RemoteControlJson {
  /** The running app-server was launched with `--remote-control`. */
  enabled: boolean;
  /** Its last `remoteControl/status/changed`; null before one arrived. */
  status: 'disabled' | 'connecting' | 'connected' | 'errored' | null;
  serverName: string | null;
}

/**
 * Remote control in a few words, the same in `codex-sm status` and on the dashboard: `disabled`,
 * `enabled (connected as devbox)`, `enabled (errored)`, `enabled (not reported yet)`. Whether the
 * running app-server was launched with `--remote-control` comes first (not the saved setting, which
 * a failed restart may not have applied), then what it reports: for one launched without, its own
 * `disabled` would only repeat it.
 */
export function remoteControlPhrase(rc: RemoteControlJson): string {
  if (!rc.enabled) return 'disabled';
  if (rc.status === 'connected' && rc.serverName) return `enabled (connected as ${rc.serverName})`;
  return `enabled (${rc.status ?? 'not reported yet'})`;
}

/** The supervisor's view of its app-server: /status's `appServer`, STATUS=, state events. */
export interface AppServerJson {
  state: AppServerState;
  pid?: number;
  version?: string;
  restarts: number;
  /** Where clients of this app-server connect; only while ready. */
  endpoint?: string;
  lastExit?: { code: number | null; signal: string | null; at: string };
  /** In `backoff`: how long until the next attempt. */
  nextRetryMs?: number;
  lastError?: string;
  remoteControl: RemoteControlJson;
}

/** `GET /status` → 200. Features add their own keys (queue and group counts, ...). */
export interface ServiceStatusJson {
  service: 'codex-sm';
  version: string;
  pid: number;
  startedAt: string;
  uptimeSec: number;
  state: ServiceState;
  statusText: string;
  appServer: Omit<AppServerJson, 'remoteControl'> & {
    /** Absent from services older than remote control. */
    remoteControl?: RemoteControlJson;
  };
  clients: number;
  /** Config keys a reload could not apply (restart needed); absent from older services. */
  pendingRestart?: readonly string[];
}

/** `POST /api/app-server/restart` → 200. */
export interface AppServerRestartJson {
  restarted: true;
  appServer: Pick<AppServerJson, 'pid' | 'version' | 'remoteControl'>;
}

/** `POST /api/app-server/restart` → 409 (`error.code` is `turn_running`). */
export interface TurnRunningJson {
  error: { code: 'turn_running'; message: string; hint?: string };
  runningTurns: number;
}
