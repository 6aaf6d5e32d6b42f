/** The supervisor repairs what it can see: a hung app-server, a binary that disappears (real app-server). */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { resolveCodexBin } from '../../src/codex.js';
import { startService, tempDir, waitReady, type ServiceProcess } from '../../harness/service.js';

interface Status {
  state: string;
  statusText: string;
  appServer: { state: string; pid: number; restarts: number; lastError?: string };
}

async function status(svc: ServiceProcess): Promise<Status> {
  return (await (
    await fetch(`${svc.endpoint}/status`, { headers: { authorization: `Bearer ${svc.token}` } })
  ).json()) as Status;
}

async function until(pred: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}

describe('app-server supervisor (integration, real app-server)', function () {
  this.timeout(60_000);
  let svc: ServiceProcess;
  let wrapper: string;

  before(async () => {
    const dir = tempDir();
    const real = resolveCodexBin({ codexHome: dir, env: { PATH: '' } }).path;
    wrapper = path.join(dir, 'codex');
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec '${real}' "$@"\n`, { mode: 0o755 });
    svc = await startService({
      dir,
      config: {
        codexBin: wrapper,
        appServer: { pingIntervalMs: 500, backoffInitialMs: 100, backoffMaxMs: 400 },
      },
    });
    await waitReady(svc);
  });
  after(async () => {
    const s = await status(svc).catch(() => undefined);
    await svc?.stop();
    if (s?.appServer.pid) {
      try {
        process.kill(s.appServer.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });

  it('kills and restarts an app-server that stops answering (SIGSTOP)', async () => {
    const before = await status(svc);
    process.kill(before.appServer.pid, 'SIGSTOP');
    await until(async () => (await fetch(`${svc.endpoint}/readyz`)).status === 503);
    const line = await svc.waitForLog(
      (l) => l.msg === 'app-server exited' && /stopped answering/.test(String(l.reason)),
    );
    expect(line.signal).to.equal('SIGKILL');
    await waitReady(svc);
    const after = await status(svc);
    expect(after.appServer.pid).to.not.equal(before.appServer.pid);
    expect(after.appServer.restarts).to.equal(before.appServer.restarts + 1);
  });

  it('reports "failed" while the binary cannot run, and recovers when it is back', async () => {
    const saved = fs.readFileSync(wrapper, 'utf8');
    fs.rmSync(wrapper);
    process.kill((await status(svc)).appServer.pid, 'SIGKILL');
    await until(async () => (await status(svc)).appServer.state === 'failed');
    const s = await status(svc);
    expect(s.state).to.equal('degraded');
    expect(s.appServer.lastError).to.match(/cannot run .*ENOENT/);
    expect(s.statusText).to.match(/^degraded: cannot run/);
    expect((await fetch(`${svc.endpoint}/readyz`)).status).to.equal(503);
    fs.writeFileSync(wrapper, saved, { mode: 0o755 });
    await waitReady(svc);
    expect((await status(svc)).state).to.equal('ready');
  });

  it('takes the app-server down with it when codex-sm is SIGKILLed (no orphan holding CODEX_HOME)', async function () {
    if (process.platform !== 'linux') this.skip();
    const other = await startService({});
    await waitReady(other);
    const pid = (await status(other)).appServer.pid;
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).to.contain('app-server');
    await other.stop('SIGKILL');
    await until(async () => !fs.existsSync(`/proc/${pid}`), 5000);
  });
});
