/**
 * Live state per thread, fed by the control connection's notifications and by approvals:
 * a bounded replay buffer of recent events (so an SSE client reconnecting with Last-Event-ID
 * misses nothing that is still buffered), subscribers, the thread's status and active turn.
 */
import { EventEmitter } from 'node:events';
import type { Approval, FileUpdateChange } from './approval-json.js';

export interface LiveEvent {
  /** Global, increasing: the second half of an SSE event id. */
  seq: number;
  threadId: string;
  type: 'notification' | 'approval';
  data: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The files of a `fileChange` item as the app-server sent them, when every entry has the
 * shape of FileUpdateChange; undefined otherwise (they go to people deciding an approval and to
 * the API: nothing of an unknown shape is passed on as if it were one). Pure.
 */
function fileUpdateChanges(v: unknown): FileUpdateChange[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: FileUpdateChange[] = [];
  for (const c of v) {
    if (!isObject(c) || typeof c.path !== 'string' || typeof c.diff !== 'string') return undefined;
    const k = c.kind;
    if (!isObject(k) || typeof k.type !== 'string') return undefined;
    const move = k.move_path;
    if (move !== undefined && move !== null && typeof move !== 'string') return undefined;
    out.push({
      path: c.path,
      kind: { type: k.type, ...(move !== undefined ? { move_path: move } : {}) },
      diff: c.diff,
    });
  }
  return out;
}

export interface LiveThread {
  status?: string;
  activeTurnId: string | null;
}

/** The thread a notification is about, from the shapes in generate-ts (threadId, thread.id, conversationId). */
export function threadIdOf(params: unknown): string | undefined {
  if (!params || typeof params !== 'object') return undefined;
  const p = params as { threadId?: unknown; conversationId?: unknown; thread?: { id?: unknown } };
  if (typeof p.threadId === 'string') return p.threadId;
  if (p.thread && typeof p.thread.id === 'string') return p.thread.id;
  if (typeof p.conversationId === 'string') return p.conversationId;
  return undefined;
}

export class LiveHub extends EventEmitter<{ event: [e: LiveEvent] }> {
  private seqValue = 0;
  private readonly buffers = new Map<string, LiveEvent[]>();
  private readonly threads = new Map<string, LiveThread>();

  constructor(
    private readonly perThread = 2000,
    private readonly maxThreads = 200,
  ) {
    super();
    this.setMaxListeners(0); // one listener per open SSE/WS subscriber
  }

  get seq(): number {
    return this.seqValue;
  }

  thread(id: string): LiveThread | undefined {
    return this.threads.get(id);
  }

  /**
   * Threads with a turn running. `thread/status/changed` goes to every connection (checked on
   * 0.169.0), so this counts turns other clients (the TUI) started, whose `turn/started` only
   * their own connection gets.
   */
  get runningTurns(): number {
    let n = 0;
    for (const t of this.threads.values()) if (t.status === 'active') n++;
    return n;
  }

  /** A notification from the control connection. */
  notification(method: string, params: unknown): void {
    const threadId = threadIdOf(params);
    if (!threadId) return;
    const t = this.threads.get(threadId) ?? { activeTurnId: null };
    const p = params as { status?: { type?: string }; turn?: { id?: string } };
    if (method === 'thread/status/changed' && p.status?.type) t.status = p.status.type;
    else if (method === 'turn/started' && p.turn?.id) {
      t.activeTurnId = p.turn.id;
      t.status = 'active';
    } else if (method === 'turn/completed') t.activeTurnId = null;
    else if (method === 'thread/closed') t.status = 'notLoaded';
    this.threads.set(threadId, t);
    this.publish(threadId, 'notification', { method, params });
  }

  approval(a: Approval): void {
    if (a.threadId) this.publish(a.threadId, 'approval', a);
  }

  /** Buffered events of a thread after `seq`. */
  since(threadId: string, seq: number): LiveEvent[] {
    return (this.buffers.get(threadId) ?? []).filter((e) => e.seq > seq);
  }

  /**
   * The changes of a file-change item, from its `item/started` (or `item/completed`) still in
   * the thread's buffer: a `fileChange` approval request names only the item, and a person
   * deciding needs the diff. Undefined when the item is not (or no longer) buffered, or when its
   * changes are not of FileUpdateChange's shape.
   */
  fileChanges(threadId: string, itemId: string): FileUpdateChange[] | undefined {
    const buf = this.buffers.get(threadId) ?? [];
    for (let i = buf.length - 1; i >= 0; i--) {
      const d = buf[i]?.data as { method?: string; params?: { item?: unknown } } | undefined;
      if (d?.method !== 'item/started' && d?.method !== 'item/completed') continue;
      const item = d.params?.item as
        { type?: unknown; id?: unknown; changes?: unknown } | undefined;
      if (item?.type === 'fileChange' && item.id === itemId) return fileUpdateChanges(item.changes);
    }
    return undefined;
  }

  /** The control connection is gone: statuses are unknown until threads are loaded again. */
  reset(): void {
    this.threads.clear();
  }

  private publish(threadId: string, type: LiveEvent['type'], data: unknown): void {
    const e: LiveEvent = { seq: ++this.seqValue, threadId, type, data };
    let buf = this.buffers.get(threadId);
    if (!buf) {
      if (this.buffers.size >= this.maxThreads) {
        const oldest = this.buffers.keys().next().value;
        if (oldest !== undefined) this.buffers.delete(oldest);
      }
      this.buffers.set(threadId, (buf = []));
    }
    buf.push(e);
    if (buf.length > this.perThread) buf.splice(0, buf.length - this.perThread);
    this.emit('event', e);
  }
}
