/**
 * Feature modules mounted on the service core (sessions, approvals, queues...). Each gets the
 * ServiceContext and registers its routes, sockets and shutdown hooks.
 */
import type { ServiceContext } from './context.js';
import { registerSessions } from './sessions/index.js';

export function registerFeatures(ctx: ServiceContext): void {
  // Feature registrations are added here as they land.
  registerSessions(ctx);
}
