/**
 * The queues and groups feature, mounted on the service core: opens the store, builds the
 * engines over one TurnDriver on the supervisor's control connection, wires the app-server's
 * lifecycle (down → runners stop; ready → reconcile, then go on), the routes, the `/ws`
 * channels and the `/status` counts. `registerWork(ctx, sessions)` is the one entry.
 */
import type { ServiceContext } from '../context.js';
import { GroupEngine } from '../groups/engine.js';
import type { SessionsHandle } from '../sessions/index.js';
import { GroupRepo } from '../store/groups.js';
import { QueueRepo } from '../store/queues.js';
import type { Store } from '../store/store.js';
import { TurnDriver } from '../work/driver.js';
import { EventLog } from '../work/events.js';
import { QueueEngine } from './engine.js';
import { registerWorkRoutes } from './routes.js';

export { workOpenApi } from './openapi.js';

export interface WorkHandle {
  readonly store: Store;
  readonly queues: QueueEngine;
  readonly groups: GroupEngine;
}

export function registerWork(ctx: ServiceContext, sessions: SessionsHandle): WorkHandle {
  const { supervisor } = ctx;
  const log = ctx.logger.child({ component: 'queues' });
  const { store } = ctx;
  const driver = new TurnDriver({
    client: () => supervisor.client,
    ops: sessions.ops,
    timeoutMs: ctx.config.appServer.requestTimeoutMs,
    log,
  });
  const queueEvents = new EventLog();
  const groupEvents = new EventLog();
  const queues = new QueueEngine({
    repo: new QueueRepo(store),
    driver,
    approvals: sessions.approvals,
    events: queueEvents,
    log,
  });
  const groups = new GroupEngine({
    repo: new GroupRepo(store),
    driver,
    events: groupEvents,
    log,
    sessionExists: async (id) =>
      sessions.db.getSession(id) !== undefined || (await sessions.ops.read(id)) !== undefined,
  });

  supervisor.on('notification', (method, params) => driver.notification(method, params));
  supervisor.on('down', (reason) => {
    queues.down();
    groups.down();
    driver.down(reason);
  });
  const reconcile = () => {
    void (async () => {
      await queues.reconcile();
      await groups.reconcile();
    })().catch((e: Error) => log.error({ err: e.message, stack: e.stack }, 'reconcile failed'));
  };
  supervisor.on('ready', reconcile);
  if (supervisor.client) reconcile(); // registered after the first `ready`
  sessions.approvals.on('approval', (a) => {
    queues.approval(a);
    groups.approval(a);
  });

  const open = new Set<() => void>();
  registerWorkRoutes(ctx.router, {
    queues,
    groups,
    queueEvents,
    groupEvents,
    open,
    bodyLimitBytes: 4 * 1024 * 1024,
    imageDirs: () => ctx.config.images.allowedDirs,
  });
  ctx.channels.set('queue', queueEvents);
  ctx.channels.set('group', groupEvents);
  ctx.addStatus('queues', () => queues.counts());
  ctx.addStatus('groups', () => groups.counts());
  ctx.onShutdown(() => {
    for (const end of [...open]) end();
    queues.down();
    groups.down();
  });
  return { store, queues, groups };
}
