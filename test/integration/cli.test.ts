/** The CLI as users run it: a real process, real files, exit codes and the one-JSON-object rule. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { CLI, tempDir } from '../../harness/service.js';

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const dir = tempDir();
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg'), ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, dir };
}

describe('codex-sm CLI (integration)', function () {
  this.timeout(30_000);

  it('config validate on a broken file exits 78 with one line naming key, value and what is allowed', () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ port: 'eighty' }));
    const r = run(['config', 'validate', file]);
    expect(r.code).to.equal(78);
    const err = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } };
    expect(err.error.code).to.equal('config_invalid');
    expect(err.error.message).to.equal(
      `${file}: port = "eighty" has the wrong type; expected integer`,
    );
    const good = path.join(dir, 'good.json');
    fs.writeFileSync(good, JSON.stringify({ port: 3200 }));
    expect(run(['config', 'validate', good]).code).to.equal(0);
  });

  it('serve with an invalid config exits 78 before starting anything', () => {
    const r = run(['serve', '--port', '99999']);
    expect(r.code).to.equal(78);
    expect(r.stderr.trim().split('\n')[0]).to.match(
      /^codex-sm serve: command line: port = 99999 is out of range; allowed: integer 0\.\.65535$/,
    );
    expect(
      fs.existsSync(path.join(r.dir, 'cfg', 'codex-sm', 'token')),
      'no token was created',
    ).to.equal(false);
  });

  it('version --json prints one JSON object with the resolved codex version', () => {
    const r = run(['version', '--json']);
    expect(r.code).to.equal(0);
    expect(r.stdout.trim().split('\n')).to.have.length(1);
    const v = JSON.parse(r.stdout) as {
      version: string;
      node: { version: string; path: string };
      codex: { path: string; version: string };
    };
    const pkg = JSON.parse(
      fs.readFileSync(path.join(path.dirname(CLI), '..', '..', '..', 'package.json'), 'utf8'),
    ) as { version: string };
    expect(v.version).to.equal(pkg.version);
    expect(v.node).to.deep.equal({ version: process.versions.node, path: process.execPath });
    const codexPkg = JSON.parse(
      fs.readFileSync(
        path.join(
          path.dirname(CLI),
          '..',
          '..',
          '..',
          'node_modules',
          '@openai',
          'codex',
          'package.json',
        ),
        'utf8',
      ),
    ) as {
      version: string;
    };
    expect(v.codex.version).to.equal(codexPkg.version);
    expect(path.isAbsolute(v.codex.path)).to.equal(true);
  });

  it('doctor --json reports every check in one object', () => {
    const r = run(['doctor', '--json', '--port', '0']);
    const d = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; status: string }[] };
    const names = d.checks.map((c) => c.name);
    for (const n of ['node', 'config', 'codex', 'codexHome', 'token', 'port', 'serviceManager'])
      expect(names).to.include(n);
    expect(d.checks.find((c) => c.name === 'codex')?.status).to.equal('ok');
    expect(r.code).to.equal(d.ok ? 0 : 1);
  });

  it('config show redacts the token and config path prints the file', () => {
    const r = run(['config', 'show', '--json'], { CODEX_SM_TOKEN: 'a-very-secret-token-value' });
    expect(r.stdout).to.not.contain('a-very-secret-token-value');
    expect((JSON.parse(r.stdout) as { token: { value: string } }).token.value).to.equal(
      '<redacted>',
    );
    const p = run(['config', 'path', '--json']);
    expect((JSON.parse(p.stdout) as { path: string }).path).to.equal(
      path.join(p.dir, 'cfg', 'codex-sm', 'config.json'),
    );
  });

  it('--help exits 0 and an unknown command exits 64', () => {
    expect(run(['--help']).code).to.equal(0);
    expect(run(['frobnicate']).code).to.equal(64);
  });
});
