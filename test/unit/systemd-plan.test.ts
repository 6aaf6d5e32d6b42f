/** buildServicePlan and the pure pieces around it (platform selection, state parsing, explanations). */
import { expect } from 'chai';
import { resolveConfig } from '../../src/config/load.js';
import { selectBackend, nativeBackend } from '../../src/platform/index.js';
import { buildServicePlan, capturePath, STOP_MARGIN_SEC } from '../../src/platform/plan.js';
import {
  parseShow,
  parseSystemdVersion,
  unitStateFrom,
  type UnitState,
} from '../../src/platform/systemd/api.js';
import { explainState } from '../../src/platform/systemd/describe.js';
import { enableLinger, lingerWarning } from '../../src/platform/systemd/linger.js';
import { lookupAccount, serviceAccount } from '../../src/lifecycle/account.js';
import { SystemctlSystemd } from '../../src/platform/systemd/systemctl.js';
import type { CommandRunner, RunResult } from '../../src/runner.js';
import { userRuntimeDir } from '../../src/platform/systemd/connect.js';
import type { Stats } from 'node:fs';

const env = { HOME: '/home/alice', PATH: '/usr/bin:/bin' };
const base = {
  backend: 'systemd' as const,
  env,
  codexPath: '/usr/local/bin/codex',
  nodePath: '/usr/bin/node',
  cliScript: '/opt/c/dist/src/cli/main.js',
};

function config(flags: Record<string, unknown> = {}) {
  return resolveConfig({ env, flags }).config;
}

describe('buildServicePlan', () => {
  it('derives TimeoutStopSec from the service stop budget, with a margin after it', () => {
    expect(buildServicePlan(config(), base).stopTimeoutSec).to.equal(10 + STOP_MARGIN_SEC);
    expect(buildServicePlan(config({ stopTimeoutMs: 2500 }), base).stopTimeoutSec).to.equal(
      3 + STOP_MARGIN_SEC,
    );
  });

  it('bakes in absolute node, script, codex, CODEX_HOME and the explicit serve flags', () => {
    const p = buildServicePlan(config({ port: 4100, host: '127.0.0.2' }), {
      ...base,
      configFile: '/etc/x.json',
      extraArgs: ['--log-level', 'debug'],
    });
    expect(p.args).to.deep.equal([
      'serve',
      '--host',
      '127.0.0.2',
      '--port',
      '4100',
      '--codex-home',
      '/home/alice/.codex',
      '--codex-bin',
      '/usr/local/bin/codex',
      '--token-file',
      '/home/alice/.config/codex-sm/token',
      '--log-level',
      'debug',
    ]);
    expect(p.environment).to.deep.equal({
      PATH: '/usr/bin:/bin:/usr/local/bin',
      HOME: '/home/alice',
      CODEX_HOME: '/home/alice/.codex',
      CODEX_SM_CONFIG: '/etc/x.json',
    });
    expect(p.secretsEnvFile).to.equal('/home/alice/.config/codex-sm/secrets.env');
    expect(p.workingDirectory).to.equal('/home/alice');
  });

  it('carries CODEX_SM_* config from the installing shell into the unit, but never the token', () => {
    const e = {
      ...env,
      CODEX_SM_LOG_LEVEL: 'debug',
      CODEX_SM_TOKEN: 'x'.repeat(32),
      CODEX_SM_DEBUG: '1',
    };
    const p = buildServicePlan(resolveConfig({ env: e }).config, { ...base, env: e });
    expect(p.environment.CODEX_SM_LOG_LEVEL).to.equal('debug');
    expect(p.environment).to.not.have.any.keys('CODEX_SM_TOKEN', 'CODEX_SM_DEBUG');
  });

  it('captures PATH with node first, without relative or duplicate entries', () => {
    expect(capturePath('.:/usr/bin::bin:/opt/x:/usr/bin', '/opt/node/bin/node')).to.equal(
      '/opt/node/bin:/usr/bin:/opt/x:/usr/local/bin:/bin',
    );
    expect(capturePath(undefined, '/usr/bin/node')).to.equal('/usr/bin:/usr/local/bin:/bin');
  });

  it('keeps the crash-loop window wide enough for the burst to trip', () => {
    const p = buildServicePlan(config(), {
      ...base,
      timings: { restartSec: 20, startLimitBurst: 5 },
    });
    expect(p.startLimitIntervalSec).to.be.greaterThan(p.startLimitBurst * p.restartSec);
  });

  it('refuses what cannot work', () => {
    expect(() => buildServicePlan(config(), { ...base, nodePath: 'node' })).to.throw(/absolute/);
    expect(() =>
      buildServicePlan(config({ port: 0 }), { ...base, socketActivation: true }),
    ).to.throw(/fixed port/);
    expect(() => buildServicePlan(config(), { ...base, timings: { restartSec: 0 } })).to.throw(
      /restart seconds/,
    );
    expect(() => buildServicePlan(config(), { ...base, env: { PATH: '/bin' } })).to.throw(/HOME/);
  });
});

