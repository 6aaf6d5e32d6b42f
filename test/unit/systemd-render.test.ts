/**
 * The rendered systemd units (templates in units/systemd): byte-for-byte golden files for every
 * variant and for the updater's service + timer (regenerate with UPDATE_GOLDEN=1 after an intended
 * change and review the diff), each one clean under the real `systemd-analyze verify`, and the
 * system variant scored by `systemd-analyze security`.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig } from '../../src/config/load.js';
import { packageInfo } from '../../src/package-info.js';
import { execRunner } from '../../src/runner.js';
import { buildServicePlan, type PlanOptions } from '../../src/platform/plan.js';
import { parseSystemdVersion } from '../../src/platform/systemd/api.js';
import { CodexSmError } from '../../src/errors.js';
import {
  renderUnits,
  renderUpdaterUnits,
  type RenderedUnit,
} from '../../src/platform/systemd/render.js';
import type { ServicePlan } from '../../src/platform/types.js';

const GOLDEN = path.join(packageInfo().root, 'test', 'golden', 'systemd');
/** A directory whose name needs every kind of quoting (space, %, $, quotes, backslash). */
const NASTY_DIR = '/tmp/codex-sm golden/100% $HOME \'q\' "dq" back\\slash';
/** Executables may not contain quotes or backslashes at all (systemd refuses them), but may have the rest. */
const EXE_DIR = '/tmp/codex-sm golden/100% $HOME';

function plan(
  variant: string,
  extra: Partial<PlanOptions> = {},
  env: Record<string, string> = {},
): ServicePlan {
  const e = { HOME: '/home/alice', PATH: '/usr/local/bin:/usr/bin:/bin:./relative', ...env };
  const { config } = resolveConfig({ env: e, configFile: undefined });
  return buildServicePlan(config, {
    backend: 'systemd',
    env: e,
    codexPath: '/home/alice/.codex/packages/standalone/current/codex',
    codexVersion: '0.169.0',
    systemdVersion: 252,
    nodePath: '/usr/bin/node',
    cliScript: '/opt/codex-sm/dist/src/cli/main.js',
    ...extra,
  });
}

const VARIANTS: Record<string, () => ServicePlan> = {
  'user-v252': () => plan('user'),
  'user-v253-notify-reload': () => plan('user', { systemdVersion: 253 }),
  'user-socket-activation': () => plan('socket', { socketActivation: true }),
  system: () => plan('system', { scope: 'system', user: 'alice' }),
  'user-quoting': () =>
    plan(
      'quoting',
      {
        nodePath: `${EXE_DIR}/node`,
        cliScript: `${NASTY_DIR}/main.js`,
        codexPath: `${NASTY_DIR}/codex`,
        configFile: `${NASTY_DIR}/config.json`,
      },
      {
        HOME: '/home/alice',
        PATH: `${NASTY_DIR}:/usr/bin:/bin`,
        CODEX_HOME: `${NASTY_DIR}/codex home`,
      },
    ),
};

/** The updater (user scope only): the plain plan, and one whose paths need every kind of quoting. */
const UPDATER_VARIANTS = ['user-v252', 'user-quoting'] as const;

/** Every golden case: the service variants and, as updater-<variant>, the updater's units. */
const RENDERED: { variant: string; plan: () => ServicePlan; units: () => RenderedUnit[] }[] = [
  ...Object.entries(VARIANTS).map(([variant, make]) => ({
    variant,
    plan: make,
    units: () => renderUnits(make()),
  })),
  ...UPDATER_VARIANTS.map((v) => ({
    variant: `updater-${v}`,
    plan: VARIANTS[v]!,
    units: () => renderUpdaterUnits(VARIANTS[v]!()),
  })),
];

function goldenName(variant: string, unit: string): string {
  return path.join(GOLDEN, `${variant}.${unit.split('.').pop()}`);
}

