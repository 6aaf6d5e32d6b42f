/**
 * The launchd ServiceManager against a SIMULATED launchd: a fake `launchctl` script first on PATH
 * (run through the real execRunner) and a tiny real HTTP server for /readyz and /status. No
 * macOS here; docs/macos.md is the procedure that checks the same flows on a real Mac.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { CodexSmError } from '../../src/errors.js';
import {
  createLaunchdManager,
  type LaunchdManagerOptions,
} from '../../src/platform/launchd/manager.js';
import { renderPlist } from '../../src/platform/launchd/render.js';
import type { ServiceManager, ServicePlan } from '../../src/platform/types.js';
import { execRunner } from '../../src/runner.js';
import { tempDir } from '../../harness/service.js';
import {
  basePlan,
  installFakeLaunchctl,
  serveFakeService,
  type FakeLaunchd,
  type FakeServiceHttp,
  type FakeState,
} from '../sim/launchd-fake.js';

const LABEL = 'dev.codex-sm.service';
const TOKEN = 'simulated-token-0123456789abcdef';

interface World {
  home: string;
  plan: ServicePlan;
  plistPath: string;
  fake: FakeLaunchd;
  http: FakeServiceHttp;
  manager: ServiceManager;
}

let world: World | undefined;

async function simulate(
  state: Partial<FakeState> = {},
  managerOpts: Partial<LaunchdManagerOptions> = {},
): Promise<World> {
  const home = tempDir('launchd-home-'); // removed at exit
  const fake = installFakeLaunchctl(state);
  const http = await serveFakeService(fake, LABEL, TOKEN);
  const plan = basePlan({
    workingDirectory: home,
    environment: { PATH: '/usr/bin:/bin', HOME: home, CODEX_HOME: path.join(home, '.codex') },
    logDir: path.join(home, 'Library', 'Logs', 'codex-sm'),
  });
  const manager = createLaunchdManager({
    runner: execRunner,
    uid: 501,
    home,
    label: LABEL,
    endpoint: http.endpoint,
    token: TOKEN,
    stateDir: path.join(home, '.local', 'state', 'codex-sm'),
    pollIntervalMs: 10,
    timeoutMs: 5000,
    readyTimeoutMs: 5000,
    ...managerOpts,
  });
  world = {
    home,
    plan: { ...plan, startTimeoutSec: 5 },
    plistPath: path.join(home, 'Library', 'LaunchAgents', `${LABEL}.plist`),
    fake,
    http,
    manager,
  };
  return world;
}

afterEach(async () => {
  if (!world) return;
  await world.http.close();
  world.fake.restore();
  fs.rmSync(world.home, { recursive: true, force: true });
  world = undefined;
});

/** Index of the first call equal to argv at or after `from` (-1 when absent). */
function indexOfCall(calls: string[][], argv: string[], from = 0): number {
  for (let i = from; i < calls.length; i++)
    if (JSON.stringify(calls[i]) === JSON.stringify(argv)) return i;
  return -1;
}

async function rejection(p: Promise<unknown>): Promise<CodexSmError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(CodexSmError);
    return e as CodexSmError;
  }
  throw new Error('expected a rejection');
}

