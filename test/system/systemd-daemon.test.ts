/**
 * System tests for the Codex-daemon commands on a REAL `systemd --user` with journald
 * (./lab.ts): bootstrap from nothing and again, the updater timer, remote control toggled by
 * restarting only the app-server, and `update` swapping the codex binary. The real
 * `codex app-server` runs behind a tiny wrapper script, so the update command can swap the
 * wrapper for one that reports another version (offline: no real release can be fetched).
 *
 * Needs root. Without it the suite says loudly that it did not run, and why.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import { packageInfo } from '../../src/package-info.js';
import { freePort, labSuiteHooks, skipUnlessLab, SystemdUserLab, waitFor } from './lab.js';

const REAL_CODEX = `${packageInfo().root}/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex`;

/** A codex that is the real one, except that `--version` may say something else. */
function wrapper(version?: string): string {
  const fake = version
    ? `if [ "$1" = "--version" ]; then echo "codex-cli ${version}"; exit 0; fi\n`
    : '';
  return `#!/bin/sh\n${fake}exec ${REAL_CODEX} "$@"\n`;
}

interface StatusJson {
  mainPid: number;
  service: {
    appServer: { pid: number; remoteControl?: { enabled: boolean; status: string | null } };
  };
}

describe('Codex daemon parity on systemd (real systemd --user + journald)', function () {
  this.timeout(120_000);
  let lab: SystemdUserLab;
  let port: number;

  labSuiteHooks({
    lab: () => lab,
    journal: async () => (await lab.run(['journalctl', '--user', '-n', '80', '--no-pager'])).stdout,
  });

  before(async function () {
    skipUnlessLab(this);
    if (!fs.existsSync(REAL_CODEX)) throw new Error(`no codex binary at ${REAL_CODEX}`);
    lab = await SystemdUserLab.up();
    port = await freePort();
    config(['true']);
    lab.writeUserFile('bin/codex', wrapper(), 0o755);
    lab.writeUserFile('bin/codex-next', wrapper('0.169.1'), 0o755);
  });

  /** The user's config: short stop budget, and the update command under test. */
  function config(updateCommand: string[]): void {
    lab.writeUserFile(
      '.config/codex-sm/config.json',
      JSON.stringify({ stopTimeoutMs: 1000, update: { command: updateCommand, waitIdleMs: 0 } }),
    );
  }
  const bootstrapArgs = (...extra: string[]) => [
    'bootstrap',
    '--json',
    '--port',
    String(port),
    '--codex-home',
    `${lab.home}/codex-home`,
    '--codex-bin',
    `${lab.home}/bin/codex`,
    ...extra,
  ];
  const mainPid = async () => Number((await lab.show('codex-sm.service', ['MainPID'])).MainPID);
  const status = async () => (await lab.cli(['status', '--json'])).json as unknown as StatusJson;
  const cmdline = async (pid: number) =>
    (await lab.run(['cat', `/proc/${pid}/cmdline`])).stdout.split('\0');

  it('bootstrap from nothing: service active, updater timer armed and listed, one JSON answer', async () => {
    const r = await lab.cli(bootstrapArgs());
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.json).to.include({
      status: 'bootstrapped',
      action: 'started',
      backend: 'systemd',
      activeState: 'active',
      endpoint: `http://127.0.0.1:${port}`,
      codexPath: `${lab.home}/bin/codex`,
      codexVersion: '0.169.0',
      appServerVersion: '0.169.0',
      remoteControlEnabled: false,
      cliVersion: packageInfo().version,
    });
    const updater = r.json.updater as { unit: string; active: boolean; nextRun: string | null };
    expect(updater).to.include({ unit: 'codex-sm-update.timer', active: true });
    expect(Date.parse(String(updater.nextRun))).to.be.greaterThan(0);
    expect(r.json).to.have.property('linger');
    const timers = await lab.systemctl('list-timers', '--all', '--no-legend');
    expect(timers.stdout).to.include('codex-sm-update.timer');
  });

  it('bootstrap again changes nothing and says so', async () => {
    const pid = await mainPid();
    const r = await lab.cli(bootstrapArgs());
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.json).to.include({
      status: 'alreadyBootstrapped',
      action: 'alreadyRunning',
      unitChanged: false,
      appServerRestarted: false,
    });
    expect(await mainPid()).to.equal(pid);
  });

  it('enable/disable-remote-control restart only the app-server: its argv and PID change, MainPID does not', async () => {
    const before = await status();
    const main = await mainPid();
    const on = await lab.cli(['enable-remote-control', '--json']);
    expect(on.code, on.stdout + on.stderr).to.equal(0);
    expect(on.json).to.include({
      status: 'enabled',
      remoteControlEnabled: true,
      appServerRestarted: true,
      mainPid: main,
    });
    const appPid = on.json.appServerPid as number;
    expect(appPid).to.not.equal(before.service.appServer.pid);
    expect(await cmdline(appPid)).to.include('--remote-control');
    expect(await mainPid()).to.equal(main);
    // Offline, remote control cannot reach its server: the app-server serves anyway and says so.
    const rc = await waitFor(
      'remote control to report errored',
      async () => {
        const s = await status();
        return s.service.appServer.remoteControl?.status === 'errored' && s;
      },
      30_000,
    );
    expect(rc.service.appServer.remoteControl?.enabled).to.equal(true);
    expect((await lab.cli(['enable-remote-control', '--json'])).json).to.include({
      status: 'alreadyEnabled',
      appServerRestarted: false,
    });

    const off = await lab.cli(['disable-remote-control', '--json']);
    expect(off.json).to.include({ status: 'disabled', appServerRestarted: true, mainPid: main });
    expect(await cmdline(off.json.appServerPid as number)).to.not.include('--remote-control');
    expect((await lab.cli(['disable-remote-control', '--json'])).json.status).to.equal(
      'alreadyDisabled',
    );
  });

  it('update with an unchanged codex: upToDate, the app-server keeps running', async () => {
    const before = await status();
    const r = await lab.cli(['update', '--json']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.json).to.include({
      status: 'upToDate',
      commandSource: 'config',
      versionBefore: '0.169.0',
      versionAfter: '0.169.0',
      appServerRestarted: false,
    });
    expect((await status()).service.appServer.pid).to.equal(before.service.appServer.pid);
  });

  it('the updater service runs the update the way its timer will (a oneshot, one JSON line in the journal)', async () => {
    const r = await lab.systemctl('start', 'codex-sm-update.service');
    expect(r.code, r.stderr).to.equal(0);
    const shown = await lab.show('codex-sm-update.service', ['Result', 'ActiveState']);
    expect(shown).to.include({ Result: 'success', ActiveState: 'inactive' });
    const log = await lab.run([
      'journalctl',
      '--user',
      '-u',
      'codex-sm-update.service',
      '-o',
      'cat',
      '--no-pager',
    ]);
    const line = log.stdout.split('\n').find((l) => l.startsWith('{"status"'));
    expect(line, log.stdout).to.be.a('string');
    expect(JSON.parse(line as string)).to.include({ status: 'upToDate' });
  });

  it('update that swaps codex for a new version restarts only the app-server, on the new binary', async () => {
    config(['cp', `${lab.home}/bin/codex-next`, `${lab.home}/bin/codex`]);
    const before = await status();
    const main = await mainPid();
    const r = await lab.cli(['update', '--json']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.json).to.include({
      status: 'updated',
      versionBefore: '0.169.0',
      versionAfter: '0.169.1',
      appServerRestarted: true,
    });
    const after = await status();
    expect(after.service.appServer.pid).to.not.equal(before.service.appServer.pid);
    expect(await mainPid()).to.equal(main);
    expect((await lab.cli(['version', '--json'])).json).to.include({ codexVersion: '0.169.1' });
  });

  it('uninstall-service removes the updater too', async () => {
    const r = await lab.cli(['uninstall-service', '--json']);
    expect(r.json.status).to.equal('uninstalled');
    const timers = await lab.systemctl('list-timers', '--all', '--no-legend');
    expect(timers.stdout).to.not.include('codex-sm-update');
    expect(fs.existsSync(`${lab.home}/.config/systemd/user/codex-sm-update.timer`)).to.equal(false);
  });
});
