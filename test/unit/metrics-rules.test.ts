/**
 * The alert rules and scrape config shipped in docs/prometheus are valid for Prometheus, and each
 * alert fires on the series it is about (`promtool test rules`). promtool comes with Debian's
 * `prometheus` package, which .ci/run installs; without it these tests skip, saying so.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const DIR = fileURLToPath(new URL('../../../docs/prometheus/', import.meta.url));

function promtool(args: string[], cwd = DIR) {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('docs/prometheus: alert rules and scrape config', function () {
  before(function () {
    if (spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status !== 0) {
      console.warn(
        '    SKIPPED: promtool is not installed (apt-get install prometheus; CI installs it)',
      );
      this.skip();
    }
  });

  it('`promtool check rules` accepts the rules', () => {
    const r = promtool(['check', 'rules', 'codex-sm.rules.yml']);
    expect(r.status, r.out).to.equal(0);
    expect(r.out).to.include('SUCCESS: 4 rules found');
  });

  it('service down, app-server restarting or not ready, approval waiting > 10 min: each fires (promtool test rules)', () => {
    const r = promtool(['test', 'rules', 'codex-sm.rules.test.yml']);
    expect(r.status, r.out).to.equal(0);
  });

  it('the example scrape config is valid (with its token file present)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codex-sm-prom-'));
    try {
      const token = path.join(dir, 'codex-sm.token');
      fs.writeFileSync(token, 'cst_x.y\n');
      const config = fs
        .readFileSync(path.join(DIR, 'prometheus.yml'), 'utf8')
        .replace('/etc/prometheus/codex-sm.token', token);
      expect(config).to.include(token);
      fs.writeFileSync(path.join(dir, 'prometheus.yml'), config);
      fs.copyFileSync(path.join(DIR, 'codex-sm.rules.yml'), path.join(dir, 'codex-sm.rules.yml'));
      const r = promtool(['check', 'config', 'prometheus.yml'], dir);
      expect(r.status, r.out).to.equal(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
