/**
 * What the service core hands to feature modules (sessions, queues, ...): they register HTTP
 * routes on the shared router (auth and Host checks already applied), WebSocket channels by
 * path (authenticated at upgrade), and shutdown hooks.
 */
import type { IncomingMessage } from 'node:http';
import type Router from '@koa/router';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import type { Config } from '../src/config/schema.js';
import type { ServiceMetrics, WebhookStats } from './metrics.js';
import type { AppServerSupervisor } from './supervisor.js';
import type { TurnActivity } from './turns.js';
import type { EventLog } from './work/events.js';
import type { Store } from './store/store.js';

export type SocketHandler = (ws: WebSocket, req: IncomingMessage) => void;

export interface ServiceContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly supervisor: AppServerSupervisor;
  readonly version: string;
  /** The durable store (queues, groups, tokens); the front end opens and closes it. */
  readonly store: Store;
  readonly router: Router;
  /** WebSocket channels by exact path (e.g. "/ws"); "/" and "/app-server" belong to the gateway. */
  readonly sockets: Map<string, SocketHandler>;
  /** Features that see turns report them here; an app-server restart waits for them. */
  readonly turns: TurnActivity;
  /** Event logs other features offer on `/ws` by kind (`subscribe_<kind>` with `<kind>Id`). */
  readonly channels: Map<string, EventLog>;
  /** Add a key to `/status` (e.g. queue counts), computed at each request. */
  addStatus(key: string, part: () => unknown): void;
  /** Run on graceful stop, before the app-server is stopped. */
  onShutdown(fn: () => Promise<void> | void): void;
  /** `/metrics`: features hand it what they count (watchSessions, watchWork). */
  readonly metrics: ServiceMetrics;
  /**
   * Webhook delivery counts, set by service/notify when it is registered; `/metrics` reads it
   * at each scrape: delivered/failed since start (counters), pending in the outbox now (a gauge).
   */
  webhookStats?: () => WebhookStats;
}
