import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { nodeRelease } from '../../src/cli/commands/doctor.js';
import { CodexSmError } from '../../src/errors.js';
import { assertNodeSupported, nodeSupport } from '../../src/node-support.js';
import { packageInfo } from '../../src/package-info.js';

describe('node-support: the Node releases codex-sm runs on', () => {
  it('takes 20.17+ and 22.9+, the ranges package.json engines names', () => {
    for (const v of ['20.17.0', '20.20.2', '22.9.0', '22.23.3'])
      expect(nodeSupport(v), v).to.deep.equal({ supported: true });
    const pkg = JSON.parse(
      fs.readFileSync(path.join(packageInfo().root, 'package.json'), 'utf8'),
    ) as { engines: { node: string } };
    expect(pkg.engines.node).to.equal('^20.17.0 || ^22.9.0');
  });

  it('refuses older minors, odd releases, 18 and 24 (whose SQLite module aborts), each with a hint', () => {
    for (const v of ['20.16.0', '22.8.1', '18.19.0', '21.7.3', '23.1.0', '24.21.0', '25.0.0']) {
      const s = nodeSupport(v);
      expect(s.supported, v).to.equal(false);
      if (!s.supported) expect(s.hint).to.match(/Node 22/);
    }
    const s = nodeSupport('24.21.0');
    expect(!s.supported && s.why).to.match(/better-sqlite3 12.*24\.19/);
  });

  it('assertNodeSupported throws node_unsupported, exit 78 (systemd does not restart into it)', () => {
    expect(() => assertNodeSupported('22.11.0')).not.to.throw();
    try {
      assertNodeSupported('24.21.0');
      expect.fail('no error');
    } catch (e) {
      expect(e).to.be.instanceOf(CodexSmError);
      expect((e as CodexSmError).code).to.equal('node_unsupported');
      expect((e as CodexSmError).exitCode).to.equal(78);
    }
  });

  it('doctor fails its node release check on an unsupported node', () => {
    expect(nodeRelease('22.11.0').status).to.equal('ok');
    expect(nodeRelease('24.21.0')).to.include({ name: 'node release', status: 'fail' });
  });
});
