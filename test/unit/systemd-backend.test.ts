/**
 * What the systemd backend decides on its own, under the real engine, in milliseconds: a FAKE
 * SystemdApi injected where the D-Bus connection would be (no systemd here), real unit files in a
 * temp dir. The real manager runs the same flows in test/system.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { LifecycleEngine } from '../../src/lifecycle/engine.js';
import type { JobResult, SystemdApi, UnitState } from '../../src/platform/systemd/api.js';
import { systemdBackend } from '../../src/platform/systemd/backend.js';
import type { ServicePlan } from '../../src/platform/types.js';
import type { CommandRunner } from '../../src/runner.js';
import { tempDir } from '../../harness/service.js';
import { basePlan } from '../helpers/plans.js';
import { rejection } from '../helpers/assertions.js';
import { VIEW_KEYS } from '../helpers/lifecycle-keys.js';

interface Unit {
  active: boolean;
  startedAt: number;
}

/** A systemd that records every call and runs jobs at once; `failStart` makes the service's start fail. */
function fakeSystemd() {
  const calls: string[] = [];
  const units = new Map<string, Unit>();
  let clock = 1;
  let needReload = false;
  const world = { calls, units, failStart: false, setNeedReload: (v: boolean) => (needReload = v) };
  const job = (verb: string, unit: string, fn: () => void): Promise<JobResult> => {
    calls.push(`${verb} ${unit}`);
    if (verb !== 'stop' && unit === 'codex-sm.service' && world.failStart) {
      units.set(unit, { active: false, startedAt: 0 });
      return Promise.resolve('failed');
    }
    fn();
    return Promise.resolve('done');
  };
  const up = (unit: string) => () => units.set(unit, { active: true, startedAt: ++clock });
  const api: SystemdApi = {
    via: 'dbus',
    version: async () => 252,
    reload: async () => {
      calls.push('daemon-reload');
      needReload = false;
    },
    enable: async (u) => void calls.push(`enable ${u.join(' ')}`),
    disable: async (u) => void calls.push(`disable ${u.join(' ')}`),
    start: (unit) => job('start', unit, up(unit)),
    restart: (unit) => job('restart', unit, up(unit)),
    stop: (unit) => job('stop', unit, () => units.set(unit, { active: false, startedAt: 0 })),
    resetFailed: async (unit) => void calls.push(`reset-failed ${unit}`),
    state: async (unit): Promise<UnitState> => {
      const u = units.get(unit);
      return {
        loadState: u ? 'loaded' : 'not-found',
        activeState: u?.active ? 'active' : world.failStart && u ? 'failed' : 'inactive',
        subState: u?.active ? 'running' : 'dead',
        unitFileState: 'enabled',
        fragmentPath: '',
        needDaemonReload: needReload,
        mainPid: u?.active ? 4242 : 0,
        nRestarts: 0,
        statusText: u?.active ? 'ready' : '',
        result: world.failStart && u ? 'exit-code' : 'success',
        execMainStatus: world.failStart && u ? 1 : 0,
        execMainCode: 0,
        execMainStartMonotonicUs: u?.startedAt ?? 0,
        nextElapseRealtimeUs: unit.endsWith('.timer') && u?.active ? 1_795_460_000_000_000 : 0,
      };
    },
    close: () => undefined,
  };
  return { api, world };
}

/** journalctl, loginctl and systemctl --version answered without running anything. */
const quietRunner: CommandRunner = {
  async run(cmd) {
    if (cmd === 'journalctl')
      return {
        code: 0,
        signal: null,
        stdout:
          JSON.stringify({ MESSAGE: 'boom', __REALTIME_TIMESTAMP: '1', PRIORITY: '3' }) + '\n',
        stderr: '',
      };
    return { code: 1, signal: null, stdout: '', stderr: 'not here' };
  },
};

