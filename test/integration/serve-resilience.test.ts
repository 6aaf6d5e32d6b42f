/**
 * What clients cannot break and what the supervisor repairs: auth and Host checks, hostile
 * frames, slow readers, and a SIGKILLed app-server (real app-server, FAKE Responses API).
 */
import { expect } from 'chai';
import WebSocket from 'ws';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import { startService, TestClient, waitReady, type ServiceProcess } from '../../harness/service.js';
import { serviceFetch } from '../helpers/http.js';
import { frame, rawRequest, rawWebSocket, upgradeRequest } from '../helpers/raw-ws.js';
import { waitFor } from '../helpers/wait.js';

interface Status {
  state: string;
  appServer: { state: string; pid: number; restarts: number };
  clients: number;
}

async function getStatus(svc: ServiceProcess): Promise<Status> {
  return JSON.parse((await serviceFetch(svc.endpoint, svc.token, 'GET', '/status')).text) as Status;
}

/** WebSocket messages the relay has passed from the app-server to clients (/metrics). */
async function relayedToClients(svc: ServiceProcess): Promise<number> {
  const { text } = await serviceFetch(svc.endpoint, svc.token, 'GET', '/metrics');
  const m = /^codex_sm_relay_messages_total\{direction="to_client"\} (\d+)$/m.exec(text);
  if (!m) throw new Error('no codex_sm_relay_messages_total{direction="to_client"} in /metrics');
  return Number(m[1]);
}

