/**
 * The test tier works: the real `codex app-server` from the pinned dev dependency, spawned
 * directly, spoken to with codex-sm's own JSON-RPC client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { expect } from 'chai';
import { resolveCodexBin, versionFromUserAgent } from '../../src/codex.js';
import { RpcClient, RpcError, RpcTimeoutError, RpcClosedError } from '../../service/rpc.js';
import { tempDir } from '../../harness/service.js';

describe('real codex app-server (integration)', function () {
  this.timeout(30_000);
  let child: ChildProcess;
  let client: RpcClient;
  let codexHome: string;
  let url: string;

  before(async () => {
    codexHome = path.join(tempDir(), 'home');
    fs.mkdirSync(codexHome);
    const bin = resolveCodexBin({ codexHome, env: { PATH: '' } });
    expect(bin.source).to.equal('devDependency');
    child = spawn(bin.path, ['app-server', '--listen', 'ws://127.0.0.1:0'], {
      env: { ...process.env, CODEX_HOME: codexHome },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    url = await new Promise<string>((resolve, reject) => {
      const rl = readline.createInterface({ input: child.stderr! });
      rl.on('line', (l) => {
        const m = /listening on: (ws:\/\/\S+)/.exec(l);
        if (m) resolve(m[1] as string);
      });
      child.once('exit', (c) => reject(new Error(`app-server exited ${c}`)));
    });
    client = await RpcClient.connect(url, { requestTimeoutMs: 5000 });
  });

  after(() => {
    client?.close();
    child?.kill('SIGTERM');
  });

  it('refuses requests before initialize, then completes initialize/initialized', async () => {
    const early = await client.request('account/read', {}).catch((e: unknown) => e);
    expect(early).to.be.instanceOf(RpcError);
    expect((early as RpcError).message).to.match(/Not initialized/);
    const init = await client.initialize({
      clientInfo: { name: 'codex-sm-test', title: null, version: '0' },
      capabilities: { experimentalApi: true },
    });
    expect(versionFromUserAgent(init.userAgent)).to.match(/^\d+\.\d+\.\d+/);
    expect(fs.realpathSync(init.codexHome)).to.equal(fs.realpathSync(codexHome));
  });

  it('reads account/read', async () => {
    const account = await client.request<Record<string, unknown>>('account/read', {});
    expect(account).to.be.an('object');
    expect(account).to.have.property('requiresOpenaiAuth');
  });

  it('turns an unknown method into an RpcError with the server code', async () => {
    const err = await client.request('no/such/method', {}).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RpcError);
    expect((err as RpcError).code).to.equal(-32600);
  });

  it('fails pending requests at once when the connection drops', async () => {
    const second = await RpcClient.connect(url, { requestTimeoutMs: 60_000 });
    await second.initialize({
      clientInfo: { name: 'drop', title: null, version: '0' },
      capabilities: null,
    });
    // A raw malformed frame gets no answer: this request would hang until its timeout.
    second.ws.send('{"id": 99, "method": ');
    const pending = second.request('thread/loaded/list', {}, { timeoutMs: 60_000 });
    const timed = second.request('config/read', {}, { timeoutMs: 1 }).catch((e: unknown) => e);
    second.terminate();
    const err = await pending.catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RpcClosedError);
    expect(await timed).to.satisfy(
      (e: unknown) => e instanceof RpcTimeoutError || e instanceof RpcClosedError,
    );
    expect(second.pendingCount).to.equal(0);
  });
});
