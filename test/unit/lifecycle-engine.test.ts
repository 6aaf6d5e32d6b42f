/**
 * The lifecycle engine's decisions, in milliseconds: an in-memory FAKE backend port (no service
 * manager at all) in a systemd-like and a launchd-like flavour, real files in a temp dir and the
 * real lifecycle lock. What the real managers do is proven by test/system (real systemd) and
 * test/sim (simulated launchctl); this proves what the engine decides on top of any of them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { CodexSmError } from '../../src/errors.js';
import { bootstrap, setRemoteControl } from '../../src/lifecycle/daemon.js';
import { LifecycleEngine } from '../../src/lifecycle/engine.js';
import { humanOutput, type LifecycleOutput } from '../../src/lifecycle/outputs.js';
import type {
  BackendSession,
  JobState,
  RenderedInstall,
  ServiceBackend,
} from '../../src/lifecycle/port.js';
import { readInstallRecord } from '../../src/lifecycle/record.js';
import type { Backend, ServicePlan } from '../../src/platform/types.js';
import type { RemoteControlJson } from '../../service/status-json.js';
import { basePlan } from '../helpers/plans.js';
import { tempDir } from '../../harness/service.js';
import { rejection } from '../helpers/assertions.js';

interface FakeWorld {
  dir: string;
  calls: string[];
  job: { loaded: boolean; running: boolean; failed: boolean; pid: number; startedAtUs: number };
  /** Highest number of backend jobs in flight at once (the lock must keep it at 1). */
  maxInFlight: number;
  failEnable?: boolean;
  failStart?: boolean;
  clock: number;
}

function fakeBackend(
  flavor: Backend,
  w: FakeWorld,
  scope: 'user' | 'system' = 'user',
): ServiceBackend {
  const unitDir = path.join(w.dir, 'units');
  const unitPath = path.join(
    unitDir,
    flavor === 'systemd' ? 'codex-sm.service' : 'dev.codex-sm.service.plist',
  );
  const logs = [path.join(w.dir, 'logs', 'out.log'), path.join(w.dir, 'logs', 'err.log')];
  let inFlight = 0;
  const job = async (name: string, fn: () => void) => {
    w.calls.push(name);
    inFlight++;
    w.maxInFlight = Math.max(w.maxInFlight, inFlight);
    await new Promise((r) => setImmediate(r)); // let a concurrent caller run if it could
    fn();
    inFlight--;
  };
  const launch = () => {
    if (w.failStart) throw new CodexSmError('start_failed', 'fake: did not become ready');
    w.job = {
      loaded: true,
      running: true,
      failed: false,
      pid: w.job.pid + 1,
      startedAtUs: ++w.clock,
    };
    if (flavor === 'launchd') {
      fs.mkdirSync(path.dirname(logs[0]!), { recursive: true });
      for (const l of logs) fs.appendFileSync(l, 'a line\n');
    }
  };
  const session: BackendSession = {
    notes: [],
    async state(): Promise<JobState> {
      const j = w.job;
      return {
        loaded: j.loaded,
        unit: flavor === 'systemd' ? 'codex-sm.service' : 'gui/501/dev.codex-sm.service',
        activeState: j.running ? 'active' : j.failed ? 'failed' : 'inactive',
        subState: j.running ? 'running' : 'dead',
        mainPid: j.running ? j.pid : null,
        nRestarts: 0,
        statusText: j.running ? 'ready' : '',
        startedAtUs: flavor === 'systemd' && j.running ? j.startedAtUs : null,
        reason: j.failed ? 'exited with status 1' : null,
        native: flavor === 'systemd' ? { loadState: 'loaded', via: 'fake' } : { domain: 'gui/501' },
      };
    },
    reload: () => job('reload', () => undefined),
    enable: (files) =>
      job(`enable ${files.map((f) => path.basename(f)).join(' ')}`, () => {
        if (w.failEnable) throw new CodexSmError('systemctl_failed', 'fake: enable refused');
        w.job.loaded = true;
      }),
    disable: (files) =>
      job(`disable ${files.map((f) => path.basename(f)).join(' ')}`, () => {
        w.job = { ...w.job, loaded: false, running: false };
      }),
    start: () => job('start', launch),
    restart: () => job('restart', launch),
    stop: () => job('stop', () => (w.job = { ...w.job, running: false })),
    updater: async () => null,
    tail: async () => ['last line'],
    linger: async () => (flavor === 'systemd' ? true : null),
    close: () => undefined,
  };
  return {
    backend: flavor,
    scope,
    unitPath,
    recordPath: path.join(unitDir, 'codex-sm.install.json'),
    logCommand: 'fake logs',
    knownFiles: [unitPath],
    logFiles: () => (flavor === 'launchd' ? logs : []),
    prepare: async (plan) => plan,
    render(plan: ServicePlan): RenderedInstall {
      return {
        unit: flavor === 'systemd' ? 'codex-sm.service' : 'gui/501/dev.codex-sm.service',
        files: [
          { path: unitPath, mode: 0o644, content: `${plan.args.join(' ')} port=${plan.port}\n` },
        ],
        commands: [['fake', 'install']],
        logFiles: flavor === 'launchd' ? logs : [],
      };
    },
    open: async () => session,
    logs: async (_r, _o, write) => write('a log line'),
  };
}

