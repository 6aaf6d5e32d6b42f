/**
 * One relayed client of the app-server endpoint: after the two upgrade handshakes (ours with
 * the client, ours with the app-server), bytes are copied both ways as they arrive and only
 * frame headers are read (./ws-frames.ts) — no message is decoded or re-encoded. A client's
 * frames are valid app-server input as they are: client frames are masked, and a client's
 * masking key is as good as ours. What the headers are read for:
 * - the client's side is checked as a WebSocket server must (RSV bits, opcodes, masking,
 *   control frames, fragmentation, close codes) and its messages are bounded by
 *   `maxMessageBytes` (1009); a frame over the app-server's 16 MiB frame limit is relayed as
 *   fragments of FRAGMENT_BYTES, which needs new headers only (./relay-frames.ts);
 * - messages and bytes are counted per direction (/metrics);
 * - a close frame of ours (1012 app-server restarting, 1001 stopping, protocol errors)
 *   goes in only between two frames of the app-server's stream.
 * The frame rules per direction are ./relay-frames.ts; this module holds the two sockets.
 * A client that stops reading is cut off once `maxBufferBytes` wait for it. Towards the
 * app-server, the client is simply read more slowly while its bytes wait to be written (TCP
 * backpressure, as any byte pipe): nothing piles up in our memory, however big the message.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ClientFrames, UpstreamFrames, type FrameRelay, type RelayCounts } from './relay-frames.js';
import { CLOSE, closeFrame, FrameScanner, type Refusal } from './ws-frames.js';

/** How long a closed client may take to read our close frame before its socket is destroyed. */
const CLOSE_LINGER_MS = 2000;
/**
 * An upstream connection lost without a close frame while the supervisor still says `ready`:
 * wait this long for it to notice (its 'down' closes every client with 1012 at once), so a
 * client told "restarting" does not find the service still claiming ready.
 */
const UPSTREAM_LOSS_GRACE_MS = 500;

export interface RelayOptions {
  log: Logger;
  peer: string | undefined;
  maxMessageBytes: number;
  /** Read at each check, so a reload applies to connected clients too. */
  maxBufferBytes(): number;
  counts: RelayCounts;
  /** Whether the supervisor still believes the app-server is up. */
  appServerReady(): boolean;
  /** The client's socket has closed: the relay is over. */
  onEnd(): void;
}

