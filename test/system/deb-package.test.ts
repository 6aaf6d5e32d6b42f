/**
 * The Debian package (packaging/deb/build.sh, docs/install.md "Debian package"): built for real
 * with dpkg-deb, checked by lintian (no overrides), listed by `dpkg-deb --contents`, its units
 * checked by `systemd-analyze verify`, then installed into a throwaway root with `dpkg --root`
 * and run from there, and purged again with a user's files left in that root.
 *
 * Building runs `npm ci --omit=dev`, which compiles better-sqlite3 (minutes on two cores): the
 * package is built once per test run (./deb-build.ts, shared with deb-nspawn.test.ts), or taken
 * from CODEX_SM_DEB (an earlier `make package-deb`). Missing tools (dpkg-deb, lintian, systemd-analyze) or no root →
 * the suite says loudly that it did not run, and why.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { packageInfo } from '../../src/package-info.js';
import { execRunner, type RunResult } from '../../src/runner.js';
import { codexSmDeb } from './deb-build.js';

const VERSION = packageInfo().version;

/** Every file the brief names, as `dpkg-deb --contents` prints them. */
const EXPECTED_FILES = [
  './usr/bin/codex-sm',
  './usr/lib/codex-sm/package.json',
  './usr/lib/codex-sm/dist/src/cli/main.js',
  './usr/lib/codex-sm/dist/src/config/config-validator.generated.cjs',
  './usr/lib/codex-sm/dist/ui/index.html',
  './usr/lib/codex-sm/units/systemd/codex-sm.service',
  './usr/lib/codex-sm/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
  './usr/lib/systemd/user/codex-sm.service',
  './usr/lib/systemd/user/codex-sm-update.service',
  './usr/lib/systemd/user/codex-sm-update.timer',
  './usr/share/man/man1/codex-sm.1.gz',
  './usr/share/bash-completion/completions/codex-sm',
  './usr/share/zsh/vendor-completions/_codex-sm',
  './usr/share/fish/vendor_completions.d/codex-sm.fish',
  './usr/share/doc/codex-sm/copyright',
  './usr/share/doc/codex-sm/changelog.gz',
];

function ok(r: RunResult, what: string): string {
  expect(r.spawnError, what).to.equal(undefined);
  expect(r.code, `${what}\n${r.stdout}\n${r.stderr}`).to.equal(0);
  return r.stdout;
}

