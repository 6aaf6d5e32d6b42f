/** The service's own view of itself: /status JSON and the one-line STATUS= text. Pure. */
import type { AppServerJson, ServiceState } from './status-json.js';

/** What the state and the STATUS= line are made of (remote control is in /status only). */
type AppView = Omit<AppServerJson, 'remoteControl'>;

export function serviceState(app: AppView, stopping: boolean): ServiceState {
  if (stopping) return 'stopping';
  if (app.state === 'ready') return 'ready';
  if (app.state === 'starting' && app.restarts === 0) return 'starting';
  return 'degraded';
}

/** e.g. "ready: app-server 0.169.0 pid 1234; 2 clients; http://127.0.0.1:3100" */
export function statusText(
  app: AppView,
  opts: {
    clients: number;
    endpoint?: string;
    stopping: boolean;
    startingForMs?: number;
    pendingRestart?: readonly string[];
  },
): string {
  if (opts.stopping) return 'stopping';
  const clients = `${opts.clients} client${opts.clients === 1 ? '' : 's'}`;
  const where = opts.endpoint ? `; ${opts.endpoint}` : '';
  // `systemctl status` shows this line: say when the running config is not the configured one.
  const pending = opts.pendingRestart?.length
    ? `; restart to apply ${opts.pendingRestart.join(', ')}`
    : '';
  switch (app.state) {
    case 'ready':
      return `ready: app-server ${app.version ?? '?'} pid ${app.pid ?? '?'}; ${clients}${where}${pending}`;
    case 'starting': {
      const secs =
        opts.startingForMs !== undefined ? ` (${Math.round(opts.startingForMs / 1000)} s)` : '';
      const why = app.restarts
        ? `restarting app-server (restart ${app.restarts})`
        : 'starting app-server';
      return `${app.restarts ? 'degraded' : 'starting'}: ${why}${secs}${app.pid ? ` pid ${app.pid}` : ''}${where}`;
    }
    case 'restarting':
      return `degraded: restarting app-server on request${app.pid ? ` (stopping pid ${app.pid})` : ''}`;
    case 'backoff':
      return `degraded: ${app.lastError ?? 'app-server exited'}; retry in ${((app.nextRetryMs ?? 0) / 1000).toFixed(1)} s (restart ${app.restarts})`;
    case 'failed':
      return `degraded: ${app.lastError ?? 'app-server failed'}; retry in ${((app.nextRetryMs ?? 0) / 1000).toFixed(1)} s`;
    default:
      return app.state;
  }
}
