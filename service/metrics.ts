/**
 * `GET /metrics` in the Prometheus text format (docs/metrics.md): one prom-client Registry per
 * service, every name under `codex_sm_`, plus Node's default process metrics (from the first
 * scrape on). The hot paths pay for counters only (the relay adds to plain numbers, a request
 * increments two series); every gauge, and every counter mirrored from a number kept elsewhere,
 * is computed at scrape time.
 * Labels are bounded: a route is the router's pattern, never the raw path.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RelayCounts } from './relay-frames.js';
import type { WorkHandle } from './queues/index.js';
import type { SessionsHandle } from './sessions/index.js';
import type { AppServerState } from './status-json.js';
import type { AppServerSupervisor } from './supervisor.js';

const PREFIX = 'codex_sm_';

const STATES: readonly AppServerState[] = [
  'stopped',
  'starting',
  'ready',
  'backoff',
  'failed',
  'restarting',
  'stopping',
];

/** What the webhooks outbox reports (service/context.ts `webhookStats`): counts since start, and pending now. */
export interface WebhookStats {
  delivered: number;
  failed: number;
  pending: number;
}

export interface MetricsSources {
  supervisor: AppServerSupervisor;
  gateway: { clientsByPath(): Map<string, number>; readonly relayed: RelayCounts };
  /** Undefined until the webhooks feature is there (or when no target is configured). */
  webhookStats(): WebhookStats | undefined;
}

/** Endpoints a client can hold open; always exported (0 when none) so a rule never sees a gap. */
const ENDPOINTS = ['/', '/app-server', '/ws', 'sse'] as const;
const NOT_COUNTERS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const TURN_STATUSES = new Set(['completed', 'failed', 'interrupted']);

/** Seconds; approvals wait for a person, so the buckets reach past the default 10 min timeout. */
const ANSWER_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

