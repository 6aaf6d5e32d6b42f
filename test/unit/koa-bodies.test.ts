/**
 * Answers sent without Koa reading node's lazy global `Response` (service/koa-bodies.ts: JSON
 * serialized when set, streams piped by the outermost middleware): the same status, headers
 * and bytes Koa alone would send, and the global (whose first read loads undici: +12 MiB RSS)
 * never read. Real Koa apps on real sockets; the client is node:http, which does not read the
 * global either.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import Koa from 'koa';
import { isPlainJson, pipeStreamBodies, serializeJsonBodies } from '../../service/koa-bodies.js';

interface Answer {
  status: number;
  type: string | undefined;
  length: string | undefined;
  body: string;
}

function get(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .request({ host: '127.0.0.1', port, path, method }, (res) => {
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
      .on('error', reject)
      .end();
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

describe("Koa answers without node's global Response (real Koa, real sockets)", () => {
  const payload = { ok: true, list: [1, 'two', { three: null }], text: 'é ✓' };

  function app(ours: boolean): Koa {
    const a = new Koa();
    a.silent = true;
    if (ours) {
      serializeJsonBodies(a);
      a.use(pipeStreamBodies());
    }
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
      else if (ctx.path === '/stream') {
        ctx.type = 'text/event-stream';
        ctx.body = Readable.from(['a', 'b']);
      } else if (ctx.path === '/broken-stream') {
        ctx.body = new Readable({
          read() {
            this.destroy(new Error('the source failed'));
          },
        });
      } else if (ctx.path === '/null') ctx.body = null;
      else if (ctx.path === '/no-content') {
        ctx.status = 204;
        ctx.body = { dropped: true };
      } else if (ctx.path === '/typed-text') {
        ctx.type = 'text/plain';
        ctx.body = { shown: 'as json text' };
      } else if (ctx.path === '/unserializable') ctx.body = { n: 1n };
    });
    return a;
  }

  it('answers exactly as Koa does without it (status, type, length, bytes)', async () => {
    const plain = await serve(app(false));
    const ours = await serve(app(true));
    try {
      const paths = ['/object', '/array', '/problem', '/text', '/html', '/buffer', '/null'];
      for (const path of [...paths, '/stream', '/no-content', '/typed-text', '/unserializable'])
        for (const method of ['GET', 'HEAD']) {
          const [a, b] = await Promise.all([
            get(plain.port, path, method),
            get(ours.port, path, method),
          ]);
          expect(b, `${method} ${path}`).to.deep.equal(a);
        }
      expect((await get(ours.port, '/stream')).body).to.equal('ab');
      expect((await get(ours.port, '/unserializable')).status).to.equal(500);
      expect(JSON.parse((await get(ours.port, '/object')).body)).to.deep.equal(payload);
      expect((await get(ours.port, '/problem')).type).to.match(/^application\/problem\+json/);
    } finally {
      await Promise.all([plain.close(), ours.close()]);
    }
  });

  it('never reads the global Response for a JSON or a stream answer (Koa alone does, loading undici)', async () => {
    const plain = await serve(app(false));
    const ours = await serve(app(true));
    try {
      const theirs = await responseReads(async () => void (await get(plain.port, '/object')));
      expect(theirs, 'the check this module avoids is still in Koa').to.be.greaterThan(0);
      const theirStream = await responseReads(async () => void (await get(plain.port, '/stream')));
      expect(theirStream, 'Koa reads it before piping a stream too').to.be.greaterThan(0);
      const mine = await responseReads(async () => {
        for (const path of [
          '/object',
          '/array',
          '/problem',
          '/text',
          '/buffer',
          '/null',
          '/stream',
        ])
          await get(ours.port, path);
      });
      expect(mine).to.equal(0);
    } finally {
      await Promise.all([plain.close(), ours.close()]);
    }
  });

  it("reports a stream that fails on the app's 'error' event, as Koa does, and cuts the answer", async () => {
    const run = async (ours: boolean) => {
      const a = app(ours);
      const errors: string[] = [];
      a.on('error', (e: Error) => errors.push(e.message));
      const srv = await serve(a);
      try {
        const answer = await get(srv.port, '/broken-stream').then(
          () => 'answered',
          (e: Error) => e.message,
        );
        return { answer, errors };
      } finally {
        await srv.close();
      }
    };
    const [koa, mine] = [await run(false), await run(true)];
    expect(mine.answer).to.match(/aborted|socket hang up|ECONNRESET/);
    expect(mine.errors).to.include('the source failed');
    expect(mine).to.deep.equal(koa);
  });

  it('takes only plain objects and arrays for JSON', () => {
    expect(isPlainJson({})).to.equal(true);
    expect(isPlainJson(Object.create(null))).to.equal(true);
    expect(isPlainJson([])).to.equal(true);
    for (const v of [null, undefined, 'x', 1, true, Buffer.from('x'), new Map(), new Date(0)])
      expect(isPlainJson(v), String(v)).to.equal(false);
  });
});
