/**
 * The LaunchAgent plists (templates in units/launchd), the service's and the updater's: golden
 * files compared byte for byte (regenerate with UPDATE_GOLDEN=1), each read by a real plist
 * parser (Debian's libplist `plistutil`) and by `plist.parse`, both of which must find exactly
 * the values written out below; plus the checks that keep a bad plan from ever reaching launchd.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { build, parse } from 'plist';
import { CodexSmError } from '../../src/errors.js';
import { launchdBackend } from '../../src/platform/launchd/backend.js';
import {
  exitTimeOutFor,
  plistObject,
  renderPlist,
  renderUpdaterPlist,
  updaterLabel,
  xmlText,
} from '../../src/platform/launchd/render.js';
import type { ServicePlan } from '../../src/platform/types.js';
import { execRunner } from '../../src/runner.js';
import { basePlan } from '../helpers/plans.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const goldenDir = path.join(repo, 'test', 'golden', 'launchd');

/** What launchd must read from the service's plist, written out independently of the template. */
function expectedPlist(plan: ServicePlan): Record<string, unknown> {
  const logDir = plan.logDir;
  const out = `${logDir}/${plan.name}.out.log`;
  const err = `${logDir}/${plan.name}.err.log`;
  return {
    Label: plan.label,
    ProgramArguments: [plan.nodePath, plan.cliScript, ...plan.args],
    EnvironmentVariables: { ...plan.environment, CODEX_SM_LOG_FILES: `${out}:${err}` },
    WorkingDirectory: plan.workingDirectory,
    RunAtLoad: true,
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: Math.max(1, Math.ceil(plan.restartSec)),
    ExitTimeOut: Math.ceil(plan.stopTimeoutSec) + 5,
    ProcessType: 'Standard',
    LimitLoadToSessionType: ['Aqua', 'Background'],
    StandardOutPath: out,
    StandardErrorPath: err,
  };
}

/** What launchd must read from the updater's plist. */
function expectedUpdaterPlist(plan: ServicePlan): Record<string, unknown> {
  return {
    Label: updaterLabel(plan),
    ProgramArguments: [plan.nodePath, plan.cliScript, 'update', '--json'],
    EnvironmentVariables: plan.environment,
    WorkingDirectory: plan.workingDirectory,
    RunAtLoad: false,
    StartInterval: 3600,
    ProcessType: 'Background',
    LimitLoadToSessionType: ['Aqua', 'Background'],
    StandardOutPath: `${plan.logDir}/${plan.name}-update.out.log`,
    StandardErrorPath: `${plan.logDir}/${plan.name}-update.err.log`,
  };
}

const plans: { name: string; plan: ServicePlan }[] = [
  { name: 'default', plan: basePlan() },
  {
    // nvm node, a home with a space and XML-special characters, extra serve flags, a fractional stop budget.
    name: 'nvm-special-chars',
    plan: basePlan({
      label: 'dev.codex-sm.work',
      name: 'codex-sm-work',
      nodePath: '/Users/Ann & Bo/.nvm/versions/node/v20.18.0/bin/node',
      cliScript:
        '/Users/Ann & Bo/.nvm/versions/node/v20.18.0/lib/node_modules/codex-sm/dist/src/cli/main.js',
      args: ['serve', '--port', '3200', '--host', '127.0.0.1'],
      workingDirectory: '/Users/Ann & Bo',
      environment: {
        PATH: '/Users/Ann & Bo/.nvm/versions/node/v20.18.0/bin:/usr/bin:/bin',
        HOME: '/Users/Ann & Bo',
        CODEX_HOME: '/Users/Ann & Bo/<codex>',
        CODEX_SM_TOKEN_FILE: '/Users/Ann & Bo/.config/codex-sm/token',
      },
      logDir: '/Users/Ann & Bo/Library/Logs/codex-sm',
      stopTimeoutSec: 12.5,
      restartSec: 0.5,
    }),
  },
];

/** Each golden case: the service's plist, and the updater's as updater-<name>. */
const cases: {
  name: string;
  plan: ServicePlan;
  render: (plan: ServicePlan) => string;
  expected: (plan: ServicePlan) => Record<string, unknown>;
}[] = [
  ...plans.map((c) => ({ ...c, render: renderPlist, expected: expectedPlist })),
  ...plans.map((c) => ({
    ...c,
    name: `updater-${c.name}`,
    render: renderUpdaterPlist,
    expected: expectedUpdaterPlist,
  })),
];

function plistutilAvailable(): boolean {
  return spawnSync('plistutil', ['-h'], { stdio: 'ignore' }).error === undefined;
}

