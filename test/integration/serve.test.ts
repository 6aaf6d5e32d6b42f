/**
 * `codex-sm serve` end to end: the real app-server behind codex-sm's gateway, driven by a
 * FAKE Responses API (the only fake: OpenAI's API cannot run here).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import { startService, TestClient, waitReady, type ServiceProcess } from '../../harness/service.js';

const userText = (text: string) => [{ type: 'text', text, text_elements: [] }];

async function runTurn(
  c: TestClient,
  threadId: string,
  text: string,
): Promise<Record<string, unknown>> {
  await c.request('turn/start', { threadId, input: userText(text) });
  return c.waitFor(
    (m) =>
      m.method === 'turn/completed' && (m.params as { threadId?: string }).threadId === threadId,
  );
}

describe('codex-sm serve with the real app-server (fake Responses API)', function () {
  this.timeout(60_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;
  let auth: Record<string, string>;

  before(async () => {
    fake = await startFakeResponses();
    svc = await startService({
      config: { appServer: { args: fake.codexArgs(), backoffInitialMs: 100 } },
    });
    await waitReady(svc);
    auth = { authorization: `Bearer ${svc.token}` };
  });

  after(async () => {
    await svc?.stop();
    await fake?.close();
  });

  it('runs a full turn through the WebSocket endpoint on /', async () => {
    fake.enqueue({ kind: 'text', text: 'Hello from the fake model', chunks: 3 });
    const c = await TestClient.connect(svc.wsUrl + '/', auth);
    const init = await c.initialize();
    expect(init.userAgent).to.match(/\/\d+\.\d+\.\d+/);
    const started = await c.request('thread/start', { cwd: svc.dir });
    const threadId = (started.thread as { id: string }).id;
    const done = await runTurn(c, threadId, 'say hello');
    expect((done.params as { turn: { status: string } }).turn.status).to.equal('completed');
    const deltas = c.messages
      .filter((m) => m.method === 'item/agentMessage/delta')
      .map((m) => (m.params as { delta: string }).delta);
    expect(deltas.join('')).to.equal('Hello from the fake model');
    c.close();
  });

  it('relays an approval request and its answer on /app-server', async () => {
    const marker = path.join(svc.dir, 'approved-marker');
    fake.enqueue({ kind: 'exec', command: ['touch', marker] }, { kind: 'text', text: 'done' });
    const c = await TestClient.connect(svc.wsUrl + '/app-server', auth);
    await c.initialize();
    const started = await c.request('thread/start', {
      cwd: svc.dir,
      approvalPolicy: 'untrusted',
      // workspace-write: the approved command writes in the cwd inside the sandbox (under
      // read-only codex reruns it outside only if it spots the denial: missed under load)
      sandbox: 'workspace-write',
    });
    const threadId = (started.thread as { id: string }).id;
    await c.request('turn/start', { threadId, input: userText('touch the marker') });
    const approval = await c.waitFor((m) => m.method === 'item/commandExecution/requestApproval');
    expect(approval.id).to.not.equal(undefined);
    c.ws.send(JSON.stringify({ id: approval.id, result: { decision: 'accept' } }));
    const done = await c.waitFor((m) => m.method === 'turn/completed');
    expect((done.params as { turn: { status: string } }).turn.status).to.equal('completed');
    expect(c.messages.some((m) => m.method === 'serverRequest/resolved')).to.equal(true);
    expect(fs.existsSync(marker), 'the approved command ran').to.equal(true);
    c.close();
  });

  it('never writes the token to its logs or a non-terminal stderr', () => {
    expect(svc.token).to.have.length.greaterThan(20);
    expect(JSON.stringify(svc.logs)).to.not.contain(svc.token);
    expect(svc.stderr.join('\n')).to.not.contain(svc.token);
    expect(svc.stderr.join('\n')).to.contain(`token:    in ${svc.tokenFile}`);
  });
});
