/**
 * The lifecycle engine over the launchd backend against a SIMULATED launchd: a fake `launchctl`
 * script first on PATH (run through the real execRunner) and a tiny real HTTP server for /readyz
 * and /status. No macOS here; docs/macos.md is the procedure that checks the same flows on a real
 * Mac. Every path (token, secrets, state, logs, lock, LaunchAgents) lives in a temp home.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { bootstrap } from '../../src/lifecycle/daemon.js';
import { LifecycleEngine } from '../../src/lifecycle/engine.js';
import { humanOutput, type LifecycleOutput } from '../../src/lifecycle/outputs.js';
import type { ServiceBackend } from '../../src/lifecycle/port.js';
import type { Env } from '../../src/paths.js';
import { launchdBackend, type LaunchdBackendOptions } from '../../src/platform/launchd/backend.js';
import { renderPlist } from '../../src/platform/launchd/render.js';
import { lifecycleLockFile } from '../../src/platform/lock.js';
import type { ServicePlan } from '../../src/platform/types.js';
import { execRunner } from '../../src/runner.js';
import { basePlan } from '../helpers/plans.js';
import { tempDir } from '../../harness/service.js';
import {
  installFakeLaunchctl,
  serveFakeService,
  type FakeLaunchd,
  type FakeServiceHttp,
  type FakeState,
} from './launchd-fake.js';
import { rejection } from '../helpers/assertions.js';
import { VIEW_KEYS } from '../helpers/lifecycle-keys.js';

const LABEL = 'dev.codex-sm.service';
const GUI = `gui/501/${LABEL}`;
const TOKEN = 'simulated-token-0123456789abcdef';

/** What only launchd knows, under `native`. */
const NATIVE_KEYS = ['domain', 'runs', 'lastExitCode', 'lastSignal', 'lastExitReason', 'logFiles'];

interface World {
  home: string;
  env: Env;
  plan: ServicePlan;
  plistPath: string;
  stateDir: string;
  configDir: string;
  tokenFile: string;
  secretsFile: string;
  logFiles: { out: string; err: string };
  fake: FakeLaunchd;
  http: FakeServiceHttp;
  backend: ServiceBackend;
  engine: LifecycleEngine;
}

/** Live worlds, newest last (each put its fake first on PATH; torn down newest first). */
const worlds: World[] = [];

