/**
 * Events of queues and groups: one log per kind, a bounded replay buffer per queue/group, and
 * the SSE stream over it. Event ids are `<boot>:<seq>`: `boot` changes with every start of the
 * service, so a client reconnecting with an id from before a restart (or one no longer
 * buffered) gets a fresh `snapshot` instead of a silent gap.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type Koa from 'koa';
import { eventStream } from '../http.js';

export interface WorkEvent {
  id: string;
  /** The queue or group id. */
  key: string;
  type: string;
  data: Record<string, unknown>;
}

const BOOT = randomBytes(4).toString('hex');

export class EventLog extends EventEmitter<{ event: [e: WorkEvent] }> {
  private seq = 0;
  private readonly buffers = new Map<string, WorkEvent[]>();
  /** Per key, the seq of the last event trimmed from its buffer. */
  private readonly dropped = new Map<string, number>();

  constructor(
    private readonly perKey = 500,
    private readonly maxKeys = 1000,
  ) {
    super();
    this.setMaxListeners(0); // one listener per open stream
  }

  publish(key: string, type: string, data: Record<string, unknown>): WorkEvent {
    const e: WorkEvent = { id: `${BOOT}:${++this.seq}`, key, type, data };
    let buf = this.buffers.get(key);
    if (!buf) {
      if (this.buffers.size >= this.maxKeys) {
        const oldest = this.buffers.keys().next().value;
        if (oldest !== undefined) this.forget(oldest);
      }
      this.buffers.set(key, (buf = []));
    }
    buf.push(e);
    if (buf.length > this.perKey) {
      const gone = buf.splice(0, buf.length - this.perKey);
      this.dropped.set(key, seqOf(gone[gone.length - 1] as WorkEvent));
    }
    this.emit('event', e);
    return e;
  }

  /** The id of the latest event (of any key): where a fresh snapshot stands. */
  publishedId(): string {
    return `${BOOT}:${this.seq}`;
  }

  /** Buffered events of `key` after `lastId`; undefined when they cannot all be replayed. */
  since(key: string, lastId: string | undefined): WorkEvent[] | undefined {
    const m = /^([0-9a-f]+):(\d{1,15})$/.exec(lastId?.trim() ?? '');
    if (!m || m[1] !== BOOT) return undefined;
    const after = Number(m[2]);
    const buf = this.buffers.get(key);
    if (!buf) return after >= this.seq ? [] : undefined; // never had events, or evicted: unknown
    if (after < (this.dropped.get(key) ?? 0)) return undefined; // some were trimmed
    return buf.filter((e) => seqOf(e) > after);
  }

  forget(key: string): void {
    this.buffers.delete(key);
    this.dropped.delete(key);
  }
}

function seqOf(e: WorkEvent): number {
  return Number(e.id.slice(e.id.indexOf(':') + 1));
}

export interface StreamOptions {
  log: EventLog;
  key: string;
  /** The whole object now, for the first `snapshot` event (undefined: it is gone). */
  snapshot: () => object | undefined;
  lastEventId?: string;
  heartbeatMs?: number;
  /** Open streams' closers, ended at shutdown (or the HTTP server would wait for them). */
  open: Set<() => void>;
}

/** `text/event-stream` of one queue's or group's events until the client goes away. */
export function streamEvents(ctx: Koa.Context, o: StreamOptions): void {
  const out = eventStream(ctx);
  let closed = false;
  const write = (id: string, type: string, data: unknown) => {
    if (!closed) out.write(`event: ${type}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const onEvent = (e: WorkEvent) => {
    if (e.key === o.key) write(e.id, e.type, e.data);
  };
  const heartbeat = setInterval(() => out.write(': keepalive\n\n'), o.heartbeatMs ?? 15_000);
  const cleanup = () => {
    if (closed) return;
    closed = true;
    o.log.off('event', onEvent);
    clearInterval(heartbeat);
    o.open.delete(cleanup);
    out.end();
  };
  o.open.add(cleanup);
  ctx.req.on('close', cleanup);
  out.on('close', cleanup);

  out.write(': codex-sm events\n\n'); // flush the headers: the client sees the stream open
  const replay = o.log.since(o.key, o.lastEventId);
  if (replay) for (const e of replay) write(e.id, e.type, e.data);
  else {
    const snap = o.snapshot();
    // The id of a snapshot is the current position: a reconnect from it replays what follows.
    write(o.log.publishedId(), 'snapshot', snap ?? { deleted: true, id: o.key });
  }
  // Synchronous from since()/snapshot() to here: no event can fall between them.
  o.log.on('event', onEvent);
}
