/**
 * System tests: the lifecycle commands against a REAL `systemd --user` (v252) with a real
 * journald, in a private namespace (./lab.ts), with the real `codex-sm serve` and the real
 * `codex app-server` from the pinned dev dependency. Every claim is checked against what
 * `systemctl --user` / `journalctl --user` themselves say.
 *
 * Needs root. Without it the suite says loudly that it did not run, and why.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { resolveConfig } from '../../src/config/load.js';
import { buildServicePlan } from '../../src/platform/plan.js';
import { renderServiceUnit } from '../../src/platform/systemd/render.js';
import {
  expectStatusMatchesShow,
  freePort,
  httpStatus,
  labSuiteHooks,
  skipUnlessLab,
  SystemdUserLab,
  waitFor,
} from './lab.js';

const UNIT = 'codex-sm.service';
const SHOW = [
  'LoadState',
  'ActiveState',
  'SubState',
  'MainPID',
  'NRestarts',
  'StatusText',
  'UnitFileState',
  'Result',
  'ExecMainStatus',
  'WatchdogUSec',
];

describe('systemd user service lifecycle (real systemd --user + journald)', function () {
  this.timeout(90_000);
  let lab: SystemdUserLab;
  let port: number;
  const { timings, started } = labSuiteHooks({
    lab: () => lab,
    journal: async () => (await lab.run(['journalctl', '--user', '-n', '80', '--no-pager'])).stdout,
    title: 'system test timings',
  });

  before(async function () {
    skipUnlessLab(this);
    lab = await SystemdUserLab.up();
    port = await freePort();
    // Short budgets keep the suite fast: the unit's TimeoutStopSec is derived from stopTimeoutMs.
    lab.writeUserFile('.config/codex-sm/config.json', JSON.stringify({ stopTimeoutMs: 1000 }));
    timings.push(`lab up ${Date.now() - started} ms`);
  });

  const codexHome = () => `${lab.home}/codex-home`;
  const installArgs = (...extra: string[]) => [
    'install-service',
    '--json',
    '--port',
    String(port),
    '--codex-home',
    codexHome(),
    '--watchdog-sec',
    '3',
    '--restart-sec',
    '1',
    ...extra,
  ];
  const show = () => lab.show(UNIT, SHOW);
  const readyz = () => httpStatus(`http://127.0.0.1:${port}/readyz`);

  it('install-service --dry-run prints the unit and the commands and changes nothing', async () => {
    const r = await lab.cli([...installArgs(), '--dry-run']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.status).to.equal('planned');
    const files = r.json.files as { path: string; content: string }[];
    expect(files[0]?.path).to.equal(`${lab.home}/.config/systemd/user/${UNIT}`);
    expect(files[0]?.content).to.include('Type=notify');
    expect(r.json.commands).to.deep.include(['systemctl', '--user', 'daemon-reload']);
    expect(fs.existsSync(files[0]!.path)).to.equal(false);
    expect((await show()).LoadState).to.equal('not-found');
  });

  it('install: the unit is "active" only once READY=1 arrived (the service answers /readyz)', async () => {
    const seen: { state: string; ready: number }[] = [];
    let done = false;
    const install = lab.cli(installArgs()).finally(() => (done = true));
    while (!done) {
      const state = (await lab.systemctl('is-active', UNIT)).stdout.trim();
      seen.push({ state, ready: state === 'active' ? await readyz() : -1 });
    }
    const r = await install;
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.json).to.include({
      status: 'installed',
      backend: 'systemd',
      unit: UNIT,
      activeState: 'active',
      action: 'started',
      unitChanged: true,
    });
    expect(r.json.native).to.include({ via: 'dbus' });
    expect(r.json.mainPid).to.be.a('number');
    expect(r.json.appServerVersion).to.equal('0.169.0');
    expect(
      seen.map((s) => s.state),
      'the manager showed the start in progress',
    ).to.include('activating');
    for (const s of seen.filter((x) => x.state === 'active'))
      expect(s.ready, 'active implies ready').to.equal(200);
    expect((await lab.systemctl('is-active', UNIT)).stdout.trim()).to.equal('active');
    expect((await lab.systemctl('is-enabled', UNIT)).stdout.trim()).to.equal('enabled');
    expect(await readyz()).to.equal(200);
    expect(fs.statSync(`${lab.home}/.config/codex-sm/token`).mode & 0o777).to.equal(0o600);
    expect(fs.statSync(`${lab.home}/.config/codex-sm/secrets.env`).mode & 0o777).to.equal(0o600);
  });

  it('install again is idempotent; a changed unit is rewritten and the service restarted', async () => {
    const before = await show();
    const again = await lab.cli(installArgs());
    expect(again.json).to.include({
      status: 'installed',
      action: 'alreadyRunning',
      unitChanged: false,
      mainPid: Number(before.MainPID),
    });
    const upgrade = await lab.cli(installArgs('--watchdog-sec', '4'));
    expect(upgrade.code, upgrade.stdout).to.equal(0);
    expect(upgrade.json).to.include({
      status: 'installed',
      action: 'restarted',
      unitChanged: true,
      activeState: 'active',
    });
    expect(upgrade.json.mainPid).to.not.equal(Number(before.MainPID));
    expect((await show()).WatchdogUSec).to.equal('4s');
    await lab.cli(installArgs()); // back to 3 s for the watchdog test
    expect((await show()).WatchdogUSec).to.equal('3s');
  });

  it('status --json agrees with systemctl --user show, and merges the service /status', async () => {
    const r = await lab.cli(['status', '--json']);
    const s = await show();
    expect(r.code).to.equal(0);
    expectStatusMatchesShow(r.json, s, `http://127.0.0.1:${port}`);
    expect(
      (r.json.service as { pid: number }).pid,
      'the service itself reports the same PID',
    ).to.equal(Number(s.MainPID));
    expect(r.json.codexVersion).to.equal('0.169.0');
  });

  it('a shell without XDG_RUNTIME_DIR (sudo/su) still reaches the manager; a foreign runtime dir is refused with a hint', async () => {
    const bare = await lab.cli(['status', '--json'], {
      env: { XDG_RUNTIME_DIR: '', DBUS_SESSION_BUS_ADDRESS: '' },
    });
    expect(bare.json).to.include({ status: 'running' });
    expect(bare.json.native).to.include({ via: 'dbus' });
    const foreign = await lab.cli(['status', '--json'], {
      env: { XDG_RUNTIME_DIR: '/run/user', DBUS_SESSION_BUS_ADDRESS: '' },
    });
    expect(foreign.code).to.not.equal(0);
    expect((foreign.json.error as { code: string; hint: string }).code).to.equal('no_user_manager');
    expect((foreign.json.error as { hint: string }).hint).to.match(/loginctl enable-linger/);
  });

  it('quoting: argv and Environment= reach the process exactly as planned (real systemd parser)', async () => {
    const nasty = `${lab.home}/we"ird 'dir' 100% $HOME back\\slash`;
    const script = lab.writeUserFile(
      `we"ird 'dir' 100% $HOME back\\slash/dump argv.cjs`,
      [
        "const fs = require('node:fs'); // CommonJS: node's ESM loader refuses a backslash in the path",
        "const env = Object.fromEntries(['PATH', 'CODEX_HOME', 'CODEX_SM_CONFIG'].map((k) => [k, process.env[k]]));",
        "fs.writeFileSync(process.env.HOME + '/argv.json', JSON.stringify({ argv: process.argv.slice(1), env }));",
      ].join('\n'),
    );
    expect(script.startsWith(nasty)).to.equal(true);
    const env = { HOME: lab.home, PATH: `${nasty}:/usr/bin:/bin` };
    const { config } = resolveConfig({
      env,
      flags: { codexHome: `${nasty}/codex home`, host: '127.0.0.1', port },
    });
    const plan = {
      ...buildServicePlan(config, {
        backend: 'systemd',
        env,
        codexPath: `${nasty}/codex`,
        configFile: `${nasty}/c%d.json`,
        nodePath: process.execPath,
        cliScript: script,
      }),
      name: 'cxsm-quoting',
    };
    lab.writeUserFile('.config/systemd/user/cxsm-quoting.service', renderServiceUnit(plan));
    await lab.systemctl('daemon-reload');
    await lab.systemctl('start', '--no-block', 'cxsm-quoting.service');
    const out = await waitFor(
      'argv.json',
      async () =>
        fs.existsSync(`${lab.home}/argv.json`) && fs.readFileSync(`${lab.home}/argv.json`, 'utf8'),
      10_000,
    );
    const got = JSON.parse(out) as { argv: string[]; env: Record<string, string> };
    expect(got.argv).to.deep.equal([script, ...plan.args]);
    expect(got.env).to.deep.equal({
      PATH: plan.environment.PATH,
      CODEX_HOME: `${nasty}/codex home`,
      CODEX_SM_CONFIG: `${nasty}/c%d.json`,
    });
    await lab.systemctl('stop', 'cxsm-quoting.service');
    fs.rmSync(`${lab.home}/.config/systemd/user/cxsm-quoting.service`);
    await lab.systemctl('daemon-reload');
    await lab.systemctl('reset-failed');
  });

  it('SIGSTOP (a hung event loop): the watchdog kills it and systemd restarts it', async () => {
    const s0 = await show();
    await lab.run(['kill', '-STOP', s0.MainPID as string]);
    const s1 = await waitFor(
      'a watchdog restart',
      async () => {
        const s = await show();
        return (
          Number(s.NRestarts) > Number(s0.NRestarts) &&
          s.ActiveState === 'active' &&
          s.MainPID !== s0.MainPID &&
          s
        );
      },
      40_000,
      250,
    );
    expect(Number(s1.NRestarts)).to.equal(Number(s0.NRestarts) + 1);
    const journal = (await lab.run(['journalctl', '--user', '-u', UNIT, '--no-pager'])).stdout;
    expect(journal).to.match(/Watchdog timeout/);
    expect(await readyz()).to.equal(200);
  });

  it('SIGKILL: systemd restarts it', async () => {
    const s0 = await show();
    await lab.run(['kill', '-KILL', s0.MainPID as string]);
    const s1 = await waitFor(
      'a restart after SIGKILL',
      async () => {
        const s = await show();
        return Number(s.NRestarts) > Number(s0.NRestarts) && s.ActiveState === 'active' && s;
      },
      20_000,
      200,
    );
    expect(s1.MainPID).to.not.equal(s0.MainPID);
    const st = await lab.cli(['status', '--json']);
    expect(st.json).to.include({ status: 'running', nRestarts: Number(s1.NRestarts) });
  });

  it('stop/start/restart round-trip, with idempotent states', async () => {
    const stop = await lab.cli(['stop', '--json']);
    expect(stop.json).to.include({ status: 'stopped', activeState: 'inactive' });
    expect((await lab.systemctl('is-active', UNIT)).stdout.trim()).to.equal('inactive');
    expect(await readyz()).to.equal(0);
    expect((await lab.cli(['stop', '--json'])).json).to.include({ status: 'notRunning' });
    const st = await lab.cli(['status', '--json']);
    expect(st.code).to.equal(3);
    expect(st.json.status).to.equal('notRunning');
    const start = await lab.cli(['start', '--json']);
    expect(start.json).to.include({ status: 'started', activeState: 'active' });
    expect(await readyz()).to.equal(200);
    expect((await lab.cli(['start', '--json'])).json).to.include({
      status: 'alreadyRunning',
      mainPid: start.json.mainPid,
    });
    const restart = await lab.cli(['restart', '--json']);
    expect(restart.json).to.include({
      status: 'restarted',
      activeState: 'active',
      coalesced: false,
    });
    expect(restart.json.mainPid).to.not.equal(start.json.mainPid);
  });

  it('a unit edited on disk is daemon-reloaded before a restart; install-service puts ours back', async () => {
    const file = `${lab.home}/.config/systemd/user/${UNIT}`;
    const ours = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(
      file,
      ours.replace('[Service]\n', '[Service]\nEnvironment="X_EDITED=yes it is"\n'),
    );
    expect((await lab.show(UNIT, ['NeedDaemonReload'])).NeedDaemonReload).to.equal('yes');
    expect((await lab.cli(['restart', '--json'])).json).to.include({
      status: 'restarted',
      activeState: 'active',
    });
    const after = await lab.show(UNIT, ['NeedDaemonReload', 'Environment']);
    expect(after.NeedDaemonReload).to.equal('no');
    expect(after.Environment).to.include('X_EDITED');
    const again = await lab.cli(installArgs());
    expect(again.json).to.include({ unitChanged: true, action: 'restarted' });
    expect(fs.readFileSync(file, 'utf8')).to.equal(ours);
  });

  it('20 concurrent restarts: serialized by the lock, coalesced, ending active with exactly one MainPID', async () => {
    const before = await show();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => lab.cli(['restart', '--json'])),
    );
    for (const r of results) {
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.json).to.include({ status: 'restarted', activeState: 'active' });
    }
    const real = results.filter((r) => r.json.coalesced === false).length;
    expect(real).to.be.within(1, 19);
    const s = await show();
    expect(s.ActiveState).to.equal('active');
    expect(s.MainPID).to.not.equal(before.MainPID);
    const pids = await lab.unitPids(UNIT);
    const serves = pids.filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes('serve');
      } catch {
        return false;
      }
    });
    expect(serves, `serve processes in the unit's cgroup: ${serves.join(',')}`).to.have.length(1);
    const status = await lab.cli(['status', '--json']);
    expect((status.json.service as { pid: number }).pid).to.equal(Number(s.MainPID));
    for (const r of results) expect(r.json.mainPid).to.be.a('number');
  });

  it("logs -n 20 shows the service's own lines, with their priorities", async () => {
    const human = await lab.cli(['logs', '-n', '20']);
    expect(human.code, human.stderr).to.equal(0);
    const lines = human.stdout.trim().split('\n');
    expect(lines).to.have.length(20);
    expect(
      lines.some((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} info +codex-sm\[\d+\]: /.test(l)),
      human.stdout,
    ).to.equal(true);
    const json = await lab.cli(['logs', '-n', '20', '--json']);
    const entries = json.stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { identifier: string; priority: number; fields?: { level?: number } },
      );
    const own = entries.filter((e) => e.identifier === 'codex-sm' && e.fields?.level !== undefined);
    expect(own.length).to.be.greaterThan(0);
    // pino level → syslog priority, carried by the `<N>` prefix the service writes under journald.
    const expected: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };
    for (const e of own) expect(e.priority, JSON.stringify(e)).to.equal(expected[e.fields!.level!]);
  });

  it('systemctl --user reload: the service re-reads its config (RELOADING=1 … READY=1) and keeps its MainPID', async () => {
    const before = await show();
    expect(before.ActiveState).to.equal('active');
    const r = await lab.systemctl('reload', UNIT);
    expect(r.code, r.stderr).to.equal(0);
    await waitFor(
      'a "reloaded" line in the journal',
      async () => {
        const j = await lab.run([
          'journalctl',
          '--user',
          '-u',
          UNIT,
          '-o',
          'cat',
          '--no-pager',
          '-n',
          '50',
        ]);
        return /"msg":"reloaded/.test(j.stdout) ? true : undefined;
      },
      10_000,
    );
    const after = await show();
    expect(after.ActiveState).to.equal('active');
    expect(after.MainPID).to.equal(before.MainPID);
    expect(await readyz()).to.equal(200);
  });

  it('a config error: the unit fails without a restart loop, and status says why', async () => {
    const config = lab.writeUserFile(
      '.config/codex-sm/config.json',
      JSON.stringify({ stopTimeoutMs: 1000, noSuchKey: true }),
    );
    const r = await lab.cli(['restart', '--json']);
    expect(r.code).to.not.equal(0);
    const err = r.json.error as {
      code: string;
      message: string;
      lastLogLines: string[];
      logCommand: string;
    };
    expect(err.code).to.equal('start_failed');
    expect(err.message).to.match(/EX_CONFIG/);
    expect(err.logCommand).to.equal('journalctl --user -u codex-sm.service -n 50 --no-pager');
    expect(err.lastLogLines.join('\n')).to.match(/noSuchKey/);
    const s0 = await show();
    await new Promise((res) => setTimeout(res, 3500)); // RestartSec=1: a loop would have restarted by now
    const s1 = await show();
    expect(s1).to.include({
      ActiveState: 'failed',
      Result: 'exit-code',
      ExecMainStatus: '78',
      NRestarts: s0.NRestarts,
    });
    const st = await lab.cli(['status', '--json']);
    expect(st.code).to.equal(3);
    expect(st.json.status).to.equal('failed');
    expect(st.json.reason).to.match(/EX_CONFIG/);
    expect(st.json.configError).to.match(/noSuchKey/);
    expect((st.json.lastLogLines as string[]).join('\n')).to.match(/noSuchKey|status=78/);
    fs.writeFileSync(config, JSON.stringify({ stopTimeoutMs: 1000 }));
    expect((await lab.cli(['start', '--json'])).json).to.include({
      status: 'started',
      activeState: 'active',
    });
  });

  it('--socket-activation: systemd holds the port; stop stops both; reinstalling without it removes the socket', async () => {
    const r = await lab.cli(installArgs('--socket-activation'));
    expect(r.code, r.stdout).to.equal(0);
    expect(r.json).to.include({ status: 'installed', activeState: 'active' });
    expect((await lab.systemctl('is-active', 'codex-sm.socket')).stdout.trim()).to.equal('active');
    expect(await readyz()).to.equal(200);
    const stop = await lab.cli(['stop', '--json']);
    expect(stop.json.status).to.equal('stopped');
    expect((await lab.systemctl('is-active', 'codex-sm.socket')).stdout.trim()).to.equal(
      'inactive',
    );
    expect(await readyz()).to.equal(0);
    expect((await lab.cli(['start', '--json'])).json).to.include({ status: 'started' });
    expect((await lab.systemctl('is-active', 'codex-sm.socket')).stdout.trim()).to.equal('active');
    const back = await lab.cli(installArgs());
    expect(back.json).to.include({ status: 'installed', activeState: 'active', unitChanged: true });
    expect(fs.existsSync(`${lab.home}/.config/systemd/user/codex-sm.socket`)).to.equal(false);
    expect((await lab.show('codex-sm.socket', ['LoadState'])).LoadState).to.equal('not-found');
    expect(await readyz()).to.equal(200);
  });

  it('without a reachable D-Bus the same commands work through systemctl --user (fallback)', async () => {
    const src = (p: string) => JSON.stringify(new URL(`../../src/${p}`, import.meta.url).href);
    const script = `
      const os = await import('node:os');
      const { systemdBackend } = await import(${src('platform/systemd/backend.js')});
      const { LifecycleEngine } = await import(${src('lifecycle/engine.js')});
      const { execRunner } = await import(${src('runner.js')});
      const me = os.userInfo();
      const home = process.env.HOME;
      const backend = systemdBackend({
        scope: 'user', runner: execRunner, env: process.env, uid: me.uid, userName: me.username,
        connectBus: async () => ({ reason: 'disabled by the test' }),
      });
      const m = new LifecycleEngine({
        backend, env: process.env, isRoot: false,
        lockFile: home + '/.local/state/codex-sm/lifecycle.lock',
        fallback: { host: '127.0.0.1', port: ${port}, tokenFile: '', secretsFile: '', codexHome: '',
          stateDir: home + '/.local/state/codex-sm' },
      });
      const out = [];
      for (const step of ['status', 'stop', 'stop', 'start', 'restart', 'status']) {
        const r = await m[step]();
        out.push({ step, status: r.status, via: r.native.via, activeState: r.activeState, mainPid: r.mainPid });
      }
      console.log(JSON.stringify(out));`;
    const r = await lab.run([process.execPath, '--input-type=module', '-e', script]);
    expect(r.code, r.stderr).to.equal(0);
    const steps = JSON.parse(r.stdout) as {
      step: string;
      status: string;
      via: string;
      activeState: string;
      mainPid?: number;
    }[];
    expect(steps.map((x) => `${x.step}:${x.status}:${x.activeState}`)).to.deep.equal([
      'status:running:active',
      'stop:stopped:inactive',
      'stop:notRunning:inactive',
      'start:started:active',
      'restart:restarted:active',
      'status:running:active',
    ]);
    expect(steps.every((x) => x.via === 'systemctl')).to.equal(true);
    expect(steps[4]!.mainPid).to.not.equal(steps[3]!.mainPid);
  });

  it('uninstall-service --purge leaves nothing behind (and says what it kept)', async () => {
    const r = await lab.cli(['uninstall-service', '--purge', '--json']);
    expect(r.code, r.stdout).to.equal(0);
    expect(r.json.status).to.equal('uninstalled');
    const unitDir = `${lab.home}/.config/systemd/user`;
    expect(r.json.removed)
      .to.include(`${unitDir}/${UNIT}`)
      .and.include(`${lab.home}/.config/codex-sm/token`);
    expect((r.json.leftBehind as { path: string }[]).map((l) => l.path)).to.include(codexHome());
    expect(fs.readdirSync(unitDir).filter((f) => f.includes('codex-sm'))).to.deep.equal([]);
    expect(fs.existsSync(`${unitDir}/default.target.wants/${UNIT}`)).to.equal(false);
    expect(await show()).to.include({ LoadState: 'not-found', ActiveState: 'inactive' });
    expect(
      (await lab.systemctl('list-units', '--all', '--no-legend', 'codex-sm*')).stdout.trim(),
    ).to.equal('');
    expect(await lab.unitPids(UNIT)).to.deep.equal([]);
    expect(await readyz()).to.equal(0);
    expect(fs.existsSync(`${lab.home}/.config/codex-sm/token`)).to.equal(false);
    const st = await lab.cli(['status', '--json']);
    expect(st.code).to.equal(3);
    expect(st.json.status).to.equal('notInstalled');
    expect((await lab.cli(['uninstall-service', '--json'])).json.status).to.equal('notInstalled');
    const start = await lab.cli(['start', '--json']);
    expect((start.json.error as { code: string }).code).to.equal('not_installed');
    expect(path.basename(String(r.json.unitPath))).to.equal(UNIT);
  });
});