/** A counter whose value lives elsewhere as a plain number: copied at each scrape. */
function mirroredCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => [Partial<Record<L, string>>, number][],
): Counter<L> {
  return new Counter<L>({
    name: PREFIX + name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

/** The route label of a request: the router's pattern, or `unmatched` (bounded either way). */
export function routeLabel(matched: unknown, router: Router, path: string, method: string): string {
  if (typeof matched === 'string' || matched instanceof RegExp) return String(matched);
  // Refused before the router ran (401, 403, Host check): ask it which route this would be.
  const layers = router.match(path, method).pathAndMethod;
  const last = layers[layers.length - 1];
  return last ? String(last.path) : 'unmatched';
}

export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'other';
}

export class ServiceMetrics {
  readonly registry = new Registry();
  /** Open `/ws` (and other channel) sockets and SSE streams, by endpoint. */
  private readonly open = new Map<string, number>();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly latency: Histogram<'method' | 'route'>;
  private readonly turnsStarted: Counter;
  private readonly turnsFinished: Counter<'status'>;
  private readonly answerTime: Histogram<'outcome'>;

  /** Node's default metrics, started by the first scrape (see scrape()). */
  private defaultsStarted = false;

  constructor(private readonly src: MetricsSources) {
    const registers = [this.registry];
    const { supervisor, gateway } = src;

    new Gauge({
      name: PREFIX + 'app_server_state',
      help: 'The app-server supervisor state: 1 for the current state, 0 for the others',
      labelNames: ['state'],
      registers,
      collect() {
        const now = supervisor.state;
        for (const state of STATES) this.set({ state }, state === now ? 1 : 0);
      },
    });
    mirroredCounter(
      this.registry,
      'app_server_restarts_total',
      'App-server restarts since the service started (crashes, hangs and requested restarts)',
      [],
      () => [[{}, supervisor.snapshot().restarts]],
    );
    new Gauge({
      name: PREFIX + 'app_server_last_exit_timestamp_seconds',
      help: 'When the app-server last exited (absent before its first exit)',
      registers,
      collect() {
        this.reset();
        const exit = supervisor.snapshot().lastExit;
        if (exit) this.set(Date.parse(exit.at) / 1000);
      },
    });
    new Gauge({
      name: PREFIX + 'app_server_last_exit_code',
      help: 'Exit code of the last app-server exit; -1 when a signal ended it (absent before its first exit)',
      labelNames: ['signal'],
      registers,
      collect() {
        this.reset();
        const exit = supervisor.snapshot().lastExit;
        if (exit) this.set({ signal: exit.signal ?? '' }, exit.code ?? -1);
      },
    });

    const open = this.open;
    new Gauge({
      name: PREFIX + 'clients',
      help: 'Connected clients by endpoint: the app-server relay (/ and /app-server), /ws, and SSE streams',
      labelNames: ['endpoint'],
      registers,
      collect() {
        const relay = gateway.clientsByPath();
        for (const endpoint of ENDPOINTS)
          this.set({ endpoint }, relay.get(endpoint) ?? open.get(endpoint) ?? 0);
      },
    });
    const relayed = gateway.relayed;
    mirroredCounter(
      this.registry,
      'relay_messages_total',
      'WebSocket messages relayed between clients and the app-server, by direction',
      ['direction'],
      () => [
        [{ direction: 'to_app_server' }, relayed.toAppServer.messages],
        [{ direction: 'to_client' }, relayed.toClient.messages],
      ],
    );
    mirroredCounter(
      this.registry,
      'relay_bytes_total',
      'Payload bytes relayed between clients and the app-server, by direction',
      ['direction'],
      () => [
        [{ direction: 'to_app_server' }, relayed.toAppServer.bytes],
        [{ direction: 'to_client' }, relayed.toClient.bytes],
      ],
    );

    this.turnsStarted = new Counter({
      name: PREFIX + 'turns_started_total',
      help: "Turns started on codex-sm's own app-server connection (API, queues, groups)",
      registers,
    });
    this.turnsFinished = new Counter({
      name: PREFIX + 'turns_finished_total',
      help: 'Turns ended, by status: completed, failed, interrupted (other: anything newer)',
      labelNames: ['status'],
      registers,
    });
    supervisor.on('notification', (method, params) => this.notification(method, params));

    this.answerTime = new Histogram({
      name: PREFIX + 'approval_wait_seconds',
      help: 'How long an approval waited, by outcome: answered, expired (timed out), resolved (by another client), abandoned (app-server went away)',
      labelNames: ['outcome'],
      buckets: ANSWER_BUCKETS,
      registers,
    });

    const stats = () => src.webhookStats();
    mirroredCounter(
      this.registry,
      'webhook_deliveries_total',
      'Webhook deliveries that a target accepted',
      [],
      () => [[{}, stats()?.delivered ?? 0]],
    );
    mirroredCounter(
      this.registry,
      'webhook_failures_total',
      'Webhook deliveries given up on after their retries',
      [],
      () => [[{}, stats()?.failed ?? 0]],
    );
    new Gauge({
      name: PREFIX + 'webhook_pending',
      help: 'Webhook deliveries waiting in the outbox',
      registers,
      collect() {
        this.set(stats()?.pending ?? 0);
      },
    });

    this.requests = new Counter({
      name: PREFIX + 'http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: PREFIX + 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request (to the start of the body for streams), by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }

  private notification(method: string, params: unknown): void {
    if (method === 'turn/started') return this.turnsStarted.inc();
    if (method !== 'turn/completed' || typeof params !== 'object' || params === null) return;
    const turn: unknown = Reflect.get(params, 'turn');
    const status: unknown =
      typeof turn === 'object' && turn ? Reflect.get(turn, 'status') : undefined;
    const label = typeof status === 'string' && TURN_STATUSES.has(status) ? status : 'other';
    this.turnsFinished.inc({ status: label });
  }

  /** Count a connection open on `endpoint` until the returned function is called (once). */
  connectionOpened(endpoint: string): () => void {
    this.open.set(endpoint, (this.open.get(endpoint) ?? 0) + 1);
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      this.open.set(endpoint, (this.open.get(endpoint) ?? 1) - 1);
    };
  }

  /** Outermost middleware: counts and times every request, and counts open SSE streams. */
  httpMiddleware(router: Router): Koa.Middleware {
    return async (ctx, next) => {
      const t0 = performance.now();
      try {
        await next();
      } finally {
        const method = methodLabel(ctx.method);
        const route = routeLabel(Reflect.get(ctx, '_matchedRoute'), router, ctx.path, ctx.method);
        this.requests.inc({ method, route, status: String(ctx.status) });
        this.latency.observe({ method, route }, (performance.now() - t0) / 1000);
        if (ctx.response.type === 'text/event-stream') {
          const done = this.connectionOpened('sse');
          if (ctx.res.destroyed || ctx.res.writableFinished) done();
          else ctx.res.once('close', done);
        }
      }
    };
  }

  /** Session index size and lag, pending approvals and their waits (features.ts calls it). */
  watchSessions(sessions: Pick<SessionsHandle, 'approvals' | 'db' | 'indexer'>): void {
    const registers = [this.registry];
    const { approvals, db, indexer } = sessions;
    approvals.on('approval', (a) => {
      if (a.status === 'pending') return;
      const waited = (Date.now() - Date.parse(a.createdAt)) / 1000;
      this.answerTime.observe({ outcome: a.status }, Math.max(0, waited));
    });
    new Gauge({
      name: PREFIX + 'approvals_pending',
      help: 'Approvals waiting for an answer',
      registers,
      collect() {
        this.set(approvals.list({ status: 'pending' }).length);
      },
    });
    new Gauge({
      name: PREFIX + 'approval_oldest_pending_seconds',
      help: 'How long the oldest pending approval has waited (0 when none)',
      registers,
      collect() {
        const oldest = Math.min(
          ...approvals.list({ status: 'pending' }).map((a) => Date.parse(a.createdAt)),
        );
        this.set(Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0);
      },
    });
    new Gauge({
      name: PREFIX + 'session_index_size',
      help: 'Rows in the session index, by kind: sessions, rollout files, messages',
      labelNames: ['kind'],
      registers,
      collect() {
        const n = db.count();
        this.set({ kind: 'sessions' }, n.sessions);
        this.set({ kind: 'files' }, n.files);
        this.set({ kind: 'messages' }, n.messages);
      },
    });
    new Gauge({
      name: PREFIX + 'session_index_lag_seconds',
      help: 'Age of the index: seconds since the last completed full scan began (rescans run every 30 s; absent before the first)',
      registers,
      collect() {
        this.reset();
        const at = indexer.lastScanStartedAt;
        if (at !== undefined) this.set(Math.max(0, (Date.now() - at) / 1000));
      },
    });
  }

  /** Queues and groups by status, from the engines' counts (features.ts calls it). */
  watchWork(work: Pick<WorkHandle, 'queues' | 'groups'>): void {
    const registers = [this.registry];
    new Gauge({
      name: PREFIX + 'queues',
      help: 'Queues by status',
      labelNames: ['status'],
      registers,
      collect() {
        for (const [status, n] of Object.entries(work.queues.counts()))
          if (status !== 'total') this.set({ status }, n);
      },
    });
    new Gauge({
      name: PREFIX + 'groups',
      help: 'Groups by status: running (its latest run is running) or idle',
      labelNames: ['status'],
      registers,
      collect() {
        const { total, running } = work.groups.counts();
        this.set({ status: 'running' }, running);
        this.set({ status: 'idle' }, total - running);
      },
    });
  }

  /** The text to answer a scrape with. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    this.startDefaultMetrics();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /**
   * Node's process and runtime metrics (`process_…`, `nodejs_…`) from the first scrape on, not
   * from start-up: prom-client's event-loop-delay monitor wakes the process 100 times a second
   * and its GC observer runs with every collection, which a service nobody scrapes should not
   * pay for (issue 16: ~6 ms of CPU a second idle; docs/metrics.md).
   */
  private startDefaultMetrics(): void {
    if (this.defaultsStarted) return;
    this.defaultsStarted = true;
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters, which `promtool check metrics` rejects; each is the sum of
    // the per-type gauge without the suffix (sum(nodejs_active_handles)).
    for (const name of NOT_COUNTERS) this.registry.removeSingleMetric(name);
  }
}
