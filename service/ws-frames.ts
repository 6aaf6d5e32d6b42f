/**
 * WebSocket frame headers (RFC 6455 §5.2), read without touching payloads: what the relay
 * (./relay.ts) needs to copy bytes between a client and the app-server while still knowing
 * where each frame starts and ends (message sizes, counts, where a close frame may go in).
 * Also the checks a server makes on what a client sends (close payloads, UTF-8 text). Pure
 * functions and one small streaming scanner; no sockets.
 */

import { isUtf8 } from 'node:buffer';

export const OPCODE = {
  continuation: 0,
  text: 1,
  binary: 2,
  close: 8,
  ping: 9,
  pong: 10,
} as const;

export interface FrameHeader {
  fin: boolean;
  /** RSV1-3 as a 3-bit number (0 unless an extension was negotiated; the relay negotiates none). */
  rsv: number;
  opcode: number;
  masked: boolean;
  /** The masking key as a big-endian uint32 (0 when unmasked). */
  mask: number;
  /** Payload bytes. A 64-bit length past 2^53 is reported as Infinity (never allowed anyway). */
  length: number;
  /** Bytes of the header itself: 2 + 0/2/8 (extended length) + 0/4 (mask). */
  headerBytes: number;
}

/** The largest header: 2 + 8-byte length + 4-byte mask. */
export const MAX_HEADER_BYTES = 14;

/**
 * The header starting at `buf[at]`, reading no further than `end`; when the bytes there are not
 * a whole header yet, the number of header bytes needed in total (at least 2).
 */
export function parseFrameHeader(buf: Uint8Array, at: number, end: number): FrameHeader | number {
  const avail = end - at;
  if (avail < 2) return 2;
  const b0 = buf[at] as number;
  const b1 = buf[at + 1] as number;
  const masked = (b1 & 0x80) !== 0;
  const len7 = b1 & 0x7f;
  const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const headerBytes = 2 + extra + (masked ? 4 : 0);
  if (avail < headerBytes) return headerBytes;
  let length = len7;
  let p = at + 2;
  if (len7 === 126) {
    length = ((buf[p] as number) << 8) | (buf[p + 1] as number);
    p += 2;
  } else if (len7 === 127) {
    const hi = readUint32(buf, p);
    const lo = readUint32(buf, p + 4);
    // 2^53 − 1 is the most a JS number holds exactly; anything bigger is over every limit.
    length = hi > 0x1fffff ? Infinity : hi * 2 ** 32 + lo;
    p += 8;
  }
  return {
    fin: (b0 & 0x80) !== 0,
    rsv: (b0 >> 4) & 0x07,
    opcode: b0 & 0x0f,
    masked,
    mask: masked ? readUint32(buf, p) : 0,
    length,
    headerBytes,
  };
}

function readUint32(buf: Uint8Array, at: number): number {
  return (
    (((buf[at] as number) << 24) |
      ((buf[at + 1] as number) << 16) |
      ((buf[at + 2] as number) << 8) |
      (buf[at + 3] as number)) >>>
    0
  );
}

/** Encode a header (the inverse of parseFrameHeader). */
export function encodeFrameHeader(h: Omit<FrameHeader, 'headerBytes'>): Buffer {
  const extra = h.length < 126 ? 0 : h.length < 65536 ? 2 : 8;
  const out = Buffer.allocUnsafe(2 + extra + (h.masked ? 4 : 0));
  out[0] = (h.fin ? 0x80 : 0) | ((h.rsv & 7) << 4) | (h.opcode & 0x0f);
  const maskBit = h.masked ? 0x80 : 0;
  let p = 2;
  if (extra === 0) out[1] = maskBit | h.length;
  else if (extra === 2) {
    out[1] = maskBit | 126;
    out.writeUInt16BE(h.length, 2);
    p = 4;
  } else {
    out[1] = maskBit | 127;
    out.writeUInt32BE(Math.floor(h.length / 2 ** 32), 2);
    out.writeUInt32BE(h.length >>> 0, 6);
    p = 10;
  }
  if (h.masked) out.writeUInt32BE(h.mask >>> 0, p);
  return out;
}

/** A whole unmasked close frame, as a server sends it: code and a reason of ≤ 123 bytes. */
export function closeFrame(code: number, reason = ''): Buffer {
  let text = Buffer.from(reason, 'utf8');
  if (text.length > 123) text = text.subarray(0, 123); // a cut inside a character is still sent
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return Buffer.concat([
    encodeFrameHeader({
      fin: true,
      rsv: 0,
      opcode: OPCODE.close,
      masked: false,
      mask: 0,
      length: payload.length,
    }),
    payload,
  ]);
}