function setup(flavor: Backend, opts: { scope?: 'user' | 'system'; isRoot?: boolean } = {}) {
  const dir = tempDir(`engine-${flavor}-`);
  const w: FakeWorld = {
    dir,
    calls: [],
    job: { loaded: false, running: false, failed: false, pid: 100, startedAtUs: 0 },
    maxInFlight: 0,
    clock: 1000,
  };
  const env = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config') };
  const paths = {
    tokenFile: path.join(dir, 'config', 'codex-sm', 'token'),
    secretsFile: path.join(dir, 'config', 'codex-sm', 'secrets.env'),
    stateDir: path.join(dir, 'state'),
  };
  const backend = fakeBackend(flavor, w, opts.scope);
  /** The same machine's engine as another codex-sm version would run it (an upgrade in place). */
  const engineAs = (cliVersion: string) =>
    new LifecycleEngine({
      backend,
      env,
      lockFile: path.join(dir, 'lifecycle.lock'),
      isRoot: opts.isRoot ?? false,
      fallback: { host: '127.0.0.1', port: 3100, codexHome: path.join(dir, 'codex'), ...paths },
      serviceStatus: async () => undefined,
      codexVersion: async () => '0.169.0',
      monotonicUs: () => w.clock,
      cliVersion,
    });
  const engine = engineAs('0.1.0');
  const plan = (over: Partial<ServicePlan> = {}): ServicePlan =>
    basePlan({
      backend: flavor,
      tokenFile: paths.tokenFile,
      secretsEnvFile: paths.secretsFile,
      stateDir: paths.stateDir,
      codexHome: path.join(dir, 'codex'),
      ...over,
    });
  return { w, engine, engineAs, plan, paths, dir };
}

const FLAVORS: Backend[] = ['systemd', 'launchd'];

