import { expect } from 'chai';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { nodeRelease, sqliteCheck } from '../../src/cli/commands/doctor.js';
import { CodexSmError } from '../../src/errors.js';
import { assertNodeSupported, nodeSupport, sqlitePackagesFor } from '../../src/node-support.js';
import { packageInfo } from '../../src/package-info.js';
import { tempDir } from '../../harness/service.js';
import { loadSqlite, openSqlite } from '../../service/sqlite.js';
import { thrown } from '../helpers/assertions.js';

const root = packageInfo().root;

describe('node-support: the Node releases codex-sm runs on', () => {
  it('takes 20.17+, 22.9+, 24 and 26, the ranges package.json engines names', () => {
    for (const v of [
      '20.17.0',
      '20.20.2',
      '22.9.0',
      '22.23.3',
      '24.0.0',
      '24.21.0',
      '26.0.0',
      '26.10.0',
    ])
      expect(nodeSupport(v), v).to.deep.equal({ supported: true });
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).to.equal('^20.17.0 || ^22.9.0 || ^24.0.0 || ^26.0.0');
  });

  it('refuses older minors, odd releases, 18 and 28, each with a hint', () => {
    for (const v of [
      '20.16.0',
      '22.8.1',
      '18.19.0',
      '21.7.3',
      '23.1.0',
      '25.0.0',
      '27.0.0',
      '28.1.0',
    ]) {
      const s = nodeSupport(v);
      expect(s.supported, v).to.equal(false);
      if (!s.supported) expect(s.hint).to.match(/Node 26, 24 or 22/);
    }
  });

  it('assertNodeSupported throws node_unsupported, exit 78 (systemd does not restart into it)', () => {
    expect(() => assertNodeSupported('24.21.0')).not.to.throw();
    const e = thrown(() => assertNodeSupported('23.1.0'));
    expect(e.code).to.equal('node_unsupported');
    expect(e.exitCode).to.equal(78);
  });

  it('doctor fails its node release check on an unsupported node', () => {
    expect(nodeRelease('22.11.0').status).to.equal('ok');
    expect(nodeRelease('25.0.0')).to.include({ name: 'node release', status: 'fail' });
  });
});

describe('the SQLite module for this Node (better-sqlite3 13 from 22 on, 12 on 20)', () => {
  it('picks better-sqlite3 12 for Node 20 and the better-sqlite3-napi alias (13) from Node 22 on', () => {
    expect(sqlitePackagesFor('20.17.0')[0]).to.equal('better-sqlite3');
    for (const v of ['22.9.0', '24.21.0', '26.10.0'])
      expect(sqlitePackagesFor(v)[0]).to.equal('better-sqlite3-napi');
  });

  it('falls back to 12 where 13 has no binary, but never on Node 24.19 and later (12 aborts there)', () => {
    expect(sqlitePackagesFor('20.17.0')).to.deep.equal(['better-sqlite3']);
    for (const v of ['22.9.0', '24.18.0'])
      expect(sqlitePackagesFor(v), v).to.deep.equal(['better-sqlite3-napi', 'better-sqlite3']);
    for (const v of ['24.19.0', '24.21.0', '26.0.0'])
      expect(sqlitePackagesFor(v), v).to.deep.equal(['better-sqlite3-napi']);
  });

  it("this node loads its major of the module, whose binary never calls node's RemoveEnvironmentCleanupHook", () => {
    const pkg = sqlitePackagesFor(process.versions.node)[0] ?? '';
    const version = (createRequire(import.meta.url)(`${pkg}/package.json`) as { version: string })
      .version;
    expect(version.split('.')[0]).to.equal(pkg === 'better-sqlite3' ? '12' : '13');
    openSqlite(':memory:').close();
    // better-sqlite3 12 compiled against Node 24's headers calls it from ~ObjectWrap, and it
    // aborts the process when an idle GC frees a statement (src/node-support.ts). Node-API
    // modules (13) and 12 built for Node 20 do not: the binary mapped into this process must not.
    const binaries = [
      ...new Set(
        fs
          .readFileSync('/proc/self/maps', 'utf8')
          .split('\n')
          .map((l) => l.slice(l.indexOf('/')))
          .filter((f) => f.endsWith('.node') && f.includes(`/node_modules/${pkg}/`)),
      ),
    ];
    expect(binaries, 'one SQLite binary mapped').to.have.length(1);
    expect(fs.readFileSync(binaries[0] ?? '').includes('RemoveEnvironmentCleanupHook')).to.equal(
      false,
    );
  });

  it('no loadable module is sqlite_unavailable, exit 78, naming each tried, with the reinstall hint', () => {
    const e = thrown(() => loadSqlite(['better-sqlite3-not-installed', 'nor-this-one']));
    expect(e).to.be.instanceOf(CodexSmError);
    expect(e.code).to.equal('sqlite_unavailable');
    expect(e.exitCode).to.equal(78);
    expect(e.message).to.match(/better-sqlite3-not-installed: .*; nor-this-one: /);
    expect(e.hint).to.match(/install codex-sm again.*without --omit=optional/);
  });

  it('a package that loads but cannot open a database (FAKE: a binary for another node) is passed over for the next', () => {
    // Both majors load their binary at the first `new Database()`, not at require.
    const broken = path.join(tempDir('codex-sm-sqlite-'), 'broken.cjs');
    fs.writeFileSync(
      broken,
      "module.exports = function Database() { throw new Error('Module did not self-register'); };\n",
    );
    const real = sqlitePackagesFor(process.versions.node)[0] ?? '';
    expect(loadSqlite([broken, real])).to.equal(createRequire(import.meta.url)(real));
    const e = thrown(() => loadSqlite([broken]));
    expect(e.code).to.equal('sqlite_unavailable');
    expect(e.message).to.include('broken.cjs: Module did not self-register');
    expect(e.cause, 'the error itself, for a stack').to.be.instanceOf(Error);
    expect((e.cause as Error).message).to.equal('Module did not self-register');
  });

  it("doctor's sqlite check runs a statement with it", () => {
    const check = sqliteCheck();
    expect(check).to.include({ name: 'sqlite', status: 'ok' });
    expect(check.detail).to.match(/^SQLite 3\.\d+\.\d+ for node /);
  });
});
