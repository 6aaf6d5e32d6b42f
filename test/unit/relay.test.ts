/**
 * The relay (service/relay.ts) between two real loopback socket pairs, no app-server: what it
 * writes upstream for a frame over the app-server's frame limit, how it counts, and where its
 * own close frame goes.
 */
import net from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import { pino } from 'pino';
import { Relay } from '../../service/relay.js';
import { FRAGMENT_BYTES, type RelayCounts } from '../../service/relay-frames.js';
import { FrameScanner, unmask, type FrameHeader } from '../../service/ws-frames.js';
import { frame } from '../helpers/raw-ws.js';

const KEY = 0x12345678; // test/helpers/raw-ws.ts masks with this key

/** Two connected sockets: [the side we hold, the side handed to the relay]. */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const ours = net.connect(port, '127.0.0.1');
  const theirs = await accepted;
  server.close();
  return [ours, theirs];
}

/** Every frame that arrives on `socket`, with its payload. */
function frames(socket: net.Socket): { list: { h: FrameHeader; payload: Buffer }[] } {
  const out = { list: [] as { h: FrameHeader; payload: Buffer }[] };
  let parts: Buffer[] = [];
  const scanner = new FrameScanner({
    header: () => void (parts = []),
    payload: (c, s, e) => void parts.push(Buffer.from(c.subarray(s, e))),
    end: (h) => void out.list.push({ h, payload: Buffer.concat(parts) }),
  });
  socket.on('data', (d: Buffer) => scanner.feed(d));
  return out;
}

/** A relay between the two sockets handed to it, attached (its upstream open), and its counts. */
function newRelay(client: net.Socket, upstream: net.Socket): { relay: Relay; counts: RelayCounts } {
  const counts = { toAppServer: { messages: 0, bytes: 0 }, toClient: { messages: 0, bytes: 0 } };
  const relay = new Relay(client, {
    log: pino({ level: 'silent' }),
    peer: 'test',
    maxMessageBytes: 64 * 1024 * 1024,
    maxBufferBytes: () => 16 * 1024 * 1024,
    counts,
    appServerReady: () => false,
    onEnd: () => {},
  });
  relay.attach(upstream, Buffer.alloc(0));
  return { relay, counts };
}

async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setImmediate(r));
}

