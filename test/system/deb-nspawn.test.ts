/**
 * The .deb end to end, as a Debian user gets it: a Debian 12 container with a REAL systemd PID 1,
 * journald, dbus and logind (./nspawn-lab.ts), neither the host's node nor this checkout mounted.
 * Debian 12's nodejs is 18, short of `Depends: nodejs (>= 20)`, so the container gets the host's
 * nodejs 20 repacked with dpkg-repack (./deb-build.ts), and `apt-get install` takes it with the
 * codex-sm .deb (shared with deb-package.test.ts: built once per run) and whatever else they need
 * from the Debian mirror. Then a normal user with linger starts the PACKAGED user unit with
 * `systemctl --user enable --now codex-sm`, and `apt-get remove` must leave that user's files.
 * Codex is not in the package: the real codex binary of the pinned dev dependency is
 * bind-mounted as /usr/local/bin/codex, which the packaged unit's PATH finds.
 *
 * Needs root, systemd-nspawn, debootstrap, dpkg-repack, the host's nodejs >= 20 as a .deb, and
 * the Debian mirror. Without them the suite says loudly that it did not run; on CI as root only
 * an unreachable mirror is an excuse.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { TestClient } from '../../harness/service.js';
import { packageInfo } from '../../src/package-info.js';
import type { RunResult } from '../../src/runner.js';
import { codexSmDeb, nodeDeb, nodeDebUnavailable } from './deb-build.js';
import { expectStatusMatchesShow, freePort, httpStatus, labSuiteHooks, waitFor } from './lab.js';
import { mirrorUnreachable, NspawnLab, rootfsCached, unavailable } from './nspawn-lab.js';

const UNIT = 'codex-sm.service';
const SHOW = [
  'Type',
  'LoadState',
  'ActiveState',
  'SubState',
  'MainPID',
  'NRestarts',
  'StatusText',
  'UnitFileState',
  'FragmentPath',
];
const REAL_CODEX = `${packageInfo().root}/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex`;
const DEBS = '/mnt/debs';
const APT = ['-o', 'Acquire::Check-Valid-Until=false', '-o', 'Dpkg::Use-Pty=0'];

function ok(r: RunResult, what: string): string {
  expect(r.spawnError, what).to.equal(undefined);
  expect(r.code, `${what}\n${r.stdout}\n${r.stderr}`).to.equal(0);
  return r.stdout;
}

describe('Debian package in a Debian 12 container: apt-get install, systemctl --user enable --now, apt-get remove (real systemd PID 1 in systemd-nspawn)', function () {
  this.timeout(120_000);
  let lab: NspawnLab | undefined;
  let port: number;
  let debName = '';
  let nodeName = '';
  const user = { name: 'tester', uid: 0 };
  const home = '/home/tester';
  const { timings, started } = labSuiteHooks({
    lab: () => lab,
    journal: async () => (await lab?.exec(['journalctl', '-n', '100', '--no-pager']))?.stdout ?? '',
    title: '.deb container test timings',
  });

  before(async function () {
    this.timeout(20 * 60_000); // the .deb build (better-sqlite3) and, once, debootstrap and dpkg-repack
    const notHere = unavailable() ?? (await nodeDebUnavailable());
    if (!notHere && !fs.existsSync(REAL_CODEX))
      throw new Error(`no codex binary at ${REAL_CODEX} (npm ci installs @openai/codex)`);
    const ciRoot = process.env.CI === 'true' && process.getuid?.() === 0;
    if (notHere && ciRoot)
      throw new Error(`CI=true as root but the .deb container test cannot run: ${notHere}`);
    // apt-get in the container fetches the dependencies from the Debian mirror every run.
    const why = notHere ?? (await mirrorUnreachable());
    if (why) {
      console.log(
        `\n    !!! .DEB CONTAINER TESTS DID NOT RUN: ${why}.\n    !!! Run them as root with the Debian mirror reachable: sudo make test-system\n`,
      );
      this.skip();
    }
    const [deb, node] = await Promise.all([codexSmDeb(), nodeDeb()]);
    timings.push(`.debs ready ${Date.now() - started} ms`);
    debName = path.basename(deb);
    nodeName = path.basename(node);
    const cached = rootfsCached();
    lab = await NspawnLab.up({
      hostNode: false,
      checkout: false,
      binds: [
        `${deb}:${DEBS}/${debName}`,
        `${node}:${DEBS}/${nodeName}`,
        `${REAL_CODEX}:/usr/local/bin/codex`,
      ],
    });
    timings.push(
      `container up ${Date.now() - started} ms (${cached ? 'cached rootfs' : 'debootstrap'})`,
    );
    port = await freePort();
  });

  const L = () => lab as NspawnLab;
  const exists = (p: string) => fs.existsSync(L().hostPath(p));
  const asUser = (argv: string[]) => L().exec(argv, { user });
  const show = () => L().show(UNIT, SHOW, user);

  it("Debian 12's own nodejs (18) does not satisfy the package: apt refuses it", async () => {
    ok(
      await L().exec(['apt-get', ...APT, 'update', '-qq'], { timeoutMs: 180_000 }),
      'apt-get update',
    );
    const r = await L().exec(['apt-get', ...APT, 'install', '--simulate', `${DEBS}/${debName}`]);
    expect(r.code, r.stdout).to.not.equal(0);
    expect(r.stdout + r.stderr).to.match(/Depends: nodejs \(>= 20\)/);
  });

  it('apt-get install ./nodejs_*.deb ./codex-sm_*.deb: codex-sm runs on the packaged node', async () => {
    ok(
      await L().exec(
        [
          'apt-get',
          ...APT,
          'install',
          '-y',
          '-qq',
          '--no-install-recommends',
          `${DEBS}/${nodeName}`,
          `${DEBS}/${debName}`,
        ],
        { timeoutMs: 300_000 },
      ),
      'apt-get install',
    );
    expect(ok(await L().exec(['node', '--version']), 'node --version')).to.match(/^v2\d\./);
    const version = JSON.parse(ok(await L().exec(['codex-sm', 'version', '--json']), 'version'));
    expect(version).to.include({ cliVersion: packageInfo().version });
    expect(exists('/usr/lib/systemd/user/codex-sm.service')).to.equal(true);
    // Installing enables and starts nothing (no maintainer scripts).
    expect(exists('/etc/systemd/user/default.target.wants/codex-sm.service')).to.equal(false);
  });

  it('as a user with linger: systemctl --user enable --now codex-sm is active only after READY=1', async () => {
    ok(await L().exec(['/usr/sbin/useradd', '-m', '-s', '/bin/bash', user.name]), 'useradd');
    user.uid = Number(ok(await L().exec(['id', '-u', user.name]), 'id').trim());
    // The user's own config, as the packaged unit reads it: a free port (the host network is shared).
    L().writeFile(
      `${home}/.config/codex-sm/config.json`,
      JSON.stringify({ port, stopTimeoutMs: 1000 }),
      user,
    );
    ok(await L().exec(['loginctl', 'enable-linger', user.name]), 'enable-linger');
    await waitFor('the user manager', async () => exists(`/run/user/${user.uid}/bus`), 30_000);
    await waitFor(
      'the user manager to finish starting',
      async () =>
        ['running', 'degraded'].includes(
          (await asUser(['systemctl', '--user', 'is-system-running'])).stdout.trim(),
        ),
      30_000,
    );
    // Type=notify: the start job, and so this command, ends when READY=1 arrived.
    ok(await asUser(['systemctl', '--user', 'enable', '--now', UNIT]), 'enable --now');
    const s = await show();
    expect(s).to.include({
      Type: 'notify',
      LoadState: 'loaded',
      ActiveState: 'active',
      SubState: 'running',
      UnitFileState: 'enabled',
      FragmentPath: '/usr/lib/systemd/user/codex-sm.service',
    });
    expect(s.StatusText).to.not.equal('');
    expect(await httpStatus(`http://127.0.0.1:${port}/readyz`)).to.equal(200);
    // The main PID is node running the packaged CLI (sd_notify needs node itself as the main PID).
    const cmdline = ok(await L().exec(['cat', `/proc/${s.MainPID}/cmdline`]), 'cmdline').split(
      '\0',
    );
    expect(cmdline.slice(0, 3)).to.deep.equal([
      '/usr/bin/node',
      '/usr/lib/codex-sm/dist/src/cli/main.js',
      'serve',
    ]);
  });

  it('codex-sm status (the packaged CLI, as the user) agrees with systemctl --user show', async () => {
    const r = await asUser(['codex-sm', 'status', '--json']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    expectStatusMatchesShow(json, await show(), `http://127.0.0.1:${port}`);
    expect(json.codexPath).to.equal(null); // no install record: the service found codex itself
    expect((json.service as { version: string } | null)?.version).to.equal(packageInfo().version);
  });

  it('journalctl --user -u codex-sm has the service lines (and codex-sm logs reads them)', async () => {
    const journal = await waitFor(
      'the ready line in the user journal',
      async () => {
        const r = await asUser(['journalctl', '--user', '-u', UNIT, '--no-pager', '-o', 'cat']);
        return r.stdout.includes('ready') ? r.stdout : undefined;
      },
      15_000,
    );
    expect(journal).to.contain('app-server'); // the supervisor's lines, not only systemd's
    const logs = ok(await asUser(['codex-sm', 'logs', '-n', '50']), 'codex-sm logs');
    expect(logs).to.contain('ready');
  });

  it('a JSON-RPC initialize through the relay reaches the real codex app-server', async () => {
    const token = fs.readFileSync(L().hostPath(`${home}/.config/codex-sm/token`), 'utf8').trim();
    const c = await TestClient.connect(`ws://127.0.0.1:${port}/`, {
      authorization: `Bearer ${token}`,
    });
    try {
      const init = await c.initialize();
      expect(String(init.userAgent)).to.match(/\d+\.\d+\.\d+/);
      expect(init.codexHome).to.equal(`${home}/.codex`);
    } finally {
      c.close();
    }
  });

  it("apt-get remove codex-sm: the package's files go, the running service is not stopped, the user's files stay", async () => {
    const pid = String((await show()).MainPID);
    const userFiles = [
      `${home}/.config/codex-sm/token`,
      `${home}/.config/codex-sm/config.json`,
      `${home}/.local/state/codex-sm`,
    ];
    for (const f of userFiles) expect(exists(f), f).to.equal(true);
    ok(
      await L().exec(['apt-get', ...APT, 'remove', '-y', '-qq', 'codex-sm'], {
        timeoutMs: 120_000,
      }),
      'apt-get remove',
    );
    for (const f of [
      '/usr/lib/codex-sm',
      '/usr/bin/codex-sm',
      '/usr/lib/systemd/user/codex-sm.service',
    ])
      expect(exists(f), f).to.equal(false);
    for (const f of userFiles) expect(exists(f), f).to.equal(true);
    // The package cannot reach a user's manager: its process runs on, from memory.
    ok(await L().exec(['kill', '-0', pid]), `pid ${pid} still runs`);
    expect(exists('/usr/bin/node'), 'nodejs stays installed').to.equal(true);
    ok(await asUser(['systemctl', '--user', 'stop', UNIT]), 'systemctl --user stop');
  });
});