/** XOR `data` with a big-endian uint32 mask, starting `offset` bytes into the payload. */
export function unmask(data: Uint8Array, mask: number, offset = 0): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) {
    const shift = 24 - 8 * ((offset + i) & 3);
    out[i] = (data[i] as number) ^ ((mask >>> shift) & 0xff);
  }
  return out;
}

/** What a chunk of whole frames carried: data messages ended (FIN) and payload bytes. */
export interface WholeFrames {
  messages: number;
  bytes: number;
}

/**
 * The relay's fast path for what clients send nearly always, in one pass with no scanner: a
 * chunk holding only whole, unfragmented text or binary frames, masked, RSV clear, each within
 * `maxBytes`, text valid UTF-8 — frames a WebSocket server takes as they are. Undefined as soon
 * as one frame is anything else (a control frame, a fragment, a frame the chunk cuts, one to
 * refuse): the scanner then takes the whole chunk and makes every check itself.
 */
export function wholeClientFrames(chunk: Buffer, maxBytes: number): WholeFrames | undefined {
  let messages = 0;
  let bytes = 0;
  for (let at = 0; at < chunk.length;) {
    const h = parseFrameHeader(chunk, at, chunk.length);
    if (typeof h === 'number' || !h.fin || h.rsv !== 0 || !h.masked) return undefined;
    if ((h.opcode !== OPCODE.text && h.opcode !== OPCODE.binary) || h.length > maxBytes)
      return undefined;
    const start = at + h.headerBytes;
    at = start + h.length;
    if (at > chunk.length) return undefined;
    if (h.opcode === OPCODE.text && !maskedUtf8(chunk, start, at, h.mask)) return undefined;
    messages++;
    bytes += h.length;
  }
  return { messages, bytes };
}

/**
 * The same for the app-server's side, which is trusted and only counted: whole frames, none a
 * close frame (the relay must see that one go by). Undefined otherwise, for the scanner.
 */
export function wholeServerFrames(chunk: Buffer): WholeFrames | undefined {
  let messages = 0;
  let bytes = 0;
  for (let at = 0; at < chunk.length;) {
    const h = parseFrameHeader(chunk, at, chunk.length);
    if (typeof h === 'number' || h.opcode === OPCODE.close) return undefined;
    at += h.headerBytes + h.length;
    if (at > chunk.length) return undefined;
    if (h.opcode < OPCODE.close) {
      bytes += h.length;
      if (h.fin) messages++;
    }
  }
  return { messages, bytes };
}

/**
 * Whether a masked payload is valid UTF-8, without unmasking it when it is ASCII (JSON-RPC
 * nearly always is): four bytes at a time against the key, then the rest byte by byte; the
 * first byte over 0x7f sends the payload to node's isUtf8, unmasked.
 */
function maskedUtf8(buf: Buffer, start: number, end: number, mask: number): boolean {
  let i = start;
  for (; i + 4 <= end; i += 4)
    if (((readUint32(buf, i) ^ mask) & 0x80808080) !== 0)
      return isUtf8(unmask(buf.subarray(start, end), mask));
  for (; i < end; i++)
    if ((((buf[i] as number) ^ (mask >>> (24 - 8 * ((i - start) & 3)))) & 0x80) !== 0)
      return isUtf8(unmask(buf.subarray(start, end), mask));
  return true;
}

/** Close codes the relay sends. */
export const CLOSE = {
  goingAway: 1001,
  protocol: 1002,
  invalidData: 1007,
  tooBig: 1009,
  serviceRestart: 1012,
} as const;

/** Why a client's frame is refused: the close code and reason to answer with. */
export type Refusal = { code: number; reason: string };

/**
 * UTF-8 checked piece by piece: a character cut between two pieces is carried (≤ 3 bytes) to
 * the next; the check itself is node's isUtf8 (simdutf).
 */
export class Utf8Check {
  private carry: Buffer = Buffer.alloc(0);

  /** The next bytes; false once the text can no longer be valid UTF-8. */
  push(bytes: Buffer): boolean {
    const all = this.carry.length ? Buffer.concat([this.carry, bytes]) : bytes;
    const cut = completeUpTo(all);
    this.carry = all.length > cut ? Buffer.from(all.subarray(cut)) : Buffer.alloc(0);
    return isUtf8(all.subarray(0, cut)) && this.carry.length < 4;
  }

