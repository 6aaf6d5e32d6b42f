/**
 * Feature modules mounted on the service core (sessions, approvals, queues...). Each gets the
 * ServiceContext and registers its routes, sockets and shutdown hooks.
 */
import type { ServiceContext } from './context.js';

export function registerFeatures(_ctx: ServiceContext): void {
  // Feature registrations are added here as they land.
}