describe('Debian package (dpkg-deb, lintian, systemd-analyze, dpkg --root)', function () {
  this.timeout(15 * 60_000);
  let deb: string;
  let tmp: string;

  before(async function () {
    const missing: string[] = [];
    for (const tool of ['dpkg-deb', 'lintian', 'systemd-analyze', 'dpkg']) {
      if ((await execRunner.run(tool, ['--version'])).spawnError) missing.push(tool);
    }
    const why =
      process.getuid?.() !== 0
        ? 'not root (dpkg --root needs it)'
        : missing.length > 0
          ? `missing ${missing.join(', ')} (apt-get install dpkg-dev lintian systemd)`
          : undefined;
    if (why) {
      console.log(`\n    !!! the Debian package tests DID NOT RUN: ${why}\n`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'codex-sm-deb-test-'));
    deb = await codexSmDeb(); // built once per run, shared with deb-nspawn.test.ts
    expect(path.basename(deb)).to.match(new RegExp(`^codex-sm_${VERSION}_[a-z0-9]+\\.deb$`));
  });

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('lintian passes with no errors or warnings, and the package carries no overrides', async () => {
    const r = await execRunner.run('lintian', ['--fail-on', 'error,warning', deb], {
      timeoutMs: 5 * 60_000,
    });
    const tags = r.stdout.split('\n').filter((l) => /^[EW]: /.test(l));
    expect(tags, r.stdout + r.stderr).to.deep.equal([]);
    expect(r.code, r.stderr).to.equal(0);
    const contents = ok(await execRunner.run('dpkg-deb', ['--contents', deb]), 'contents');
    expect(contents).to.not.contain('usr/share/lintian/overrides');
  });

  it('holds every file in its standard place; /usr/bin/codex-sm points at the packaged CLI', async () => {
    const contents = ok(
      await execRunner.run('dpkg-deb', ['--contents', deb]),
      'dpkg-deb --contents',
    );
    const paths = contents.split('\n').map((l) => l.split(/\s+/)[5] ?? '');
    for (const f of EXPECTED_FILES) expect(paths, f).to.include(f);
    expect(contents).to.match(
      /\.\/usr\/bin\/codex-sm -> \.\.\/lib\/codex-sm\/dist\/src\/cli\/main\.js/,
    );
    // Build-only files stay out: compiler inputs, node-gyp, dev dependencies.
    for (const absent of [
      'node_modules/node-gyp/',
      'better-sqlite3/deps/',
      'node_modules/typescript/',
      'node_modules/mocha/',
    ])
      expect(contents, absent).to.not.contain(absent);
  });

  it('carries exactly the files of the npm package (package.json `files`, one list) besides node_modules', async () => {
    const packed = ok(
      await execRunner.run('npm', ['pack', '--dry-run', '--json', '--loglevel=error'], {
        cwd: packageInfo().root,
      }),
      'npm pack --dry-run',
    );
    const [npmPackage] = JSON.parse(packed) as { files: { path: string }[] }[];
    const npmFiles = npmPackage!.files.map((f) => f.path).filter((f) => f !== 'README.md');
    const contents = ok(await execRunner.run('dpkg-deb', ['--contents', deb]), 'contents');
    const app = contents
      .split('\n')
      .filter((l) => l.startsWith('-'))
      .map((l) => l.split(/\s+/)[5] ?? '')
      .filter((p) => p.startsWith('./usr/lib/codex-sm/') && !p.includes('/node_modules/'))
      .map((p) => p.slice('./usr/lib/codex-sm/'.length));
    expect(app.sort()).to.deep.equal(npmFiles.sort());
  });

  it("depends on the building node's major (its native modules' ABI) and has no maintainer scripts (nothing runs on install or removal)", async () => {
    const control = ok(await execRunner.run('dpkg-deb', ['--field', deb, 'Depends']), 'Depends');
    const major = Number(process.versions.node.split('.')[0]);
    expect(control).to.include(`nodejs (>= ${major}), nodejs (<< ${major + 1})`);
    const ctrl = ok(await execRunner.run('dpkg-deb', ['--info', deb]), 'dpkg-deb --info');
    for (const script of ['preinst', 'postinst', 'prerm', 'postrm', 'config'])
      expect(ctrl, script).to.not.match(new RegExp(`\\s${script}\\s`));
  });

  it('its user units pass systemd-analyze verify; ExecStart is node running the packaged CLI', async () => {
    const x = path.join(tmp, 'extract');
    ok(await execRunner.run('dpkg-deb', ['-x', deb, x]), 'dpkg-deb -x');
    const dir = path.join(x, 'usr/lib/systemd/user');
    const unit = fs.readFileSync(path.join(dir, 'codex-sm.service'), 'utf8');
    expect(unit).to.contain(
      '\nExecStart=/usr/bin/node /usr/lib/codex-sm/dist/src/cli/main.js serve\n',
    );
    expect(unit).to.contain('\nEnvironmentFile=-%h/.config/codex-sm/secrets.env\n');
    expect(unit).to.contain('\nWantedBy=default.target\n');
    expect(unit).to.not.contain('placeholder');
    const runtime = fs.mkdtempSync(path.join(tmp, 'xdg-'));
    const files = ['codex-sm.service', 'codex-sm-update.service', 'codex-sm-update.timer'].map(
      (f) => path.join(dir, f),
    );
    const r = await execRunner.run('systemd-analyze', ['--user', 'verify', ...files], {
      env: { ...process.env, XDG_RUNTIME_DIR: runtime },
      cwd: dir,
    });
    expect(r.stderr.trim(), 'systemd-analyze --user verify').to.equal('');
    expect(r.code).to.equal(0);
  });

  it('installs with dpkg --root, runs from there (native module loads), and a purge leaves user files', async () => {
    const root = path.join(tmp, 'root');
    for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'home/alice/.config/codex-sm'])
      fs.mkdirSync(path.join(root, d), { recursive: true });
    fs.writeFileSync(path.join(root, 'var/lib/dpkg/status'), '');
    const token = path.join(root, 'home/alice/.config/codex-sm/token');
    fs.writeFileSync(token, 'user-data\n', { mode: 0o600 });
    // nodejs is the host's, not a package in this throwaway root.
    ok(
      await execRunner.run('dpkg', ['--root', root, '--force-depends', '--install', deb]),
      'dpkg --root --install',
    );
    const cli = path.join(root, 'usr/bin/codex-sm');
    const version = JSON.parse(
      ok(await execRunner.run(cli, ['version', '--json']), 'codex-sm version --json'),
    );
    expect(JSON.stringify(version)).to.contain(VERSION);
    // The packaged app's own loader opens a database with the SQLite module it finds for this
    // node: doctor's sqlite check (CI runs the system tier on Node 20, so that is 12; on a Node
    // >= 22 build it may be 13 or the fallback to 12). Other checks (codex) may fail here.
    const doctor = await execRunner.run(cli, ['doctor', '--json']);
    expect(doctor.stdout, `doctor --json printed nothing; stderr: ${doctor.stderr}`).to.not.equal(
      '',
    );
    const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; status: string }[] })
      .checks;
    expect(
      checks.find((c) => c.name === 'sqlite'),
      doctor.stdout,
    ).to.include({ status: 'ok' });

    ok(
      await execRunner.run('dpkg', ['--root', root, '--purge', 'codex-sm']),
      'dpkg --root --purge',
    );
    expect(fs.existsSync(path.join(root, 'usr/lib/codex-sm'))).to.equal(false);
    expect(fs.existsSync(path.join(root, 'usr/lib/systemd/user/codex-sm.service'))).to.equal(false);
    expect(fs.readFileSync(token, 'utf8')).to.equal('user-data\n');
  });
});