async function simulate(
  state: Partial<FakeState> = {},
  backendOpts: Partial<LaunchdBackendOptions> = {},
): Promise<World> {
  const home = tempDir('launchd-home-'); // removed at exit
  const fake = installFakeLaunchctl(state);
  const http = await serveFakeService(fake, LABEL, TOKEN);
  const port = Number(new URL(http.endpoint).port);
  const env: Env = {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
  };
  const configDir = path.join(home, '.config', 'codex-sm');
  const stateDir = path.join(home, '.local', 'state', 'codex-sm');
  const tokenFile = path.join(configDir, 'token');
  const secretsFile = path.join(configDir, 'secrets.env');
  const codexHome = path.join(home, '.codex');
  const logDir = path.join(home, 'Library', 'Logs', 'codex-sm');
  // The token the fake service expects, where the install record will point readiness checks at.
  fs.mkdirSync(configDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(tokenFile, TOKEN + '\n', { mode: 0o600 });
  fs.chmodSync(tokenFile, 0o600);
  const plan = basePlan({
    workingDirectory: home,
    environment: { PATH: '/usr/bin:/bin', HOME: home, CODEX_HOME: codexHome },
    secretsEnvFile: secretsFile,
    host: '127.0.0.1',
    port,
    tokenFile,
    codexHome,
    stateDir,
    logDir,
    startTimeoutSec: 10,
  });
  const backend = launchdBackend({
    runner: execRunner,
    uid: 501,
    home,
    label: LABEL,
    stateDir,
    pollIntervalMs: 10,
    drainTimeoutMs: 10_000,
    ...backendOpts,
  });
  const engine = new LifecycleEngine({
    backend,
    env,
    lockFile: lifecycleLockFile(env),
    isRoot: false,
    fallback: { host: '127.0.0.1', port, tokenFile, secretsFile, stateDir, codexHome },
    codexVersion: () => Promise.resolve(undefined),
  });
  const w: World = {
    home,
    env,
    plan,
    plistPath: path.join(home, 'Library', 'LaunchAgents', `${LABEL}.plist`),
    stateDir,
    configDir,
    tokenFile,
    secretsFile,
    logFiles: {
      out: path.join(logDir, 'codex-sm.out.log'),
      err: path.join(logDir, 'codex-sm.err.log'),
    },
    fake,
    http,
    backend,
    engine,
  };
  worlds.push(w);
  return w;
}

async function teardown(w: World): Promise<void> {
  const i = worlds.indexOf(w);
  if (i >= 0) worlds.splice(i, 1);
  await w.http.close();
  w.fake.restore();
  fs.rmSync(w.home, { recursive: true, force: true });
}

afterEach(async () => {
  for (const w of [...worlds].reverse()) await teardown(w);
});

/** Index of the first call equal to argv at or after `from` (-1 when absent). */
function indexOfCall(calls: string[][], argv: string[], from = 0): number {
  for (let i = from; i < calls.length; i++)
    if (JSON.stringify(calls[i]) === JSON.stringify(argv)) return i;
  return -1;
}

/** The calls among `verbs` the fake received (since the last clearCalls). */
function callsOf(fake: FakeLaunchd, verbs: string[]): string[][] {
  return fake.calls().filter((c) => verbs.includes(c[0] ?? ''));
}

/** Paths of values that are `undefined` (absent values must be null in the outputs). */
function undefinedPaths(v: unknown, at = '$'): string[] {
  if (v === undefined) return [at];
  if (Array.isArray(v)) return v.flatMap((x, i) => undefinedPaths(x, `${at}[${i}]`));
  if (v !== null && typeof v === 'object')
    return Object.entries(v).flatMap(([k, x]) => undefinedPaths(x, `${at}.${k}`));
  return [];
}

/** The contract every service view keeps: the same keys as systemd's, nulls not undefined, a clean human form. */
function expectView(r: LifecycleOutput & { native: Record<string, unknown> }): void {
  expect(r).to.include.all.keys(...VIEW_KEYS, 'status');
  expect(r.native).to.have.all.keys(...NATIVE_KEYS);
  expect(undefinedPaths(r), 'absent values are null').to.deep.equal([]);
  expect(humanOutput(r)).to.not.include('undefined');
}

describe('launchd backend under the lifecycle engine (simulation: fake launchctl on PATH, no macOS)', function () {
  this.timeout(30_000);

  it('simulation: install over an old instance boots it out, polls until gone, enables, bootstraps, waits for /readyz', async () => {
    const w = await simulate({
      bootoutPolls: 3,
      services: {
        [GUI]: {
          domain: 'gui/501',
          plist: '/old/path.plist',
          definition: '<old/>',
          state: 'running',
          pid: 500,
          runs: 4,
        },
      },
    });
    const r = await w.engine.install(w.plan, { start: true });
    expectView(r);
    expect(r).to.include({
      status: 'installed',
      action: 'restarted',
      unitChanged: true,
      backend: 'launchd',
      scope: 'user',
      unit: GUI,
      unitPath: w.plistPath,
      activeState: 'active',
      subState: 'running',
      endpoint: w.http.endpoint,
      tokenFile: w.tokenFile,
      tokenCreated: false,
      appServerVersion: '0.169.0',
      linger: null,
      reason: null,
      codexVersion: null,
    });
    expect(r.mainPid).to.be.a('number').and.not.equal(500);
    expect(r.statusText).to.match(/^ready; app-server/);
    expect(r.service).to.include({ pid: r.mainPid, state: 'ready' });
    expect(r.native).to.deep.equal({
      domain: 'gui/501',
      runs: 1,
      lastExitCode: null,
      lastSignal: null,
      lastExitReason: null,
      logFiles: [w.logFiles.out, w.logFiles.err],
    });
    expect(r.files).to.deep.equal([w.plistPath]);

    const calls = w.fake.calls();
    const bootout = indexOfCall(calls, ['bootout', GUI]);
    const enable = indexOfCall(calls, ['enable', GUI], bootout);
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
    expect(fs.statSync(w.secretsFile).mode & 0o777, 'secrets file created 0600').to.equal(0o600);
    expect(fs.existsSync(w.backend.recordPath), 'install record written').to.equal(true);
    expect(w.http.readyzCalls).to.be.greaterThan(
      w.http.notReadyPolls,
      'waited through not-ready answers',
    );
  });

  it('simulation: install of a fresh agent bootstraps it (action started) and creates a missing token', async () => {
    const w = await simulate();
    fs.rmSync(w.tokenFile);
    // The service reads the token install creates; the fake only needs /readyz for readiness.
    const r = await w.engine.install(w.plan, { start: true });
    expect(r).to.include({ status: 'installed', action: 'started', tokenCreated: true });
    expect(fs.statSync(w.tokenFile).mode & 0o777).to.equal(0o600);
    expect(w.fake.calls().some((c) => c[0] === 'bootout')).to.equal(false);
  });

  it('simulation: installing the same plan again while it runs is alreadyRunning: no bootout, no kickstart', async () => {
    const w = await simulate();
    const first = await w.engine.install(w.plan, { start: true });
    const recordBefore = fs.readFileSync(w.backend.recordPath, 'utf8');
    w.fake.clearCalls();
    const again = await w.engine.install(w.plan, { start: true });
    expectView(again);
    expect(again).to.include({
      status: 'installed',
      action: 'alreadyRunning',
      unitChanged: false,
      activeState: 'active',
      mainPid: first.mainPid,
    });
    expect(again.files).to.deep.equal([]);
    expect(callsOf(w.fake, ['bootout', 'bootstrap', 'kickstart'])).to.deep.equal([]);
    expect(
      fs.readFileSync(w.backend.recordPath, 'utf8'),
      'an unchanged install keeps its record',
    ).to.equal(recordBefore);
  });

  it('simulation: installing a changed plist while it runs is restarted: bootout + bootstrap of the new definition', async () => {
    const w = await simulate();
    const first = await w.engine.install(w.plan, { start: true });
    w.fake.clearCalls();
    const changed = { ...w.plan, args: ['serve', '--port', '3200'] };
    const r = await w.engine.install(changed, { start: true });
    expectView(r);
    expect(r).to.include({
      action: 'restarted',
      unitChanged: true,
      activeState: 'active',
      unit: GUI,
    });
    expect(r.mainPid).to.not.equal(first.mainPid);
    const calls = w.fake.calls();
    const bootout = indexOfCall(calls, ['bootout', GUI]);
    expect(bootout, JSON.stringify(calls)).to.be.at.least(0);
    expect(indexOfCall(calls, ['bootstrap', 'gui/501', w.plistPath], bootout)).to.be.greaterThan(
      bootout,
    );
    expect(calls.some((c) => c[0] === 'kickstart')).to.equal(false);
    expect(w.fake.read().services[GUI]?.definition).to.include('<string>3200</string>');
  });

  it('simulation: after an upgrade in place (same plist, new codex-sm version) install is kickstart -k, not alreadyRunning', async () => {
    const w = await simulate();
    const first = await w.engine.install(w.plan, { start: true });
    const upgraded = new LifecycleEngine({
      backend: w.backend,
      env: w.env,
      lockFile: lifecycleLockFile(w.env),
      isRoot: false,
      fallback: {
        host: '127.0.0.1',
        port: w.plan.port,
        tokenFile: w.tokenFile,
        secretsFile: w.secretsFile,
        stateDir: w.stateDir,
        codexHome: w.plan.codexHome,
      },
      codexVersion: () => Promise.resolve(undefined),
      cliVersion: `${first.cliVersion}-next`,
    });
    w.fake.clearCalls();
    const r = await upgraded.install(w.plan, { start: true });
    expectView(r);
    expect(r).to.include({
      action: 'restarted',
      unitChanged: false,
      upgradedFrom: first.cliVersion,
      activeState: 'active',
    });
    expect(r.mainPid).to.not.equal(first.mainPid);
    // The plist is the same, so launchd keeps the definition and only the process restarts.
    expect(indexOfCall(w.fake.calls(), ['kickstart', '-k', GUI])).to.be.at.least(0);
    expect(w.fake.calls().some((c) => c[0] === 'bootout')).to.equal(false);
    w.fake.clearCalls();
    expect((await upgraded.install(w.plan, { start: true })).action).to.equal('alreadyRunning');
    expect(callsOf(w.fake, ['bootout', 'bootstrap', 'kickstart'])).to.deep.equal([]);
  });

  it('simulation: install --no-start of a changed plist while it runs leaves it running and warns; restart loads it', async () => {
    const w = await simulate();
    const first = await w.engine.install(w.plan, { start: true });
    w.fake.clearCalls();
    const changed = { ...w.plan, args: ['serve', '--port', '3200'] };
    const r = await w.engine.install(changed, { start: false });
    expectView(r);
    expect(r).to.include({
      action: 'notStarted',
      unitChanged: true,
      activeState: 'active',
      mainPid: first.mainPid,
    });
    expect(r.warnings).to.deep.equal([
      'the running service still uses the previous definition: run `codex-sm restart`',
    ]);
    expect(callsOf(w.fake, ['bootout', 'bootstrap', 'kickstart'])).to.deep.equal([]);
    expect(fs.readFileSync(w.plistPath, 'utf8')).to.equal(renderPlist(changed));
    expect(w.fake.read().services[GUI]?.definition).to.not.include('<string>3200</string>');

    const restarted = await w.engine.restart();
    expect(restarted).to.include({ status: 'restarted', coalesced: false });
    expect(w.fake.read().services[GUI]?.definition).to.include('<string>3200</string>');
  });

  it('simulation: install after an install --no-start that changed the plist loads the new definition (not alreadyRunning)', async () => {
    const w = await simulate();
    await w.engine.install(w.plan, { start: true });
    const changed = { ...w.plan, args: ['serve', '--port', '3200'] };
    await w.engine.install(changed, { start: false });
    w.fake.clearCalls();
    // The plist on disk is already the new one, but launchd still runs the old definition.
    const r = await w.engine.install(changed, { start: true });
    expect(r.action).to.equal('restarted');
    expect(w.fake.read().services[GUI]?.definition).to.include('<string>3200</string>');
  });

  it('simulation: no GUI session (SSH) — bootstrap gui/501 fails with 125, falls back to user/501', async () => {
    const w = await simulate({ gui: false });
    const r = await w.engine.install(w.plan, { start: true });
    expectView(r);
    expect(r).to.include({ status: 'installed', action: 'started', unit: `user/501/${LABEL}` });
    expect(r.native.domain).to.equal('user/501');
    expect(r.warnings).to.deep.equal([
      `no GUI login session: loaded into user/501 instead of gui/501`,
    ]);
    const calls = w.fake.calls();
    const guiTry = indexOfCall(calls, ['bootstrap', 'gui/501', w.plistPath]);
    const userEnable = indexOfCall(calls, ['enable', `user/501/${LABEL}`], guiTry);
    expect(guiTry).to.be.at.least(0);
    expect(
      indexOfCall(calls, ['bootstrap', 'user/501', w.plistPath], userEnable),
    ).to.be.greaterThan(guiTry);

    const status = await w.engine.status();
    expectView(status);
    expect(status).to.include({ status: 'running', unit: `user/501/${LABEL}` });
    w.fake.clearCalls();
    expect((await w.engine.stop()).status).to.equal('stopped');
    expect(indexOfCall(w.fake.calls(), ['bootout', `user/501/${LABEL}`])).to.be.at.least(0);
  });

  it('simulation: no GUI session and enable itself refuses gui/501 with 125 — still lands in user/501', async () => {
    const w = await simulate({ gui: false, enableNeedsGui: true });
    const r = await w.engine.install(w.plan, { start: true });
    expect(r.unit).to.equal(`user/501/${LABEL}`);
    expect(indexOfCall(w.fake.calls(), ['bootstrap', 'gui/501', w.plistPath])).to.equal(-1);
  });

  it('simulation: restart is kickstart -k while the plist is unchanged, bootout + bootstrap after a plist change', async () => {
    const w = await simulate();
    const first = await w.engine.install(w.plan, { start: true });
    w.fake.clearCalls();
    const same = await w.engine.restart();
    expectView(same);
    expect(same).to.include({ status: 'restarted', coalesced: false, activeState: 'active' });
    expect(same.mainPid).to.be.a('number').and.not.equal(first.mainPid);
    expect(indexOfCall(w.fake.calls(), ['kickstart', '-k', GUI])).to.be.at.least(0);
    expect(w.fake.calls().some((c) => c[0] === 'bootout')).to.equal(false);

    // The plist changed behind launchd's back (as an upgrade would rewrite it).
    const changed = { ...w.plan, args: ['serve', '--port', '3200'] };
    fs.writeFileSync(w.plistPath, renderPlist(changed));
    w.fake.clearCalls();
    const reloaded = await w.engine.restart();
    expect(reloaded).to.include({ status: 'restarted', activeState: 'active' });
    let calls = w.fake.calls();
    const bootout = indexOfCall(calls, ['bootout', GUI]);
    expect(bootout, JSON.stringify(calls)).to.be.at.least(0);
    expect(indexOfCall(calls, ['bootstrap', 'gui/501', w.plistPath], bootout)).to.be.greaterThan(
      bootout,
    );
    expect(calls.some((c) => c[0] === 'kickstart')).to.equal(false);
    expect(w.fake.read().services[GUI]?.definition).to.include('<string>3200</string>');

    // Now the copy matches again: back to kickstart -k.
    w.fake.clearCalls();
    await w.engine.restart();
    calls = w.fake.calls();
    expect(indexOfCall(calls, ['kickstart', '-k', GUI])).to.be.at.least(0);
    expect(calls.some((c) => c[0] === 'bootout')).to.equal(false);
  });

  it('simulation: restart reloads when there is no record of what was loaded (installed by hand or an older codex-sm)', async () => {
    const w = await simulate();
    await w.engine.install(w.plan, { start: true });
    fs.rmSync(path.join(w.stateDir, 'launchd', `${LABEL}.loaded.plist`));
    w.fake.clearCalls();
    expect((await w.engine.restart()).status).to.equal('restarted');
    const calls = w.fake.calls();
    const bootout = indexOfCall(calls, ['bootout', GUI]);
    expect(bootout, JSON.stringify(calls)).to.be.at.least(0);
    expect(indexOfCall(calls, ['bootstrap', 'gui/501', w.plistPath], bootout)).to.be.greaterThan(
      bootout,
    );
    expect(calls.some((c) => c[0] === 'kickstart')).to.equal(false);
  });

  it('simulation: stop boots out and polls until gone; start reloads; start and stop are idempotent', async () => {
    const w = await simulate({ bootoutPolls: 4 });
    await w.engine.install(w.plan, { start: true });
    w.fake.clearCalls();
    const stopped = await w.engine.stop();
    expectView(stopped);
    expect(stopped).to.include({
      status: 'stopped',
      activeState: 'inactive',
      subState: 'not loaded',
      mainPid: null,
      service: null,
    });
    expect(stopped.native).to.include({ domain: null, runs: null });
    const calls = w.fake.calls();
    const bootout = indexOfCall(calls, ['bootout', GUI]);
    expect(bootout).to.be.at.least(0);
    expect(calls.slice(bootout + 1).filter((c) => c[0] === 'print').length).to.be.greaterThan(4);
    expect(w.fake.read().services).to.deep.equal({});

    w.fake.clearCalls();
    expect((await w.engine.stop()).status).to.equal('notRunning');
    expect(
      w.fake.calls().some((c) => c[0] === 'bootout'),
      'nothing to boot out',
    ).to.equal(false);
    expect((await w.engine.status()).status).to.equal('notRunning');
    const started = await w.engine.start();
    expectView(started);
    expect(started).to.include({ status: 'started', activeState: 'active' });
    w.fake.clearCalls();
    const again = await w.engine.start();
    expect(again).to.include({ status: 'alreadyRunning', mainPid: started.mainPid });
    expect(callsOf(w.fake, ['bootout', 'bootstrap', 'kickstart'])).to.deep.equal([]);
  });

  it('simulation: start kickstarts a loaded job that is not running', async () => {
    const w = await simulate();
    await w.engine.install(w.plan, { start: true });
    w.fake.update((s) => {
      const svc = s.services[GUI]!;
      svc.state = 'not running';
      delete svc.pid;
      svc.lastExit = 0;
    });
    expect((await w.engine.status()).status).to.equal('notRunning');
    w.fake.clearCalls();
    const r = await w.engine.start();
    expect(r).to.include({ status: 'started', activeState: 'active' });
    expect(indexOfCall(w.fake.calls(), ['kickstart', GUI])).to.be.at.least(0);
    expect(w.fake.calls().some((c) => c[0] === 'bootstrap')).to.equal(false);
  });

  it('simulation: a stuck bootout ends in stop_failed with a kill hint', async () => {
    const w = await simulate({ bootoutPolls: 100_000 }, { drainTimeoutMs: 300 });
    await w.engine.install(w.plan, { start: true });
    const err = await rejection(w.engine.stop());
    expect(err.code).to.equal('stop_failed');
    expect(err.exitCode).to.equal(75);
    expect(err.hint).to.include(`launchctl kill SIGKILL ${GUI}`);
  });

  it('simulation: bootstrap error 5 right after bootout (old instance draining) is retried; persistent 5 is launchd_io_error', async () => {
    const io = { code: 5, stderr: 'Bootstrap failed: 5: Input/output error' };
    let w = await simulate({ inject: { bootstrap: [io, io] } });
    expect(await w.engine.install(w.plan, { start: true })).to.include({
      status: 'installed',
      action: 'started',
    });
    expect(
      w.fake.calls().filter((c) => c[0] === 'bootstrap').length,
      'two failures, then success',
    ).to.equal(3);
    await teardown(w);

    w = await simulate({ inject: { bootstrap: Array.from({ length: 6 }, () => io) } });
    const err = await rejection(w.engine.install(w.plan, { start: true }));
    expect(err.code).to.equal('launchd_io_error');
    expect(err.exitCode).to.equal(75);
    expect(err.hint).to.include(`plutil -lint ${w.plistPath}`);
  });

  it('simulation: error 37 (operation already in progress) is waited out, or reported as launchd_busy', async () => {
    const busy = { code: 37, stderr: 'Bootstrap failed: 37: Operation already in progress' };
    let w = await simulate({ inject: { bootstrap: [busy] } });
    expect((await w.engine.install(w.plan, { start: true })).status).to.equal('installed');
    await teardown(w);

    w = await simulate({ inject: { bootstrap: Array.from({ length: 6 }, () => busy) } });
    const err = await rejection(w.engine.install(w.plan, { start: true }));
    expect(err.code).to.equal('launchd_busy');
    expect(err.message).to.include('37: Operation already in progress');
  });

  it('simulation: 125 in both gui and user domains is launchd_no_session (exit 69)', async () => {
    const noDomain = {
      code: 125,
      stderr: 'Bootstrap failed: 125: Domain does not support specified action',
    };
    const w = await simulate({ inject: { bootstrap: [noDomain, noDomain] } });
    const err = await rejection(w.engine.install(w.plan, { start: true }));
    expect(err.code).to.equal('launchd_no_session');
    expect(err.exitCode).to.equal(69);
    expect(err.hint).to.match(/SSH/);
  });

  it('simulation: a `launchctl disable` override from earlier is cleared by install (enable before bootstrap)', async () => {
    const w = await simulate({ disabled: [GUI] });
    expect((await w.engine.install(w.plan, { start: true })).status).to.equal('installed');
    expect(w.fake.read().disabled).to.deep.equal([]);
    const calls = w.fake.calls();
    expect(indexOfCall(calls, ['enable', GUI])).to.be.lessThan(
      indexOfCall(calls, ['bootstrap', 'gui/501', w.plistPath]),
    );
  });

  it('simulation: a service that exits 78 (EX_CONFIG) fails install with start_failed (exit 78) and is unloaded to stop the respawn loop', async () => {
    const w = await simulate({ crashWith: 78 });
    fs.mkdirSync(w.plan.logDir, { recursive: true });
    fs.writeFileSync(w.logFiles.err, 'codex-sm: config_invalid: port must be an integer\n');
    const err = await rejection(w.engine.install(w.plan, { start: true }));
    expect(err.code).to.equal('start_failed');
    expect(err.exitCode).to.equal(78);
    expect(err.message).to.include('EX_CONFIG');
    expect(err.details?.lastLogLines).to.deep.equal([
      'codex-sm: config_invalid: port must be an integer',
    ]);
    expect(err.details?.logCommand).to.equal('codex-sm logs');
    expect(w.fake.read().services).to.deep.equal({});
    expect(
      fs.existsSync(w.plistPath),
      'the plist stays for `codex-sm start` after the fix',
    ).to.equal(true);
    expect(fs.existsSync(w.backend.recordPath), 'and so does the install record').to.equal(true);
  });

  it('simulation: a job unloaded while starting (someone ran `launchctl bootout`) is start_failed', async () => {
    const w = await simulate();
    w.http.notReadyPolls = Number.MAX_SAFE_INTEGER;
    // At the first /readyz the job is gone from launchd, as after an outside bootout.
    w.http.onReadyz = () => {
      w.http.onReadyz = undefined;
      w.fake.update((s) => {
        s.services = {};
      });
    };
    const err = await rejection(w.engine.install(w.plan, { start: true }));
    expect(err.code).to.equal('start_failed');
    expect(err.exitCode).to.equal(1);
    expect(err.message).to.include('unloaded from launchd while starting');
    expect(err.hint).to.include('codex-sm logs');
  });

  it('simulation: a job that never answers /readyz within startTimeoutSec is start_failed (exit 75) and stays loaded', async () => {
    const w = await simulate();
    w.http.notReadyPolls = Number.MAX_SAFE_INTEGER;
    const err = await rejection(
      w.engine.install({ ...w.plan, startTimeoutSec: 0.2 }, { start: true }),
    );
    expect(err.code).to.equal('start_failed');
    expect(err.exitCode).to.equal(75);
    expect(err.message).to.include('/readyz');
    expect(err.details).to.include({ activeState: 'active', subState: 'running' });
    expect(w.fake.running(LABEL), 'launchd keeps it').to.not.equal(undefined);
  });

  it('simulation: status of a crash-looping job is failed with the last exit code under native', async () => {
    const w = await simulate();
    await w.engine.install(w.plan, { start: true });
    fs.writeFileSync(w.logFiles.err, 'codex-sm: config_invalid: port must be an integer\n');
    w.fake.update((s) => {
      const svc = s.services[GUI]!;
      Object.assign(svc, { state: 'spawn scheduled', lastExit: 78, runs: 9 });
      delete svc.pid;
    });
    const r = await w.engine.status();
    expectView(r);
    expect(r).to.include({
      status: 'failed',
      activeState: 'failed',
      subState: 'spawn scheduled',
      mainPid: null,
      nRestarts: 8,
      service: null,
      appServerVersion: null,
    });
    expect(r.native).to.include({ domain: 'gui/501', runs: 9, lastExitCode: 78, lastSignal: null });
    expect(r.statusText).to.equal('spawn scheduled, last run exited 78 (EX_CONFIG)');
    expect(r.reason).to.match(/^exited with status 78 \(EX_CONFIG/);
    expect(r.lastLogLines).to.deep.equal(['codex-sm: config_invalid: port must be an integer']);
  });

  it('simulation: install --no-start writes and enables but does not load; status says installed, not running', async () => {
    const w = await simulate();
    const r = await w.engine.install(w.plan, { start: false });
    expectView(r);
    expect(r).to.include({
      status: 'installed',
      action: 'notStarted',
      activeState: 'inactive',
      subState: 'not loaded',
    });
    expect(r.native.domain).to.equal(null);
    expect(r.warnings).to.deep.equal([]);
    expect(indexOfCall(w.fake.calls(), ['enable', GUI])).to.be.at.least(0);
    expect(w.fake.calls().some((c) => c[0] === 'bootstrap')).to.equal(false);
    expect(fs.existsSync(w.plistPath)).to.equal(true);
    expect((await w.engine.status()).status).to.equal('notRunning');
  });

  it('simulation: uninstall keeps logs unless --purge; a second uninstall reports notInstalled', async () => {
    const w = await simulate();
    await w.engine.install(w.plan, { start: true });
    fs.writeFileSync(w.logFiles.out, '{"msg":"hello"}\n');
    const kept = await w.engine.uninstall({ purge: false });
    expect(kept).to.include({ status: 'uninstalled', backend: 'launchd', unit: GUI });
    expect(kept.removed).to.deep.equal([w.plistPath]);
    expect(kept.leftBehind.map((l) => l.path)).to.include(w.logFiles.out);
    expect(fs.existsSync(w.plistPath)).to.equal(false);
    expect(fs.existsSync(w.backend.recordPath)).to.equal(false);
    expect(fs.existsSync(w.logFiles.out)).to.equal(true);
    expect(w.fake.read().services).to.deep.equal({});
    expect((await w.engine.uninstall({ purge: false })).status).to.equal('notInstalled');
    expect((await w.engine.status()).status).to.equal('notInstalled');

    await w.engine.install(w.plan, { start: true });
    const purged = await w.engine.uninstall({ purge: true });
    expect(purged.removed).to.include(w.logFiles.out);
    expect(fs.existsSync(w.plan.logDir)).to.equal(false);
  });

  it('simulation: uninstall --purge removes the token, the secrets file, the state dir contents and the log files', async () => {
    const w = await simulate();
    await w.engine.install(w.plan, { start: true });
    fs.writeFileSync(w.logFiles.out, '{"msg":"hello"}\n');
    fs.writeFileSync(w.logFiles.err, 'a warning\n');
    fs.writeFileSync(path.join(w.stateDir, 'sessions-index.sqlite'), 'index');
    // What purge never touches: the user's config and Codex's own home.
    fs.writeFileSync(path.join(w.configDir, 'config.json'), '{}\n');
    fs.mkdirSync(w.plan.codexHome, { recursive: true });

    const r = await w.engine.uninstall({ purge: true });
    expect(humanOutput(r)).to.not.include('undefined');
    expect(r.status).to.equal('uninstalled');
    expect(r.removed).to.include.members([
      w.plistPath,
      w.tokenFile,
      w.secretsFile,
      w.logFiles.out,
      w.logFiles.err,
      w.stateDir,
    ]);
    for (const p of [w.plistPath, w.tokenFile, w.secretsFile, w.logFiles.out, w.logFiles.err])
      expect(fs.existsSync(p), p).to.equal(false);
    expect(fs.existsSync(w.plan.logDir), 'the emptied log dir goes too').to.equal(false);
    expect(
      fs.readdirSync(w.stateDir).filter((e) => !e.startsWith('lifecycle.lock')),
      'only the lifecycle lock (held during the uninstall) stays',
    ).to.deep.equal([]);
    expect(r.leftBehind.map((l) => l.path)).to.have.members([
      path.join(w.configDir, 'config.json'),
      w.plan.codexHome,
    ]);
    expect(fs.existsSync(path.join(w.configDir, 'config.json'))).to.equal(true);
    expect(fs.existsSync(w.plan.codexHome)).to.equal(true);
  });

  // the log files from the backend.
  it('simulation: uninstall --purge of an agent installed without a record (older codex-sm) still removes its log files', async () => {
    const w = await simulate();
    await w.engine.install(w.plan, { start: true });
    fs.rmSync(w.backend.recordPath);
    fs.writeFileSync(w.logFiles.out, '{"msg":"hello"}\n');
    fs.writeFileSync(w.logFiles.err, 'a warning\n');
    const r = await w.engine.uninstall({ purge: true });
    expect(r.status).to.equal('uninstalled');
    expect(r.removed).to.include.members([
      w.plistPath,
      w.tokenFile,
      w.logFiles.out,
      w.logFiles.err,
    ]);
    expect(fs.existsSync(w.logFiles.out)).to.equal(false);
  });

  it('simulation: uninstall without --purge reports leftBehind as {path, why} and prints no undefined', async () => {
    const w = await simulate();
    await w.engine.install(w.plan, { start: true });
    fs.writeFileSync(w.logFiles.out, '{"msg":"hello"}\n');
    fs.writeFileSync(path.join(w.configDir, 'config.json'), '{}\n');
    const r = await w.engine.uninstall({ purge: false });
    expect(undefinedPaths(r)).to.deep.equal([]);
    for (const l of r.leftBehind) {
      expect(l).to.have.all.keys('path', 'why');
      expect(l.path).to.be.a('string').and.not.equal('');
      expect(l.why).to.be.a('string').and.not.equal('');
    }
    expect(r.leftBehind.map((l) => l.path)).to.include.members([
      w.tokenFile,
      w.secretsFile,
      w.logFiles.out,
      w.stateDir,
      path.join(w.configDir, 'config.json'),
    ]);
    expect(r.leftBehind.map((l) => l.path)).to.not.include('journal');
    const human = humanOutput(r);
    expect(human).to.not.include('undefined');
    expect(human).to.include(`removed: ${w.plistPath}`);
    expect(human).to.include(`left: ${w.tokenFile} — the bearer token (remove with --purge)`);
    for (const p of [w.tokenFile, w.secretsFile, w.logFiles.out])
      expect(fs.existsSync(p), p).to.equal(true);
  });

  it('simulation: start/restart on a machine without the agent are not_installed with a hint; stop and status say notInstalled', async () => {
    const w = await simulate();
    for (const op of [() => w.engine.start(), () => w.engine.restart()]) {
      const err = await rejection(op());
      expect(err.code).to.equal('not_installed');
      expect(err.exitCode).to.equal(1);
      expect(err.hint).to.include('install-service');
    }
    const stopped = await w.engine.stop();
    expectView(stopped);
    expect(stopped.status).to.equal('notInstalled');
    const status = await w.engine.status();
    expectView(status);
    expect(status).to.include({ status: 'notInstalled', activeState: 'inactive', unit: GUI });
    expect(
      w.fake.calls().filter((c) => c[0] !== 'print'),
      'nothing but print probes',
    ).to.deep.equal([]);
  });

  it('refuses to install a LaunchAgent as root (sudo)', async () => {
    const w = await simulate({}, { uid: 0 });
    const err = await rejection(w.engine.install(w.plan, { start: true }));
    expect(err.code).to.equal('launchd_root');
    expect(w.fake.calls()).to.deep.equal([]);
    expect(fs.existsSync(w.plistPath)).to.equal(false);
  });

  it('without launchctl (Linux): launchctl_missing, pointing at --dry-run', async () => {
    const w = await simulate({}, { launchctl: path.join(os.tmpdir(), 'no-such-dir', 'launchctl') });
    const err = await rejection(w.engine.status());
    expect(err.code).to.equal('launchctl_missing');
    expect(err.hint).to.include('--dry-run');
  });

  it('simulation: the updater agent is loaded with the service (StartInterval, not at load), reported, booted out on uninstall', async () => {
    const w = await simulate();
    const updaterTarget = 'gui/501/dev.codex-sm.update';
    const updaterPlist = path.join(w.home, 'Library', 'LaunchAgents', 'dev.codex-sm.update.plist');
    const r = await w.engine.install({ ...w.plan, updater: true }, { start: true });
    expectView(r);
    expect(r.updater).to.deep.equal({ unit: updaterTarget, active: true, nextRun: null });
    expect(fs.readFileSync(updaterPlist, 'utf8')).to.include('<key>StartInterval</key>');
    const loaded = w.fake.read().services[updaterTarget];
    expect(loaded?.runs, 'RunAtLoad is false: loading it runs nothing').to.equal(0);
    w.fake.clearCalls();
    const again = await w.engine.install({ ...w.plan, updater: true }, { start: true });
    expect(again.action).to.equal('alreadyRunning');
    expect(w.fake.calls().filter((c) => c[0] === 'bootstrap' || c[0] === 'bootout')).to.deep.equal(
      [],
    );
    w.fake.clearCalls();
    const u = await w.engine.uninstall({ purge: false });
    expect(u.removed).to.include(updaterPlist);
    expect(w.fake.calls()).to.deep.include(['bootout', updaterTarget]);
    expect(w.fake.read().services[updaterTarget]).to.equal(undefined);
  });

  it('simulation: bootstrap installs the service and its updater, and a second run changes nothing', async () => {
    const w = await simulate();
    const first = await bootstrap(
      w.engine,
      { ...w.plan, updater: true },
      {
        remoteControl: false,
        enableLinger: false,
      },
    );
    expect(first).to.include({ status: 'bootstrapped', action: 'started', backend: 'launchd' });
    expect(first.updater?.active).to.equal(true);
    const again = await bootstrap(
      w.engine,
      { ...w.plan, updater: true },
      {
        remoteControl: false,
        enableLinger: false,
      },
    );
    expect(again).to.include({ status: 'alreadyBootstrapped', action: 'alreadyRunning' });
  });
});
