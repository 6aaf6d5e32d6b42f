/**
 * `GET /api/approvals/events`: every approval of every session codex-sm holds, as it happens,
 * for whoever answers them from elsewhere (the dashboard's inbox and its count, a phone app).
 * Server-Sent Events with the conventions of the queue and group streams (work/events.ts):
 * `snapshot` first (`{approvals: [the pending ones]}`), then `approval` (the whole approval)
 * when one is held and at each change of its status; ids `<boot>:<seq>`, so a reconnect with
 * Last-Event-ID replays what it missed, or gets a fresh snapshot when that is gone.
 */
import type Koa from 'koa';
import { EventLog, streamEvents } from '../work/events.js';
import type { Approval } from './approval-json.js';
import type { Approvals } from './approvals.js';

/** The one key of the log: all approvals are one stream. */
const KEY = 'approvals';

/** A log of the approvals' changes (each event a copy: an Approval changes in place). */
export function approvalEventLog(approvals: Approvals, keep = 500): EventLog {
  const log = new EventLog(keep, 1);
  approvals.on('approval', (a: Approval) => log.publish(KEY, 'approval', { ...a }));
  return log;
}

export function streamApprovalEvents(
  ctx: Koa.Context,
  d: { approvals: Approvals; log: EventLog; open: Set<() => void> },
): void {
  streamEvents(ctx, {
    log: d.log,
    key: KEY,
    snapshot: () => ({ approvals: d.approvals.list({ status: 'pending' }) }),
    lastEventId: ctx.get('last-event-id') || undefined,
    open: d.open,
  });
}