describe('platform selection', () => {
  it('picks the native backend and allows a foreign one only for --dry-run', () => {
    expect(nativeBackend('linux')).to.equal('systemd');
    expect(nativeBackend('darwin')).to.equal('launchd');
    expect(nativeBackend('win32')).to.equal(undefined);
    expect(selectBackend(undefined, { dryRun: false, platform: 'linux' })).to.equal('systemd');
    expect(selectBackend('launchd', { dryRun: true, platform: 'linux' })).to.equal('launchd');
    expect(() => selectBackend('launchd', { dryRun: false, platform: 'linux' })).to.throw(
      /only works with --dry-run/,
    );
    expect(() => selectBackend('upstart', { dryRun: true })).to.throw(/unknown --platform/);
    expect(() => selectBackend(undefined, { dryRun: true, platform: 'win32' })).to.throw(
      /no service manager/,
    );
  });
});

function state(over: Partial<UnitState>): UnitState {
  return {
    loadState: 'loaded',
    activeState: 'active',
    subState: 'running',
    unitFileState: 'enabled',
    fragmentPath: '',
    needDaemonReload: false,
    mainPid: 10,
    nRestarts: 0,
    statusText: '',
    result: 'success',
    execMainStatus: 0,
    execMainCode: 0,
    execMainStartMonotonicUs: 1,
    nextElapseRealtimeUs: 0,
    ...over,
  };
}

describe('manager state', () => {
  it('parses systemctl show output and versions', () => {
    const m = parseShow('MainPID=42\nStatusText=ready: a=b\nNRestarts=3\nNeedDaemonReload=yes\n');
    const st = unitStateFrom((p) => m.get(p));
    expect(st.mainPid).to.equal(42);
    expect(st.statusText).to.equal('ready: a=b');
    expect(st.nRestarts).to.equal(3);
    expect(st.needDaemonReload).to.equal(true);
    expect(st.activeState).to.equal('');
    expect(
      unitStateFrom((p) => (p === 'ExecMainStartTimestampMonotonic' ? 123n : undefined))
        .execMainStartMonotonicUs,
    ).to.equal(123);
    expect(
      unitStateFrom((p) => (p === 'NextElapseUSecRealtime' ? '@1795460000' : undefined))
        .nextElapseRealtimeUs,
    ).to.equal(1_795_460_000_000_000);
    expect(parseSystemdVersion('systemd 252 (252.38-1~deb12u1)\n+PAM +AUDIT')).to.equal(252);
    expect(parseSystemdVersion('255.4-1ubuntu8')).to.equal(255);
  });

  it('explains why a unit is not running', () => {
    expect(explainState(state({}))).to.equal(undefined);
    expect(explainState(state({ activeState: 'inactive', subState: 'dead' }))).to.equal(undefined);
    expect(
      explainState(state({ activeState: 'failed', result: 'exit-code', execMainStatus: 78 })),
    ).to.match(/EX_CONFIG/);
    expect(explainState(state({ activeState: 'failed', result: 'watchdog' }))).to.match(/watchdog/);
    expect(
      explainState(
        state({
          activeState: 'activating',
          subState: 'auto-restart',
          result: 'signal',
          execMainStatus: 9,
        }),
      ),
    ).to.match(/signal 9/);
    expect(explainState(state({ activeState: 'failed', result: 'start-limit-hit' }))).to.match(
      /codex-sm start/,
    );
  });

  it('warns about linger unless it is on', () => {
    expect(lingerWarning(true, 'a')).to.equal(undefined);
    expect(lingerWarning(false, 'a')).to.match(/linger is off.*enable-linger/);
    expect(lingerWarning(undefined, 'a')).to.match(/could not tell/);
  });

  it('finds accounts in passwd text', () => {
    expect(
      lookupAccount('bob', 'root:x:0:0::/root:/bin/sh\nbob:x:1001:1002::/home/bob:/bin/bash\n'),
    ).to.deep.equal({ uid: 1001, gid: 1002, home: '/home/bob' });
    expect(lookupAccount('eve', 'bob:x:1001:1002::/home/bob:/bin/bash\n')).to.equal(undefined);
  });

  it('--system resolves the account the unit runs as (--run-as, else $SUDO_USER), never root', () => {
    const passwd = () => 'root:x:0:0::/root:/bin/sh\nbob:x:1001:1002::/home/bob:/bin/bash\n';
    expect(serviceAccount({}, { HOME: '/root' }, passwd)).to.deep.equal({
      scope: 'user',
      env: { HOME: '/root' },
    });
    const bob = serviceAccount({ system: true }, { SUDO_USER: 'bob', PATH: '/bin' }, passwd);
    expect(bob).to.deep.include({ scope: 'system', user: 'bob' });
    expect(bob.env).to.deep.equal({ PATH: '/bin', HOME: '/home/bob', USER: 'bob', LOGNAME: 'bob' });
    expect(() => serviceAccount({ system: true }, { SUDO_USER: 'root' }, passwd)).to.throw(
      /--system needs the account/,
    );
    expect(() => serviceAccount({ system: true, runAs: 'eve' }, {}, passwd)).to.throw(
      /no such user/,
    );
  });
});

