/**
 * One worker per webhook target: it takes the target's oldest pending outbox row, renders and
 * signs it, POSTs it with a time limit, and marks it delivered, or schedules the next attempt
 * with exponential backoff until `retryForMs` after the event, then marks it failed and goes on.
 * Workers share nothing but the store, so a slow or dead target only delays its own events.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { expandHome } from '../../src/paths.js';
import { backoffDelay } from '../child-process.js';
import type { OutboxRepo, OutboxRow } from '../store/outbox.js';
import type { NotifyEvent } from './events.js';
import { render, type RenderedRequest, type WebhookFormat } from './formats.js';
import { signature } from './signing.js';

export interface Target {
  url: string;
  format: WebhookFormat;
  secretFile?: string;
}

export interface RetrySettings {
  requestTimeoutMs: number;
  retryForMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

/** When the next attempt goes, after `attempts` failed ones; undefined: the time is up, give up. */
export function nextAttemptAt(
  attempts: number,
  createdAt: number,
  now: number,
  s: RetrySettings,
): number | undefined {
  const at = now + backoffDelay(Math.max(0, attempts - 1), s.backoffInitialMs, s.backoffMaxMs);
  return at > createdAt + s.retryForMs ? undefined : at;
}

/** The secret, read at each send so it never sits in config or memory longer than a request. */
function readSecret(file: string): string {
  return fs.readFileSync(path.resolve(expandHome(file)), 'utf8').trim();
}

/** The request for an event: the format's body and headers plus the codex-sm headers. */
export function signedRequest(
  e: NotifyEvent,
  t: Target,
  secret: string | undefined,
  nowMs: number,
): RenderedRequest {
  const r = render(e, t.format);
  const timestamp = Math.floor(nowMs / 1000);
  return {
    body: r.body,
    headers: {
      ...r.headers,
      'user-agent': 'codex-sm-webhook',
      'X-Codex-SM-Event': e.type,
      'X-Codex-SM-Event-Id': e.id,
      'X-Codex-SM-Timestamp': String(timestamp),
      ...(secret !== undefined
        ? { 'X-Codex-SM-Signature': signature(secret, timestamp, r.body) }
        : {}),
    },
  };
}

/** One POST: resolves with the HTTP status, rejects on a network error or the time limit. */
export async function send(
  e: NotifyEvent,
  t: Target,
  timeoutMs: number,
  cancel?: AbortSignal,
): Promise<{ status: number }> {
  const secret = t.secretFile ? readSecret(t.secretFile) : undefined;
  const req = signedRequest(e, t, secret, Date.now());
  const res = await fetch(t.url, {
    method: 'POST',
    headers: req.headers,
    body: req.body,
    redirect: 'manual', // a signed request is not re-sent to wherever a 3xx points
    signal: cancel
      ? AbortSignal.any([AbortSignal.timeout(timeoutMs), cancel])
      : AbortSignal.timeout(timeoutMs),
  });
  await res.body?.cancel().catch(() => undefined); // the answer's body means nothing to us
  return { status: res.status };
}

export interface WorkerCounters {
  delivered(): void;
  failed(): void;
}

export class TargetWorker {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private stopped = false;
  /** Aborts an attempt in flight at stop (a target that never answers must not hold the exit). */
  private readonly cancel = new AbortController();
  private readonly log: Logger;

  constructor(
    readonly target: Target,
    private readonly repo: OutboxRepo,
    private readonly settings: () => RetrySettings,
    private readonly counters: WorkerCounters,
    log: Logger,
  ) {
    this.log = log.child({ webhook: target.url });
  }

  /** Something new may be pending: run now (or right after the current attempt). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.cancel.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (;;) {
        this.again = false;
        const row = this.stopped ? undefined : this.repo.nextPending(this.target.url);
        if (!row) return;
        const wait = row.nextAt - Date.now();
        if (wait > 0) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            void this.run();
          }, wait);
          this.timer.unref();
          return;
        }
        await this.attempt(row);
      }
    } catch (e) {
      // The store failed (closing at shutdown, disk full): stop quietly; the next wake retries.
      if (!this.stopped) this.log.error({ err: (e as Error).message }, 'webhook worker failed');
    } finally {
      this.running = false;
      if (this.again && !this.timer && !this.stopped) this.wake();
    }
  }

  private async attempt(row: OutboxRow): Promise<void> {
    const s = this.settings();
    const event = JSON.parse(row.event) as NotifyEvent; // written by us from a NotifyEvent
    let error: string;
    try {
      const { status } = await send(event, this.target, s.requestTimeoutMs, this.cancel.signal);
      if (status >= 200 && status < 300) {
        if (this.stopped) return; // the store may be closed: the row stays pending, sent again
        this.repo.delivered(row.seq);
        this.counters.delivered();
        this.log.debug({ event: row.eventId, type: row.type, status }, 'webhook delivered');
        return;
      }
      error = `HTTP ${status}`;
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      error =
        err.name === 'TimeoutError'
          ? `no answer within ${s.requestTimeoutMs} ms`
          : (err.cause?.code ?? err.cause?.message ?? err.message);
    }
    if (this.stopped) return;
    const next = nextAttemptAt(row.attempts + 1, row.createdAt, Date.now(), s);
    this.repo.attemptFailed(row.seq, error, next);
    if (next === undefined) {
      this.counters.failed();
      this.log.warn(
        { event: row.eventId, type: row.type, attempts: row.attempts + 1, err: error },
        'webhook delivery failed; giving up',
      );
    } else
      this.log.info(
        { event: row.eventId, type: row.type, attempts: row.attempts + 1, err: error },
        'webhook delivery failed; will retry',
      );
  }
}
