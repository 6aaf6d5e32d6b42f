/**
 * `GET /api/sessions/:id/events[?follow=true]` as Server-Sent Events.
 *
 * - `event: rollout`: one rollout line per event (codex-agent's shape), existing lines first;
 * - `event: notification`: `{method, params}` from the app-server for this thread (deltas,
 *   turn/started, turn/completed, ...), live only;
 * - `event: approval`: a pending approval for this thread and its later status changes.
 *
 * Every event id is `<rollout byte offset>:<live seq>`. A client reconnecting with Last-Event-ID
 * gets the rollout from that offset and the buffered live events after that seq: nothing lost,
 * nothing repeated. Appends are picked up from index changes (inotify) with a 1 s poll as backup.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Koa from 'koa';
import { eventStream } from '../http.js';
import type { Approvals } from './approvals.js';
import type { IndexChange, SessionIndexer } from './indexer.js';
import type { LiveEvent, LiveHub } from './live.js';
import { splitLines } from './rollout.js';

export interface FollowDeps {
  codexHome: string;
  indexer: SessionIndexer;
  hub: LiveHub;
  approvals: Approvals;
  pollMs?: number;
  heartbeatMs?: number;
  /** Open streams' closers: ended at shutdown, or the HTTP server would wait for them. */
  open?: Set<() => void>;
}

export interface FollowRequest {
  sessionId: string;
  rolloutPath: string | null;
  follow: boolean;
  offset: number;
  /** Live events after this seq are replayed (from Last-Event-ID); undefined = live from now. */
  seq?: number;
}

export function parseLastEventId(
  s: string | undefined,
): { offset: number; seq: number } | undefined {
  const m = /^(\d{1,15})(?::(\d{1,15}))?$/.exec((s ?? '').trim());
  return m ? { offset: Number(m[1]), seq: Number(m[2] ?? 0) } : undefined;
}

/** True when `p` is inside `root` (both resolved; symlinks included). Never read outside CODEX_HOME. */
export function insideRoot(p: string, root: string): boolean {
  let real: string;
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
    real = fs.existsSync(p) ? fs.realpathSync(p) : path.resolve(p);
  } catch {
    return false;
  }
  return real.startsWith(realRoot + path.sep);
}

const CHUNK = 256 * 1024;

export function streamSessionEvents(ctx: Koa.Context, deps: FollowDeps, req: FollowRequest): void {
  const out = eventStream(ctx);

  let file = req.rolloutPath;
  let offset = req.offset;
  let seq = req.seq ?? deps.hub.seq;
  let closed = false;
  let replaying = true;
  let reading = false;
  let again = false;
  const queued: LiveEvent[] = [];

  const id = () => `${offset}:${seq}`;
  const write = async (event: string, data: string): Promise<void> => {
    if (closed) return;
    if (!out.write(`event: ${event}\nid: ${id()}\ndata: ${data}\n\n`))
      await new Promise<void>((r) => out.once('drain', r).once('close', r));
  };
  const sendLive = (e: LiveEvent) => {
    if (e.seq <= seq) return;
    seq = e.seq;
    void write(e.type, JSON.stringify(e.data));
  };

  /** Send the complete lines between `offset` and the end of the file. */
  const tail = async (): Promise<void> => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        if (!file || closed || !insideRoot(file, deps.codexHome)) return;
        let fh: fs.promises.FileHandle;
        try {
          fh = await fs.promises.open(file, 'r');
        } catch {
          return; // not written yet (a thread has no file before its first turn)
        }
        try {
          const { size } = await fh.stat();
          if (size < offset) offset = 0; // replaced: start over
          let buf = Buffer.alloc(0);
          let pos = offset;
          while (pos < size && !closed) {
            const chunk = Buffer.allocUnsafe(Math.min(CHUNK, size - pos));
            const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
            if (bytesRead <= 0) break;
            pos += bytesRead;
            buf = buf.length
              ? Buffer.concat([buf, chunk.subarray(0, bytesRead)])
              : chunk.subarray(0, bytesRead);
            const { lines, consumed } = splitLines(buf);
            const base = offset;
            for (const l of lines) {
              offset = base + l.end + 1;
              if (buf[l.end] === 13) offset++; // CRLF
              await write('rollout', buf.toString('utf8', l.start, l.end));
            }
            offset = base + consumed;
            buf = buf.subarray(consumed);
          }
        } finally {
          await fh.close();
        }
      } while (again && !closed);
    } finally {
      reading = false;
    }
  };

  const onLive = (e: LiveEvent) => {
    if (e.threadId !== req.sessionId) return;
    if (replaying) queued.push(e);
    else sendLive(e);
  };
  const onChange = (changes: IndexChange[]) => {
    for (const c of changes) {
      if (c.sessionId !== req.sessionId || c.kind === 'removed' || c.kind === 'name') continue;
      file = c.path; // archive/unarchive moves the file; the offset stays valid (same bytes)
      void tail();
    }
  };

  const cleanup = () => {
    if (closed) return;
    closed = true;
    deps.hub.off('event', onLive);
    deps.indexer.off('change', onChange);
    clearInterval(poll);
    clearInterval(heartbeat);
    deps.open?.delete(cleanup);
    out.end();
  };
  deps.open?.add(cleanup);
  let poll: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  ctx.req.on('close', cleanup);
  out.on('close', cleanup);

  if (req.follow) {
    deps.hub.on('event', onLive);
    deps.indexer.on('change', onChange);
    poll = setInterval(() => void tail(), deps.pollMs ?? 1000);
    heartbeat = setInterval(() => out.write(': ping\n\n'), deps.heartbeatMs ?? 15_000);
  }

  void (async () => {
    out.write(': codex-sm session events\n\n'); // flush headers now, so a client sees the stream open
    await tail();
    if (!req.follow) return cleanup();
    if (req.seq !== undefined) for (const e of deps.hub.since(req.sessionId, req.seq)) sendLive(e);
    for (const a of deps.approvals.list({ threadId: req.sessionId }))
      await write('approval', JSON.stringify(a));
    replaying = false;
    for (const e of queued.splice(0)) sendLive(e);
  })().catch(cleanup);
}