export class Relay implements FrameRelay {
  readonly clientScanner: FrameScanner;
  private readonly upstreamScanner: FrameScanner;
  private readonly clientFrames: ClientFrames;
  private readonly upstreamFrames: UpstreamFrames;
  private upstream: Socket | undefined;
  /** Upstream writes of the current client chunk, merged when adjacent in memory. */
  private pending: Buffer[] = [];
  private closing = false;
  private sawUpstreamClose = false;
  private sawClientClose = false;
  private lossTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Socket,
    private readonly opts: RelayOptions,
  ) {
    this.clientFrames = new ClientFrames(this, opts.maxMessageBytes, opts.counts.toAppServer);
    this.clientScanner = new FrameScanner(this.clientFrames);
    this.upstreamFrames = new UpstreamFrames(this, opts.counts.toClient);
    this.upstreamScanner = new FrameScanner(this.upstreamFrames);
    client.setTimeout(0); // the HTTP server's timeouts were for requests, not for a WebSocket
    client.setNoDelay(true);
    client.pause(); // until the app-server connection is open: the kernel holds what comes early
    client.on('error', (e) => opts.log.debug({ peer: opts.peer, err: e.message }, 'client error'));
    client.on('end', () => this.upstream?.end());
    client.once('close', () => {
      this.closing = true;
      clearTimeout(this.lossTimer);
      this.upstream?.destroy();
      opts.onEnd();
    });
  }

  /** The app-server accepted our upgrade: start copying (`head`: its bytes already read). */
  attach(upstream: Socket, head: Buffer): void {
    if (this.closing) return void upstream.destroy();
    this.upstream = upstream;
    upstream.setNoDelay?.(true);
    upstream.on('error', (e) =>
      this.opts.log.debug({ peer: this.opts.peer, err: e.message }, 'upstream error'),
    );
    upstream.on('data', (chunk: Buffer) => this.fromUpstream(chunk));
    upstream.on('drain', () => this.client.resume());
    upstream.once('close', () => this.upstreamGone());
    if (head.length) this.fromUpstream(head);
    this.client.on('data', (chunk: Buffer) => this.fromClient(chunk));
    this.client.resume();
  }

  /** The app-server could not be reached for this client. */
  upstreamFailed(err: Error): void {
    this.opts.log.warn({ peer: this.opts.peer, err: err.message }, 'upstream connection failed');
    this.close(CLOSE.serviceRestart, 'app-server unavailable');
  }

  /**
   * Close the client with `code` (1012 restarting, 1001 stopping, ...) and drop the upstream
   * connection. The close frame goes in between two frames of the app-server's stream; in the
   * middle of one, the connection is cut instead.
   */
  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.lossTimer);
    this.upstreamScanner.stop();
    this.clientScanner.stop();
    this.upstream?.destroy();
    if (!this.upstreamScanner.atBoundary || !this.client.writable)
      return void this.client.destroy();
    this.client.end(closeFrame(code, reason));
    setTimeout(() => this.client.destroy(), CLOSE_LINGER_MS).unref();
  }

  /** A client frame broke the protocol: close with its code, as a WebSocket server does. */
  refuse(r: Refusal): void {
    this.opts.log.debug(
      { peer: this.opts.peer, code: r.code, why: r.reason },
      'client frame refused',
    );
    this.pending = [];
    this.close(r.code, r.reason);
  }

  toUpstream(bytes: Buffer): void {
    const last = this.pending[this.pending.length - 1];
    if (
      last &&
      last.buffer === bytes.buffer &&
      last.byteOffset + last.byteLength === bytes.byteOffset
    ) {
      // Adjacent in memory (the usual case: the next frame of the same chunk): one slice.
      this.pending[this.pending.length - 1] = Buffer.from(
        last.buffer,
        last.byteOffset,
        last.byteLength + bytes.byteLength,
      );
    } else this.pending.push(bytes);
  }

  clientSentClose(): void {
    this.sawClientClose = true;
    this.clientScanner.stop(); // nothing may follow a close frame
  }

  upstreamSentClose(): void {
    this.sawUpstreamClose = true;
  }

  private fromClient(chunk: Buffer): void {
    const upstream = this.upstream;
    if (this.closing || !upstream || this.clientScanner.isStopped) return;
    // Whole plain messages (nearly every chunk) go as they are; the rest through the scanner.
    if (this.clientScanner.atBoundary && this.clientFrames.passWhole(chunk)) {
      if (!upstream.write(chunk)) this.client.pause(); // until the app-server's side drains
      return;
    }
    this.clientScanner.feed(chunk);
    const out = this.pending;
    if (!out.length || this.closing) return void (out.length = 0);
    let more: boolean;
    if (out.length === 1) {
      const only = out[0] as Buffer;
      // Whole frames only (the usual chunk): the chunk itself, no new view.
      const whole =
        only.buffer === chunk.buffer &&
        only.byteOffset === chunk.byteOffset &&
        only.length === chunk.length;
      more = upstream.write(whole ? chunk : only);
    } else {
      upstream.cork();
      more = true;
      for (const b of out) more = upstream.write(b);
      upstream.uncork();
    }
    out.length = 0;
    if (!more) this.client.pause(); // until the app-server's side drains
  }

  private fromUpstream(chunk: Buffer): void {
    if (this.closing) return;
    if (!(this.upstreamScanner.atBoundary && this.upstreamFrames.passWhole(chunk)))
      this.upstreamScanner.feed(chunk);
    this.client.write(chunk);
    if (this.client.writableLength > this.opts.maxBufferBytes()) {
      // The client stopped reading: a close frame would queue behind the backlog, so cut it.
      this.opts.log.warn(
        { peer: this.opts.peer, buffered: this.client.writableLength },
        'client not reading; disconnecting',
      );
      this.closing = true;
      this.client.destroy();
    }
  }

  /** The app-server's side closed: after its close frame, end; without one, it went away. */
  private upstreamGone(): void {
    if (this.closing) return;
    if (this.sawUpstreamClose || this.sawClientClose) {
      this.closing = true;
      this.client.end();
      setTimeout(() => this.client.destroy(), CLOSE_LINGER_MS).unref();
      return;
    }
    if (!this.opts.appServerReady())
      return this.close(CLOSE.serviceRestart, 'app-server restarting');
    this.lossTimer = setTimeout(
      () => this.close(CLOSE.serviceRestart, 'app-server restarting'),
      UPSTREAM_LOSS_GRACE_MS,
    );
  }
}