describe('lifecycle engine (FAKE in-memory backend port)', () => {
  for (const flavor of FLAVORS) {
    describe(`${flavor}-like backend`, () => {
      it('install from nothing writes the files, the record and the secrets, enables, starts', async () => {
        const { w, engine, plan, paths } = setup(flavor);
        const r = await engine.install(plan(), { start: true });
        expect(r).to.include({
          status: 'installed',
          action: 'started',
          unitChanged: true,
          tokenCreated: true,
        });
        expect(w.calls).to.deep.equal(['reload', `enable ${path.basename(r.unitPath)}`, 'start']);
        expect(fs.statSync(paths.tokenFile).mode & 0o777).to.equal(0o600);
        expect(fs.statSync(paths.secretsFile).mode & 0o777).to.equal(0o600);
        const record = readInstallRecord(r.recordPath);
        expect(record).to.include({ backend: flavor, port: 3100, tokenFile: paths.tokenFile });
        expect(record?.files).to.deep.equal([r.unitPath]);
        expect(r.endpoint).to.equal('http://127.0.0.1:3100');
      });

      it('installing the same plan again while running changes nothing and says so', async () => {
        const { w, engine, plan } = setup(flavor);
        const first = await engine.install(plan(), { start: true });
        const recordText = fs.readFileSync(first.recordPath, 'utf8');
        w.calls.length = 0;
        const again = await engine.install(plan(), { start: true });
        expect(again).to.include({ action: 'alreadyRunning', unitChanged: false });
        expect(again.files).to.deep.equal([]);
        // Reload always (cheap, and it repairs a run killed after writing); nothing (re)started.
        expect(w.calls).to.deep.equal(['reload', `enable ${path.basename(first.unitPath)}`]);
        expect(fs.readFileSync(first.recordPath, 'utf8')).to.equal(recordText);
      });

      it('a changed plan restarts a running service; --no-start leaves it running and warns', async () => {
        const { w, engine, plan } = setup(flavor);
        await engine.install(plan(), { start: true });
        const pid = w.job.pid;
        const quiet = await engine.install(plan({ port: 3200 }), { start: false });
        expect(quiet).to.include({ action: 'notStarted', unitChanged: true });
        expect(quiet.warnings.join('\n')).to.match(
          /still uses the previous definition.*codex-sm restart/,
        );
        expect(w.job.pid).to.equal(pid);
        const moved = await engine.install(plan({ port: 3300 }), { start: true });
        expect(moved).to.include({ action: 'restarted', endpoint: 'http://127.0.0.1:3300' });
        expect(w.job.pid).to.not.equal(pid);
      });

      it('after an install --no-start changed the files, the next install restarts (the job still runs the old ones)', async () => {
        const { w, engine, plan } = setup(flavor);
        await engine.install(plan(), { start: true });
        await engine.install(plan({ port: 3200 }), { start: false });
        const pid = w.job.pid;
        const next = await engine.install(plan({ port: 3200 }), { start: true });
        expect(next).to.include({ action: 'restarted', unitChanged: false });
        expect(w.job.pid).to.not.equal(pid);
        expect((await engine.install(plan({ port: 3200 }), { start: true })).action).to.equal(
          'alreadyRunning',
        );
      });

      it('an upgrade in place (same unit, new codex-sm version) restarts on install and says from what', async () => {
        const { w, engine, engineAs, plan } = setup(flavor);
        const first = await engine.install(plan(), { start: true });
        expect(first).to.include({ cliVersion: '0.1.0', upgradedFrom: null });
        const pid = w.job.pid;
        const upgraded = engineAs('0.2.0');
        w.calls.length = 0;
        const r = await upgraded.install(plan(), { start: true });
        expect(r).to.include({
          action: 'restarted',
          unitChanged: false,
          cliVersion: '0.2.0',
          upgradedFrom: '0.1.0',
        });
        expect(w.calls).to.include('restart');
        expect(w.job.pid).to.not.equal(pid);
        expect(humanOutput(r)).to.contain('upgraded  0.1.0 → 0.2.0');
        expect(readInstallRecord(r.recordPath)).to.include({
          cliVersion: '0.2.0',
          activeCliVersion: '0.2.0',
        });
        const again = await upgraded.install(plan(), { start: true });
        expect(again).to.include({ action: 'alreadyRunning', upgradedFrom: null });
      });

      it('after an upgrade, install --no-start warns the service is still the old version; restart makes it current', async () => {
        const { w, engine, engineAs, plan } = setup(flavor);
        await engine.install(plan(), { start: true });
        const upgraded = engineAs('0.2.0');
        const pid = w.job.pid;
        const quiet = await upgraded.install(plan(), { start: false });
        expect(quiet).to.include({ action: 'notStarted', upgradedFrom: '0.1.0' });
        expect(quiet.warnings.join('\n')).to.match(
          /still codex-sm 0\.1\.0, this is 0\.2\.0: run `codex-sm restart`/,
        );
        expect(w.job.pid).to.equal(pid);
        await upgraded.restart();
        expect((await upgraded.install(plan(), { start: true })).action).to.equal('alreadyRunning');
      });

      it('a record from before activeCliVersion: its cliVersion stands in (same version → nothing to do, older → restart)', async () => {
        const { engine, engineAs, plan } = setup(flavor);
        const first = await engine.install(plan(), { start: true });
        const legacy = JSON.parse(fs.readFileSync(first.recordPath, 'utf8')) as Record<
          string,
          unknown
        >;
        delete legacy.activeCliVersion;
        fs.writeFileSync(first.recordPath, JSON.stringify(legacy));
        expect((await engine.install(plan(), { start: true })).action).to.equal('alreadyRunning');
        fs.writeFileSync(first.recordPath, JSON.stringify(legacy));
        const r = await engineAs('0.2.0').install(plan(), { start: true });
        expect(r).to.include({ action: 'restarted', upgradedFrom: '0.1.0' });
      });

      it('a manager that refuses the new files gets the old ones back, and no record', async () => {
        const { w, engine, plan } = setup(flavor);
        const first = await engine.install(plan(), { start: true });
        const before = fs.readFileSync(first.unitPath, 'utf8');
        const recordBefore = fs.readFileSync(first.recordPath, 'utf8');
        w.failEnable = true;
        const err = await rejection(engine.install(plan({ port: 3999 }), { start: true }));
        expect(err.code).to.equal('systemctl_failed');
        expect(fs.readFileSync(first.unitPath, 'utf8')).to.equal(before);
        expect(fs.readFileSync(first.recordPath, 'utf8')).to.equal(recordBefore);
      });

      it('a start that fails leaves the service installed and recorded (the evidence stays)', async () => {
        const { w, engine, plan } = setup(flavor);
        w.failStart = true;
        const err = await rejection(engine.install(plan(), { start: true }));
        expect(err.code).to.equal('start_failed');
        expect(
          fs.existsSync(
            readInstallRecord(path.join(w.dir, 'units', 'codex-sm.install.json'))!.files[0]!,
          ),
        ).to.equal(true);
        w.failStart = false;
        expect(await engine.start()).to.include({ status: 'started' });
      });

      it('start, stop and status are idempotent and say what is', async () => {
        const { engine, plan } = setup(flavor);
        expect((await engine.stop()).status).to.equal('notInstalled');
        expect((await engine.status()).status).to.equal('notInstalled');
        await engine.install(plan(), { start: true });
        expect((await engine.start()).status).to.equal('alreadyRunning');
        expect((await engine.status()).status).to.equal('running');
        expect((await engine.stop()).status).to.equal('stopped');
        expect((await engine.stop()).status).to.equal('notRunning');
        expect((await engine.status()).status).to.equal('notRunning');
        const started = await engine.start();
        expect(started).to.include({ status: 'started', activeState: 'active' });
        expect(started.mainPid).to.be.a('number');
      });

      it('status says remote control as the running app-server was launched, and what it reports', async () => {
        const { engine, plan } = setup(flavor);
        await engine.install(plan(), { start: true });
        const st = await engine.status();
        const service = (remoteControl: RemoteControlJson) => ({
          pid: 1,
          version: '0.1.0',
          state: 'ready' as const,
          statusText: 'ready',
          uptimeSec: 1,
          appServer: { state: 'ready' as const, restarts: 0, remoteControl },
          pendingRestart: [],
        });
        const on = { enabled: true, status: 'connected' as const, serverName: 'box' };
        expect(humanOutput({ ...st, service: service(on) })).to.match(
          /^remote control +enabled \(connected as box\)$/m,
        );
        const off = { enabled: false, status: 'disabled' as const, serverName: null };
        expect(humanOutput({ ...st, service: service(off) })).to.match(
          /^remote control +disabled$/m,
        );
      });

      it('a failed service reports failed with the reason and the last log lines', async () => {
        const { w, engine, plan } = setup(flavor);
        await engine.install(plan(), { start: true });
        w.job = { ...w.job, running: false, failed: true };
        const st = await engine.status();
        expect(st).to.include({ status: 'failed', reason: 'exited with status 1' });
        expect(st.lastLogLines).to.deep.equal(['last line']);
      });

      it('start and restart without an install fail with not_installed and a hint', async () => {
        const { engine } = setup(flavor);
        for (const cmd of [() => engine.start(), () => engine.restart()]) {
          const err = await rejection(cmd());
          expect(err.code).to.equal('not_installed');
          expect(err.hint).to.match(/codex-sm install-service/);
        }
      });

      it('uninstall --purge removes the token, the secrets, the state and the log files', async () => {
        const { engine, plan, paths, dir } = setup(flavor);
        const r = await engine.install(plan(), { start: true });
        fs.mkdirSync(paths.stateDir, { recursive: true });
        fs.writeFileSync(path.join(paths.stateDir, 'sessions.sqlite'), 'x');
        fs.mkdirSync(path.join(dir, 'codex'), { recursive: true });
        const u = await engine.uninstall({ purge: true });
        expect(u.status).to.equal('uninstalled');
        for (const p of [r.unitPath, r.recordPath, paths.tokenFile, paths.secretsFile])
          expect(fs.existsSync(p), p).to.equal(false);
        expect(fs.readdirSync(paths.stateDir)).to.deep.equal([]);
        expect(u.removed).to.include.members([
          r.unitPath,
          paths.tokenFile,
          paths.secretsFile,
          paths.stateDir,
        ]);
        if (flavor === 'launchd')
          expect(fs.existsSync(path.join(dir, 'logs', 'out.log'))).to.equal(false);
        expect(u.leftBehind.map((l) => l.path)).to.include(path.join(dir, 'codex'));
        expect((await engine.uninstall({ purge: true })).status).to.equal('notInstalled');
      });

      it('uninstall without --purge says what stays and why, as {path, why} (readable, no "undefined")', async () => {
        const { engine, plan, paths } = setup(flavor);
        await engine.install(plan(), { start: true });
        const u = await engine.uninstall({ purge: false });
        expect(u.leftBehind.map((l) => l.path)).to.include.members([
          paths.tokenFile,
          paths.secretsFile,
        ]);
        for (const l of u.leftBehind) expect(l.why).to.be.a('string').and.not.equal('');
        const text = humanOutput(u);
        expect(text).to.not.include('undefined');
        expect(text).to.include(`left: ${paths.tokenFile} — the bearer token`);
      });

      it('a unit installed without a record (older codex-sm) still reports, from the config, and says so', async () => {
        const { engine, plan } = setup(flavor);
        const r = await engine.install(plan(), { start: true });
        fs.rmSync(r.recordPath);
        const st = await engine.status();
        expect(st).to.include({ status: 'running', endpoint: 'http://127.0.0.1:3100' });
        expect(st.warnings.join('\n')).to.match(/no install record/);
      });

      it('a system-scope command without root is refused before anything happens', async () => {
        const { w, engine, plan } = setup(flavor, { scope: 'system' });
        const err = await rejection(engine.install(plan(), { start: true }));
        expect(err.code).to.equal('needs_root');
        expect(w.calls).to.deep.equal([]);
      });
    });
  }

  it('concurrent restarts run one at a time and coalesce into the restart that happened after them (systemd)', async () => {
    const { w, engine, plan } = setup('systemd');
    await engine.install(plan(), { start: true });
    const results = await Promise.all(Array.from({ length: 5 }, () => engine.restart()));
    expect(w.maxInFlight).to.equal(1);
    const real = results.filter((r) => !r.coalesced).length;
    expect(real).to.be.at.least(1).and.below(5);
    expect(w.calls.filter((c) => c === 'restart')).to.have.length(real);
  });

  it('launchd tells no start time, so every restart restarts', async () => {
    const { w, engine, plan } = setup('launchd');
    await engine.install(plan(), { start: true });
    const results = await Promise.all(Array.from({ length: 3 }, () => engine.restart()));
    expect(results.every((r) => !r.coalesced)).to.equal(true);
    expect(w.calls.filter((c) => c === 'restart')).to.have.length(3);
  });

  it('bootstrap: installs and starts; a second run changes nothing and says so (both backends)', async () => {
    for (const flavor of FLAVORS) {
      const { w, engine, plan } = setup(flavor);
      const first = await bootstrap(engine, plan({ updater: true }), {
        remoteControl: false,
        enableLinger: false,
      });
      expect(first).to.include({
        status: 'bootstrapped',
        action: 'started',
        remoteControlEnabled: false,
      });
      expect(first.cliVersion).to.be.a('string');
      w.calls.length = 0;
      const again = await bootstrap(engine, plan({ updater: true }), {
        remoteControl: false,
        enableLinger: false,
      });
      expect(again).to.include({
        status: 'alreadyBootstrapped',
        action: 'alreadyRunning',
        unitChanged: false,
        appServerRestarted: false,
      });
      expect(w.calls.filter((c) => /^(start|restart|stop)$/.test(c))).to.deep.equal([]);
    }
  });

  it('remote control is persisted for the next start and reported as the Codex daemon does', async () => {
    const { engine, paths } = setup('systemd');
    const on = await setRemoteControl(engine, true);
    expect(on).to.include({
      status: 'enabled',
      remoteControlEnabled: true,
      appServerRestarted: false,
    });
    expect(
      JSON.parse(fs.readFileSync(path.join(paths.stateDir, 'settings.json'), 'utf8')),
    ).to.include({
      remoteControl: true,
    });
    expect((await setRemoteControl(engine, true)).status).to.equal('alreadyEnabled');
    expect((await setRemoteControl(engine, false)).status).to.equal('disabled');
    expect((await setRemoteControl(engine, false)).status).to.equal('alreadyDisabled');
  });

  it('every command gives the same keys on both backends (dry run included)', async () => {
    const keys: Record<string, string[]>[] = [];
    for (const flavor of FLAVORS) {
      const { engine, plan } = setup(flavor);
      const out: Record<string, LifecycleOutput> = {};
      out.plan = await engine.plan(plan());
      out.install = await engine.install(plan(), { start: true });
      out.status = await engine.status();
      out.start = await engine.start();
      out.restart = await engine.restart();
      out.stop = await engine.stop();
      out.uninstall = await engine.uninstall({ purge: false });
      keys.push(
        Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Object.keys(v).sort()])),
      );
    }
    expect(keys[1]).to.deep.equal(keys[0]);
  });
});
