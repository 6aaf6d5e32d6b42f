/**
 * What one client can hold open: the HTTP server's timeouts, a cap on open connections per peer
 * address and in total, and the closing of requests whose body is no longer wanted. Everything
 * is read from the live config at each new connection, so a reload applies to the next one.
 * docs/serve.md ("Timeouts and connection caps") says what a client sees.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { LimitsConfig } from '../src/config/schema.js';
import { clientErrorAnswer, errorBody, rawErrorResponse } from './http-errors.js';

/** How long a refused socket may stay to read the client's request before it is destroyed. */
const REFUSAL_LINGER_MS = 2000;

/** How often node checks headersTimeout/requestTimeout: a quarter of the smaller, at most 1 s. */
export function checkingIntervalMs(l: LimitsConfig): number {
  return Math.max(
    25,
    Math.min(1000, Math.floor(Math.min(l.headersTimeoutMs, l.requestTimeoutMs) / 4)),
  );
}

/** The options node's HTTP server needs at creation (it refuses headersTimeout > requestTimeout). */
export function serverTimeoutOptions(l: LimitsConfig): http.ServerOptions {
  return {
    headersTimeout: Math.min(l.headersTimeoutMs, l.requestTimeoutMs),
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.idleTimeoutMs,
    connectionsCheckingInterval: checkingIntervalMs(l),
  };
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are one peer. */
export function peerKey(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export type Admission = 'ok' | 'total' | 'peer';

/** Open connections by peer address. Pure bookkeeping; the socket wiring is in guardServer. */
export class ConnectionCounter {
  private readonly byPeer = new Map<string, number>();
  private total = 0;

  get open(): number {
    return this.total;
  }

  /** Count the connection in when both caps allow it. */
  admit(
    peer: string,
    l: Pick<LimitsConfig, 'maxConnections' | 'maxConnectionsPerPeer'>,
  ): Admission {
    const mine = this.byPeer.get(peer) ?? 0;
    if (this.total >= l.maxConnections) return 'total';
    if (mine >= l.maxConnectionsPerPeer) return 'peer';
    this.byPeer.set(peer, mine + 1);
    this.total += 1;
    return 'ok';
  }

  release(peer: string): void {
    const mine = this.byPeer.get(peer) ?? 0;
    if (mine <= 1) this.byPeer.delete(peer);
    else this.byPeer.set(peer, mine - 1);
    this.total = Math.max(0, this.total - 1);
  }
}

/**
 * A client error Node's parser raised, as the JSON answer to write (undefined: just close).
 * None after a reset or a broken pipe (nobody reads it), once something was written (too late
 * for a status line), or when nothing was read: a connection that stayed silent until node's
 * headers timeout asked nothing, and is closed like an idle one (docs/serve.md, Limits).
 */
export function clientErrorResponse(
  err: NodeJS.ErrnoException,
  socket: { bytesRead: number; bytesWritten: number },
): string | undefined {
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return undefined;
  if (socket.bytesWritten > 0 || socket.bytesRead === 0) return undefined;
  const { status, body } = clientErrorAnswer(err.code);
  return rawErrorResponse(status, body);
}

/** Write a last answer, then close: after the client's end, or after a short linger at most. */
function answerAndClose(socket: net.Socket, response: string): void {
  socket.on('error', () => {});
  socket.end(response);
  socket.resume(); // read (and drop) what the client sends, so closing does not reset the connection
  socket.once('end', () => socket.destroy());
  setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
}

/** Requests still receiving their body, per server (a graceful stop closes them). */
const uploads = new WeakMap<http.Server, Set<http.IncomingMessage>>();

/**
 * Wrap the request handler: a request in progress is exempt from the idle timeout (its body is
 * bounded by requestTimeout, its response is ours to finish); a response sent before the body
 * arrived (401, 413, …) closes the connection, so a rejected upload cannot be trickled forever.
 */
export function guardRequests(
  refused: WeakSet<net.Socket>,
  open: Set<http.IncomingMessage>,
  handler: http.RequestListener,
): http.RequestListener {
  return (req, res) => {
    if (refused.has(req.socket)) return; // already answered 503 and closing
    req.socket.setTimeout(0);
    if (!req.complete) {
      open.add(req);
      const done = () => open.delete(req);
      req.once('end', done);
      req.once('close', done);
    }
    res.once('finish', () => {
      if (req.complete) return;
      // Answered before the body arrived (401, 404, 413...): read and drop the rest, so the
      // client reads the answer (closing with its bytes unread would reset the connection); a
      // body still not in after a moment (a trickled upload) is not waited for: close.
      const socket = req.socket;
      req.resume();
      const cut = setTimeout(() => req.complete || socket.destroy(), REFUSAL_LINGER_MS);
      cut.unref();
      req.once('end', () => clearTimeout(cut));
    });
    handler(req, res);
  };
}

/** Apply the caps and timeouts to a server made with serverTimeoutOptions and guardRequests. */
export function guardServer(
  server: http.Server,
  limits: () => LimitsConfig,
  opts: { tls: boolean; refused: WeakSet<net.Socket>; open: Set<http.IncomingMessage> },
): ConnectionCounter {
  const counter = new ConnectionCounter();
  uploads.set(server, opts.open);
  // Prepended: node's own connection listener reads server.timeout, so set it first.
  server.prependListener('connection', (socket: net.Socket) => {
    const l = limits();
    server.headersTimeout = Math.min(l.headersTimeoutMs, l.requestTimeoutMs);
    server.requestTimeout = l.requestTimeoutMs;
    server.keepAliveTimeout = l.idleTimeoutMs;
    server.timeout = l.idleTimeoutMs;
    const peer = peerKey(socket.remoteAddress);
    const admission = counter.admit(peer, l);
    if (admission === 'ok') {
      socket.once('close', () => counter.release(peer));
      return;
    }
    opts.refused.add(socket);
    // A TLS client has not shaken hands yet: there is no HTTP to answer with, only a close.
    if (opts.tls) return void socket.destroy();
    const message =
      admission === 'peer'
        ? `too many open connections from ${peer} (limits.maxConnectionsPerPeer = ${l.maxConnectionsPerPeer})`
        : `too many open connections (limits.maxConnections = ${l.maxConnections})`;
    answerAndClose(
      socket,
      rawErrorResponse(503, errorBody('too_many_connections', message), { 'Retry-After': '5' }),
    );
  });
  // What node does by default (answer if nothing was written yet, then destroy), in JSON.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const answer = socket.writable ? clientErrorResponse(err, socket) : undefined;
    if (answer) socket.write(answer);
    socket.destroy();
  });
  return counter;
}

/**
 * Close the connections of requests still receiving their body: nothing was done for them yet,
 * and a graceful stop must not wait for a client that trickles (or never sends) the rest.
 */
export function closeUnfinishedUploads(server: http.Server): number {
  const open = uploads.get(server);
  if (!open) return 0;
  const n = open.size;
  for (const req of open) req.socket.destroy();
  open.clear();
  return n;
}
