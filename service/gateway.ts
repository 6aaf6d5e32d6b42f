/**
 * The transparent app-server endpoint on `/` and `/app-server`: each client gets its own
 * upstream connection to the app-server and does its own `initialize`; frames are relayed both
 * ways unchanged. No client header is forwarded upstream (the app-server 403s on Origin, and
 * hop-by-hop headers are per-connection); without the zstd header echoed, frames stay JSON.
 * A client that stops reading is cut off once its unsent backlog passes a bound, instead of
 * growing our memory. When the app-server restarts, clients are closed with 1012 so they
 * reconnect (the Codex TUI does, and resumes its thread).
 * Limits: a client message may be up to `maxFrameBytes` (64 MiB, the app-server's own message
 * limit); the app-server refuses any single frame over 16 MiB, so bigger messages are relayed
 * upstream as fragments. At most `maxGatewayClients` clients at once (each holds an app-server
 * connection and its memory); the next upgrade is refused with a JSON 503.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { errorBody, rawErrorResponse } from './http-errors.js';
import { wsAddress } from './rpc.js';

/** Fragment size for messages sent upstream: well under the app-server's 16 MiB frame limit. */
export const UPSTREAM_FRAGMENT_BYTES = 4 * 1024 * 1024;

export const CLOSE = {
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  serviceRestart: 1012,
  tryAgain: 1013,
} as const;

export interface GatewayOptions {
  logger: Logger;
  maxFrameBytes: number;
  /** Read at each check, so a reload applies to connected clients too. */
  maxClientBufferBytes: () => number;
  /** Clients at once; read at each upgrade (a reload applies to the next one). */
  maxClients: () => number;
  /** The current app-server endpoint, or undefined when it is not ready. */
  upstream(): string | undefined;
}

/** Codes a peer may not send in a close frame; relay them as "internal error". */
function sendableCode(code: number): number {
  return code === 1005 || code === 1006 || code === 1015 || code < 1000 || code >= 5000
    ? CLOSE.internal
    : code;
}

/** Messages and bytes relayed, by direction: plain numbers, read by /metrics at each scrape. */
export interface RelayCounts {
  toAppServer: { messages: number; bytes: number };
  toClient: { messages: number; bytes: number };
}

export class Gateway {
  private readonly wss: WebSocketServer;
  private readonly pairs = new Set<{ client: WebSocket; upstream: WebSocket; path: string }>();
  private readonly log: Logger;
  /** Only ever increased (a counter): the relay's hot path pays two additions per message. */
  readonly relayed: RelayCounts = {
    toAppServer: { messages: 0, bytes: 0 },
    toClient: { messages: 0, bytes: 0 },
  };

  constructor(private readonly opts: GatewayOptions) {
    this.log = opts.logger.child({ component: 'gateway' });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    answerHandshakeErrorsInJson(this.wss);
  }

  get clientCount(): number {
    return this.pairs.size;
  }

  /** Connected clients by the path they upgraded on (`/` or `/app-server`). */
  clientsByPath(): Map<string, number> {
    const by = new Map<string, number>();
    for (const { path } of this.pairs) by.set(path, (by.get(path) ?? 0) + 1);
    return by;
  }

