/**
 * The relay's frame-header reading (service/ws-frames.ts) and its UTF-8 and close checks
 * (service/relay.ts), on frames built by the tests' own encoder (test/helpers/raw-ws.ts), cut
 * into chunks at every possible place.
 */
import { isUtf8 } from 'node:buffer';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  checkClosePayload,
  closeFrame,
  encodeFrameHeader,
  FrameScanner,
  parseFrameHeader,
  unmask,
  Utf8Check,
  wholeClientFrames,
  wholeServerFrames,
  type FrameHeader,
} from '../../service/ws-frames.js';
import { frame } from '../helpers/raw-ws.js';

/** The helper's masking key (0x12345678). */
const KEY = 0x12345678;

interface Seen {
  headers: FrameHeader[];
  payloads: Buffer[];
  ends: number;
}

/** Feed `bytes` to a scanner in the given chunks; what it reported. */
function scan(bytes: Buffer, cuts: number[]): Seen {
  const seen: Seen = { headers: [], payloads: [], ends: 0 };
  let current: Buffer[] = [];
  const scanner = new FrameScanner({
    header: (h) => {
      seen.headers.push(h);
      current = [];
    },
    payload: (chunk, start, end) => void current.push(Buffer.from(chunk.subarray(start, end))),
    end: () => {
      seen.payloads.push(Buffer.concat(current));
      seen.ends++;
    },
  });
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    scanner.feed(bytes.subarray(at, cut));
    at = cut;
  }
  return seen;
}

describe('WebSocket frame headers (unit)', () => {
  it('reads 7-bit, 16-bit and 64-bit lengths, masked and unmasked', () => {
    const cases: [number, boolean, number][] = [
      [0, true, 6],
      [125, true, 6],
      [126, true, 8],
      [65535, false, 4],
      [65536, true, 14],
      [5_000_000, false, 10],
    ];
    for (const [len, masked, headerBytes] of cases) {
      const bytes = frame({ opcode: 2, masked, declaredLength: len });
      const h = parseFrameHeader(bytes, 0, bytes.length) as FrameHeader;
      expect(h, `${len}`).to.include({ length: len, masked, headerBytes, opcode: 2, fin: true });
      expect(h.mask).to.equal(masked ? KEY : 0);
    }
  });

  it('says how many header bytes it needs when the header is cut short', () => {
    const bytes = frame({ opcode: 1, declaredLength: 70_000 }); // 2 + 8 + 4 = 14
    expect(parseFrameHeader(bytes, 0, 0)).to.equal(2);
    expect(parseFrameHeader(bytes, 0, 1)).to.equal(2);
    for (let n = 2; n < 14; n++) expect(parseFrameHeader(bytes, 0, n), `${n}`).to.equal(14);
    expect(parseFrameHeader(bytes, 0, 14)).to.have.property('length', 70_000);
  });

  it('reads FIN, RSV and opcode bits, and a length past 2^53 as Infinity', () => {
    const h = parseFrameHeader(frame({ opcode: 0, fin: false, rsv: 0b101 }), 0, 6) as FrameHeader;
    expect(h).to.include({ fin: false, rsv: 0b101, opcode: 0 });
    const huge = Buffer.from([0x82, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    expect((parseFrameHeader(huge, 0, huge.length) as FrameHeader).length).to.equal(Infinity);
  });

  it('encodes what it parses', () => {
    for (const length of [0, 5, 125, 126, 65535, 65536, 4 * 1024 * 1024, 2 ** 40]) {
      for (const masked of [true, false]) {
        const h = {
          fin: length % 2 === 0,
          rsv: 0,
          opcode: 1,
          masked,
          mask: masked ? KEY : 0,
          length,
        };
        const bytes = encodeFrameHeader(h);
        expect(parseFrameHeader(bytes, 0, bytes.length)).to.deep.equal({
          ...h,
          headerBytes: bytes.length,
        });
      }
    }
  });

  it('finds every frame and payload whatever the chunk boundaries (headers split too)', () => {
    const frames = [
      { opcode: 1, payload: Buffer.from('{"id":1,"method":"x"}') },
      { opcode: 9, payload: Buffer.alloc(0) },
      { opcode: 2, fin: false, payload: Buffer.alloc(300, 7) },
      { opcode: 0, masked: false, payload: Buffer.alloc(70_000, 9) },
    ];
    const bytes = Buffer.concat(frames.map(frame));
    const whole = scan(bytes, []);
    expect(whole.ends).to.equal(4);
    expect(whole.headers.map((h) => h.length)).to.deep.equal([21, 0, 300, 70_000]);
    expect(unmask(whole.payloads[0] as Buffer, KEY).toString()).to.equal('{"id":1,"method":"x"}');
    expect((whole.payloads[3] as Buffer).equals(Buffer.alloc(70_000, 9))).to.equal(true);
    // Every single cut point within the first frames, then random multi-cuts over everything.
    for (let cut = 1; cut < 360; cut++)
      expect(scan(bytes, [cut]), `cut ${cut}`).to.deep.equal(whole);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }),
        (cuts) => {
          expect(
            scan(
              bytes,
              cuts.sort((a, b) => a - b),
            ),
          ).to.deep.equal(whole);
        },
      ),
      { numRuns: 200 },
    );
    // Byte by byte, the worst case for a carried header.
    const every = Array.from({ length: 400 }, (_, i) => i + 1);
    expect(scan(bytes.subarray(0, 400), every).headers.length).to.equal(4); // the 4th header ends at 351
  });

  it('knows when it is between two frames, and stops when told', () => {
    const seen: number[] = [];
    const scanner: FrameScanner = new FrameScanner({
      header: (h) => {
        seen.push(h.opcode);
        if (h.opcode === 8) scanner.stop();
      },
      payload: () => {},
      end: () => {},
    });
    const bytes = Buffer.concat([frame({ opcode: 1, payload: Buffer.from('ab') })]);
    scanner.feed(bytes.subarray(0, 3));
    expect(scanner.atBoundary).to.equal(false);
    scanner.feed(bytes.subarray(3));
    expect(scanner.atBoundary).to.equal(true);
    scanner.feed(Buffer.concat([frame({ opcode: 8 }), frame({ opcode: 1 })]));
    expect(seen).to.deep.equal([1, 8]);
    expect(scanner.isStopped).to.equal(true);
  });

  it('an oversize length is reported at the header, before any payload', () => {
    const headers: number[] = [];
    const scanner = new FrameScanner({
      header: (h) => void headers.push(h.length),
      payload: () => expect.fail('no payload expected'),
      end: () => {},
    });
    scanner.feed(frame({ opcode: 2, declaredLength: 64 * 1024 * 1024 + 1 }).subarray(0, 14));
    expect(headers).to.deep.equal([64 * 1024 * 1024 + 1]);
  });

  it('writes a close frame a client can read: code and a reason of at most 123 bytes', () => {
    const f = closeFrame(1012, 'app-server restarting');
    const h = parseFrameHeader(f, 0, f.length) as FrameHeader;
    expect(h).to.include({ fin: true, opcode: 8, masked: false, length: 23 });
    expect(f.readUInt16BE(2)).to.equal(1012);
    expect(f.subarray(4).toString()).to.equal('app-server restarting');
    expect(
      (parseFrameHeader(closeFrame(1001, 'x'.repeat(500)), 0, 200) as FrameHeader).length,
    ).to.equal(125);
  });

  it('unmasks from any offset into a payload', () => {
    const masked = frame({ opcode: 1, payload: Buffer.from('hello, world') }).subarray(6);
    expect(unmask(masked, KEY).toString()).to.equal('hello, world');
    expect(unmask(masked.subarray(5), KEY, 5).toString()).to.equal(', world');
  });
});