describe('launchd manager (simulation: fake launchctl on PATH, no macOS)', function () {
  this.timeout(30_000);

  it('simulation: install over an old instance boots it out, polls until gone, enables, bootstraps, waits for /readyz', async () => {
    const w = await simulate({
      bootoutPolls: 3,
      services: {
        [`gui/501/${LABEL}`]: {
          domain: 'gui/501',
          plist: '/old/path.plist',
          definition: '<old/>',
          state: 'running',
          pid: 500,
          runs: 4,
        },
      },
    });
    const r = await w.manager.install(w.plan, { start: true });
    expect(r).to.include({
      status: 'installed',
      backend: 'launchd',
      unit: `gui/501/${LABEL}`,
      unitPath: w.plistPath,
      activeState: 'active',
    });
    expect(r.mainPid).to.be.a('number').and.not.equal(500);
    expect(r.replaced).to.equal(true);
    expect(r.appServerVersion).to.equal('0.169.0');
    expect(r.statusText).to.match(/^ready; app-server/);

    const calls = w.fake.calls();
    const bootout = indexOfCall(calls, ['bootout', `gui/501/${LABEL}`]);
    const enable = indexOfCall(calls, ['enable', `gui/501/${LABEL}`], bootout);
    const bootstrap = indexOfCall(calls, ['bootstrap', 'gui/501', w.plistPath], enable);
    expect(
      [bootout, enable, bootstrap].every((i) => i >= 0),
      JSON.stringify(calls),
    ).to.equal(true);
    const pollsWhileDraining = calls
      .slice(bootout + 1, enable)
      .filter((c) => c[0] === 'print').length;
    expect(pollsWhileDraining, 'print polled until the old job was gone').to.be.greaterThan(3);
    expect(
      calls.some((c) => c[0] === 'kickstart'),
      'no kickstart -k after bootstrap (RunAtLoad starts it)',
    ).to.equal(false);

    const st = fs.statSync(w.plistPath);
    expect(st.mode & 0o777).to.equal(0o644);
    expect(fs.readFileSync(w.plistPath, 'utf8')).to.equal(renderPlist(w.plan));
    expect(fs.statSync(w.plan.logDir).isDirectory(), 'log dir created for launchd').to.equal(true);
    expect(w.http.readyzCalls).to.be.greaterThan(
      w.http.notReadyPolls,
      'waited through not-ready answers',
    );
  });

  it('simulation: no GUI session (SSH) — bootstrap gui/501 fails with 125, falls back to user/501', async () => {
    const w = await simulate({ gui: false });
    const r = await w.manager.install(w.plan, { start: true });
    expect(r).to.include({ status: 'installed', unit: `user/501/${LABEL}`, domain: 'user/501' });
    expect(r.warnings).to.deep.equal([
      `no GUI login session: loaded into user/501 instead of gui/501`,
    ]);
    const calls = w.fake.calls();
    const guiTry = indexOfCall(calls, ['bootstrap', 'gui/501', w.plistPath]);
    const userEnable = indexOfCall(calls, ['enable', `user/501/${LABEL}`], guiTry);
    expect(
      indexOfCall(calls, ['bootstrap', 'user/501', w.plistPath], userEnable),
    ).to.be.greaterThan(guiTry);

    const status = await w.manager.status();
    expect(status).to.include({ status: 'running', unit: `user/501/${LABEL}` });
    w.fake.clearCalls();
    expect((await w.manager.stop()).status).to.equal('stopped');
    expect(indexOfCall(w.fake.calls(), ['bootout', `user/501/${LABEL}`])).to.be.at.least(0);
  });

  it('simulation: no GUI session and enable itself refuses gui/501 with 125 — still lands in user/501', async () => {
    const w = await simulate({ gui: false, enableNeedsGui: true });
    const r = await w.manager.install(w.plan, { start: true });
    expect(r.unit).to.equal(`user/501/${LABEL}`);
    expect(indexOfCall(w.fake.calls(), ['bootstrap', 'gui/501', w.plistPath])).to.equal(-1);
  });

  it('simulation: restart is kickstart -k while the plist is unchanged, bootout + bootstrap after a plist change', async () => {
    const w = await simulate();
    const first = await w.manager.install(w.plan, { start: true });
    w.fake.clearCalls();
    const same = await w.manager.restart();
    expect(same).to.include({ status: 'restarted', reloadedDefinition: false });
    expect(same.mainPid).to.not.equal(first.mainPid);
    expect(indexOfCall(w.fake.calls(), ['kickstart', '-k', `gui/501/${LABEL}`])).to.be.at.least(0);
    expect(w.fake.calls().some((c) => c[0] === 'bootout')).to.equal(false);

    // The plan changed (a new port) and install-service --no-start rewrote nothing yet: edit the file as an upgrade would.
    const changed = { ...w.plan, args: ['serve', '--port', '3200'] };
    fs.writeFileSync(w.plistPath, renderPlist(changed));
    w.fake.clearCalls();
    const reloaded = await w.manager.restart();
    expect(reloaded).to.include({ status: 'restarted', reloadedDefinition: true });
    const calls = w.fake.calls();
    const bootout = indexOfCall(calls, ['bootout', `gui/501/${LABEL}`]);
    expect(indexOfCall(calls, ['bootstrap', 'gui/501', w.plistPath], bootout)).to.be.greaterThan(
      bootout,
    );
    expect(calls.some((c) => c[0] === 'kickstart')).to.equal(false);
    expect(w.fake.read().services[`gui/501/${LABEL}`]?.definition).to.include(
      '<string>3200</string>',
    );

    // Now the copy matches again: back to kickstart -k.
    w.fake.clearCalls();
    expect((await w.manager.restart()).reloadedDefinition).to.equal(false);
  });

  it('simulation: restart reloads when there is no record of what was loaded (installed by hand or an older codex-sm)', async () => {
    const w = await simulate();
    await w.manager.install(w.plan, { start: true });
    fs.rmSync(path.join(w.home, '.local', 'state', 'codex-sm', 'launchd', `${LABEL}.loaded.plist`));
    expect((await w.manager.restart()).reloadedDefinition).to.equal(true);
  });

  it('simulation: stop boots out and polls until gone; start reloads; start and stop are idempotent', async () => {
    const w = await simulate({ bootoutPolls: 4 });
    await w.manager.install(w.plan, { start: true });
    w.fake.clearCalls();
    const stopped = await w.manager.stop();
    expect(stopped).to.include({
      status: 'stopped',
      loaded: false,
      activeState: 'inactive',
      subState: 'not loaded',
    });
    const calls = w.fake.calls();
    const bootout = indexOfCall(calls, ['bootout', `gui/501/${LABEL}`]);
    expect(calls.slice(bootout + 1).filter((c) => c[0] === 'print').length).to.be.greaterThan(4);
    expect(w.fake.read().services).to.deep.equal({});

    expect((await w.manager.stop()).status).to.equal('notRunning');
    expect((await w.manager.status()).status).to.equal('notRunning');
    const started = await w.manager.start();
    expect(started).to.include({ status: 'started', activeState: 'active' });
    expect((await w.manager.start()).status).to.equal('alreadyRunning');
  });

  it('simulation: start kickstarts a loaded job that is not running', async () => {
    const w = await simulate();
    await w.manager.install(w.plan, { start: true });
    w.fake.update((s) => {
      const svc = s.services[`gui/501/${LABEL}`]!;
      svc.state = 'not running';
      delete svc.pid;
      svc.lastExit = 0;
    });
    w.fake.clearCalls();
    expect((await w.manager.start()).status).to.equal('started');
    expect(indexOfCall(w.fake.calls(), ['kickstart', `gui/501/${LABEL}`])).to.be.at.least(0);
  });

  it('simulation: a stuck bootout ends in launchd_stop_timeout with a kill hint', async () => {
    const w = await simulate({ bootoutPolls: 100_000 }, { timeoutMs: 300 });
    await w.manager.install(w.plan, { start: true });
    const err = await rejection(w.manager.stop());
    expect(err.code).to.equal('launchd_stop_timeout');
    expect(err.hint).to.include(`launchctl kill SIGKILL gui/501/${LABEL}`);
  });

  it('simulation: bootstrap error 5 right after bootout (old instance draining) is retried; persistent 5 is launchd_io_error', async () => {
    const io = { code: 5, stderr: 'Bootstrap failed: 5: Input/output error' };
    let w = await simulate({ inject: { bootstrap: [io, io] } });
    expect((await w.manager.install(w.plan, { start: true })).status).to.equal('installed');
    await w.http.close();
    w.fake.restore();

    w = await simulate({ inject: { bootstrap: Array.from({ length: 6 }, () => io) } });
    const err = await rejection(w.manager.install(w.plan, { start: true }));
    expect(err.code).to.equal('launchd_io_error');
    expect(err.exitCode).to.equal(75);
    expect(err.hint).to.include(`plutil -lint ${w.plistPath}`);
  });

  it('simulation: error 37 (operation already in progress) is waited out, or reported as launchd_busy', async () => {
    const busy = { code: 37, stderr: 'Bootstrap failed: 37: Operation already in progress' };
    let w = await simulate({ inject: { bootstrap: [busy] } });
    expect((await w.manager.install(w.plan, { start: true })).status).to.equal('installed');
    await w.http.close();
    w.fake.restore();

    w = await simulate({ inject: { bootstrap: Array.from({ length: 6 }, () => busy) } });
    const err = await rejection(w.manager.install(w.plan, { start: true }));
    expect(err.code).to.equal('launchd_busy');
    expect(err.message).to.include('37: Operation already in progress');
  });

  it('simulation: 125 in both gui and user domains is launchd_no_session (exit 69)', async () => {
    const noDomain = {
      code: 125,
      stderr: 'Bootstrap failed: 125: Domain does not support specified action',
    };
    const w = await simulate({ inject: { bootstrap: [noDomain, noDomain] } });
    const err = await rejection(w.manager.install(w.plan, { start: true }));
    expect(err.code).to.equal('launchd_no_session');
    expect(err.exitCode).to.equal(69);
    expect(err.hint).to.match(/SSH/);
  });

  it('simulation: a `launchctl disable` override from earlier is cleared by install (enable before bootstrap)', async () => {
    const w = await simulate({ disabled: [`gui/501/${LABEL}`] });
    expect((await w.manager.install(w.plan, { start: true })).status).to.equal('installed');
    expect(w.fake.read().disabled).to.deep.equal([]);
  });

  it('simulation: a service that exits 78 (EX_CONFIG) fails install early and is unloaded to stop the respawn loop', async () => {
    const w = await simulate({ crashWith: 78 });
    fs.mkdirSync(w.plan.logDir, { recursive: true });
    fs.writeFileSync(
      path.join(w.plan.logDir, 'codex-sm.err.log'),
      'codex-sm: config_invalid: port must be an integer\n',
    );
    const err = await rejection(w.manager.install(w.plan, { start: true }));
    expect(err.code).to.equal('service_not_ready');
    expect(err.exitCode).to.equal(78);
    expect(err.details?.stderrTail).to.deep.equal([
      'codex-sm: config_invalid: port must be an integer',
    ]);
    expect(w.fake.read().services).to.deep.equal({});
    expect(
      fs.existsSync(w.plistPath),
      'the plist stays for `codex-sm start` after the fix',
    ).to.equal(true);
  });

  it('simulation: status of a crash-looping job is failed with the last exit code', async () => {
    const w = await simulate();
    await w.manager.install(w.plan, { start: true });
    w.fake.update((s) => {
      const svc = s.services[`gui/501/${LABEL}`]!;
      Object.assign(svc, { state: 'spawn scheduled', lastExit: 78, runs: 9 });
      delete svc.pid;
    });
    const r = await w.manager.status();
    expect(r).to.include({
      status: 'failed',
      activeState: 'failed',
      subState: 'spawn scheduled',
      lastExitCode: 78,
      nRestarts: 8,
    });
    expect(r.statusText).to.equal('spawn scheduled, last run exited 78 (EX_CONFIG)');
  });

  it('simulation: install --no-start writes and enables but does not load; status says installed, not running', async () => {
    const w = await simulate();
    const r = await w.manager.install(w.plan, { start: false });
    expect(r).to.include({ status: 'installed', started: false, loaded: false });
    expect(w.fake.calls().some((c) => c[0] === 'bootstrap')).to.equal(false);
    expect((await w.manager.status()).status).to.equal('notRunning');
  });

  it('simulation: uninstall keeps logs unless --purge; a second uninstall reports notInstalled', async () => {
    const w = await simulate();
    await w.manager.install(w.plan, { start: true });
    const out = path.join(w.plan.logDir, 'codex-sm.out.log');
    fs.writeFileSync(out, '{"msg":"hello"}\n');
    const kept = await w.manager.uninstall({ purge: false });
    expect(kept).to.include({ status: 'uninstalled', wasLoaded: true });
    expect(kept.removed).to.deep.equal([w.plistPath]);
    expect(kept.leftBehind).to.deep.equal([out]);
    expect(fs.existsSync(w.plistPath)).to.equal(false);
    expect(w.fake.read().services).to.deep.equal({});
    expect((await w.manager.uninstall({ purge: false })).status).to.equal('notInstalled');

    await w.manager.install(w.plan, { start: true });
    const purged = await w.manager.uninstall({ purge: true });
    expect(purged.removed).to.include(out);
    expect(fs.existsSync(w.plan.logDir)).to.equal(false);
  });

  it('start/stop/restart on a machine without the agent say so, with a hint', async () => {
    const w = await simulate();
    for (const op of [() => w.manager.start(), () => w.manager.restart(), () => w.manager.stop()]) {
      const err = await rejection(op());
      expect(err.code).to.equal('service_not_installed');
      expect(err.hint).to.include('install-service');
    }
    expect((await w.manager.status()).status).to.equal('notInstalled');
  });

  it('refuses to install a LaunchAgent as root (sudo)', async () => {
    const w = await simulate({}, { uid: 0 });
    const err = await rejection(w.manager.install(w.plan, { start: true }));
    expect(err.code).to.equal('launchd_root');
    expect(w.fake.calls()).to.deep.equal([]);
  });

  it('without launchctl (Linux): launchctl_missing, pointing at --dry-run', async () => {
    const w = await simulate({}, { launchctl: path.join(os.tmpdir(), 'no-such-dir', 'launchctl') });
    const err = await rejection(w.manager.status());
    expect(err.code).to.equal('launchctl_missing');
    expect(err.hint).to.include('--dry-run');
  });
});