  /** Complete the upgrade (auth and Host were checked by the caller) and start relaying. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // The handshake below completes synchronously, so no upgrade is in flight between checks.
    const max = this.opts.maxClients();
    if (this.pairs.size >= max) {
      this.log.warn({ clients: this.pairs.size, max }, 'gateway full; upgrade refused');
      rejectUpgrade(
        socket,
        503,
        errorBody(
          'too_many_clients',
          `${max} app-server clients are connected, the most allowed`,
          'retry after one disconnects, or raise maxGatewayClients',
        ),
        { 'Retry-After': '5' },
      );
      return;
    }
    const endpoint = this.opts.upstream();
    if (!endpoint) {
      rejectUpgrade(socket, 503, errorBody('not_ready', 'app-server is not ready; retry shortly'), {
        'Retry-After': '1',
      });
      return;
    }
    const path = (req.url ?? '/').split('?')[0] === '/app-server' ? '/app-server' : '/';
    this.wss.handleUpgrade(req, socket, head, (client) =>
      this.relay(client, endpoint, req.socket.remoteAddress, path),
    );
  }

  private relay(client: WebSocket, endpoint: string, peer: string | undefined, path: string): void {
    const { maxFrameBytes } = this.opts;
    const upstream = new WebSocket(wsAddress(endpoint), {
      perMessageDeflate: false,
      maxPayload: maxFrameBytes,
    });
    const pair = { client, upstream, path };
    const { toAppServer, toClient } = this.relayed;
    this.pairs.add(pair);
    this.log.debug({ peer, clients: this.pairs.size }, 'client connected');
    const early: { data: RawData; binary: boolean }[] = [];
    let earlyBytes = 0;

    const closeBoth = (code: number, reason: string) => {
      if (client.readyState === WebSocket.OPEN) client.close(sendableCode(code), reason);
      else if (client.readyState === WebSocket.CONNECTING) client.terminate();
      if (upstream.readyState === WebSocket.OPEN) upstream.close(1000);
      else if (upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
    };

    client.on('message', (data, binary) => {
      toAppServer.messages++;
      toAppServer.bytes += rawLength(data);
      if (upstream.readyState === WebSocket.OPEN) {
        // The backlog is checked before the send, so one message of any allowed size always goes.
        if (upstream.bufferedAmount > this.opts.maxClientBufferBytes())
          return closeBoth(CLOSE.tryAgain, 'app-server not keeping up');
        sendFragmented(upstream, data, binary);
      } else {
        // As above, checked before adding: the first message may be as big as allowed.
        if (earlyBytes > this.opts.maxClientBufferBytes())
          return closeBoth(CLOSE.policy, 'too much data before upstream was ready');
        earlyBytes += rawLength(data);
        early.push({ data, binary });
      }
    });
    upstream.on('open', () => {
      for (const m of early.splice(0)) sendFragmented(upstream, m.data, m.binary);
    });
    upstream.on('message', (data, binary) => {
      if (client.readyState !== WebSocket.OPEN) return;
      toClient.messages++;
      toClient.bytes += rawLength(data);
      client.send(data, { binary });
      if (client.bufferedAmount > this.opts.maxClientBufferBytes()) {
        // The client stopped reading: a close frame would queue behind the backlog, so cut it.
        this.log.warn(
          { peer, buffered: client.bufferedAmount },
          'client not reading; disconnecting',
        );
        client.terminate();
      }
    });
    // An abnormal upstream close means the app-server went away: tell the client to reconnect.
    upstream.on('close', (code, reason) =>
      code === 1006
        ? closeBoth(CLOSE.serviceRestart, 'app-server restarting')
        : closeBoth(code, reason.toString()),
    );
    upstream.on('error', (e) => {
      this.log.warn({ peer, err: e.message }, 'upstream connection failed');
      closeBoth(CLOSE.serviceRestart, 'app-server unavailable');
    });
    client.on('close', () => {
      this.pairs.delete(pair);
      closeBoth(1000, '');
      this.log.debug({ peer, clients: this.pairs.size }, 'client disconnected');
    });
    client.on('error', (e) => this.log.debug({ peer, err: e.message }, 'client error')); // e.g. 1009 oversize frame
  }

  /** Close every client (1012 on app-server restart, 1001 on shutdown). */
  closeAll(code: number, reason: string): void {
    for (const { client, upstream } of this.pairs) {
      if (client.readyState === WebSocket.OPEN) client.close(code, reason);
      else client.terminate();
      upstream.terminate();
    }
  }
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return (data as Buffer | ArrayBuffer).byteLength;
}

function asBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}

/**
 * Send one message as frames of at most UPSTREAM_FRAGMENT_BYTES (one frame when it fits, as the
 * client sent it). A split inside a UTF-8 sequence is fine: text is validated per message.
 */
export function sendFragmented(ws: WebSocket, data: RawData, binary: boolean): void {
  if (rawLength(data) <= UPSTREAM_FRAGMENT_BYTES) return ws.send(data, { binary });
  const buf = asBuffer(data);
  for (let at = 0; at < buf.length; at += UPSTREAM_FRAGMENT_BYTES) {
    const end = Math.min(at + UPSTREAM_FRAGMENT_BYTES, buf.length);
    ws.send(buf.subarray(at, end), { binary, fin: end === buf.length });
  }
}

/**
 * `ws` answers a handshake it cannot complete in text/html; with a listener it leaves the answer
 * to us. front.ts checks what `ws` checks first (upgradeRefusal), so this is the backstop.
 */
export function answerHandshakeErrorsInJson(wss: WebSocketServer): void {
  wss.on('wsClientError', (err, socket) =>
    rejectUpgrade(socket, 400, errorBody('bad_request', `WebSocket handshake: ${err.message}`)),
  );
}

/** Answer an upgrade request with a JSON HTTP error before any WebSocket handshake. */
export function rejectUpgrade(
  socket: Duplex,
  status: number,
  body: object,
  headers: Record<string, string> = {},
): void {
  socket.on('error', () => {});
  socket.end(rawErrorResponse(status, body, headers));
}