/**
 * XML → binary with plistutil. libplist 2.2 (Debian 12) prints "ERROR: Failed to convert input
 * file." yet exits 0, so success means: exit 0, no ERROR, and a file that starts with bplist00.
 */
function plistutilToBinary(input: string, output: string): { ok: boolean; stderr: string } {
  fs.rmSync(output, { force: true });
  const r = spawnSync('plistutil', ['-i', input, '-o', output, '-f', 'bin'], { encoding: 'utf8' });
  const magic = fs.existsSync(output)
    ? fs.readFileSync(output).subarray(0, 8).toString('latin1')
    : '';
  return {
    ok: r.status === 0 && !/error/i.test(r.stderr) && magic === 'bplist00',
    stderr: r.stderr,
  };
}

describe('launchd plist rendering (golden files)', () => {
  for (const { name, plan, render, expected } of cases) {
    const golden = path.join(goldenDir, `${name}.plist`);

    it(`${name}: matches test/golden/launchd/${name}.plist byte for byte`, () => {
      const rendered = render(plan);
      if (process.env.UPDATE_GOLDEN === '1') {
        fs.mkdirSync(goldenDir, { recursive: true });
        fs.writeFileSync(golden, rendered);
      }
      expect(fs.existsSync(golden), `${golden} missing: run with UPDATE_GOLDEN=1 once`).to.equal(
        true,
      );
      expect(rendered).to.equal(fs.readFileSync(golden, 'utf8'));
    });

    it(`${name}: is a valid XML plist for libplist's plistutil (XML → binary → XML)`, function () {
      // Fails loudly instead of skipping: a missing validator must not look like a passing test.
      expect(plistutilAvailable(), 'plistutil not found: apt-get install libplist-utils').to.equal(
        true,
      );
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'plist-'));
      try {
        const bin = path.join(tmp, 'out.bplist');
        const xml = path.join(tmp, 'back.plist');
        const converted = plistutilToBinary(golden, bin);
        expect(converted.ok, `plistutil: ${converted.stderr}`).to.equal(true);
        execFileSync('plistutil', ['-i', bin, '-o', xml, '-f', 'xml']);
        // libplist's own reading of the file must carry every value, typed as we meant.
        expect(parse(fs.readFileSync(xml, 'utf8'))).to.deep.equal(expected(plan));
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });

    it(`${name}: plist.parse reads the same values`, () => {
      expect(parse(render(plan))).to.deep.equal(expected(plan));
    });
  }

  it('plistObject is the plist as launchd reads it', () => {
    expect(plistObject(basePlan())).to.deep.equal(expectedPlist(basePlan()));
  });

  it("the updater: its own label and log files, next to the service's", () => {
    expect(updaterLabel(basePlan())).to.equal('dev.codex-sm.update');
    expect(updaterLabel(basePlan({ label: 'dev.codex-sm.work' }))).to.equal(
      'dev.codex-sm.work.update',
    );
    const text = renderUpdaterPlist(basePlan());
    expect(text).to.include('<key>StartInterval</key>\n\t\t<integer>3600</integer>');
    expect(text).to.include('<key>RunAtLoad</key>\n\t\t<false/>');
    expect(text).not.to.include('KeepAlive');
    expect(() =>
      renderUpdaterPlist(basePlan({ environment: { CODEX_SM_TOKEN: 'secret' } })),
    ).to.throw(CodexSmError, /looks like a secret/);
  });

  it('XML text is escaped exactly as the plist package writes it, and what XML cannot hold is refused', () => {
    for (const value of ['a & b', '<codex>', ']]>', 'cr\rlf\n', 'tab\t', `'"`, 'ünï 🙂', '&amp;']) {
      const built = build({ v: value }, { pretty: true, indent: '\t', newline: '\n' });
      expect(built, JSON.stringify(value)).to.include(`<string>${xmlText(value)}</string>`);
      expect(parse(`<plist><string>${xmlText(value)}</string></plist>`)).to.equal(value);
    }
    for (const bad of ['bell\u0007', 'nul\u0000', 'lone \ud800 surrogate', '\uffff'])
      expect(() => xmlText(bad), JSON.stringify(bad)).to.throw(CodexSmError, /cannot hold/);
  });

  it('plistutil rejects a broken plist (so the validation above means something)', () => {
    expect(plistutilAvailable(), 'plistutil not found: apt-get install libplist-utils').to.equal(
      true,
    );
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'plist-'));
    try {
      const bad = path.join(tmp, 'bad.plist');
      for (const broken of [
        renderPlist(basePlan()).replace('\t</dict>\n</plist>', '</plist>'), // unclosed dict
        renderPlist(basePlan()).replace('<string>serve</string>', '<string>serve</strin>'),
        'not a plist',
      ]) {
        fs.writeFileSync(bad, broken);
        expect(plistutilToBinary(bad, path.join(tmp, 'x.bplist')).ok, broken.slice(0, 40)).to.equal(
          false,
        );
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('renders the keys the issue asks for, with integers as <integer>', () => {
    const text = renderPlist(basePlan());
    const obj = parse(text) as Record<string, unknown>;
    expect(obj.ProgramArguments).to.deep.equal([
      '/opt/homebrew/Cellar/node/22.11.0/bin/node',
      '/opt/homebrew/lib/node_modules/codex-sm/dist/src/cli/main.js',
      'serve',
    ]);
    expect(obj.RunAtLoad).to.equal(true);
    expect(obj.KeepAlive).to.deep.equal({ SuccessfulExit: false });
    expect(obj.ProcessType).to.equal('Standard');
    expect(obj.LimitLoadToSessionType).to.deep.equal(['Aqua', 'Background']);
    expect(obj.StandardOutPath).to.equal('/Users/alice/Library/Logs/codex-sm/codex-sm.out.log');
    expect(obj.StandardErrorPath).to.equal('/Users/alice/Library/Logs/codex-sm/codex-sm.err.log');
    expect(text).to.include('<key>ExitTimeOut</key>\n\t\t<integer>35</integer>');
    expect(text).to.include('<key>ThrottleInterval</key>\n\t\t<integer>5</integer>');
    expect(text).to.not.include('<real>');
    // A fractional stop budget still renders an integer that covers it.
    expect(exitTimeOutFor(basePlan({ stopTimeoutSec: 12.5 }))).to.equal(18);
    expect(renderPlist(basePlan({ stopTimeoutSec: 12.5, restartSec: 0.5 }))).to.not.include(
      '<real>',
    );
  });

  it('never renders a secret: the token file path may appear, a token-like variable may not', () => {
    const plan = basePlan({
      environment: { ...basePlan().environment, CODEX_SM_TOKEN: 'abcdefghijklmnopqrstuvwxyz' },
    });
    expect(() => renderPlist(plan)).to.throw(CodexSmError, /CODEX_SM_TOKEN looks like a secret/);
    expect(renderPlist(basePlan({ environment: { OPENAI_BASE_URL: 'http://x' } }))).to.include(
      'OPENAI_BASE_URL',
    );
    expect(() => renderPlist(basePlan({ environment: { OPENAI_API_KEY: 'sk-1' } }))).to.throw(
      CodexSmError,
    );
  });

  it('refuses relative program paths and bad labels (launchd expands neither ~ nor $PATH)', () => {
    for (const bad of [
      { nodePath: 'node' },
      { cliScript: '~/codex-sm/main.js' },
      { logDir: 'Library/Logs' },
    ]) {
      try {
        renderPlist(basePlan(bad));
        expect.fail('rendered a plan with a relative path');
      } catch (e) {
        expect(e).to.be.instanceOf(CodexSmError);
        expect((e as CodexSmError).code).to.equal('launchd_plan_invalid');
        expect((e as CodexSmError).exitCode).to.equal(78);
      }
    }
    expect(() => renderPlist(basePlan({ label: 'codex-sm' }))).to.throw(
      CodexSmError,
      /reverse-DNS/,
    );
    expect(() => renderPlist(basePlan({ label: 'gui/501/x.y' }))).to.throw(CodexSmError);
  });

  it('preview: the plist (0644) and the exact launchctl commands, without side effects', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'home-'));
    try {
      const calls: string[] = [];
      const recorder = {
        run: async (cmd: string, args: readonly string[]) => (
          calls.push([cmd, ...args].join(' ')),
          execRunner.run('true', [])
        ),
      };
      const backend = launchdBackend({
        runner: recorder,
        uid: 501,
        home,
        label: 'dev.codex-sm.service',
        stateDir: path.join(home, '.local', 'state', 'codex-sm'),
      });
      const preview = backend.render(basePlan());
      const plistPath = path.join(home, 'Library', 'LaunchAgents', 'dev.codex-sm.service.plist');
      expect(preview.files).to.deep.equal([
        { path: plistPath, mode: 0o644, content: renderPlist(basePlan()) },
      ]);
      expect(preview.commands).to.deep.equal([
        ['launchctl', 'bootout', 'gui/501/dev.codex-sm.service'],
        ['launchctl', 'enable', 'gui/501/dev.codex-sm.service'],
        ['launchctl', 'bootstrap', 'gui/501', plistPath],
      ]);
      expect(calls).to.deep.equal([]);
      expect(fs.readdirSync(home)).to.deep.equal([]);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
