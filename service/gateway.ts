/**
 * The transparent app-server endpoint on `/` and `/app-server`: each client gets its own
 * upstream connection to the app-server and does its own `initialize`; frames are relayed both
 * ways unchanged. No client header is forwarded upstream (the app-server 403s on Origin, and
 * hop-by-hop headers are per-connection); without the zstd header echoed, frames stay JSON.
 * A client that stops reading is cut off once its unsent backlog passes a bound, instead of
 * growing our memory. When the app-server restarts, clients are closed with 1012 so they
 * reconnect (the Codex TUI does, and resumes its thread).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { wsAddress } from './rpc.js';

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
  /** The current app-server endpoint, or undefined when it is not ready. */
  upstream(): string | undefined;
}

/** Codes a peer may not send in a close frame; relay them as "internal error". */
function sendableCode(code: number): number {
  return code === 1005 || code === 1006 || code === 1015 || code < 1000 || code >= 5000
    ? CLOSE.internal
    : code;
}

export class Gateway {
  private readonly wss: WebSocketServer;
  private readonly pairs = new Set<{ client: WebSocket; upstream: WebSocket }>();
  private readonly log: Logger;

  constructor(private readonly opts: GatewayOptions) {
    this.log = opts.logger.child({ component: 'gateway' });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  get clientCount(): number {
    return this.pairs.size;
  }

  /** Complete the upgrade (auth and Host were checked by the caller) and start relaying. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const endpoint = this.opts.upstream();
    if (!endpoint) {
      rejectUpgrade(
        socket,
        503,
        { error: { code: 'not_ready', message: 'app-server is not ready; retry shortly' } },
        { 'Retry-After': '1' },
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (client) =>
      this.relay(client, endpoint, req.socket.remoteAddress),
    );
  }

  private relay(client: WebSocket, endpoint: string, peer: string | undefined): void {
    const { maxFrameBytes } = this.opts;
    const upstream = new WebSocket(wsAddress(endpoint), {
      perMessageDeflate: false,
      maxPayload: maxFrameBytes,
    });
    const pair = { client, upstream };
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
      if (upstream.readyState === WebSocket.OPEN) {
        upstream.send(data, { binary });
        if (upstream.bufferedAmount > this.opts.maxClientBufferBytes())
          closeBoth(CLOSE.tryAgain, 'app-server not keeping up');
      } else {
        earlyBytes += rawLength(data);
        if (earlyBytes > this.opts.maxClientBufferBytes())
          return closeBoth(CLOSE.policy, 'too much data before upstream was ready');
        early.push({ data, binary });
      }
    });
    upstream.on('open', () => {
      for (const m of early.splice(0)) upstream.send(m.data, { binary: m.binary });
    });
    upstream.on('message', (data, binary) => {
      if (client.readyState !== WebSocket.OPEN) return;
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

/** Answer an upgrade request with a plain HTTP error before any WebSocket handshake. */
export function rejectUpgrade(
  socket: Duplex,
  status: number,
  body: object,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  const reason =
    {
      400: 'Bad Request',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      429: 'Too Many Requests',
      503: 'Service Unavailable',
    }[status] ?? 'Error';
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${extra}Connection: close\r\n\r\n${text}`,
  );
  socket.on('error', () => {});
}
