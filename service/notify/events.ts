/**
 * What a webhook says: the event (id, type, time, the ids it concerns, a one-line summary) and
 * the pure mappings from what the service already emits (approvals, app-server notifications,
 * queue/group events, supervisor states) to it. No I/O here.
 */
import { randomUUID } from 'node:crypto';
import type { NotifyEventType } from '../../src/config/schema.js';
import type { Approval } from '../sessions/approval-json.js';
import type { AppServerJson } from '../status-json.js';
import type { WorkEvent } from '../work/events.js';

export interface NotifyEvent {
  /** Unique per event (a UUID): the same on every retry, for the receiver's de-duplication. */
  id: string;
  type: NotifyEventType | 'test';
  /** ISO 8601. */
  time: string;
  /** One line a person understands on a lock screen. */
  summary: string;
  sessionId?: string;
  turnId?: string;
  approvalId?: string;
  queueId?: string;
  groupId?: string;
  /** Type-specific details (the approval's command, the turn's error, the app-server's exit...). */
  data: Record<string, unknown>;
}

export type EventDraft = Omit<NotifyEvent, 'id' | 'time'>;

export function stamp(d: EventDraft, now = new Date()): NotifyEvent {
  return { id: randomUUID(), time: now.toISOString(), ...d };
}

const short = (s: string, n = 120) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function approvalWhat(a: Approval): string {
  const p = (a.params ?? {}) as { command?: unknown; reason?: unknown };
  if (typeof p.command === 'string') return `run \`${short(p.command, 80)}\``;
  if (Array.isArray(p.command)) return `run \`${short(p.command.join(' '), 80)}\``;
  if (a.kind === 'fileChange') return 'change files';
  return a.kind;
}

/** An approval event (new or changed) → approval.requested / approval.timedOut, or nothing. */
export function approvalEvent(a: Approval): EventDraft | undefined {
  const ids = {
    approvalId: a.id,
    ...(a.threadId ? { sessionId: a.threadId } : {}),
    ...(a.turnId ? { turnId: a.turnId } : {}),
  };
  const p = (a.params ?? {}) as { command?: unknown; cwd?: unknown; reason?: unknown };
  const data = {
    kind: a.kind,
    method: a.method,
    expiresAt: a.expiresAt,
    ...(p.command !== undefined ? { command: p.command } : {}),
    ...(typeof p.cwd === 'string' ? { cwd: p.cwd } : {}),
    ...(typeof p.reason === 'string' ? { reason: p.reason } : {}),
  };
  if (a.status === 'pending')
    return {
      type: 'approval.requested',
      summary: `Codex asks to ${approvalWhat(a)}`,
      ...ids,
      data,
    };
  if (a.status === 'expired')
    return {
      type: 'approval.timedOut',
      summary: `No answer in time: Codex's request to ${approvalWhat(a)} was answered ${a.decision ?? 'decline'}`,
      ...ids,
      data: { ...data, decision: a.decision ?? null },
    };
  return undefined;
}

/** `turn/completed` on the control connection → turn.completed / turn.failed (interrupted: nothing). */
export function turnEvent(method: string, params: unknown): EventDraft | undefined {
  if (method !== 'turn/completed') return undefined;
  const p = (params ?? {}) as {
    threadId?: string;
    turn?: { id?: string; status?: string; error?: { message?: string } | null };
  };
  const status = p.turn?.status;
  const ids = {
    ...(p.threadId ? { sessionId: p.threadId } : {}),
    ...(p.turn?.id ? { turnId: p.turn.id } : {}),
  };
  if (status === 'completed')
    return { type: 'turn.completed', summary: 'Codex finished a turn', ...ids, data: {} };
  if (status === 'failed') {
    const message = p.turn?.error?.message ?? null;
    return {
      type: 'turn.failed',
      summary: `A Codex turn failed${message ? `: ${short(message)}` : ''}`,
      ...ids,
      data: { error: message },
    };
  }
  return undefined;
}

/** A queue or group event (service/work/events.ts) → queue.completed / queue.failed / group.completed. */
export function workEvent(e: WorkEvent): EventDraft | undefined {
  const name = (o: unknown) => {
    const n = (o as { name?: unknown } | null)?.name;
    return typeof n === 'string' ? ` "${short(n, 60)}"` : '';
  };
  if (e.type === 'queue_completed')
    return {
      type: 'queue.completed',
      summary: `Queue${name(e.data.queue)} completed`,
      queueId: e.key,
      data: { queue: e.data.queue ?? null },
    };
  if (e.type === 'queue_failed')
    return {
      type: 'queue.failed',
      summary: `Queue${name(e.data.queue)} failed`,
      queueId: e.key,
      data: { queue: e.data.queue ?? null },
    };
  if (e.type === 'group_completed')
    return {
      type: 'group.completed',
      summary: `Group${name(e.data.group)} finished its run`,
      groupId: e.key,
      data: { group: e.data.group ?? null },
    };
  return undefined;
}

/**
 * Supervisor states → appServer.restarted (ready again after having been ready) and
 * appServer.failed (the first backoff/failed of an outage: one event per outage, not one per
 * retry). Holds the little memory that needs.
 */
export class AppServerWatch {
  private everReady = false;
  private wasDown = false;
  private inOutage = false;

  state(s: AppServerJson): EventDraft | undefined {
    const data = {
      state: s.state,
      restarts: s.restarts,
      lastExit: s.lastExit ?? null,
      lastError: s.lastError ?? null,
    };
    if (s.state === 'ready') {
      const restarted = this.everReady && this.wasDown;
      this.everReady = true;
      this.wasDown = this.inOutage = false;
      return restarted
        ? {
            type: 'appServer.restarted',
            summary: `The Codex app-server is back (restart ${s.restarts})`,
            data: { ...data, version: s.version ?? null },
          }
        : undefined;
    }
    if (this.everReady) this.wasDown = true;
    if ((s.state === 'backoff' || s.state === 'failed') && !this.inOutage) {
      this.inOutage = true;
      return {
        type: 'appServer.failed',
        summary: `The Codex app-server is down: ${short(s.lastError ?? s.state)}`,
        data: { ...data, nextRetryMs: s.nextRetryMs ?? null },
      };
    }
    return undefined;
  }
}

export function startedEvent(version: string): EventDraft {
  return { type: 'service.started', summary: `codex-sm ${version} started`, data: { version } };
}

export function testEvent(): EventDraft {
  return { type: 'test', summary: 'codex-sm test notification', data: {} };
}