function setup() {
  const dir = tempDir('systemd-backend-');
  const runtime = path.join(dir, 'run');
  fs.mkdirSync(runtime);
  fs.writeFileSync(path.join(runtime, 'bus'), ''); // the bus "exists": connectBus decides the rest
  const env = {
    HOME: dir,
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    XDG_RUNTIME_DIR: runtime,
  };
  const { api, world } = fakeSystemd();
  const backend = systemdBackend({
    scope: 'user',
    runner: quietRunner,
    env,
    uid: os.userInfo().uid,
    userName: os.userInfo().username,
    connectBus: async () => ({ api }),
  });
  const engine = new LifecycleEngine({
    backend,
    env,
    lockFile: path.join(dir, 'lifecycle.lock'),
    isRoot: false,
    fallback: {
      host: '127.0.0.1',
      port: 3100,
      tokenFile: path.join(dir, 'token'),
      secretsFile: path.join(dir, 'secrets.env'),
      stateDir: path.join(dir, 'state'),
      codexHome: path.join(dir, 'codex'),
    },
    serviceStatus: async () => undefined,
    codexVersion: async () => undefined,
  });
  const unitDir = path.join(dir, 'config', 'systemd', 'user');
  const plan = (over: Partial<ServicePlan> = {}): ServicePlan =>
    basePlan({
      backend: 'systemd',
      systemdVersion: 252,
      tokenFile: path.join(dir, 'token'),
      secretsEnvFile: path.join(dir, 'secrets.env'),
      stateDir: path.join(dir, 'state'),
      ...over,
    });
  return { engine, world, plan, unitDir };
}

