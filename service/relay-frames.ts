/**
 * The relay's two frame sinks (./ws-frames.ts reads the headers and calls them): what the client
 * sends is checked as a WebSocket server must and passed on, split into fragments when a frame
 * is too big for the app-server; what the app-server sends is only counted, and its close frame
 * noticed. Neither touches a socket: what they decide goes through FrameRelay (./relay.ts).
 */
import {
  checkClosePayload,
  CLOSE,
  encodeFrameHeader,
  OPCODE,
  unmask,
  Utf8Check,
  wholeClientFrames,
  wholeServerFrames,
  type FrameHeader,
  type FrameScanner,
  type FrameSink,
  type Refusal,
  type WholeFrames,
} from './ws-frames.js';

/**
 * Fragment size for frames sent upstream: well under the app-server's 16 MiB frame limit, and a
 * multiple of 4, so each fragment's payload keeps its bytes' masking-key positions.
 */
export const FRAGMENT_BYTES = 4 * 1024 * 1024;

/** Messages and bytes relayed, by direction: plain numbers, read by /metrics at each scrape. */
export interface RelayCounts {
  toAppServer: { messages: number; bytes: number };
  toClient: { messages: number; bytes: number };
}

/** What a frame sink asks of the relay it serves. */
export interface FrameRelay {
  /** The client's scanner: its current header is the frame whose payload is passing. */
  readonly clientScanner: FrameScanner;
  /** Close the client with the refusal's code, as a WebSocket server does. */
  refuse(r: Refusal): void;
  /** Bytes for the app-server, written once the client's chunk has been scanned. */
  toUpstream(bytes: Buffer): void;
  clientSentClose(): void;
  upstreamSentClose(): void;
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
export class ClientFrames implements FrameSink {
  private inMessage = false;
  private messageBytes = 0;
  /** 'pass': copied as is; 'split': re-headed in fragments; 'close': held to be checked. */
  private mode: 'pass' | 'split' | 'close' = 'pass';
  private pieceLeft = 0;
  private held: Buffer[] = [];
  /** Set while a text message is in flight: its UTF-8 is checked as it passes. */
  private text: Utf8Check | undefined;

  constructor(
    private readonly relay: FrameRelay,
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
export class UpstreamFrames implements FrameSink {
  constructor(
    private readonly relay: FrameRelay,
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
