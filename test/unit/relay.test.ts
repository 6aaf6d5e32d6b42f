/**
 * The relay (service/relay.ts) between two real loopback socket pairs, no app-server: what it
 * writes upstream for a frame over the app-server's frame limit, how it counts, and where its
 * own close frame goes.
 */
import net from 'node:net';
import { expect } from 'chai';
import { pino } from 'pino';
import { FRAGMENT_BYTES, Relay, type RelayCounts } from '../../service/relay.js';
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
    counts = { toAppServer: { messages: 0, bytes: 0 }, toClient: { messages: 0, bytes: 0 } };
    relay = new Relay(relayClient, {
      log: pino({ level: 'silent' }),
      peer: 'test',
      maxMessageBytes: 64 * 1024 * 1024,
      maxBufferBytes: () => 16 * 1024 * 1024,
      counts,
      appServerReady: () => false,
      onEnd: () => {},
    });
    relay.attach(relayUpstream, Buffer.alloc(0));
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
    relayClient.emit('data', frame({ opcode: 1, payload })); // whole: the fast path's shape
    await until(() => got.list.length === 2);
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
    await until(() => got.list.length === 1);
    const close = got.list[0] as { h: FrameHeader; payload: Buffer };
    expect(close.h.opcode).to.equal(8);
    expect(close.payload.readUInt16BE(0)).to.equal(1002);
    expect(up.list).to.have.length(1); // the refused frame never went upstream
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
    await until(() => Buffer.concat(seenUp).length === toUp.length);
    expect(Buffer.concat(seenUp).equals(toUp)).to.equal(true);
    expect(got.list, 'no close frame').to.deep.equal([]);
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
});
