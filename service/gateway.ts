/**
 * The transparent app-server endpoint on `/` and `/app-server`: each client gets its own
 * upstream connection to the app-server and does its own `initialize`. The gateway completes
 * both upgrade handshakes itself and then hands the two sockets to a Relay (./relay.ts), which
 * copies bytes and reads only frame headers. No client header is forwarded upstream (the
 * app-server 403s on Origin, and hop-by-hop headers are per-connection); no extension is
 * negotiated, so frames stay uncompressed JSON. When the app-server restarts, clients are
 * closed with 1012 so they reconnect (the Codex TUI does, and resumes its thread).
 * Limits: a client message may be up to `maxFrameBytes` (64 MiB, the app-server's own message
 * limit); frames over the app-server's 16 MiB frame limit are relayed as fragments. At most
 * `maxGatewayClients` clients at once (each holds an app-server connection and its memory);
 * the next upgrade is refused with a JSON 503.
 */
import crypto from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocketServer } from 'ws';
import { errorBody, rawErrorResponse } from './http-errors.js';
import { Relay } from './relay.js';
import type { RelayCounts } from './relay-frames.js';

/** RFC 6455 §1.3: what a Sec-WebSocket-Key is hashed with. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

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

export class Gateway {
  private readonly relays = new Set<{ relay: Relay; path: string }>();
  private readonly log: Logger;
  /** Only ever increased (a counter): the relay's hot path pays two additions per message. */
  readonly relayed: RelayCounts = {
    toAppServer: { messages: 0, bytes: 0 },
    toClient: { messages: 0, bytes: 0 },
  };

  constructor(private readonly opts: GatewayOptions) {
    this.log = opts.logger.child({ component: 'gateway' });
  }

  get clientCount(): number {
    return this.relays.size;
  }

  /** Connected clients by the path they upgraded on (`/` or `/app-server`). */
  clientsByPath(): Map<string, number> {
    const by = new Map<string, number>();
    for (const { path } of this.relays) by.set(path, (by.get(path) ?? 0) + 1);
    return by;
  }

  /**
   * Complete the upgrade (auth, Host and the handshake headers were checked by the caller:
   * upgradeRefusal in http.ts) and start relaying.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const max = this.opts.maxClients();
    if (this.relays.size >= max) {
      this.log.warn({ clients: this.relays.size, max }, 'gateway full; upgrade refused');
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
    if (!socket.readable || !socket.writable) return void socket.destroy();
    const client = socket as Socket;
    client.write(acceptResponse(req));
    const path = (req.url ?? '/').split('?')[0] === '/app-server' ? '/app-server' : '/';
    const peer = req.socket.remoteAddress;
    const entry = {
      path,
      relay: new Relay(client, {
        log: this.log,
        peer,
        maxMessageBytes: this.opts.maxFrameBytes,
        maxBufferBytes: this.opts.maxClientBufferBytes,
        counts: this.relayed,
        appServerReady: () => this.opts.upstream() !== undefined,
        onEnd: () => {
          this.relays.delete(entry);
          this.log.debug({ peer, clients: this.relays.size }, 'client disconnected');
        },
      }),
    };
    this.relays.add(entry);
    this.log.debug({ peer, clients: this.relays.size }, 'client connected');
    if (head.length) client.unshift(head);
    openUpstream(endpoint, (err, upstream, upstreamHead) => {
      if (err || !upstream) entry.relay.upstreamFailed(err ?? new Error('no socket'));
      else entry.relay.attach(upstream, upstreamHead ?? Buffer.alloc(0));
    });
  }

  /** Close every client (1012 on app-server restart, 1001 on shutdown). */
  closeAll(code: number, reason: string): void {
    for (const { relay } of this.relays) relay.close(code, reason);
  }
}

/** Our 101 answer: the accept key, the client's first subprotocol (as `ws` picks), no extension. */
function acceptResponse(req: IncomingMessage): string {
  const key = String(req.headers['sec-websocket-key']);
  const accept = crypto
    .createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .find((p) => /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p));
  return (
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\n` +
    (offered ? `Sec-WebSocket-Protocol: ${offered}\r\n` : '') +
    '\r\n'
  );
}

/**
 * Our own upgrade to the app-server (`unix://path` or `ws://host:port`), with none of the
 * client's headers: `done` gets the raw socket and the bytes read past the handshake.
 */
function openUpstream(
  endpoint: string,
  done: (err: Error | undefined, socket?: Socket, head?: Buffer) => void,
): void {
  const key = crypto.randomBytes(16).toString('base64');
  const target: http.RequestOptions = endpoint.startsWith('unix://')
    ? { socketPath: endpoint.slice('unix://'.length), path: '/' }
    : (() => {
        const u = new URL(endpoint);
        return { host: u.hostname, port: Number(u.port), path: u.pathname || '/' };
      })();
  const req = http.request({
    ...target,
    agent: false,
    headers: {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Key': key,
      'Sec-WebSocket-Version': '13',
    },
  });
  let settled = false;
  const settle = (err: Error | undefined, socket?: Socket, head?: Buffer) => {
    if (settled) return void socket?.destroy();
    settled = true;
    done(err, socket, head);
  };
  req.on('upgrade', (res, socket: Socket, head: Buffer) => {
    const expected = crypto
      .createHash('sha1')
      .update(key + WS_GUID)
      .digest('base64');
    if (res.headers['sec-websocket-accept'] !== expected) {
      socket.destroy();
      return settle(new Error('app-server answered the upgrade with a wrong accept key'));
    }
    settle(undefined, socket, head);
  });
  req.on('response', (res) => {
    res.resume();
    settle(new Error(`app-server answered the upgrade with HTTP ${res.statusCode}`));
  });
  req.on('error', (e) => settle(e));
  req.end();
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
