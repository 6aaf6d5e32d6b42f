/**
 * Following a session from the terminal: the SSE client of `GET /api/sessions/:id/events`
 * (`session watch`), and a turn followed to its end (`session start|send --wait`).
 */
import http from 'node:http';
import https from 'node:https';
import { CodexSmError } from '../errors.js';
import {
  apiPath,
  relayedError,
  unreachable,
  type ServiceConnection as Conn,
} from './service-client.js';

/** What the stream's reader is told: an event, or that the stream is open (subscribed). */
interface FollowHandlers {
  /** One event; true ends the stream. */
  onEvent(event: string, data: unknown): boolean | void;
  /**
   * The service has subscribed this stream to the session's live events (its response arrived).
   * Resolving true ends the stream; a rejection ends it and rejects `follow`.
   */
  onOpen?(): Promise<boolean | void>;
}

/** Follow the SSE stream; resolves when a handler says so or the stream ends. */
function follow(conn: Conn, id: string, h: FollowHandlers): Promise<void> {
  const url = new URL(`${apiPath('sessions', id, 'events')}?follow=true`, conn.endpoint);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      req.destroy();
      if (err) reject(err);
      else resolve();
    };
    const req = mod.get(
      url,
      { headers: { authorization: `Bearer ${conn.token}`, accept: 'text/event-stream' } },
      (res) => {
        if ((res.statusCode ?? 0) >= 400) {
          let t = '';
          res.on('data', (d: Buffer) => (t += d.toString()));
          res.on('end', () => {
            let body: unknown;
            try {
              body = JSON.parse(t);
            } catch {
              /* not JSON: the status says it */
            }
            finish(relayedError(res.statusCode ?? 0, body));
          });
          return;
        }
        h.onOpen?.().then((stop) => stop && finish(), finish);
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let i: number;
          while (!done && (i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = block
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n');
            if (!event || !data) continue;
            let parsed: unknown = data;
            try {
              parsed = JSON.parse(data);
            } catch {
              /* keep text */
            }
            if (h.onEvent(event, parsed) === true) finish();
          }
        });
        res.on('end', () => finish());
        // A service killed mid-stream aborts the response without 'end': the stream is over too.
        res.on('close', () => finish());
      },
    );
    req.on('error', (e) => finish(unreachable(conn, e)));
  });
}

/** One line per interesting event for a person; deltas are printed inline. */
function humanEvent(event: string, data: unknown): string | undefined {
  const d = data as {
    method?: string;
    params?: Record<string, unknown>;
    type?: string;
    payload?: Record<string, unknown>;
  } & Record<string, unknown>;
  if (event === 'approval')
    return `\n[approval ${String(d.status)}] ${String(d.id)} ${String(d.method)} ${JSON.stringify((d.params as { command?: string })?.command ?? '')}\n`;
  if (event === 'notification') {
    if (d.method === 'item/agentMessage/delta') return String(d.params?.delta ?? '');
    if (d.method === 'turn/started') return `\n[turn started]\n`;
    if (d.method === 'turn/completed')
      return `\n[turn ${String((d.params?.turn as { status?: string })?.status)}]\n`;
    if (d.method === 'error') return `\n[error] ${JSON.stringify(d.params?.error ?? d.params)}\n`;
    return undefined;
  }
  if (event === 'rollout' && d.type === 'event_msg') {
    const p = d.payload ?? {};
    const item = p.item as { type?: string; content?: { text?: string }[] } | undefined;
    const text =
      (p.message as string | undefined) ?? item?.content?.map((c) => c.text ?? '').join('');
    if (p.type === 'user_message' || item?.type === 'UserMessage') return `\n> ${text}\n`;
    if (p.type === 'agent_message' || item?.type === 'AgentMessage') return `${text}\n`;
  }
  return undefined;
}

/** NDJSON lines, human text, or nothing (`--wait --json` prints one object at the end). */
export type WatchMode = 'json' | 'human' | 'quiet';

function print(mode: WatchMode, event: string, data: unknown, liveOnly: boolean): void {
  if (mode === 'json') process.stdout.write(JSON.stringify({ event, data }) + '\n');
  else if (mode === 'human') {
    // `--wait` shows only the live part: the file's old lines were seen before.
    const line = liveOnly && event === 'rollout' ? undefined : humanEvent(event, data);
    if (line) process.stdout.write(line);
  }
}

/** `session watch`: every event until the stream ends (or Ctrl-C). */
export function watch(conn: Conn, id: string, mode: WatchMode): Promise<void> {
  return follow(conn, id, { onEvent: (event, data) => print(mode, event, data, false) });
}

/** A turn/completed notification's turn id and status. */
function completedTurn(event: string, data: unknown): { id?: string; status?: string } | undefined {
  if (event !== 'notification') return undefined;
  const d = data as { method?: string; params?: { turn?: { id?: string; status?: string } } };
  return d.method === 'turn/completed' ? { ...d.params?.turn } : undefined;
}

/**
 * Start a turn with `begin` and follow it until it ends (`--wait`): its status (completed,
 * interrupted, failed) with what `begin` answered. The stream is opened first and the turn
 * started once the service has subscribed it: the service sends a new stream only the live
 * events that come after it opened, so a turn that ended before the stream opened (a quick
 * one, or a busy machine) would never be seen ending. Waits for the turn/completed of the
 * turn id `begin` answered: input sent while another turn runs joins that turn, whose id it
 * answers.
 */
export async function beginAndWait<R extends { turnId: string }>(
  conn: Conn,
  id: string,
  mode: WatchMode,
  begin: () => Promise<R>,
): Promise<{ answer: R; status: string | undefined }> {
  let answer: R | undefined;
  // Turns that ended before `begin` answered (the turn's own end may be among them).
  const ended = new Map<string | undefined, string | undefined>();
  let status: string | undefined;
  await follow(conn, id, {
    onEvent: (event, data) => {
      print(mode, event, data, true);
      const turn = completedTurn(event, data);
      if (!turn) return false;
      if (!answer) return void ended.set(turn.id, turn.status);
      if (turn.id !== answer.turnId) return false;
      status = turn.status;
      return true;
    },
    onOpen: async () => {
      answer = await begin();
      if (!ended.has(answer.turnId)) return false;
      status = ended.get(answer.turnId);
      return true;
    },
  });
  // follow resolves only after onOpen ran: a stream that ends while `begin` is still being
  // answered finishes it first, and the answer may never come (a service going away).
  if (!answer)
    throw new CodexSmError(
      'service_unreachable',
      "the service closed the event stream before it answered the turn's start",
      { hint: 'see `codex-sm status`; the turn may have started: `codex-sm session show ID`' },
    );
  return { answer, status };
}
