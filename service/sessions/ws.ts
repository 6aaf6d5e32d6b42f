/**
 * `/ws`: codex-sm's own event channel with codex-agent's messages (authenticated at upgrade by
 * the core). Client → server: `{type:"subscribe_session",sessionId}`, `unsubscribe_session`,
 * `subscribe_new_sessions`. Server → client: `subscribed`, `session_event` (a new rollout line,
 * or `{type:"notification",method,params}` / `{type:"approval",approval}` from the live hub),
 * `new_session` (`{path, sessionId}`), `error`.
 * Other features' event logs (`channels`: queues, groups) are offered the same way:
 * `{type:"subscribe_queue",queueId}` → `{type:"queue_event",queueId,event}`.
 */
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { Approval } from './approval-json.js';
import { insideRoot } from './follow.js';
import type { IndexChange, SessionIndexer } from './indexer.js';
import type { LiveEvent, LiveHub } from './live.js';
import { isSessionId, splitLines } from './rollout.js';
import type { EventLog, WorkEvent } from '../work/events.js';
import { requestScopes } from '../auth/auth.js';
import { allows, isScope } from '../auth/scopes.js';
import { describeIllFormed, findIllFormedString } from '../well-formed.js';

export interface WsDeps {
  codexHome: string;
  indexer: SessionIndexer;
  hub: LiveHub;
  /** Disconnect a client that does not read (bytes queued); the current limit. */
  maxBufferedBytes: () => number;
  maxSubscriptions?: number;
  /** Event logs by kind (read at each message: features register after sessions). */
  channels?: ReadonlyMap<string, EventLog>;
}

/** The bytes [from, to) of a file as parsed lines (unparseable ones are skipped). */
function readRange(file: string, from: number, to: number): unknown[] {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(to - from);
    const n = fs.readSync(fd, buf, 0, buf.length, from);
    const out: unknown[] = [];
    for (const l of splitLines(buf, n).lines) {
      try {
        out.push(JSON.parse(buf.toString('utf8', l.start, l.end)));
      } catch {
        /* malformed line: skipped, as everywhere */
      }
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

export function createEventsSocketHandler(
  d: WsDeps,
): (ws: WebSocket, req: IncomingMessage) => void {
  return (ws, req) => {
    const sessions = new Set<string>();
    let newSessions = false;
    const send = (msg: object) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (ws.bufferedAmount > d.maxBufferedBytes()) return ws.close(1013, 'client too slow');
      ws.send(JSON.stringify(msg));
    };
    const onChange = (changes: IndexChange[]) => {
      for (const c of changes) {
        if (newSessions && c.kind === 'new' && c.from === 0)
          send({ type: 'new_session', path: c.path, sessionId: c.sessionId });
        if (
          !sessions.has(c.sessionId) ||
          (c.kind !== 'append' && c.kind !== 'new') ||
          c.from === undefined ||
          c.to === undefined ||
          c.to <= c.from
        )
          continue;
        if (!insideRoot(c.path, d.codexHome)) continue;
        try {
          for (const event of readRange(c.path, c.from, c.to))
            send({ type: 'session_event', sessionId: c.sessionId, event });
        } catch {
          /* moved or deleted between the change and the read */
        }
      }
    };
    const onLive = (e: LiveEvent) => {
      if (!sessions.has(e.threadId)) return;
      const event =
        e.type === 'approval'
          ? { type: 'approval', approval: e.data as Approval }
          : { type: 'notification', ...(e.data as object) };
      send({ type: 'session_event', sessionId: e.threadId, event });
    };
    d.indexer.on('change', onChange);
    d.hub.on('event', onLive);
    /** Per channel kind, the ids subscribed and the listener on its log. */
    const topics = new Map<
      string,
      { ids: Set<string>; log: EventLog; on: (e: WorkEvent) => void }
    >();
    const subscribe = (kind: string, id: unknown): void => {
      const log = d.channels?.get(kind);
      if (!log || typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id))
        return send({ type: 'error', message: `subscribe_${kind} needs a valid ${kind}Id` });
      const need = `${kind}s`;
      const granted = requestScopes.get(req);
      if (granted && isScope(need) && !allows(granted, need))
        return send({ type: 'error', message: `subscribe_${kind} needs the ${need} scope` });
      let t = topics.get(kind);
      if (!t) {
        const ids = new Set<string>();
        const on = (e: WorkEvent) => {
          if (ids.has(e.key)) send({ type: `${kind}_event`, [`${kind}Id`]: e.key, event: e.data });
        };
        log.on('event', on);
        topics.set(kind, (t = { ids, log, on }));
      }
      if (t.ids.size >= (d.maxSubscriptions ?? 1000))
        return send({ type: 'error', message: 'too many subscriptions' });
      t.ids.add(id.toLowerCase());
      send({ type: 'subscribed', channel: `${kind}:${id.toLowerCase()}` });
    };
    ws.on('close', () => {
      d.indexer.off('change', onChange);
      d.hub.off('event', onLive);
      for (const t of topics.values()) t.log.off('event', t.on);
    });
    ws.on('message', (data, isBinary) => {
      let msg: { type?: unknown; sessionId?: unknown; [key: string]: unknown };
      try {
        if (isBinary) throw new Error('binary');
        msg = JSON.parse(data.toString()) as typeof msg;
        if (!msg || typeof msg !== 'object') throw new Error('not an object');
      } catch {
        return send({ type: 'error', message: 'messages must be JSON objects' });
      }
      const bad = findIllFormedString(msg);
      if (bad) return send({ type: 'error', message: describeIllFormed(bad, 'message') });
      const sid = typeof msg.sessionId === 'string' ? msg.sessionId.toLowerCase() : undefined;
      switch (msg.type) {
        case 'subscribe_session':
          if (!sid || !isSessionId(sid))
            return send({ type: 'error', message: 'subscribe_session needs a valid sessionId' });
          if (sessions.size >= (d.maxSubscriptions ?? 1000))
            return send({ type: 'error', message: 'too many subscriptions' });
          sessions.add(sid);
          return send({ type: 'subscribed', channel: `session:${sid}` });
        case 'unsubscribe_session':
          if (sid) sessions.delete(sid);
          return send({ type: 'unsubscribed', channel: `session:${sid ?? ''}` });
        case 'subscribe_new_sessions':
          newSessions = true;
          return send({ type: 'subscribed', channel: 'new_sessions' });
        default: {
          const m = /^(un)?subscribe_([a-z]+)$/.exec(typeof msg.type === 'string' ? msg.type : '');
          if (m && d.channels?.has(m[2] as string)) {
            const kind = m[2] as string;
            if (!m[1]) return subscribe(kind, msg[`${kind}Id`]);
            const id = String(msg[`${kind}Id`] ?? '').toLowerCase();
            topics.get(kind)?.ids.delete(id);
            return send({ type: 'unsubscribed', channel: `${kind}:${id}` });
          }
          return send({
            type: 'error',
            message: `unknown message type ${JSON.stringify(msg.type)}`,
          });
        }
      }
    });
  };
}
