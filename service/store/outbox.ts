/**
 * The webhook outbox: one row per event and target, written before any delivery is tried and
 * marked delivered or failed by the target's worker (service/notify/delivery.ts). A row still
 * pending after a crash is sent by the next start: delivery is at least once, and the event id
 * lets a receiver drop a repeat.
 */
import { StoreRepo } from './repo.js';

export type OutboxStatus = 'pending' | 'delivered' | 'failed';

export interface OutboxRow {
  seq: number;
  eventId: string;
  target: string;
  type: string;
  /** The event as JSON (its body is rendered at each attempt, for the target's format). */
  event: string;
  status: OutboxStatus;
  attempts: number;
  lastError: string | null;
  createdAt: number;
  nextAt: number;
}

interface Row {
  seq: number;
  event_id: string;
  target: string;
  type: string;
  event: string;
  status: OutboxStatus;
  attempts: number;
  last_error: string | null;
  created_at: number;
  next_at: number;
}

const toRow = (r: Row): OutboxRow => ({
  seq: r.seq,
  eventId: r.event_id,
  target: r.target,
  type: r.type,
  event: r.event,
  status: r.status,
  attempts: r.attempts,
  lastError: r.last_error,
  createdAt: r.created_at,
  nextAt: r.next_at,
});

export class OutboxRepo extends StoreRepo {
  /** One row per target, in one transaction (all targets get the event, or none does). */
  enqueue(e: { id: string; type: string; json: string }, targets: readonly string[]): void {
    if (!targets.length) return;
    const now = this.now();
    this.store.transaction(() => {
      for (const target of targets)
        this.insertRow('webhook_outbox', {
          event_id: e.id,
          target,
          type: e.type,
          event: e.json,
          status: 'pending',
          attempts: 0,
          last_error: null,
          created_at: now,
          next_at: now,
          updated_at: now,
        });
    });
  }

  /** The target's oldest pending row (its worker delivers in order). */
  nextPending(target: string): OutboxRow | undefined {
    const r = this.db
      .prepare<[string], Row>(
        `SELECT * FROM webhook_outbox WHERE target = ? AND status = 'pending' ORDER BY seq LIMIT 1`,
      )
      .get(target);
    return r && toRow(r);
  }

  delivered(seq: number): void {
    this.finishAttempt(seq, 'delivered', null, null);
  }

  /** A failed attempt: try again at `nextAt`, or give up for good (`nextAt` undefined). */
  attemptFailed(seq: number, error: string, nextAt: number | undefined): void {
    if (nextAt === undefined) this.finishAttempt(seq, 'failed', error, null);
    else this.finishAttempt(seq, 'pending', error, nextAt);
  }

  /** Every pending row is due now (at start: a target that was down may be back). */
  retryNow(): void {
    const now = this.now();
    this.store.transaction(() =>
      this.db
        .prepare(`UPDATE webhook_outbox SET next_at = ? WHERE status = 'pending' AND next_at > ?`)
        .run(now, now),
    );
  }

  /** Pending rows of targets no longer configured: nobody will send them. */
  failOrphans(targets: readonly string[]): number {
    const marks = targets.map(() => '?').join(', ');
    return this.store.transaction(
      () =>
        this.db
          .prepare(
            `UPDATE webhook_outbox SET status = 'failed', last_error = 'target no longer configured', updated_at = ?
             WHERE status = 'pending'${targets.length ? ` AND target NOT IN (${marks})` : ''}`,
          )
          .run(this.now(), ...targets).changes,
    );
  }

  /** Finished rows older than `before` (the outbox is not an archive). */
  prune(before: number): number {
    return this.store.transaction(
      () =>
        this.db
          .prepare(`DELETE FROM webhook_outbox WHERE status <> 'pending' AND updated_at < ?`)
          .run(before).changes,
    );
  }

  pendingCount(): number {
    return this.db
      .prepare<[], number>(`SELECT count(*) FROM webhook_outbox WHERE status = 'pending'`)
      .pluck()
      .get() as number;
  }

  /** Every row of an event (tests, `notify` diagnostics). */
  byEvent(eventId: string): OutboxRow[] {
    return this.db
      .prepare<[string], Row>('SELECT * FROM webhook_outbox WHERE event_id = ? ORDER BY seq')
      .all(eventId)
      .map(toRow);
  }

  private finishAttempt(
    seq: number,
    status: OutboxStatus,
    error: string | null,
    nextAt: number | null,
  ): void {
    const now = this.now();
    this.store.transaction(() =>
      this.db
        .prepare(
          `UPDATE webhook_outbox SET status = ?, attempts = attempts + 1, last_error = ?,
             next_at = coalesce(?, next_at), updated_at = ? WHERE seq = ?`,
        )
        .run(status, error, nextAt, now, seq),
    );
  }
}
