/**
 * What a client can hold open (issue 12, findings 2 and 7): idle connections, trickled bodies,
 * connection caps and a graceful stop with uploads half sent, against the real service with
 * test-sized limits from its config. Every wait is for a socket event, never for time.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { expect } from 'chai';
import WebSocket from 'ws';
import { startService, tempDir, waitReady, type ServiceProcess } from '../../harness/service.js';
import { parseResponse, RawConnection } from '../helpers/raw-ws.js';

/** Send one byte at a time while the connection is open: a client that never finishes. */
function trickle(c: RawConnection): void {
  const timer = setInterval(() => {
    if (c.socket.writable) c.write('x');
  }, 20);
  void c.closed.then(() => clearInterval(timer));
}

function jsonBody(response: string): { error: { code: string; message: string } } {
  return JSON.parse(parseResponse(Buffer.from(response)).body) as {
    error: { code: string; message: string };
  };
}

function openWs(svc: ServiceProcess, localAddress: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${svc.wsUrl}/ws`, {
      headers: { authorization: `Bearer ${svc.token}` },
      localAddress,
    });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) =>
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
    );
    ws.once('error', reject);
  });
}

const portOf = (svc: ServiceProcess) => Number(new URL(svc.endpoint).port);

describe('codex-sm serve: timeouts (limits.*)', function () {
  this.timeout(60_000);
  let svc: ServiceProcess;
  let port: number;

  before(async () => {
    svc = await startService({
      config: { limits: { headersTimeoutMs: 300, requestTimeoutMs: 600, idleTimeoutMs: 300 } },
    });
    await waitReady(svc);
    port = portOf(svc);
  });
  after(async () => {
    await svc?.stop();
  });

  it('closes a connection that sends nothing, with no answer (limits.headersTimeoutMs or idleTimeoutMs, whichever fires first)', async () => {
    const c = await RawConnection.open(port);
    expect(await c.closedText()).to.equal('');
  });

  it('closes a keep-alive connection idle after its request', async () => {
    const c = await RawConnection.open(port);
    c.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const out = await c.closedText();
    expect(out).to.match(/^HTTP\/1\.1 200 /);
  });

  it('answers an unauthenticated upload without waiting for its trickled body, and closes it', async () => {
    const c = await RawConnection.open(port);
    c.write(
      'POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
    );
    trickle(c);
    const out = await c.closedText();
    expect(out).to.match(/^HTTP\/1\.1 401 /);
    expect(jsonBody(out).error.code).to.equal('unauthorized');
  });

  it('closes an authenticated upload trickled past limits.requestTimeoutMs with a JSON 408', async () => {
    const c = await RawConnection.open(port);
    c.write(
      `POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${svc.token}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
    );
    trickle(c);
    const out = await c.closedText();
    expect(out).to.match(/^HTTP\/1\.1 408 /);
    expect(jsonBody(out).error.code).to.equal('request_timeout');
  });

  it('closes headers that never end with a JSON 408 (limits.headersTimeoutMs)', async () => {
    const c = await RawConnection.open(port);
    c.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    trickle(c); // header bytes keep coming, the header block never ends
    const out = await c.closedText();
    expect(out).to.match(/^HTTP\/1\.1 408 /);
    expect(jsonBody(out).error.code).to.equal('request_timeout');
  });

  it('does not cut a WebSocket that outlives the idle timeout', async () => {
    const ws = await openWs(svc, '127.0.0.1');
    const wsClosed = new Promise<void>((r) => ws.once('close', () => r()));
    let cut = false;
    void wsClosed.then(() => (cut = true));
    // An idle connection opened after the WebSocket is closed after idleTimeoutMs: by then the
    // WebSocket has been idle longer than that.
    await (
      await RawConnection.open(port)
    ).closed;
    const pong = new Promise<void>((r) => ws.once('pong', () => r()));
    ws.ping();
    await pong;
    expect(cut).to.equal(false);
    ws.close();
    await wsClosed;
  });
});

// A connection that sends nothing is closed by whichever of the two timeouts comes first; each
// alone, the other one far beyond the test's own timeout, so only the one named can close it.
const SILENT_CASES = [
  // The defaults' order (30 s headers, 60 s idle): node's headers check, with no 408 to send.
  {
    first: 'headersTimeoutMs',
    limits: { headersTimeoutMs: 300, requestTimeoutMs: 600_000, idleTimeoutMs: 600_000 },
  },
  {
    first: 'idleTimeoutMs',
    limits: { headersTimeoutMs: 600_000, requestTimeoutMs: 600_000, idleTimeoutMs: 300 },
  },
] as const;

for (const { first, limits } of SILENT_CASES)
  describe(`codex-sm serve: a silent connection meets limits.${first} first`, function () {
    this.timeout(60_000);
    let svc: ServiceProcess;

    before(async () => {
      svc = await startService({ config: { limits } });
      await waitReady(svc);
    });
    after(async () => {
      await svc?.stop();
    });

    it('is closed with no answer: it asked nothing', async () => {
      const c = await RawConnection.open(portOf(svc));
      expect(await c.closedText()).to.equal('');
    });
  });