describe('systemd unit rendering (golden files)', () => {
  for (const { variant, units } of RENDERED) {
    it(`${variant} matches test/golden/systemd`, () => {
      for (const u of units()) {
        const file = goldenName(variant, u.name);
        if (process.env.UPDATE_GOLDEN) {
          fs.mkdirSync(GOLDEN, { recursive: true });
          fs.writeFileSync(file, u.content);
        }
        expect(u.content, `${file} (UPDATE_GOLDEN=1 to regenerate)`).to.equal(
          fs.readFileSync(file, 'utf8'),
        );
      }
    });
  }

  it('the user unit has what the issue lists, and nothing that breaks node in a user manager', () => {
    const text = renderUnits(VARIANTS['user-v252']!())[0]!.content;
    for (const line of [
      'Type=notify',
      'ExecReload=/bin/kill -s HUP $MAINPID',
      'Restart=on-failure',
      'RestartPreventExitStatus=78',
      'KillMode=mixed',
      'SyslogIdentifier=codex-sm',
      'NoNewPrivileges=yes',
      'WantedBy=default.target',
      'EnvironmentFile=-/home/alice/.config/codex-sm/secrets.env',
      'TimeoutStopSec=15', // stopTimeoutMs 10 s + margin
    ]) {
      expect(text).to.include(`\n${line}\n`);
    }
    expect(text).to.match(
      /\nExecStart=\/usr\/bin\/node \/opt\/codex-sm\/dist\/src\/cli\/main\.js serve /,
    );
    expect(text).not.to.match(
      /MemoryDenyWriteExecute|ProtectSystem|PrivateTmp|multi-user\.target|network-online/,
    );
    const unitSection = text.slice(text.indexOf('[Unit]'), text.indexOf('[Service]'));
    expect(unitSection).to.include('StartLimitBurst=').and.include('StartLimitIntervalSec=');
    expect(text).not.to.include('./relative'); // relative PATH entries are dropped
  });

  it('notify-reload replaces ExecReload from systemd 253 on', () => {
    const text = renderUnits(VARIANTS['user-v253-notify-reload']!())[0]!.content;
    expect(text).to.include('\nType=notify-reload\n');
    expect(text).not.to.include('ExecReload=');
  });

  it("the updater: a oneshot `update --json` with the service's environment but not its secrets, no Restart=, on an hourly persistent timer", () => {
    const p = VARIANTS['user-v252']!();
    const [service, timer] = renderUpdaterUnits(p);
    expect(service!.name).to.equal('codex-sm-update.service');
    expect(timer!.name).to.equal('codex-sm-update.timer');
    const serviceUnit = renderUnits(p)[0]!.content;
    const lines = (text: string, key: string) =>
      text.split('\n').filter((l) => l.startsWith(`${key}=`));
    for (const key of ['Environment', 'WorkingDirectory'])
      expect(lines(service!.content, key), key).to.deep.equal(lines(serviceUnit, key));
    expect(
      lines(service!.content, 'EnvironmentFile'),
      'the installer never sees the secrets',
    ).to.deep.equal([]);
    expect(service!.content).to.include(
      '\nExecStart=/usr/bin/node /opt/codex-sm/dist/src/cli/main.js update --json\n',
    );
    expect(service!.content).to.include('\nType=oneshot\n');
    expect(service!.content).not.to.match(/^Restart/m);
    for (const line of [
      'OnCalendar=hourly',
      'Persistent=true',
      'Unit=codex-sm-update.service',
      'WantedBy=timers.target',
    ])
      expect(timer!.content).to.include(`\n${line}\n`);
    expect(timer!.content).to.match(/\nRandomizedDelaySec=\d+min\n/);
  });

  it('the updater is refused for a system-scope plan (it belongs to the user whose Codex it updates)', () => {
    expect(() => renderUpdaterUnits(VARIANTS.system!())).to.throw(CodexSmError, /user services/);
  });
});

describe('systemd-analyze on the rendered units (real systemd tools)', function () {
  this.timeout(60_000);
  let analyze = true;
  let systemdVersion = 0;
  let tmp: string;
  before(async function () {
    const r = await execRunner.run('systemd-analyze', ['--version']);
    systemdVersion = parseSystemdVersion(r.stdout) ?? 0;
    if (r.spawnError) {
      analyze = false;
      console.log(
        '\n    !!! systemd-analyze is not installed: the verify/security checks below DID NOT RUN (apt-get install systemd)\n',
      );
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'codex-sm-verify-'));
    // The quoting variant's executable lives under EXE_DIR: verify checks that it exists.
    fs.mkdirSync(EXE_DIR, { recursive: true });
    if (!fs.existsSync(path.join(EXE_DIR, 'node')))
      fs.symlinkSync(process.execPath, path.join(EXE_DIR, 'node'));
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync('/tmp/codex-sm golden', { recursive: true, force: true });
  });

  for (const { variant, plan: make, units: render } of RENDERED) {
    it(`${variant}: systemd-analyze verify is clean`, async function () {
      if (!analyze) return;
      const p = make();
      if ((p.systemdVersion ?? 0) > systemdVersion) {
        console.log(
          `\n    !!! ${variant}: this systemd-analyze is v${systemdVersion} and cannot parse a v${p.systemdVersion} unit (Type=notify-reload): NOT verified here\n`,
        );
        this.skip();
      }
      const dir = fs.mkdtempSync(path.join(tmp, `${variant}-`));
      const runtime = fs.mkdtempSync(path.join(tmp, 'xdg-'));
      const units = render();
      for (const u of units) fs.writeFileSync(path.join(dir, u.name), u.content);
      const args = [
        ...(p.scope === 'user' ? ['--user'] : []),
        'verify',
        ...units.map((u) => path.join(dir, u.name)),
      ];
      const r = await execRunner.run('systemd-analyze', args, {
        env: { ...process.env, XDG_RUNTIME_DIR: runtime },
        cwd: dir,
      });
      expect(r.stderr.trim(), `systemd-analyze ${args.join(' ')}`).to.equal('');
      expect(r.code).to.equal(0);
    });
  }

  it('system variant: systemd-analyze security rates the exposure OK (<= 3.0)', async () => {
    if (!analyze) return;
    const dir = fs.mkdtempSync(path.join(tmp, 'security-'));
    const file = path.join(dir, 'codex-sm.service');
    fs.writeFileSync(file, renderUnits(VARIANTS.system!())[0]!.content);
    const r = await execRunner.run('systemd-analyze', ['security', '--offline=true', file], {
      cwd: dir,
    });
    const m = /Overall exposure level for codex-sm\.service: ([\d.]+)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).to.not.equal(null);
    expect(Number(m![1])).to.be.at.most(3.0);
  });
});