describe('systemd backend under the engine (FAKE SystemdApi at the D-Bus seam)', () => {
  it('socket activation: both units enabled, the socket started before the service', async () => {
    const { engine, world, plan, unitDir } = setup();
    const r = await engine.install(plan({ socketActivation: true }), { start: true });
    expect(r.action).to.equal('started');
    expect(fs.existsSync(path.join(unitDir, 'codex-sm.socket'))).to.equal(true);
    expect(world.calls).to.include('enable codex-sm.service codex-sm.socket');
    const i = world.calls.indexOf('start codex-sm.socket');
    expect(i).to.be.greaterThan(-1);
    expect(world.calls.indexOf('start codex-sm.service')).to.be.greaterThan(i);
  });

  it('restart under socket activation: stop the service, open the socket, start (a socket refuses to listen beside a running service)', async () => {
    const { engine, world, plan } = setup();
    await engine.install(plan({ socketActivation: true }), { start: true });
    world.calls.length = 0;
    await engine.restart();
    expect(world.calls.filter((c) => /^(start|stop|restart) /.test(c))).to.deep.equal([
      'stop codex-sm.service',
      'start codex-sm.socket',
      'start codex-sm.service',
    ]);
  });

  it('dropping socket activation stops and disables the socket while its file exists, then removes it', async () => {
    const { engine, world, plan, unitDir } = setup();
    await engine.install(plan({ socketActivation: true }), { start: true });
    world.calls.length = 0;
    const r = await engine.install(plan(), { start: true });
    expect(r).to.include({ action: 'restarted', unitChanged: true });
    const stopSocket = world.calls.indexOf('stop codex-sm.socket');
    expect(stopSocket).to.be.greaterThan(-1);
    expect(world.calls.indexOf('disable codex-sm.socket')).to.be.greaterThan(stopSocket);
    expect(world.calls.indexOf('daemon-reload')).to.be.greaterThan(stopSocket);
    expect(fs.existsSync(path.join(unitDir, 'codex-sm.socket'))).to.equal(false);
    expect(r.files).to.include(path.join(unitDir, 'codex-sm.socket'));
  });

  it('a unit edited on disk but not reloaded is reloaded before it is started (pitfall 9)', async () => {
    const { engine, world, plan } = setup();
    await engine.install(plan(), { start: true });
    await engine.stop();
    world.setNeedReload(true);
    world.calls.length = 0;
    await engine.start();
    expect(world.calls.indexOf('daemon-reload')).to.be.lessThan(
      world.calls.indexOf('start codex-sm.service'),
    );
    expect(world.calls[0]).to.equal('reset-failed codex-sm.service');
  });

  it('a start that fails is start_failed with the reason and the journal lines, and the unit stays', async () => {
    const { engine, world, plan, unitDir } = setup();
    world.failStart = true;
    const e = await rejection(engine.install(plan(), { start: true }));
    expect(e.code).to.equal('start_failed');
    expect(e.message).to.match(/exited with status 1/);
    expect(e.details).to.include({
      logCommand: 'journalctl --user -u codex-sm.service -n 50 --no-pager',
    });
    expect(String(e.details?.lastLogLines)).to.match(/boom/);
    expect(fs.existsSync(path.join(unitDir, 'codex-sm.service'))).to.equal(true);
  });

  it('uninstall stops the socket before the service, disables both, removes the files and clears the failed state', async () => {
    const { engine, world, plan, unitDir } = setup();
    await engine.install(plan({ socketActivation: true }), { start: true });
    world.calls.length = 0;
    const u = await engine.uninstall({ purge: false });
    expect(u.status).to.equal('uninstalled');
    expect(world.calls.slice(0, 4)).to.deep.equal([
      'stop codex-sm.socket',
      'stop codex-sm.service',
      'disable codex-sm.service codex-sm.socket',
      'reset-failed codex-sm.service',
    ]);
    expect(fs.readdirSync(unitDir)).to.deep.equal([]);
  });

  it('the updater: service + timer written, the timer enabled and armed at once, reported with its next run, removed on uninstall', async () => {
    const { engine, world, plan, unitDir } = setup();
    const r = await engine.install(plan({ updater: true }), { start: true });
    expect(fs.readdirSync(unitDir).sort()).to.deep.equal([
      'codex-sm-update.service',
      'codex-sm-update.timer',
      'codex-sm.install.json',
      'codex-sm.service',
    ]);
    // The oneshot has no [Install]: only the service and the timer are enabled.
    expect(world.calls).to.include('enable codex-sm.service codex-sm-update.timer');
    expect(world.calls).to.include('start codex-sm-update.timer');
    expect(r.updater).to.deep.equal({
      unit: 'codex-sm-update.timer',
      active: true,
      nextRun: new Date(1_795_460_000_000).toISOString(),
    });
    const again = await engine.install(plan({ updater: true }), { start: true });
    expect(again).to.include({ action: 'alreadyRunning', unitChanged: false });
    world.calls.length = 0;
    await engine.uninstall({ purge: false });
    expect(world.calls).to.include.members([
      'stop codex-sm-update.timer',
      'stop codex-sm-update.service',
    ]);
    expect(fs.readdirSync(unitDir)).to.deep.equal([]);
  });

  it('dropping the updater on a reinstall stops its timer and removes its units', async () => {
    const { engine, world, plan, unitDir } = setup();
    await engine.install(plan({ updater: true }), { start: true });
    world.calls.length = 0;
    const r = await engine.install(plan(), { start: true });
    expect(world.calls).to.include('stop codex-sm-update.timer');
    expect(fs.existsSync(path.join(unitDir, 'codex-sm-update.timer'))).to.equal(false);
    expect(r.updater).to.equal(null);
  });

  it('uninstall after a run killed mid-way (record left, unit gone and forgotten) still succeeds and cleans up', async () => {
    const { engine, world, plan, unitDir } = setup();
    const r = await engine.install(plan(), { start: true });
    await engine.stop();
    fs.rmSync(r.unitPath);
    world.units.clear(); // the manager reloaded: it no longer knows the unit
    world.calls.length = 0;
    const u = await engine.uninstall({ purge: false });
    expect(u.status).to.equal('uninstalled');
    expect(world.calls).to.not.include('stop codex-sm.service');
    expect(fs.readdirSync(unitDir)).to.deep.equal([]);
    expect((await engine.uninstall({ purge: false })).status).to.equal('notInstalled');
  });

  it('status reports systemd-only facts under native, the rest in the shared keys', async () => {
    const { engine, plan } = setup();
    await engine.install(plan(), { start: true });
    const st = await engine.status();
    expect(st).to.have.all.keys(...VIEW_KEYS, 'status');
    expect(st).to.include({ status: 'running', mainPid: 4242, unit: 'codex-sm.service' });
    expect(st.native).to.deep.equal({
      loadState: 'loaded',
      unitFileState: 'enabled',
      result: 'success',
      via: 'dbus',
    });
  });
});
