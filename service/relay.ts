/**
 * One relayed client of the app-server endpoint: after the two upgrade handshakes (ours with
 * the client, ours with the app-server), bytes are copied both ways as they arrive and only
 * frame headers are read (./ws-frames.ts) — no message is decoded or re-encoded. A client's
 * frames are valid app-server input as they are: client frames are masked, and a client's
 * masking key is as good as ours. What the headers are read for:
 * - the client's side is checked as a WebSocket server must (RSV bits, opcodes, masking,
 *   control frames, fragmentation, close codes) and its messages are bounded by
 *   `maxMessageBytes` (1009); a frame over the app-server's 16 MiB frame limit is relayed as
 *   fragments of FRAGMENT_BYTES, which needs new headers only (the mask lines up, see below);
 * - messages and bytes are counted per direction (/metrics);
 * - a close frame of ours (1012 app-server restarting, 1001 stopping, protocol errors)
 *   goes in only between two frames of the app-server's stream.
 * A client that stops reading is cut off once `maxBufferBytes` wait for it. Towards the
 * app-server, the client is simply read more slowly while its bytes wait to be written (TCP
 * backpressure, as any byte pipe): nothing piles up in our memory, however big the message.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  checkClosePayload,
  CLOSE,
  closeFrame,
  encodeFrameHeader,
  FrameScanner,
  OPCODE,
  unmask,
  Utf8Check,
  wholeClientFrames,
  wholeServerFrames,
  type FrameHeader,
  type FrameSink,
  type Refusal,
  type WholeFrames,
} from './ws-frames.js';

export { CLOSE };

/**
 * Fragment size for frames sent upstream: well under the app-server's 16 MiB frame limit, and a
 * multiple of 4, so each fragment's payload keeps its bytes' masking-key positions.
 */
export const FRAGMENT_BYTES = 4 * 1024 * 1024;
/** How long a closed client may take to read our close frame before its socket is destroyed. */
const CLOSE_LINGER_MS = 2000;
/**
 * An upstream connection lost without a close frame while the supervisor still says `ready`:
 * wait this long for it to notice (its 'down' closes every client with 1012 at once), so a
 * client told "restarting" does not find the service still claiming ready.
 */
const UPSTREAM_LOSS_GRACE_MS = 500;

/** Messages and bytes relayed, by direction: plain numbers, read by /metrics at each scrape. */
export interface RelayCounts {
  toAppServer: { messages: number; bytes: number };
  toClient: { messages: number; bytes: number };
}

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

/** A fast-path chunk's messages and bytes added to a direction's counts; false for a chunk that is not one. */
function counted(counts: WholeFrames, whole: WholeFrames | undefined): boolean {
  if (!whole) return false;
  counts.messages += whole.messages;
  counts.bytes += whole.bytes;
  return true;
}

/** A data frame's bytes added to a direction's counts, and a message at its last frame. */
function countDataFrame(counts: WholeFrames, h: FrameHeader): void {
  counts.bytes += h.length;
  if (h.fin) counts.messages++;
}

/** What the client sends, checked and passed on (split when a frame is too big upstream). */
class ClientFrames implements FrameSink {
  private inMessage = false;
  private messageBytes = 0;
  /** 'pass': copied as is; 'split': re-headed in fragments; 'close': held to be checked. */
  private mode: 'pass' | 'split' | 'close' = 'pass';
  private pieceLeft = 0;
  private held: Buffer[] = [];
  /** Set while a text message is in flight: its UTF-8 is checked as it passes. */
  private text: Utf8Check | undefined;

  constructor(
    private readonly relay: Relay,
    private readonly maxMessageBytes: number,
    private readonly counts: RelayCounts['toAppServer'],
  ) {}

  /**
   * A chunk of whole plain messages, arriving between two messages: counted, and true when it
   * may go upstream as it is (the fast path; see wholeClientFrames).
   */
  passWhole(chunk: Buffer): boolean {
    if (this.inMessage) return false;
    const limit = Math.min(this.maxMessageBytes, FRAGMENT_BYTES);
    return counted(this.counts, wholeClientFrames(chunk, limit));
  }

  header(h: FrameHeader, bytes: Buffer): void {
    const refusal = this.check(h);
    if (refusal) return this.relay.refuse(refusal);
    if (h.opcode === OPCODE.close) {
      this.mode = 'close';
      this.held = [Buffer.from(bytes)];
      return;
    }
    if (h.opcode < OPCODE.close) {
      countDataFrame(this.counts, h);
      if (h.opcode === OPCODE.text) this.text = new Utf8Check();
    }
    if (h.length > FRAGMENT_BYTES) {
      this.mode = 'split';
      this.pieceLeft = 0;
      return;
    }
    this.mode = 'pass';
    this.relay.toUpstream(bytes);
  }

