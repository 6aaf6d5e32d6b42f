/**
 * Webhooks, mounted on the service core: every event the service emits that a target wants is
 * committed to the outbox (service/store/outbox.ts), one row per target, then that target's
 * worker is woken. `registerNotify(ctx, sessions, work)` is the one entry; the handle's
 * `stats()` feeds /metrics (also offered as ctx.webhookStats).
 */
import type { NotifyEventType, WebhookConfig } from '../../src/config/schema.js';
import type { ServiceContext } from '../context.js';
import type { WorkHandle } from '../queues/index.js';
import type { SessionsHandle } from '../sessions/index.js';
import { OutboxRepo } from '../store/outbox.js';
import {
  AppServerWatch,
  approvalEvent,
  stamp,
  startedEvent,
  testEvent,
  turnEvent,
  workEvent,
  type EventDraft,
  type NotifyEvent,
} from './events.js';
import { send, TargetWorker } from './delivery.js';
import { registerNotifyRoutes } from './routes.js';

export interface WebhookStats {
  /** Deliveries that succeeded since the service started. */
  delivered: number;
  /** Events given up on (retry time spent) since the service started. */
  failed: number;
  /** Outbox rows waiting for delivery now. */
  pending: number;
}

export interface NotifyHandle {
  /** Commit an event for every target that wants it, then wake their workers. */
  publish(draft: EventDraft): NotifyEvent | undefined;
  stats(): WebhookStats;
  /** Send a test event to every target now, bypassing the outbox. */
  test(): Promise<TestResult[]>;
}

export interface TestResult {
  url: string;
  ok: boolean;
  status?: number;
  error?: string;
}

/** Finished outbox rows are kept this long (to look at), then pruned. */
const KEEP_FINISHED_MS = 7 * 86_400_000;

const wants = (w: WebhookConfig, type: NotifyEventType) => !w.events || w.events.includes(type);

export function registerNotify(
  ctx: ServiceContext,
  sessions: SessionsHandle,
  _work: WorkHandle,
): NotifyHandle {
  const log = ctx.logger.child({ component: 'notify' });
  const repo = new OutboxRepo(ctx.store);
  // Targets are read at start (`x-reload: restart`); one worker per URL, so a URL configured
  // twice is one target (the first entry wins).
  const targets = new Map<string, WebhookConfig>();
  for (const w of ctx.config.notify.webhooks) {
    if (targets.has(w.url))
      log.warn({ webhook: w.url }, 'webhook URL configured twice; the first entry is used');
    else targets.set(w.url, w);
  }
  const counts = { delivered: 0, failed: 0 };
  const settings = () => ctx.config.notify;
  const workers = new Map(
    [...targets.values()].map((w) => [
      w.url,
      new TargetWorker(
        w,
        repo,
        settings,
        { delivered: () => counts.delivered++, failed: () => counts.failed++ },
        log,
      ),
    ]),
  );

  const orphans = repo.failOrphans([...targets.keys()]);
  if (orphans)
    log.warn({ events: orphans }, 'undelivered webhook events of removed targets marked failed');
  repo.retryNow();
  repo.prune(Date.now() - KEEP_FINISHED_MS);
  const pruner = setInterval(() => repo.prune(Date.now() - KEEP_FINISHED_MS), 3_600_000);
  pruner.unref();

  let closed = false;
  const publish = (draft: EventDraft): NotifyEvent | undefined => {
    if (closed || draft.type === 'test') return undefined;
    const type = draft.type;
    const to = [...targets.values()].filter((w) => wants(w, type)).map((w) => w.url);
    if (!to.length) return undefined;
    const e = stamp(draft);
    try {
      repo.enqueue({ id: e.id, type: e.type, json: JSON.stringify(e) }, to);
    } catch (err) {
      // Never let a webhook break the feature that emitted the event.
      log.error({ err: (err as Error).message, type: e.type }, 'webhook event not stored');
      return undefined;
    }
    for (const url of to) workers.get(url)?.wake();
    return e;
  };
  const maybe = (d: EventDraft | undefined) => d && publish(d);

  sessions.approvals.on('approval', (a) => maybe(approvalEvent(a)));
  ctx.supervisor.on('notification', (method, params) => maybe(turnEvent(method, params)));
  const watch = new AppServerWatch();
  // Registered after the first `ready` may have passed: start from the current state.
  watch.state(ctx.supervisor.snapshot());
  ctx.supervisor.on('state', (s) => maybe(watch.state(s)));
  for (const kind of ['queue', 'group'])
    ctx.channels.get(kind)?.on('event', (e) => maybe(workEvent(e)));

  const handle: NotifyHandle = {
    publish,
    stats: () => ({ ...counts, pending: closed ? 0 : repo.pendingCount() }),
    test: () =>
      Promise.all(
        [...targets.values()].map(async (w): Promise<TestResult> => {
          try {
            const { status } = await send(stamp(testEvent()), w, settings().requestTimeoutMs);
            return { url: w.url, ok: status >= 200 && status < 300, status };
          } catch (e) {
            const err = e as Error & { cause?: { code?: string } };
            return { url: w.url, ok: false, error: err.cause?.code ?? err.message };
          }
        }),
      ),
  };
  registerNotifyRoutes(ctx.router, handle);
  ctx.webhookStats = handle.stats;
  // Undelivered rows from before a restart (or a crash) go first, in order.
  for (const w of workers.values()) w.wake();
  publish(startedEvent(ctx.version));
  ctx.onShutdown(() => {
    closed = true;
    clearInterval(pruner);
    for (const w of workers.values()) w.stop();
  });
  return handle;
}