describe('the byte-copying relay (unit, real sockets, no app-server)', function () {
  this.timeout(20_000);
  let client: net.Socket;
  let upstream: net.Socket;
  /** The relay's end of the client connection: a test may hand it one chunk of any size. */
  let relayClient: net.Socket;
  let relay: Relay;
  let counts: RelayCounts;

  beforeEach(async () => {
    const [c, rc] = await socketPair();
    const [u, relayUpstream] = await socketPair();
    client = c;
    relayClient = rc;
    upstream = u;
    ({ relay, counts } = newRelay(relayClient, relayUpstream));
  });

  afterEach(() => {
    client.destroy();
    upstream.destroy();
  });

  it('relays a frame over the frame limit as fragments with the same mask, payload intact', async () => {
    const payload = Buffer.alloc(2 * FRAGMENT_BYTES + 1000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const got = frames(upstream);
    client.write(frame({ opcode: 2, payload }));
    await until(() => got.list.length === 3);
    expect(got.list.map((f) => [f.h.opcode, f.h.fin, f.h.length, f.h.mask])).to.deep.equal([
      [2, false, FRAGMENT_BYTES, KEY],
      [0, false, FRAGMENT_BYTES, KEY],
      [0, true, 1000, KEY],
    ]);
    const joined = Buffer.concat(got.list.map((f) => unmask(f.payload, KEY)));
    expect(joined.equals(payload)).to.equal(true);
    expect(counts.toAppServer).to.deep.equal({ messages: 1, bytes: payload.length });
  });

  it('splits a frame over the frame limit even when it arrives as one chunk', async () => {
    const payload = Buffer.alloc(FRAGMENT_BYTES + 10, 0x61);
    const got = frames(upstream);
    const back = frames(client);
    relayClient.emit('data', frame({ opcode: 1, payload })); // whole: the fast path's shape
    const upBytes = () => got.list.reduce((n, f) => n + f.payload.length, 0);
    await until(() => upBytes() === payload.length || back.list.length > 0); // passed, or refused
    expect(back.list, 'nothing sent back (no close frame)').to.have.length(0);
    expect(got.list.map((f) => [f.h.opcode, f.h.fin, f.h.length])).to.deep.equal([
      [1, false, FRAGMENT_BYTES],
      [0, true, 10],
    ]);
  });

  it('refuses a whole new message inside a fragmented one (1002), even in a chunk of its own', async () => {
    const got = frames(client);
    const up = frames(upstream);
    client.write(frame({ opcode: 1, fin: false, payload: Buffer.from('{"id"') }));
    await until(() => up.list.length === 1);
    client.write(frame({ opcode: 1, payload: Buffer.from('{"id":2}') })); // a whole text frame
    await until(() => got.list.length === 1 || up.list.length === 2); // refused, or passed on
    expect(up.list, 'the refused frame never went upstream').to.have.length(1);
    expect(got.list).to.have.length(1);
    const close = got.list[0] as { h: FrameHeader; payload: Buffer };
    expect(close.h.opcode).to.equal(8);
    expect(close.payload.readUInt16BE(0)).to.equal(1002);
  });

  it('takes a ping between two fragments of a text message whose character they split', async () => {
    const text = Buffer.from('{"t":"€"}'); // € is 3 bytes; cut inside it
    const cut = text.indexOf(0xe2) + 1;
    const toUp = Buffer.concat([
      frame({ opcode: 1, fin: false, payload: text.subarray(0, cut) }),
      frame({ opcode: 9, payload: Buffer.from([0xff, 0xfe]) }), // not text, not UTF-8
      frame({ opcode: 0, payload: text.subarray(cut) }),
    ]);
    const seenUp: Buffer[] = [];
    upstream.on('data', (d: Buffer) => seenUp.push(d));
    const got = frames(client);
    client.write(toUp);
    await until(() => Buffer.concat(seenUp).length === toUp.length || got.list.length > 0);
    expect(got.list, 'no close frame').to.deep.equal([]);
    expect(Buffer.concat(seenUp).equals(toUp)).to.equal(true);
    expect(counts.toAppServer.messages).to.equal(1);
  });

  it('copies small frames unchanged both ways and counts messages, not fragments', async () => {
    const toUp = Buffer.concat([
      frame({ opcode: 1, payload: Buffer.from('{"id":1}') }),
      frame({ opcode: 1, fin: false, payload: Buffer.from('{"id"') }),
      frame({ opcode: 0, payload: Buffer.from(':2}') }),
    ]);
    const seenUp: Buffer[] = [];
    upstream.on('data', (d: Buffer) => seenUp.push(d));
    client.write(toUp);
    await until(() => Buffer.concat(seenUp).length === toUp.length);
    expect(Buffer.concat(seenUp).equals(toUp)).to.equal(true);
    const toClient = frame({
      opcode: 1,
      masked: false,
      payload: Buffer.from('{"id":1,"result":{}}'),
    });
    const seenClient: Buffer[] = [];
    client.on('data', (d: Buffer) => seenClient.push(d));
    upstream.write(toClient);
    await until(() => Buffer.concat(seenClient).length === toClient.length);
    expect(Buffer.concat(seenClient).equals(toClient)).to.equal(true);
    expect(counts.toAppServer.messages).to.equal(2);
    expect(counts.toClient).to.deep.equal({ messages: 1, bytes: 20 });
  });

  it('never puts its close frame inside a frame in flight: it cuts the connection instead', async () => {
    const big = frame({ opcode: 1, masked: false, payload: Buffer.alloc(100_000, 0x61) });
    const got = frames(client);
    let received = 0;
    client.on('data', (d: Buffer) => void (received += d.length));
    upstream.write(big.subarray(0, 50_000)); // half a frame reaches the client...
    await until(() => received === 50_000);
    relay.close(1001, 'stopping'); // ...so the close cannot go in: the connection is cut
    await new Promise((r) => client.once('close', r));
    expect(got.list.filter((f) => f.h.opcode === 8)).to.deep.equal([]);
  });

  it('sends its close frame between frames: 1012 after the app-server vanished', async () => {
    const got = frames(client);
    upstream.write(frame({ opcode: 1, masked: false, payload: Buffer.from('{}') }));
    await until(() => got.list.length === 1);
    upstream.destroy(); // no close frame: the app-server went away
    await until(() => got.list.length === 2);
    const close = got.list[1] as { h: FrameHeader; payload: Buffer };
    expect(close.h.opcode).to.equal(8);
    expect(close.payload.readUInt16BE(0)).to.equal(1012);
  });

  it('passes a chunk of whole frames exactly as the frame-by-frame checks do (fast path against scanner)', async () => {
    // Mostly plain messages, so that the fast path takes many chunks; some frames of every
    // other kind, so that it must hand chunks over. The same chunk once whole (the fast path
    // may take it) and once cut after its first byte (the scanner takes it all): what goes
    // upstream, what is counted and the close frame sent must be the same.
    const spec = fc.record({
      opcode: fc.constantFrom(1, 1, 1, 2, 2, 0, 8, 9, 10, 3),
      fin: fc.constantFrom(true, true, true, true, false),
      rsv: fc.constantFrom(0, 0, 0, 0, 0, 4, 2),
      masked: fc.constantFrom(true, true, true, true, true, true, false),
      payload: fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 30 }).map((t) => Buffer.from(t, 'utf8')),
        fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b)),
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 4 }), async (specs) => {
        const chunk = Buffer.concat(specs.map(frame));
        const whole = await relayed([chunk]);
        const cut = await relayed([chunk.subarray(0, 1), chunk.subarray(1)]);
        expect(whole).to.deep.equal(cut);
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * What one fresh relay does with `chunks` from its client, handed to it directly: the bytes it
 * writes upstream, its counts, and the close frame it answers with. Its two sockets are real;
 * their write/end are recorded instead of sent, so the outcome is known when the calls return.
 */
async function relayed(
  chunks: Buffer[],
): Promise<{ upstream: string; counts: RelayCounts; closeFrame: string | undefined }> {
  const [c, relayClient] = await socketPair();
  const [u, relayUpstream] = await socketPair();
  const written: Buffer[] = [];
  let closeFrame: Buffer | undefined;
  // Recorded, not sent (the relay writes Buffers only): the outcome is known synchronously.
  relayUpstream.write = ((b: Buffer) => (
    written.push(Buffer.from(b)),
    true
  )) as typeof relayUpstream.write;
  relayClient.end = ((b?: Buffer) => ((closeFrame = b), relayClient)) as typeof relayClient.end;
  const { counts } = newRelay(relayClient, relayUpstream);
  for (const chunk of chunks) relayClient.emit('data', chunk);
  for (const s of [c, u, relayClient, relayUpstream]) s.destroy();
  return {
    upstream: Buffer.concat(written).toString('hex'),
    counts,
    closeFrame: closeFrame?.toString('hex'),
  };
}