  /** The message ended: valid only if no character was left unfinished. */
  end(): boolean {
    return this.carry.length === 0;
  }
}

/** Where the last complete character ends: before a trailing lead byte still missing bytes. */
function completeUpTo(b: Buffer): number {
  for (let back = 1; back <= Math.min(3, b.length); back++) {
    const c = b[b.length - back] as number;
    if ((c & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > back ? b.length - back : b.length;
  }
  return b.length; // only continuation bytes at the end: isUtf8 judges them
}

/** A close frame's payload (unmasked): empty, or a valid code and a UTF-8 reason. */
export function checkClosePayload(payload: Buffer): Refusal | undefined {
  if (payload.length === 0) return undefined;
  if (payload.length === 1) return { code: CLOSE.protocol, reason: 'close payload of 1 byte' };
  const code = payload.readUInt16BE(0);
  if (!isValidCloseCode(code))
    return { code: CLOSE.protocol, reason: `invalid close code ${code}` };
  if (!isUtf8(payload.subarray(2)))
    return { code: CLOSE.invalidData, reason: 'close reason is not UTF-8' };
  return undefined;
}

/** Close codes a peer may send (RFC 6455 §7.4; 1004-1006 and 1015 are reserved). */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/** What a scanner reports as bytes flow: each header, then its payload in pieces, then its end. */
export interface FrameSink {
  /** A whole header (`bytes` are its raw bytes, valid only during the call). */
  header(h: FrameHeader, bytes: Buffer): void;
  /** Payload bytes of the current frame, `offset` bytes into its payload. */
  payload(chunk: Buffer, start: number, end: number, offset: number): void;
  /** The current frame is complete. */
  end(h: FrameHeader): void;
}

/**
 * Finds frame boundaries in a byte stream cut into arbitrary chunks: a header split across
 * chunks is carried (at most 14 bytes), a payload is reported in place without copying.
 * `stop()` ends scanning (the connection is being closed); the rest of the chunk is ignored.
 */
export class FrameScanner {
  private readonly carry = Buffer.allocUnsafe(MAX_HEADER_BYTES);
  private carried = 0;
  private current: FrameHeader | undefined;
  private remaining = 0;
  private offset = 0;
  private stopped = false;

  constructor(private readonly sink: FrameSink) {}

  /** True between frames: a frame of our own (a close) may be put into the stream here. */
  get atBoundary(): boolean {
    return this.current === undefined && this.carried === 0;
  }

  stop(): void {
    this.stopped = true;
  }

  /** The frame whose payload is flowing, if any. */
  get currentHeader(): FrameHeader | undefined {
    return this.current;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  feed(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && !this.stopped) {
      const cur = this.current;
      if (cur) {
        const n = Math.min(this.remaining, chunk.length - pos);
        this.sink.payload(chunk, pos, pos + n, this.offset);
        pos += n;
        this.offset += n;
        this.remaining -= n;
        if (this.remaining === 0) this.finish(cur);
        continue;
      }
      if (this.carried === 0) {
        const h = parseFrameHeader(chunk, pos, chunk.length);
        if (typeof h === 'number') {
          this.carried = chunk.copy(this.carry, 0, pos);
          return;
        }
        this.start(h, chunk.subarray(pos, pos + h.headerBytes));
        pos += h.headerBytes;
        continue;
      }
      // Complete a carried header: take what it still needs (it says how much once it has 2 bytes).
      let h = parseFrameHeader(this.carry, 0, this.carried);
      while (typeof h === 'number' && pos < chunk.length) {
        const take = Math.min(h - this.carried, chunk.length - pos);
        chunk.copy(this.carry, this.carried, pos, pos + take);
        this.carried += take;
        pos += take;
        h = parseFrameHeader(this.carry, 0, this.carried);
      }
      if (typeof h === 'number') return;
      // A copy: the carry is reused for the next split header, maybe before these are written.
      const bytes = Buffer.from(this.carry.subarray(0, h.headerBytes));
      this.carried = 0;
      this.start(h, bytes);
    }
  }

  private start(h: FrameHeader, bytes: Buffer): void {
    this.current = h;
    this.remaining = h.length;
    this.offset = 0;
    this.sink.header(h, bytes);
    if (!this.stopped && h.length === 0) this.finish(h);
  }

  private finish(h: FrameHeader): void {
    this.current = undefined;
    this.sink.end(h);
  }
}
