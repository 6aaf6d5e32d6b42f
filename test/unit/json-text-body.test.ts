/**
 * JSON answers serialized when set (service/json-text-body.ts): the same bytes and headers Koa
 * would send, and node's lazy global `Response` (whose first touch loads undici: +12 MiB RSS)
 * never read. A real Koa app on a real socket; the client is node:http, which does not touch
 * the global either.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import Koa from 'koa';
import { isPlainJson, serializeJsonBodies } from '../../service/json-text-body.js';

interface Answer {
  status: number;
  type: string | undefined;
  length: string | undefined;
  body: string;
}

function get(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: res.headers['content-type'],
            length: res.headers['content-length'],
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      })
      .on('error', reject);
  });
}

/** Count reads of globalThis.Response while fn runs (the accessor node installs, or a value). */
async function responseReads(fn: () => Promise<void>): Promise<number> {
  const original = Object.getOwnPropertyDescriptor(globalThis, 'Response');
  let reads = 0;
  Object.defineProperty(globalThis, 'Response', {
    configurable: true,
    get() {
      reads++;
      return original?.get ? original.get.call(globalThis) : original?.value;
    },
  });
  try {
    await fn();
  } finally {
    if (original) Object.defineProperty(globalThis, 'Response', original);
  }
  return reads;
}

function serve(app: Koa): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer(app.callback());
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    ),
  );
}

describe('JSON bodies serialized when set (Koa, real sockets)', () => {
  const payload = { ok: true, list: [1, 'two', { three: null }], text: 'é ✓' };

  function app(withSerializer: boolean): Koa {
    const a = new Koa();
    if (withSerializer) serializeJsonBodies(a);
    a.use((ctx) => {
      if (ctx.path === '/object') ctx.body = payload;
      else if (ctx.path === '/array') ctx.body = [payload];
      else if (ctx.path === '/problem') {
        ctx.type = 'application/problem+json';
        ctx.status = 409;
        ctx.body = { error: 'conflict' };
      } else if (ctx.path === '/text') ctx.body = 'plain words';
      else if (ctx.path === '/html') ctx.body = '<p>hi</p>';
      else if (ctx.path === '/buffer') ctx.body = Buffer.from('bytes');
      else if (ctx.path === '/stream') ctx.body = Readable.from(['a', 'b']);
      else if (ctx.path === '/null') ctx.body = null;
    });
    return a;
  }

  it('answers exactly as Koa does without it (status, type, length, bytes)', async () => {
    const plain = await serve(app(false));
    const ours = await serve(app(true));
    try {
      for (const path of ['/object', '/array', '/problem', '/text', '/html', '/buffer', '/null']) {
        const [a, b] = await Promise.all([get(plain.port, path), get(ours.port, path)]);
        expect(b, path).to.deep.equal(a);
      }
      const s = await get(ours.port, '/stream');
      expect(s.body).to.equal('ab');
      expect(JSON.parse((await get(ours.port, '/object')).body)).to.deep.equal(payload);
      expect((await get(ours.port, '/problem')).type).to.match(/^application\/problem\+json/);
    } finally {
      await Promise.all([plain.close(), ours.close()]);
    }
  });

  it('never reads the global Response for a JSON answer (Koa alone does, loading undici)', async () => {
    const plain = await serve(app(false));
    const ours = await serve(app(true));
    try {
      const theirs = await responseReads(async () => void (await get(plain.port, '/object')));
      expect(theirs, 'the check this module avoids is still in Koa').to.be.greaterThan(0);
      const mine = await responseReads(async () => {
        for (const path of ['/object', '/array', '/problem', '/text', '/buffer', '/null'])
          await get(ours.port, path);
      });
      expect(mine).to.equal(0);
    } finally {
      await Promise.all([plain.close(), ours.close()]);
    }
  });

  it('takes only plain objects and arrays for JSON', () => {
    expect(isPlainJson({})).to.equal(true);
    expect(isPlainJson(Object.create(null))).to.equal(true);
    expect(isPlainJson([])).to.equal(true);
    for (const v of [null, undefined, 'x', 1, true, Buffer.from('x'), new Map(), new Date(0)])
      expect(isPlainJson(v), String(v)).to.equal(false);
  });
});