  payload(chunk: Buffer, start: number, end: number, offset: number): void {
    // The app-server drops a connection over invalid UTF-8 without a close frame; a WebSocket
    // server owes the client 1007, so text is checked here (unmasked into a scratch copy). A
    // ping or pong may come between two fragments of a text message: its payload is not text.
    const h = this.relay.clientScanner.currentHeader as FrameHeader;
    if (
      this.text &&
      h.opcode < OPCODE.close &&
      !this.text.push(unmask(chunk.subarray(start, end), h.mask, offset))
    )
      return this.relay.refuse({
        code: CLOSE.invalidData,
        reason: 'invalid UTF-8 in a text message',
      });
    if (this.mode === 'pass') return this.relay.toUpstream(chunk.subarray(start, end));
    if (this.mode === 'close') return void this.held.push(Buffer.from(chunk.subarray(start, end)));
    for (let at = start; at < end;) {
      if (this.pieceLeft === 0) {
        const done = offset + (at - start);
        this.pieceLeft = Math.min(FRAGMENT_BYTES, h.length - done);
        // Every fragment but the first continues the message; the last one ends it if h did.
        this.relay.toUpstream(
          encodeFrameHeader({
            fin: h.fin && done + this.pieceLeft === h.length,
            rsv: 0,
            opcode: done === 0 ? h.opcode : OPCODE.continuation,
            masked: true,
            mask: h.mask,
            length: this.pieceLeft,
          }),
        );
      }
      const n = Math.min(this.pieceLeft, end - at);
      this.relay.toUpstream(chunk.subarray(at, at + n));
      this.pieceLeft -= n;
      at += n;
    }
  }

  end(h: FrameHeader): void {
    if (this.mode !== 'close') {
      if (this.text && h.fin && h.opcode < OPCODE.close) {
        const whole = this.text.end();
        this.text = undefined;
        if (!whole)
          return this.relay.refuse({
            code: CLOSE.invalidData,
            reason: 'invalid UTF-8 in a text message',
          });
      }
      return;
    }
    const frame = Buffer.concat(this.held);
    this.held = [];
    const refusal = checkClosePayload(unmask(frame.subarray(h.headerBytes), h.mask));
    if (refusal) return this.relay.refuse(refusal);
    this.relay.toUpstream(frame);
    this.relay.clientSentClose();
  }

  /** The checks a WebSocket server makes on a client's frame header (RFC 6455 §5). */
  private check(h: FrameHeader): Refusal | undefined {
    const protocol = (reason: string) => ({ code: CLOSE.protocol, reason });
    if (h.rsv !== 0) return protocol('RSV bits must be clear');
    if (!h.masked) return protocol('client frames must be masked');
    if (h.opcode >= OPCODE.close) {
      if (h.opcode > OPCODE.pong) return protocol(`invalid opcode ${h.opcode}`);
      if (!h.fin) return protocol('control frames must not be fragmented');
      if (h.length > 125) return protocol('control frame payload over 125 bytes');
      return undefined;
    }
    if (h.opcode > OPCODE.binary) return protocol(`invalid opcode ${h.opcode}`);
    if (h.opcode === OPCODE.continuation) {
      if (!this.inMessage) return protocol('continuation frame outside a message');
      this.messageBytes += h.length;
    } else {
      if (this.inMessage) return protocol('new message inside a fragmented one');
      this.messageBytes = h.length;
    }
    if (this.messageBytes > this.maxMessageBytes)
      return { code: CLOSE.tooBig, reason: 'message too big' };
    this.inMessage = !h.fin;
    return undefined;
  }
}

/** What the app-server sends: copied as is; headers read to count and to find boundaries. */
class UpstreamFrames implements FrameSink {
  constructor(
    private readonly relay: Relay,
    private readonly counts: RelayCounts['toClient'],
  ) {}

  /** A chunk of whole frames and no close frame: counted, true (the fast path). */
  passWhole(chunk: Buffer): boolean {
    return counted(this.counts, wholeServerFrames(chunk));
  }

  header(h: FrameHeader): void {
    if (h.opcode < OPCODE.close) countDataFrame(this.counts, h);
    else if (h.opcode === OPCODE.close) this.relay.upstreamSentClose();
  }

  payload(): void {}

  end(): void {}
}

export class Relay {
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