describe('the relay checks on client frames (unit)', () => {
  it('accepts UTF-8 cut anywhere, including inside a character', () => {
    const text = Buffer.from('a€😀ß — ok', 'utf8');
    for (let cut = 0; cut <= text.length; cut++) {
      const c = new Utf8Check();
      expect(
        c.push(text.subarray(0, cut)) && c.push(text.subarray(cut)) && c.end(),
        `${cut}`,
      ).to.equal(true);
    }
  });

  it('refuses invalid UTF-8, and a character left unfinished at the end', () => {
    expect(new Utf8Check().push(Buffer.from([0xff, 0xfe]))).to.equal(false);
    expect(new Utf8Check().push(Buffer.from([0x61, 0xc0, 0x80]))).to.equal(false); // overlong
    const c = new Utf8Check();
    expect(c.push(Buffer.from([0xe2, 0x82]))).to.equal(true);
    expect(c.end()).to.equal(false);
    const d = new Utf8Check();
    expect(d.push(Buffer.from([0xe2]))).to.equal(true);
    expect(d.push(Buffer.from([0x41]))).to.equal(false);
  });

  it('checks close payloads as a server must: 1002 for bad codes, 1007 for a bad reason', () => {
    const close = (code: number, reason: Buffer = Buffer.alloc(0)) => {
      const b = Buffer.alloc(2);
      b.writeUInt16BE(code);
      return Buffer.concat([b, reason]);
    };
    expect(checkClosePayload(Buffer.alloc(0))).to.equal(undefined);
    expect(checkClosePayload(close(1000, Buffer.from('bye')))).to.equal(undefined);
    expect(checkClosePayload(close(4000))).to.equal(undefined);
    expect(checkClosePayload(Buffer.from([3]))?.code).to.equal(1002);
    for (const bad of [999, 1004, 1005, 1006, 1015, 2000, 5000])
      expect(checkClosePayload(close(bad))?.code, `${bad}`).to.equal(1002);
    expect(checkClosePayload(close(1000, Buffer.from([0xff])))?.code).to.equal(1007);
  });
});

