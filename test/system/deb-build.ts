/**
 * The .deb files the Debian package tests install, each made once per test run:
 *  - codex-sm's own (packaging/deb/build.sh, or CODEX_SM_DEB from an earlier `make package-deb`):
 *    building compiles better-sqlite3 for minutes, so every test file shares one build;
 *  - a nodejs >= 20 for a Debian 12 container, whose own nodejs is 18: the host's installed
 *    nodejs package repacked with `dpkg-repack` (nothing downloaded), cached per version in
 *    CACHE_DIR.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageInfo } from '../../src/package-info.js';
import { execRunner } from '../../src/runner.js';

const CACHE_DIR = process.env.DEB_LAB_CACHE ?? '/var/cache/codex-sm-lab/deb';

let codexSm: Promise<string> | undefined;

/** codex-sm_<version>_<arch>.deb: CODEX_SM_DEB, else built now (once per process). */
export function codexSmDeb(): Promise<string> {
  codexSm ??= (async () => {
    if (process.env.CODEX_SM_DEB) return path.resolve(process.env.CODEX_SM_DEB);
    console.log(
      '\n    (CODEX_SM_DEB not set: building the .deb, npm ci compiles better-sqlite3)\n',
    );
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'codex-sm-deb-build-'));
    process.on('exit', () => fs.rmSync(out, { recursive: true, force: true }));
    const r = await execRunner.run(path.join(packageInfo().root, 'packaging/deb/build.sh'), [], {
      // The node whose major the package's Depends names is the one running the tests.
      env: { ...process.env, OUT: out, NODE: process.execPath },
      timeoutMs: 14 * 60_000,
    });
    if (r.code !== 0)
      throw new Error(`packaging/deb/build.sh failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout.trim().split('\n').pop() ?? '';
  })();
  return codexSm;
}

/** The host's nodejs package version, when it is a dpkg package of Node 20 or later. */
async function hostNodejs(): Promise<{ version: string } | { why: string }> {
  const r = await execRunner.run('dpkg-query', ['-W', '-f=${Status}\\t${Version}', 'nodejs']);
  const [status, version] = r.stdout.split('\t');
  if (r.code !== 0 || !status?.endsWith('installed') || !version)
    return { why: 'the host has no nodejs .deb installed to repack' };
  const major = Number(/^(?:\d+:)?(\d+)\./.exec(version)?.[1]);
  if (!(major >= 20)) return { why: `the host's nodejs is ${version}, not 20 or later` };
  return { version };
}

/** Why nodeDeb() cannot make a package here, or undefined. */
export async function nodeDebUnavailable(): Promise<string | undefined> {
  if ((await execRunner.run('dpkg-repack', ['--version'])).spawnError)
    return 'dpkg-repack is missing (apt-get install dpkg-repack)';
  const host = await hostNodejs();
  return 'why' in host ? host.why : undefined;
}

let nodejs: Promise<string> | undefined;

/** nodejs_<version>_<arch>.deb repacked from the host's installation (cached per version). */
export function nodeDeb(): Promise<string> {
  nodejs ??= (async () => {
    const host = await hostNodejs();
    if ('why' in host) throw new Error(host.why);
    const cached = path.join(CACHE_DIR, `nodejs_${host.version.replace(/[^\w.+~-]/g, '_')}.deb`);
    if (fs.existsSync(cached)) return cached;
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const work = fs.mkdtempSync(path.join(CACHE_DIR, 'repack-'));
    try {
      // gzip -1: repacking is on the test's clock, the file never leaves this machine.
      const r = await execRunner.run(
        'dpkg-repack',
        ['--deb-option=-Zgzip', '--deb-option=-z1', 'nodejs'],
        { cwd: work, timeoutMs: 5 * 60_000 },
      );
      const made = fs.readdirSync(work).find((f) => f.endsWith('.deb'));
      if (r.code !== 0 || !made) throw new Error(`dpkg-repack nodejs: ${r.stdout}\n${r.stderr}`);
      fs.renameSync(path.join(work, made), cached); // whole or not at all
      return cached;
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  })();
  return nodejs;
}
