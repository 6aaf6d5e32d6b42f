/**
 * An upgrade in place under a REAL `systemd --user` with journald (./lab.ts): what `npm update -g`
 * (or a newer .deb) does to an installed service. The app is a copy of this build in a directory of
 * its own (its package.json, dist/src, dist/service, units; node_modules linked to this checkout's),
 * installed as a service from there; the "upgrade" rewrites the copy's version in place, as npm
 * replaces the package in the same prefix. The unit does not change at all (same node, same script
 * path), so only the recorded version can tell that the running service is the old code.
 *
 * Needs root. Without it the suite says loudly that it did not run, and why.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { packageInfo } from '../../src/package-info.js';
import { freePort, labSuiteHooks, skipUnlessLab, SystemdUserLab, withJson } from './lab.js';

const UNIT = 'codex-sm.service';

interface InstallJson {
  action: string;
  unitChanged: boolean;
  cliVersion: string;
  upgradedFrom: string | null;
  mainPid: number;
  service: { version: string } | null;
  warnings: string[];
}

describe('upgrade in place: install-service restarts a service whose code changed under an unchanged unit (real systemd --user)', function () {
  this.timeout(90_000);
  let lab: SystemdUserLab;
  let port: number;
  let app: string;
  const v1 = `${packageInfo().version}-upgrade.1`;
  const v2 = `${packageInfo().version}-upgrade.2`;

  /** The copy's package.json says `version`: what an in-place upgrade changes. */
  function setVersion(version: string): void {
    const manifest = path.join(app, 'package.json');
    const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(manifest, JSON.stringify({ ...pkg, version }, null, 2));
  }

  labSuiteHooks({
    lab: () => lab,
    journal: async () => (await lab.run(['journalctl', '--user', '-n', '80', '--no-pager'])).stdout,
  });

  before(async function () {
    skipUnlessLab(this);
    lab = await SystemdUserLab.up();
    port = await freePort();
    lab.writeUserFile('.config/codex-sm/config.json', JSON.stringify({ stopTimeoutMs: 1000 }));
    // Under the lab's directory (0755, removed with the lab), readable by the lab user.
    app = path.join(lab.dir, 'app');
    const root = packageInfo().root;
    fs.mkdirSync(path.join(app, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(app, 'package.json'));
    for (const d of ['dist/src', 'dist/service', 'units'])
      fs.cpSync(path.join(root, d), path.join(app, d), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(app, 'node_modules'));
    setVersion(v1);
  });

  /** The copy's CLI, as the lab user. */
  const cli = async (...args: string[]) => {
    const r = withJson(
      await lab.run([process.execPath, path.join(app, 'dist', 'src', 'cli', 'main.js'), ...args]),
    );
    expect(r.code, r.stdout + r.stderr).to.be.oneOf([0, 3]);
    return r;
  };
  const install = async () =>
    (
      await cli(
        'install-service',
        '--json',
        '--port',
        String(port),
        '--codex-home',
        `${lab.home}/codex-home`,
      )
    ).json as unknown as InstallJson;
  const mainPid = async () => Number((await lab.show(UNIT, ['MainPID'])).MainPID);

  it('installs from the copy: the running service reports the copy version', async () => {
    const r = await install();
    expect(r).to.include({ action: 'started', cliVersion: v1, upgradedFrom: null });
    expect(r.service?.version).to.equal(v1);
    expect(r.mainPid).to.equal(await mainPid());
  });

  it('after the upgrade in place, status (the new CLI) warns that the service still runs the old version', async () => {
    setVersion(v2);
    const r = (await cli('status', '--json')).json as unknown as InstallJson;
    expect(r.service?.version).to.equal(v1);
    expect(r.warnings.join('\n')).to.contain(
      `the service runs codex-sm ${v1} and this CLI is ${v2}`,
    );
  });

  it('install-service: the unit is unchanged, yet the service restarts on the new code and says from what', async () => {
    const unitBefore = fs.readFileSync(`${lab.home}/.config/systemd/user/${UNIT}`, 'utf8');
    const pid = await mainPid();
    const r = await install();
    expect(r).to.include({
      action: 'restarted',
      unitChanged: false,
      cliVersion: v2,
      upgradedFrom: v1,
    });
    expect(r.service?.version).to.equal(v2);
    expect(await mainPid()).to.not.equal(pid);
    expect(fs.readFileSync(`${lab.home}/.config/systemd/user/${UNIT}`, 'utf8')).to.equal(
      unitBefore,
    );
    expect((await lab.systemctl('is-active', UNIT)).stdout.trim()).to.equal('active');
  });

  it('install-service again: alreadyRunning, the same process', async () => {
    const pid = await mainPid();
    const r = await install();
    expect(r).to.include({ action: 'alreadyRunning', upgradedFrom: null });
    expect(await mainPid()).to.equal(pid);
    const status = (await cli('status', '--json')).json as unknown as InstallJson;
    expect(status.warnings.join('\n')).to.not.contain('this CLI is');
    await cli('uninstall-service', '--json');
  });
});