describe('codex-sm serve: auth, hostile input, app-server restarts (fake Responses API)', function () {
  this.timeout(60_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;
  let auth: Record<string, string>;
  let port: number;

  before(async () => {
    fake = await startFakeResponses();
    svc = await startService({
      config: {
        appServer: { args: fake.codexArgs(), backoffInitialMs: 100 },
        maxFrameBytes: 64 * 1024,
        maxClientBufferBytes: 256 * 1024,
      },
    });
    await waitReady(svc);
    auth = { authorization: `Bearer ${svc.token}` };
    port = Number(new URL(svc.endpoint).port);
  });

  after(async () => {
    await svc?.stop();
    await fake?.close();
  });

  it('answers /healthz and /readyz without a token but nothing else', async () => {
    expect((await fetch(`${svc.endpoint}/healthz`)).status).to.equal(200);
    expect((await fetch(`${svc.endpoint}/readyz`)).status).to.equal(200);
    const r = await fetch(`${svc.endpoint}/status`);
    expect(r.status).to.equal(401);
    expect(((await r.json()) as { error: { code: string } }).error.code).to.equal('unauthorized');
    const wrong = await fetch(`${svc.endpoint}/status`, {
      headers: { authorization: 'Bearer not-the-token' },
    });
    expect(wrong.status).to.equal(401);
  });

  it('refuses a WebSocket upgrade without the token with 401 before the upgrade', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: 'Basic Zm9vOmJhcg==' },
    ] as Record<string, string>[]) {
      const err = (await TestClient.connect(svc.wsUrl, headers).catch((e: unknown) => e)) as {
        status?: number;
      };
      expect(err.status).to.equal(401);
    }
  });

  it('refuses unknown Host headers (DNS rebinding) on HTTP and WebSocket', async () => {
    const http = await rawRequest(
      port,
      `GET /status HTTP/1.1\r\nHost: evil.example:${port}\r\nAuthorization: Bearer ${svc.token}\r\nConnection: close\r\n\r\n`,
    );
    expect(http.status).to.equal(403);
    const ws = await rawRequest(
      port,
      upgradeRequest('/', { Host: 'evil.example', Authorization: `Bearer ${svc.token}` }),
    );
    expect(ws.status).to.equal(403);
    const ok = await rawRequest(
      port,
      `GET /healthz HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`,
    );
    expect(ok.status).to.equal(200);
  });

  it('forwards no client headers upstream: a browser-style Origin (which the app-server 403s) still works', async () => {
    const c = await TestClient.connect(svc.wsUrl, {
      ...auth,
      origin: 'http://localhost:5173',
      'user-agent': 'x',
    });
    const init = await c.initialize();
    expect(init.userAgent).to.match(/\/\d+\.\d+\.\d+/);
    c.close();
  });

  it('survives garbage: malformed JSON, binary junk, oversize frames, raw bytes', async () => {
    const c = await TestClient.connect(svc.wsUrl, auth);
    c.ws.send('{"id": 1, "method": ');
    c.ws.send(Buffer.from([0, 1, 2, 255]), { binary: true });
    c.ws.send('[1,2,3]');
    await c.initialize();
    const big = await TestClient.connect(svc.wsUrl, auth);
    big.ws.send('x'.repeat(200 * 1024));
    expect((await big.closed).code).to.equal(1009);
    // An unknown method: 501 with its JSON error, as RFC 9110 asks (service/http-errors.ts).
    const garbage = await rawRequest(port, 'GARBAGE\r\n\r\n\x00\x01');
    expect(garbage.status).to.equal(501);
    expect(JSON.parse(garbage.body)).to.have.nested.property('error.code', 'not_implemented');
    const keyless = await rawRequest(
      port,
      upgradeRequest('/', { 'Sec-WebSocket-Key': '', Authorization: `Bearer ${svc.token}` }),
    );
    expect(keyless.status).to.equal(400);
    expect(JSON.parse(keyless.body)).to.have.nested.property(
      'error.message',
      'missing or invalid Sec-WebSocket-Key header',
    );
    const after = await c.request('thread/loaded/list', {});
    expect(after).to.have.property('data');
    expect((await fetch(`${svc.endpoint}/healthz`)).status).to.equal(200);
    c.close();
  });

  it('disconnects a client that stops reading instead of buffering without bound', async () => {
    // A raw socket the test alone reads (a `ws` client may resume a socket paused under it):
    // the upgrade, then never another byte read.
    const { conn } = await rawWebSocket(port, '/', svc.token);
    conn.socket.pause(); // from here on nobody reads it
    const send = (msg: object) =>
      conn.write(frame({ opcode: 1, payload: Buffer.from(JSON.stringify(msg)) }));
    send({
      id: 1,
      method: 'initialize',
      params: { clientInfo: { name: 'slow', title: null, version: '0' }, capabilities: null },
    });
    send({ method: 'initialized' });
    // Ask for ~11 KB answers without reading them until the kernel's buffers (loopback grows
    // them to tens of MB) and codex-sm's 256 KB bound are full. In batches, each sent once the
    // relay has passed on every answer to the one before: the app-server sheds what it cannot
    // take at once ("Server overloaded; retry later"), and tiny errors fill no buffer.
    const cutOff = (l: { msg: string }) => l.msg === 'client not reading; disconnecting';
    let id = 1000;
    try {
      for (let batch = 0; batch < 2000 && !svc.logs.some(cutOff); batch++) {
        const before = await relayedToClients(svc);
        for (let i = 0; i < 50; i++) send({ id: id++, method: 'model/list', params: {} });
        await waitFor(
          `batch ${batch} answered`,
          async () => svc.logs.some(cutOff) || (await relayedToClients(svc)) >= before + 50,
          10_000,
          5,
        );
      }
      const line = await svc.waitForLog(cutOff, 55_000);
      expect(line.buffered as number).to.be.greaterThan(256 * 1024);
      // The socket's close lands just after the line.
      await waitFor(
        'the slow client to be disconnected',
        async () => (await getStatus(svc)).clients === 0,
        5000,
      );
    } finally {
      conn.destroy();
    }
  });

  it('restarts a SIGKILLed app-server: old clients get 1012, /readyz returns, new clients complete a turn', async () => {
    const before = await getStatus(svc);
    const c = await TestClient.connect(svc.wsUrl, auth);
    await c.initialize();
    process.kill(before.appServer.pid, 'SIGKILL');
    const closed = await c.closed;
    expect(closed.code).to.equal(1012);
    // The relay can see the upstream socket close before the supervisor reaps the child, so
    // /readyz may still say ready for a moment: wait for the new app-server itself.
    await svc.waitForLog(
      (l) => l.msg === 'app-server ready' && l.childPid !== before.appServer.pid,
    );
    await waitReady(svc);
    const after = await getStatus(svc);
    expect(after.appServer.pid).to.not.equal(before.appServer.pid);
    expect(after.appServer.restarts).to.equal(before.appServer.restarts + 1);
    expect(after.state).to.equal('ready');
    fake.enqueue({ kind: 'text', text: 'after restart' });
    const n = await TestClient.connect(svc.wsUrl, auth);
    await n.initialize();
    const t = await n.request('thread/start', { cwd: svc.dir });
    await n.request('turn/start', {
      threadId: (t.thread as { id: string }).id,
      input: [{ type: 'text', text: 'hi', text_elements: [] }],
    });
    const done = await n.waitFor((m) => m.method === 'turn/completed');
    expect((done.params as { turn: { status: string } }).turn.status).to.equal('completed');
    n.close();
  });

  it('stays up when a client disconnects mid-request', async () => {
    const ws = new WebSocket(svc.wsUrl, { headers: auth });
    await new Promise((r) => ws.once('open', r));
    ws.send(
      JSON.stringify({
        id: 1,
        method: 'initialize',
        params: { clientInfo: { name: 'x', title: null, version: '0' }, capabilities: null },
      }),
    );
    ws.terminate();
    await new Promise((r) => setTimeout(r, 200));
    expect((await getStatus(svc)).state).to.equal('ready');
  });
});
