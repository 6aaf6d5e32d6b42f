/**
 * Raw TCP for hostile-input tests: HTTP requests written byte by byte, WebSocket upgrades done
 * by hand, and frames built from their bits (including the ones no WebSocket library would send).
 */
import net from 'node:net';
import { Recorder } from '../../harness/recorder.js';

/** A TCP connection that keeps every byte it receives and says when the peer closed. */
export class RawConnection {
  private readonly chunks = new Recorder<Buffer>();
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.chunks.push(d));
    socket.on('error', () => {});
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }

  /** `localAddress`: the client's own address (127.0.0.x), for per-address limits. */
  static open(port: number, localAddress?: string): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress }, () =>
        resolve(new RawConnection(s)),
      );
      s.once('error', reject);
    });
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks.items);
  }

  /** Everything received, as text, once the peer closed (a reset after the answer included). */
  async closedText(): Promise<string> {
    await this.closed;
    return this.received.toString('utf8');
  }

  /** Wait until the bytes received so far satisfy `pred` (or fail when the peer closes first). */
  async waitFor(pred: (all: Buffer) => boolean, timeoutMs = 10_000): Promise<Buffer> {
    if (pred(this.received)) return this.received;
    const seen = this.chunks.waitFor(
      () => pred(this.received),
      timeoutMs,
      () => this.describe(),
    );
    const gone = this.closed.then(() => {
      if (pred(this.received)) return this.received;
      throw new Error(`connection closed first; ${this.describe()}`);
    });
    seen.catch(() => {});
    return Promise.race([seen.then(() => this.received), gone]);
  }

  private describe(): string {
    return `received ${JSON.stringify(this.received.subarray(0, 300).toString('latin1'))}`;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A whole HTTP response read from a connection the server closes after answering. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function parseResponse(raw: Buffer): RawResponse {
  const text = raw.toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  const head = (end === -1 ? text : text.slice(0, end)).split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status, headers, body: end === -1 ? '' : text.slice(end + 4) };
}

/** Send `request` on a fresh connection; the answer once the server has sent it all. */
export async function rawRequest(port: number, request: string | Buffer): Promise<RawResponse> {
  const c = await RawConnection.open(port);
  c.write(request);
  // Complete when the declared body is in (keep-alive answers) or the server closed.
  const complete = (b: Buffer) => {
    const r = parseResponse(b);
    const len = Number(r.headers['content-length'] ?? NaN);
    return r.status > 0 && Number.isFinite(len) && Buffer.byteLength(r.body) >= len;
  };
  // Closed before the declared body was in: what it sent (waitFor checks again at the close).
  const raw = await c.waitFor((b) => c.socket.destroyed || complete(b));
  c.destroy();
  return parseResponse(raw);
}

export function upgradeRequest(
  path: string,
  headers: Record<string, string>,
  method = 'GET',
): string {
  const all: Record<string, string> = {
    Host: 'localhost',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = Object.entries(all)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return `${method} ${path} HTTP/1.1\r\n${lines}\r\n`;
}

/** Open a WebSocket by hand; resolves once the 101 is in, with no byte of frames consumed. */
export async function rawWebSocket(
  port: number,
  path: string,
  token: string,
): Promise<{ conn: RawConnection; headerBytes: number }> {
  const conn = await RawConnection.open(port);
  conn.write(upgradeRequest(path, { Authorization: `Bearer ${token}` }));
  const got = await conn.waitFor((b) => b.includes('\r\n\r\n'));
  const head = got.toString('latin1');
  if (!head.startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${head.slice(0, 200)}`);
  return { conn, headerBytes: head.indexOf('\r\n\r\n') + 4 };
}

export interface FrameSpec {
  opcode: number;
  payload?: Buffer;
  fin?: boolean;
  /** RSV1..3 as the 3 bits after FIN (0b100 = RSV1). */
  rsv?: number;
  masked?: boolean;
  /** Declare this payload length instead of the real one (to claim a huge frame). */
  declaredLength?: number;
}

/** One WebSocket frame as a client would put it on the wire (masked unless told otherwise). */
export function frame(spec: FrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  const masked = spec.masked ?? true;
  const len = spec.declaredLength ?? payload.length;
  const first = ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | (spec.opcode & 0x0f);
  let head: Buffer;
  if (len < 126) head = Buffer.from([first, len]);
  else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = first;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  if (masked) head[1] = (head[1] as number) | 0x80;
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = masked ? payload.map((b, i) => b ^ (key[i % 4] as number)) : payload;
  return Buffer.concat([head, ...(masked ? [key] : []), Buffer.from(body)]);
}

/** The status code of the first close frame the server sent after the handshake, if any. */
export function serverCloseCode(received: Buffer, from: number): number | undefined {
  let at = from;
  while (at + 2 <= received.length) {
    const opcode = (received[at] as number) & 0x0f;
    let len = (received[at + 1] as number) & 0x7f;
    let start = at + 2;
    if (len === 126) {
      len = received.readUInt16BE(at + 2);
      start += 2;
    } else if (len === 127) {
      len = Number(received.readBigUInt64BE(at + 2));
      start += 8;
    }
    if (start + len > received.length) return undefined;
    if (opcode === 0x8) return len >= 2 ? received.readUInt16BE(start) : 1005;
    at = start + len;
  }
  return undefined;
}
