/**
 * The systemd protocols, spoken by the real service to sockets the test owns: sd_notify
 * (READY only after the app-server answered initialize, STATUS, WATCHDOG, EXTEND_TIMEOUT_USEC,
 * STOPPING, RELOADING + MONOTONIC_USEC), socket activation from an inherited fd, and the
 * graceful stop. No systemd needed: these are the wire formats systemd reads.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { resolveCodexBin } from '../../src/codex.js';
import {
  startService,
  tempDir,
  TestClient,
  waitReady,
  type ServiceProcess,
} from '../../harness/service.js';
import { bindNotifySocket, type NotifySocket } from '../../harness/notify-socket.js';

/** A codex "binary" that is the real one, started late: makes the app-server slow to come up. */
function slowCodex(dir: string, delaySec: number): string {
  const real = resolveCodexBin({ codexHome: dir, env: { PATH: '' } }).path;
  const p = path.join(dir, 'slow-codex');
  fs.writeFileSync(p, `#!/bin/sh\nsleep ${delaySec}\nexec '${real}' "$@"\n`, { mode: 0o755 });
  return p;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('serve speaks sd_notify and socket activation (real service, test-owned sockets)', function () {
  this.timeout(60_000);
  const services: ServiceProcess[] = [];
  const sockets: NotifySocket[] = [];
  after(async () => {
    for (const s of services) await s.stop('SIGKILL');
    for (const n of sockets) n.close();
  });
  /** A NOTIFY_SOCKET in `dir`, closed after the suite (also when a test fails). */
  const notifySocket = (dir: string): NotifySocket => {
    const n = bindNotifySocket(path.join(dir, 'notify.sock'));
    sockets.push(n);
    return n;
  };

  it('sends READY=1 only after the listener is bound and the app-server answered initialize; extends the start timeout meanwhile', async () => {
    const dir = tempDir();
    const notify = notifySocket(dir);
    const t0 = Date.now();
    const svc = await startService({
      dir,
      env: { NOTIFY_SOCKET: notify.path },
      config: { codexBin: slowCodex(dir, 5.5) },
    });
    services.push(svc);
    const listening = Date.now();
    expect(
      notify.messages.some((m) => m.fields.READY),
      'no READY while the app-server is still starting',
    ).to.equal(false);
    expect((await fetch(`${svc.endpoint}/readyz`)).status).to.equal(503);
    const starting = await notify.waitFor((m) => (m.fields.STATUS ?? '').startsWith('starting'));
    expect(starting.fields.STATUS).to.match(/starting app-server/);
    const extend = await notify.waitFor((m) => m.fields.EXTEND_TIMEOUT_USEC !== undefined);
    expect(Number(extend.fields.EXTEND_TIMEOUT_USEC)).to.be.greaterThan(5_000_000);
    const ready = await notify.waitFor((m) => m.fields.READY === '1');
    expect(ready.at - t0).to.be.at.least(5500);
    expect(ready.at).to.be.at.least(listening);
    expect(ready.fields.STATUS).to.match(
      /^ready: app-server \d+\.\d+\.\d+ pid \d+; 0 clients; http:\/\/127\.0\.0\.1:\d+$/,
    );
    expect(notify.messages.filter((m) => m.fields.READY).length).to.equal(1);
    await svc.stop();
  });

  it('loads the front end after READY=1: one that cannot start (its store) stops the service with exit 78', async () => {
    const dir = tempDir();
    const notify = notifySocket(dir);
    const svc = await startService({
      dir,
      noWait: true,
      env: { NOTIFY_SOCKET: notify.path },
      config: { stateDir: '/dev/null/state' }, // the store cannot be created under a device
    });
    services.push(svc);
    await notify.waitFor((m) => m.fields.READY === '1');
    await notify.waitFor((m) => m.fields.STOPPING === '1');
    expect((await svc.exited).code).to.equal(78);
    const fatal = svc.logs.find((l) => l.msg === 'cannot start the front end');
    expect(fatal?.level).to.equal(60);
    expect(String(fatal?.err)).to.match(/cannot open the store .*ENOTDIR/);
  });

  it('pings the watchdog at half WATCHDOG_USEC, reloads on SIGHUP, and stops on SIGTERM with STOPPING=1 and exit 0', async () => {
    const dir = tempDir();
    const notify = notifySocket(dir);
    const svc = await startService({
      dir,
      env: { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '200000' },
    });
    services.push(svc);
    await notify.waitFor((m) => m.fields.READY === '1');
    const since = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    const pings = notify.messages.filter((m) => m.fields.WATCHDOG === '1' && m.at >= since).length;
    expect(pings).to.be.within(6, 14); // every 100 ms

    const status = (await (
      await fetch(`${svc.endpoint}/status`, { headers: { authorization: `Bearer ${svc.token}` } })
    ).json()) as {
      appServer: { pid: number };
    };
    const before = notify.messages.length;
    svc.child.kill('SIGHUP');
    const reloading = await notify.waitFor((m) => m.fields.RELOADING === '1');
    expect(reloading.fields.MONOTONIC_USEC).to.match(/^\d+$/);
    const readyAgain = await notify.waitFor((m) => m.fields.READY === '1' && m.seq > reloading.seq);
    expect(readyAgain.seq).to.be.greaterThan(before);

    const client = await TestClient.connect(svc.wsUrl, { authorization: `Bearer ${svc.token}` });
    await client.initialize();
    const t0 = Date.now();
    svc.child.kill('SIGTERM');
    expect((await client.closed).code, 'clients are told the service is going away').to.equal(1001);
    const exit = await svc.exited;
    expect(exit.code).to.equal(0);
    expect(Date.now() - t0, 'within the default 10 s stop budget').to.be.below(10_000);
    // The datagram and the exit are separate events: wait for the datagram, do not look for it.
    await notify.waitFor((m) => m.fields.STOPPING === '1');
    expect(alive(status.appServer.pid), 'app-server stopped with the service').to.equal(false);
  });

  it('does not ping a watchdog meant for another pid (WATCHDOG_PID)', async () => {
    const dir = tempDir();
    const notify = notifySocket(dir);
    const svc = await startService({
      dir,
      env: { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '100000', WATCHDOG_PID: '1' },
    });
    services.push(svc);
    await notify.waitFor((m) => m.fields.READY === '1');
    await new Promise((r) => setTimeout(r, 400));
    expect(notify.messages.some((m) => m.fields.WATCHDOG)).to.equal(false);
    await svc.stop();
  });

  it('listens on a socket-activated fd 3 and hides LISTEN_* from the app-server', async () => {
    const listener = net.createServer();
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    const port = (listener.address() as net.AddressInfo).port;
    const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
    const blocker = net.createServer(); // the configured port is taken: only fd 3 can work
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const svc = await startService({
      config: { port: (blocker.address() as net.AddressInfo).port },
      wrap: (argv) => [
        '/bin/sh',
        '-c',
        'LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=http exec "$@"',
        'sh',
        ...argv,
      ],
      stdio: ['ignore', 'pipe', 'pipe', fd],
      afterSpawn: () => listener.close(), // otherwise this process accepts half the connections
    });
    services.push(svc);
    expect(svc.endpoint).to.equal(`http://127.0.0.1:${port}`);
    await waitReady(svc);
    const st = (await (
      await fetch(`http://127.0.0.1:${port}/status`, {
        headers: { authorization: `Bearer ${svc.token}` },
      })
    ).json()) as {
      appServer: { pid: number };
    };
    const environ = fs.readFileSync(`/proc/${st.appServer.pid}/environ`, 'utf8').split('\0');
    expect(environ.filter((e) => e.startsWith('LISTEN_'))).to.deep.equal([]);
    expect(environ.some((e) => e.startsWith('CODEX_HOME='))).to.equal(true);
    await svc.stop();
    blocker.close();
  });
});
