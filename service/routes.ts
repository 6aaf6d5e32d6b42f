/** Core routes: liveness, readiness, status. */
import type Router from '@koa/router';
import type { AppServerJson, ServiceState, ServiceStatusJson } from './status-json.js';

export interface CoreRouteDeps {
  version: string;
  startedAt: number;
  ready(): boolean;
  describe(): { app: AppServerJson; state: ServiceState; text: string };
  clients(): number;
  /** Config keys changed on reload that only a restart applies (empty when none). */
  pendingRestart(): readonly string[];
  /** What features add to /status (queue and group counts, ...). */
  parts?(): Record<string, unknown>;
}

export function registerCoreRoutes(router: Router, deps: CoreRouteDeps): void {
  // Liveness: the event loop answers. No auth, no data.
  router.get('/healthz', (ctx) => {
    ctx.body = { ok: true };
  });
  router.get('/readyz', (ctx) => {
    const ready = deps.ready();
    ctx.status = ready ? 200 : 503;
    ctx.body = { ready };
  });
  router.get('/status', (ctx) => {
    const { app, state, text } = deps.describe();
    ctx.body = {
      ...deps.parts?.(), // first: a feature's part cannot replace a core key
      service: 'codex-sm',
      version: deps.version,
      pid: process.pid,
      startedAt: new Date(deps.startedAt).toISOString(),
      uptimeSec: Math.round((Date.now() - deps.startedAt) / 1000),
      state,
      statusText: text,
      appServer: app,
      clients: deps.clients(),
      pendingRestart: deps.pendingRestart(),
    } satisfies ServiceStatusJson;
  });
}
