/**
 * The npm package as a user gets it: `npm pack` of this build, `npm install -g` of the tarball into
 * a throwaway prefix (better-sqlite3 and unix-dgram compile from source: no prebuilt binary can be
 * fetched here), then the installed CLI runs from the prefix's bin. Then an upgrade in place
 * (`npm install -g` of a newer version, what `npm update -g` does) must leave the path that a unit
 * records valid. Slow (two native builds, minutes each); needs npm and the registry, not root.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, startService, tempDir, waitReady } from '../../harness/service.js';

const run = promisify(execFile);
const INSTALL_TIMEOUT_MS = 12 * 60_000;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<Ran> {
  try {
    const r = await run(cmd, args, { env, cwd, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

function npmAvailable(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(':');
  return dirs.some((d) => fs.existsSync(path.join(d, 'npm'))) ? undefined : 'npm is not on PATH';
}

/** The ExecStart line of the user unit that `install-service --dry-run --json` would write. */
function execStartOf(dryRun: string): string {
  const out = JSON.parse(dryRun) as { files: { path: string; content: string }[] };
  const unit = out.files.find((f) => f.path.endsWith('/codex-sm.service'));
  if (!unit) throw new Error(`no codex-sm.service in the dry run: ${dryRun.slice(0, 500)}`);
  const line = unit.content.split('\n').find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error('no ExecStart= in the unit');
  return line;
}

/** The same tarball with another version in its package.json: the "next release" for the upgrade. */
async function withVersion(tgz: string, version: string, dir: string): Promise<string> {
  const work = path.join(dir, `repack-${version}`);
  fs.mkdirSync(work);
  await run('tar', ['-xzf', tgz, '-C', work]);
  const manifest = path.join(work, 'package', 'package.json');
  const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(manifest, JSON.stringify({ ...pkg, version }, null, 2));
  const out = path.join(dir, `codex-sm-${version}.tgz`);
  await run('tar', ['-czf', out, '-C', work, 'package']);
  return out;
}

