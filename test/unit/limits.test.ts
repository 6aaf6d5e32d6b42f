/** The pure parts of service/limits.ts and of the session list cursor (issue 12, findings 2, 7). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { errorBody, HttpError, rawErrorResponse } from '../../service/http.js';
import {
  ConnectionCounter,
  clientErrorResponse,
  peerKey,
  serverTimeoutOptions,
} from '../../service/limits.js';
import { checkPromptImages, localImageRefusal } from '../../service/sessions/images.js';
import { decodeCursor, encodeCursor } from '../../service/sessions/view.js';

describe('connection limits (unit)', () => {
  it('admits up to the per-peer and the total cap, and frees a slot on release', () => {
    const c = new ConnectionCounter();
    const caps = { maxConnections: 3, maxConnectionsPerPeer: 2 };
    expect(c.admit('a', caps)).to.equal('ok');
    expect(c.admit('a', caps)).to.equal('ok');
    expect(c.admit('a', caps)).to.equal('peer');
    expect(c.admit('b', caps)).to.equal('ok');
    expect(c.admit('c', caps)).to.equal('total');
    c.release('a');
    expect(c.admit('c', caps)).to.equal('ok');
    expect(c.open).to.equal(3);
  });

  it('counts an IPv4-mapped address as its IPv4 peer', () => {
    expect(peerKey('::ffff:127.0.0.1')).to.equal('127.0.0.1');
    expect(peerKey('::1')).to.equal('::1');
    expect(peerKey(undefined)).to.equal('unknown');
  });

  it('never gives node a headers timeout above the request timeout (it would throw)', () => {
    const o = serverTimeoutOptions({
      headersTimeoutMs: 5000,
      requestTimeoutMs: 1000,
      idleTimeoutMs: 100,
      maxConnections: 1,
      maxConnectionsPerPeer: 1,
    });
    expect(o).to.deep.include({
      headersTimeout: 1000,
      requestTimeout: 1000,
      keepAliveTimeout: 100,
    });
    expect(o.connectionsCheckingInterval).to.equal(250);
  });

  it('answers refusals and client errors as complete HTTP responses with a JSON error body', () => {
    const r = rawErrorResponse(503, errorBody('too_many_connections', 'full'), {
      'Retry-After': '5',
    });
    const [head, body] = r.split('\r\n\r\n') as [string, string];
    expect(head).to.match(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(head).to.include(`Content-Length: ${Buffer.byteLength(body)}`);
    expect(head).to.include('Connection: close');
    expect(JSON.parse(body)).to.deep.equal({
      error: { code: 'too_many_connections', message: 'full' },
    });
    const timeout = Object.assign(new Error('t'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    const halfRequest = { bytesRead: 20, bytesWritten: 0 };
    expect(clientErrorResponse(timeout, halfRequest)).to.match(/^HTTP\/1\.1 408 /);
    const reset = Object.assign(new Error('r'), { code: 'ECONNRESET' });
    expect(clientErrorResponse(reset, halfRequest)).to.equal(undefined);
    // Already answering: too late for a status line.
    expect(clientErrorResponse(timeout, { bytesRead: 20, bytesWritten: 10 })).to.equal(undefined);
    // Silent until node's headers timeout: nothing was asked, so nothing is answered (the
    // integration test's silent connection met this or the idle timeout, whichever came first).
    expect(clientErrorResponse(timeout, { bytesRead: 0, bytesWritten: 0 })).to.equal(undefined);
  });
});

describe('session list cursor (unit)', () => {
  const cursor = { v: 1, id: 'x', n: 50, s: 'created', o: 'desc' } as const;
  it('decodes a cursor it issued', () => {
    expect(decodeCursor(encodeCursor(cursor), 'created', 'desc')).to.deep.equal(cursor);
  });
  it('refuses a hand-made cursor with a negative, fractional or infinite offset or value', () => {
    const made = (c: Record<string, unknown>) =>
      Buffer.from(JSON.stringify({ ...cursor, ...c })).toString('base64url');
    for (const bad of [{ n: -1 }, { n: 1.5 }, { n: 1e300 }, { v: null }])
      expect(decodeCursor(made(bad), 'created', 'desc'), JSON.stringify(bad)).to.equal(undefined);
    expect(decodeCursor(encodeCursor(cursor), 'updated', 'desc')).to.equal(undefined);
  });
});

describe('which images a prompt may name (unit, real files)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'codex-sm-images-'));
  const cwd = path.join(root, 'project');
  const outside = path.join(root, 'elsewhere');
  fs.mkdirSync(path.join(cwd, 'shots'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(cwd, 'shots', 'a.png'), 'png');
  fs.writeFileSync(path.join(outside, 'b.png'), 'png');
  fs.writeFileSync(path.join(cwd, 'notes.txt'), 'text');
  fs.symlinkSync(path.join(outside, 'b.png'), path.join(cwd, 'link.png'));
  fs.symlinkSync('/etc/passwd', path.join(cwd, 'passwd.png'));
  fs.mkdirSync(path.join(cwd, 'dir.png'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('takes an image file under the cwd or an allowed dir, and URLs of http(s) or data', () => {
    expect(localImageRefusal(path.join(cwd, 'shots', 'a.png'), [cwd])).to.equal(undefined);
    expect(localImageRefusal(path.join(outside, 'b.png'), [cwd, outside])).to.equal(undefined);
    expect(() =>
      checkPromptImages(
        [{ type: 'image', url: 'https://example.com/x.png' }],
        ['data:image/png;base64,AAAA', path.join(cwd, 'shots', 'a.png')],
        [cwd],
      ),
    ).to.not.throw();
  });

  it('refuses system files, escapes, links out of the tree, non-images and other schemes with 400 invalid_image', () => {
    const refused = (input: Parameters<typeof checkPromptImages>[0], images: string[]) => {
      try {
        checkPromptImages(input, images, [cwd]);
        return undefined;
      } catch (e) {
        return e as HttpError;
      }
    };
    for (const img of [
      '/etc/shadow',
      'shots/a.png',
      path.join(cwd, '..', 'elsewhere', 'b.png'),
      path.join(cwd, 'link.png'),
      path.join(cwd, 'passwd.png'),
      path.join(cwd, 'notes.txt'),
      path.join(cwd, 'dir.png'),
      path.join(cwd, 'missing.png'),
    ]) {
      const e = refused(undefined, [img]);
      expect(e, img).to.be.instanceOf(HttpError);
      expect(e).to.include({ status: 400, code: 'invalid_image' });
    }
    expect(refused([{ type: 'localImage', path: '/etc/shadow' }], [])).to.include({
      code: 'invalid_image',
    });
    expect(refused([{ type: 'image', url: 'file:///etc/shadow' }], [])).to.include({
      code: 'invalid_image',
    });
  });
});