/** A frame as the fast-path tests build it: any key (the helper's has no high bits), any bits. */
interface Built {
  opcode: number;
  fin: boolean;
  rsv: number;
  masked: boolean;
  mask: number;
  payload: Buffer;
}

function build(f: Built): Buffer {
  const head = encodeFrameHeader({ ...f, length: f.payload.length });
  return Buffer.concat([head, f.masked ? unmask(f.payload, f.mask) : f.payload]); // XOR masks too
}

/**
 * The frames of `frames` (built with `encode`) cut at `cutSeed`: most chunks whole, some cut
 * anywhere. The frames the chunk holds, or undefined when the cut falls inside a frame.
 */
function chunkOf(
  frames: Built[],
  encode: (f: Built) => Buffer,
  cutSeed: number,
): { chunk: Buffer; held: Built[] | undefined } {
  const parts = frames.map(encode);
  const whole = Buffer.concat(parts);
  const cut = cutSeed % 3 === 0 ? 1 + (cutSeed % whole.length) : whole.length;
  const held: Built[] = [];
  let end = 0;
  for (const [i, p] of parts.entries()) {
    if (end === cut) break;
    end += p.length;
    if (end > cut) return { chunk: whole.subarray(0, cut), held: undefined };
    held.push(frames[i] as Built);
  }
  return { chunk: whole.subarray(0, cut), held };
}

const totals = (frames: Built[]) => ({
  messages: frames.filter((f) => f.fin && f.opcode < 8).length,
  bytes: frames.filter((f) => f.opcode < 8).reduce((n, f) => n + f.payload.length, 0),
});

const builtFrame = fc.record({
  opcode: fc.constantFrom(0, 1, 1, 1, 2, 2, 3, 8, 9, 10),
  fin: fc.constantFrom(true, true, true, false),
  rsv: fc.constantFrom(0, 0, 0, 0, 0, 4),
  masked: fc.constantFrom(true, true, true, true, false),
  mask: fc.integer({ min: 0, max: 0xffffffff }),
  payload: fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 40 }).map((t) => Buffer.from(t, 'utf8')),
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    fc.constant(Buffer.alloc(300, 0x61)), // a 16-bit length
  ),
});

describe("the relay's fast path: chunks of whole frames (unit)", () => {
  it('passes a client chunk exactly when every frame is a whole plain message the checks would take', () => {
    fc.assert(
      fc.property(
        fc.array(builtFrame, { minLength: 1, maxLength: 5 }),
        fc.nat(),
        fc.integer({ min: 0, max: 400 }),
        (frames, cutSeed, maxBytes) => {
          const { chunk, held } = chunkOf(frames, build, cutSeed);
          const plain = (f: Built) =>
            f.fin &&
            f.rsv === 0 &&
            f.masked &&
            (f.opcode === 1 || f.opcode === 2) &&
            f.payload.length <= maxBytes &&
            (f.opcode === 2 || isUtf8(f.payload));
          const expected = held?.every(plain) ? totals(held) : undefined;
          expect(wholeClientFrames(chunk, maxBytes)).to.deep.equal(expected);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('checks UTF-8 of masked text under every key position, ASCII or not', () => {
    const texts = ['{"id":1}', 'a€😀ß — ok', 'x'.repeat(13) + 'é', 'é' + 'x'.repeat(13)];
    for (const mask of [0x12345678, 0x80808080, 0xffffffff, 0x00ff00ff])
      for (const t of texts)
        for (let pad = 0; pad < 4; pad++) {
          const text = Buffer.from('.'.repeat(pad) + t);
          const ok = build({ opcode: 1, fin: true, rsv: 0, masked: true, mask, payload: text });
          expect(wholeClientFrames(ok, 1000), `${mask} ${t} ${pad}`).to.deep.equal({
            messages: 1,
            bytes: text.length,
          });
          const bad = Buffer.concat([text, Buffer.from([0xff])]); // never valid UTF-8
          const broken = build({ opcode: 1, fin: true, rsv: 0, masked: true, mask, payload: bad });
          expect(wholeClientFrames(broken, 1000), `${mask} ${t} ${pad} +ff`).to.equal(undefined);
          // The same bytes as binary are not checked.
          expect(
            wholeClientFrames(
              build({ opcode: 2, fin: true, rsv: 0, masked: true, mask, payload: bad }),
              1000,
            ),
          ).to.deep.equal({ messages: 1, bytes: bad.length });
        }
  });

  it("counts the app-server's whole frames, and leaves a close frame or a cut frame to the scanner", () => {
    fc.assert(
      fc.property(
        fc.array(builtFrame, { minLength: 1, maxLength: 5 }),
        fc.nat(),
        (frames, cutSeed) => {
          const unmasked = (f: Built) => build({ ...f, masked: false });
          const { chunk, held } = chunkOf(frames, unmasked, cutSeed);
          const expected = held?.every((f) => f.opcode !== 8) ? totals(held) : undefined;
          expect(wholeServerFrames(chunk)).to.deep.equal(expected);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