describe('npm package: pack, npm install -g into a prefix, run from its bin (real npm, real native builds)', function () {
  this.timeout(INSTALL_TIMEOUT_MS);
  const dir = tempDir('codex-sm-npm-');
  const prefix = path.join(dir, 'prefix');
  const home = path.join(dir, 'home');
  const bin = path.join(prefix, 'bin', 'codex-sm');
  const installedRoot = path.join(prefix, 'lib', 'node_modules', 'codex-sm');
  const installedCli = path.join(installedRoot, 'dist', 'src', 'cli', 'main.js');
  const version = (
    JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const binPath = `${path.join(prefix, 'bin')}:${path.join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`;
  // npm keeps the caller's environment: its user config (~/.npmrc: registry, nodedir for the
  // native builds, CA certificates) is what makes an install work where only the registry is reachable.
  const npmEnv: NodeJS.ProcessEnv = { ...process.env, PATH: binPath, npm_config_fund: 'false' };
  // codex-sm runs as a user with Codex installed globally (codex on PATH), in a fresh HOME.
  const env: NodeJS.ProcessEnv = {
    PATH: binPath,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
  };
  let tgz = '';

  before(async function () {
    const why = npmAvailable();
    if (why) {
      if (process.env.CI === 'true')
        throw new Error(`CI=true but the npm package test cannot run: ${why}`);
      console.log(`\n    !!! NPM PACKAGE TESTS DID NOT RUN: ${why}.\n`);
      this.skip();
    }
    fs.mkdirSync(home, { recursive: true });
    const packed = await sh(
      'npm',
      ['pack', '--json', '--pack-destination', dir],
      npmEnv,
      REPO_ROOT,
    );
    expect(packed.code, packed.stderr).to.equal(0);
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tgz = path.join(dir, info!.filename);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('carries only what runs: the CLI bundle (with its maps), dist/src, dist/service, dist/ui, units, the generated validator; no other source maps', async () => {
    const listed = await sh('tar', ['-tzf', tgz], env);
    const files = listed.stdout
      .trim()
      .split('\n')
      .map((f) => f.replace(/^package\//, ''));
    const outside = files.filter(
      (f) =>
        !/^(dist\/bundle\/|dist\/src\/|dist\/service\/|dist\/ui\/|units\/|package\.json$|README\.md$|LICENSE)/.test(
          f,
        ),
    );
    expect(outside, 'files outside the runtime set').to.deep.equal([]);
    expect(files).to.include('dist/src/config/config-validator.generated.cjs');
    expect(files).to.include('dist/src/cli/main.js');
    expect(files).to.include('units/systemd/codex-sm.service');
    expect(files, 'the dashboard shell').to.include('dist/ui/index.html');
    // The bundle's maps name the TypeScript sources in stack traces; nothing else needs one.
    expect(files).to.include('dist/bundle/serve.js');
    expect(files).to.include('dist/bundle/serve.js.map');
    expect(files.filter((f) => f.endsWith('.map') && !f.startsWith('dist/bundle/'))).to.deep.equal(
      [],
    );
    expect(
      files.some((f) => f.startsWith('dist/ui/src/')),
      "the unit tests' ui modules",
    ).to.equal(false);
  });

  it('npm install -g of the tarball succeeds (native modules built from source with node-gyp 12)', async () => {
    const r = await sh('npm', ['install', '-g', tgz, '--prefix', prefix], npmEnv);
    expect(r.code, `npm install -g failed:\n${r.stderr.slice(-4000)}`).to.equal(0);
    const gyp = JSON.parse(
      fs.readFileSync(path.join(installedRoot, 'node_modules', 'node-gyp', 'package.json'), 'utf8'),
    ) as { version: string };
    // node-gyp 7 (usocket's) crashes on Node 20; the one better-sqlite3's build finds must be ours.
    expect(gyp.version).to.match(/^12\./);
    expect(fs.realpathSync(bin)).to.equal(installedCli);
  });

  it('codex-sm version --json runs from the prefix bin', async () => {
    const r = await sh(bin, ['version', '--json'], env);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { version: string; node: { path: string } };
    expect(out.version).to.equal(version);
    expect(out.node.path).to.equal(process.execPath);
  });

  it("codex-sm doctor --json validates the config (generated validator), finds codex and runs this node's SQLite module", async () => {
    const r = await sh(bin, ['doctor', '--json'], env);
    const out = JSON.parse(r.stdout) as { checks: { name: string; status: string }[] };
    const status = Object.fromEntries(out.checks.map((c) => [c.name, c.status]));
    expect(status.config).to.equal('ok');
    expect(status.codex).to.equal('ok');
    expect(status.sqlite).to.equal('ok');
    // better-sqlite3 13 (the optional alias) is installed from Node 22 on and skipped on 20.
    const napi = path.join(installedRoot, 'node_modules', 'better-sqlite3-napi');
    expect(fs.existsSync(napi), 'better-sqlite3-napi installed').to.equal(
      Number(process.versions.node.split('.')[0]) >= 22,
    );
  });

  it('codex-sm serve from the install opens its SQLite store and becomes ready', async () => {
    const svc = await startService({
      wrap: (argv) => [bin, ...argv.slice(2)],
      env: { PATH: env.PATH },
    });
    try {
      await waitReady(svc);
    } finally {
      await svc.stop();
    }
  });

  it('install-service --dry-run records the package path, and that path survives an upgrade in place', async () => {
    const before = await sh(bin, ['install-service', '--dry-run', '--json'], env);
    expect(before.code, before.stderr).to.equal(0);
    const execStart = execStartOf(before.stdout);
    expect(execStart).to.contain(` ${installedCli} serve `);
    expect(execStart.startsWith(`ExecStart=${process.execPath} `)).to.equal(true);

    const next = await withVersion(tgz, `${version}-next.1`, dir);
    const up = await sh('npm', ['install', '-g', next, '--prefix', prefix], npmEnv);
    expect(up.code, `upgrade failed:\n${up.stderr.slice(-4000)}`).to.equal(0);

    // The unit written before the upgrade names a script that is still there, now the new version.
    const ran = await sh(process.execPath, [installedCli, 'version', '--json'], env);
    expect((JSON.parse(ran.stdout) as { version: string }).version).to.equal(`${version}-next.1`);
    const after = await sh(bin, ['install-service', '--dry-run', '--json'], env);
    expect(execStartOf(after.stdout)).to.equal(execStart);
  });
});