describe('codex-sm serve: connection caps and graceful stop', function () {
  this.timeout(60_000);
  let svc: ServiceProcess;
  let port: number;
  const held: WebSocket[] = [];

  before(async () => {
    svc = await startService({
      // A stop budget no test run would wait out: a stop that waited for a client would time out.
      config: { limits: { maxConnectionsPerPeer: 3, maxConnections: 8 }, stopTimeoutMs: 600_000 },
    });
    await waitReady(svc);
    port = portOf(svc);
  });
  after(async () => {
    for (const ws of held) ws.terminate();
    await svc?.stop();
  });

  it('refuses a connection over limits.maxConnectionsPerPeer with a JSON 503; /healthz from another peer answers', async () => {
    for (let i = 0; i < 3; i++) held.push(await openWs(svc, '127.0.0.2'));
    const c = await RawConnection.open(port, '127.0.0.2');
    c.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const out = await c.closedText();
    expect(out).to.match(/^HTTP\/1\.1 503 /);
    expect(out).to.match(/\r\nRetry-After: 5\r\n/i);
    const body = jsonBody(out);
    expect(body.error.code).to.equal('too_many_connections');
    expect(body.error.message).to.include('maxConnectionsPerPeer');
    // A WebSocket upgrade from the same peer is refused too.
    const refused = await openWs(svc, '127.0.0.2').catch((e: Error & { status?: number }) => e);
    expect(refused).to.be.instanceOf(Error);

    const other = await RawConnection.open(port, '127.0.0.1');
    other.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(await other.closedText()).to.match(/^HTTP\/1\.1 200 /);
  });

  it('refuses new connections over limits.maxConnections; a kept-alive connection still reaches /healthz', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const healthz = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
        });
        req.on('error', reject);
      });
    expect((await healthz()).status).to.equal(200);
    // Fill the rest from peers of their own until the service refuses (the per-peer cap is 3).
    let refusal: (Error & { status?: number }) | undefined;
    for (let i = 10; i < 30 && !refusal; i++) {
      const r = await openWs(svc, `127.0.0.${i}`).catch((e: Error & { status?: number }) => e);
      if (r instanceof WebSocket) held.push(r);
      else refusal = r;
    }
    expect(refusal?.status).to.equal(503);
    const c = await RawConnection.open(port, '127.0.0.99');
    c.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const out = await c.closedText();
    expect(jsonBody(out).error.message).to.include('limits.maxConnections =');
    const again = await healthz();
    expect(again).to.deep.equal({ status: 200, reused: true });
    agent.destroy();
  });
});

// A service of its own: the caps tests above leave connections the server is still releasing,
// which would count against these two (and a refusal would never be the 401 waited for).
describe('codex-sm serve: graceful stop with uploads half sent', function () {
  this.timeout(60_000);
  let svc: ServiceProcess;
  let port: number;

  before(async () => {
    // A stop budget no test run would wait out: a stop that waited for a client would time out.
    svc = await startService({ config: { stopTimeoutMs: 600_000 } });
    await waitReady(svc);
    port = portOf(svc);
  });

  it('a graceful stop does not wait for uploads half sent (rejected or still arriving)', async () => {
    // Rejected: answered 401 before its body; the client keeps the connection open, sends nothing more.
    const rejected = await RawConnection.open(port, '127.0.0.50');
    rejected.write(
      'POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n{',
    );
    // Still arriving: authenticated, its headers taken (100 Continue), half of its body sent.
    const arriving = await RawConnection.open(port, '127.0.0.51');
    arriving.write(
      `POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${svc.token}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n',
    );
    // Both answered before the stop (else the stop, not the limits, would answer them).
    await rejected.waitFor((b) => b.toString().includes('HTTP/1.1 401 '));
    await arriving.waitFor((b) => b.toString().includes('100 Continue'));
    arriving.write('{"cwd":');
    const exit = await svc.stop('SIGTERM');
    expect(exit.code).to.equal(0);
    expect(await rejected.closedText()).to.match(/^HTTP\/1\.1 401 /);
    await arriving.closed;
  });
});

describe('codex-sm serve: a token file others can read', function () {
  this.timeout(30_000);

  it('is refused like ssh refuses a key: exit 78, one line with the chmod hint', async () => {
    const dir = tempDir();
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, 'a-token-that-is-long-enough-to-use\n', { mode: 0o644 });
    fs.chmodSync(tokenFile, 0o644); // whatever the umask
    const svc = await startService({ dir, noWait: true });
    const exit = await svc.exited;
    expect(exit.code).to.equal(78);
    const said = svc.stderr.join('\n') + JSON.stringify(svc.logs);
    expect(said).to.include(`chmod 600 ${tokenFile}`);
    expect(said).to.not.include('a-token-that-is-long-enough-to-use');
  });
});
