/**
 * Feature modules mounted on the service core (sessions, approvals, queues...). Each gets the
 * ServiceContext and registers its routes, sockets and shutdown hooks.
 */
import type { ServiceContext } from './context.js';
import { registerNotify } from './notify/index.js';
import { registerWork } from './queues/index.js';
import { registerSessions } from './sessions/index.js';

export function registerFeatures(ctx: ServiceContext): void {
  const sessions = registerSessions(ctx);
  const work = registerWork(ctx, sessions);
  ctx.metrics.watchSessions(sessions);
  ctx.metrics.watchWork(work);
  registerNotify(ctx, sessions, work);
}