describe('user manager preflight', () => {
  const dir = (uid: number) => ({ uid }) as Stats;
  it('uses /run/user/UID when XDG_RUNTIME_DIR is missing but the directory exists (sudo/su shells)', () => {
    expect(
      userRuntimeDir({}, 1000, 'alice', (p) => (p === '/run/user/1000' ? dir(1000) : undefined)),
    ).to.equal('/run/user/1000');
  });
  it('explains the sudo/su case instead of systemd\'s "XDG_RUNTIME_DIR not defined"', () => {
    expect(() => userRuntimeDir({}, 1000, 'alice', () => undefined)).to.throw(
      /XDG_RUNTIME_DIR is not defined/,
    );
    try {
      userRuntimeDir({}, 1000, 'alice', () => undefined);
    } catch (e) {
      expect((e as { hint: string }).hint)
        .to.match(/enable-linger alice/)
        .and.match(/machinectl shell/);
    }
  });
  it('refuses a runtime dir that belongs to someone else (environment kept across sudo)', () => {
    expect(() =>
      userRuntimeDir({ XDG_RUNTIME_DIR: '/run/user/0' }, 1000, 'alice', () => dir(0)),
    ).to.throw(/belongs to uid 0/);
  });
});

describe('linger and the systemctl fallback (recorded commands)', () => {
  function recorder(answers: Record<string, Partial<RunResult>>) {
    const calls: string[] = [];
    const runner: CommandRunner = {
      async run(cmd, args) {
        const line = [cmd, ...args].join(' ');
        calls.push(line);
        const a = Object.entries(answers).find(([k]) => line.startsWith(k))?.[1] ?? {};
        return { code: 0, signal: null, stdout: '', stderr: '', ...a };
      },
    };
    return { runner, calls };
  }

  it('enable-linger falls back to sudo -n, and says what to run when both are refused', async () => {
    const ok = recorder({ 'loginctl enable-linger': { code: 1, stderr: 'Access denied' } });
    expect(await enableLinger(ok.runner, {}, 'alice', [])).to.equal(true);
    expect(ok.calls).to.deep.equal([
      'loginctl enable-linger alice',
      'sudo -n loginctl enable-linger alice',
    ]);
    const warnings: string[] = [];
    const no = recorder({
      'loginctl enable-linger': { code: 1 },
      sudo: { code: 1, stderr: 'sudo: a password is required' },
    });
    expect(await enableLinger(no.runner, {}, 'alice', warnings)).to.equal(undefined);
    expect(warnings[0]).to.match(/password is required.*sudo loginctl enable-linger alice/);
  });

  it('systemctl fallback: user scope, blocking jobs, show parsing', async () => {
    const rec = recorder({
      'systemctl --user show': { stdout: 'ActiveState=active\nMainPID=7\nNRestarts=2\n' },
      'systemctl --user start': { code: 1 },
    });
    const api = new SystemctlSystemd(rec.runner, 'user', {});
    expect(await api.start('codex-sm.service', 1000)).to.equal('failed');
    expect(await api.restart('codex-sm.service', 1000)).to.equal('done');
    const st = await api.state('codex-sm.service');
    expect(st).to.include({ activeState: 'active', mainPid: 7, nRestarts: 2 });
    expect(rec.calls[0]).to.equal('systemctl --user start codex-sm.service');
    expect(rec.calls[2]).to.match(
      /^systemctl --user show --timestamp=unix codex-sm\.service -p LoadState -p ActiveState/,
    );
    const sys = recorder({});
    await new SystemctlSystemd(sys.runner, 'system', {}).reload();
    expect(sys.calls).to.deep.equal(['systemctl daemon-reload']);
  });
});
