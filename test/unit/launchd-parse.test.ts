/**
 * The `launchctl print` reader against the fixtures in test/fixtures/launchd (reconstructed from
 * the published format, not captured on a Mac: see the README there).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  describeLastExit,
  launchdActivity,
  parseLaunchctlPrint,
} from '../../src/platform/launchd/parse.js';

const fixtures = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'test',
  'fixtures',
  'launchd',
);
const fixture = (name: string): string => fs.readFileSync(path.join(fixtures, name), 'utf8');

describe('launchctl print parsing (recorded-format fixtures)', () => {
  it('running in gui/501: state, pid, runs, paths, argv; nested coalition state ignored', () => {
    const info = parseLaunchctlPrint(fixture('print-running-gui.txt'));
    expect(info).to.deep.include({
      target: 'gui/501/dev.codex-sm.service',
      state: 'running',
      pid: 48213,
      runs: 1,
      domain: 'gui/501',
      type: 'LaunchAgent',
      exitTimeout: 35,
      path: '/Users/alice/Library/LaunchAgents/dev.codex-sm.service.plist',
      program: '/opt/homebrew/Cellar/node/22.11.0/bin/node',
      stdoutPath: '/Users/alice/Library/Logs/codex-sm/codex-sm.out.log',
      stderrPath: '/Users/alice/Library/Logs/codex-sm/codex-sm.err.log',
      lastExitDescription: 'never exited',
    });
    expect(info.lastExitCode).to.equal(undefined);
    expect(info.arguments).to.deep.equal([
      '/opt/homebrew/Cellar/node/22.11.0/bin/node',
      '/opt/homebrew/lib/node_modules/codex-sm/dist/src/cli/main.js',
      'serve',
    ]);
    expect(info.properties).to.deep.equal(['keepalive', 'runatload', 'inferred program']);
    expect(launchdActivity(info)).to.equal('active');
    expect(describeLastExit(info)).to.equal(undefined);
  });

  it('crash loop on a config error: spawn scheduled, 78: EX_CONFIG → failed', () => {
    const info = parseLaunchctlPrint(fixture('print-crashloop-ex-config.txt'));
    expect(info.state).to.equal('spawn scheduled');
    expect(info.pid).to.equal(undefined);
    expect(info.runs).to.equal(12);
    expect(info.lastExitCode).to.equal(78);
    expect(info.lastExitDescription).to.equal('EX_CONFIG');
    expect(launchdActivity(info)).to.equal('failed');
    expect(describeLastExit(info)).to.equal('exited 78 (EX_CONFIG)');
  });

  it('killed by a signal: the signal line replaces the exit code', () => {
    const info = parseLaunchctlPrint(fixture('print-killed-signal.txt'));
    expect(info.state).to.equal('not running');
    expect(info.lastSignal).to.equal(9);
    expect(info.lastSignalDescription).to.equal('Killed: 9');
    expect(info.lastExitCode).to.equal(undefined);
    expect(launchdActivity(info)).to.equal('failed');
    expect(describeLastExit(info)).to.equal('killed by signal 9 (Killed: 9)');
  });

  it('loaded into user/501 over SSH, running after an earlier failed run', () => {
    const info = parseLaunchctlPrint(fixture('print-user-domain-ssh.txt'));
    expect(info.target).to.equal('user/501/dev.codex-sm.service');
    expect(info.domain).to.equal('user/501');
    expect(info.pid).to.equal(7731);
    expect(info.lastExitCode).to.equal(1);
    expect(info.arguments).to.deep.equal([
      '/opt/homebrew/bin/node',
      '/opt/homebrew/lib/node_modules/codex-sm/dist/src/cli/main.js',
      'serve',
      '--port',
      '3100',
    ]);
    expect(launchdActivity(info)).to.equal('active'); // running now wins over the last exit
  });

  it('older/re-indented output: spaces, last exit status, exit reason, bogus pid, nested block, unknown keys', () => {
    const info = parseLaunchctlPrint(fixture('print-reindented-older.txt'));
    expect(info.state).to.equal('waiting');
    expect(info.jobState).to.equal('exited');
    expect(info.pid, 'pid = 123abc is not a pid; the nested pid = 999 is not ours').to.equal(
      undefined,
    );
    expect(info.path).to.equal('/Users/alice/Library/LaunchAgents/dev.codex-sm.service.plist');
    expect(info.runs).to.equal(7);
    expect(info.lastExitCode).to.equal(0);
    expect(info.lastExitReason).to.equal('OS_REASON_JETSAM | (0x2) Per-process memory limit');
    expect(info.arguments).to.have.length(3);
    expect(launchdActivity(info)).to.equal('inactive');
  });

  it('during bootout: SIGTERMed is deactivating; coalitions do not leak their state', () => {
    const info = parseLaunchctlPrint(fixture('print-sigtermed.txt'));
    expect(info.state).to.equal('SIGTERMed');
    expect(info.jobState).to.equal('running');
    expect(launchdActivity(info)).to.equal('deactivating');
  });

  it('tolerates garbage, CRLF and empty input', () => {
    expect(parseLaunchctlPrint('')).to.deep.equal({});
    expect(parseLaunchctlPrint('Could not find service "x" in domain for port\n')).to.deep.equal(
      {},
    );
    const crlf = fixture('print-running-gui.txt').replace(/\n/g, '\r\n');
    expect(parseLaunchctlPrint(crlf).pid).to.equal(48213);
    // Unbalanced braces must not throw.
    expect(parseLaunchctlPrint('x = {\n\tstate = running\n}\n}\n}\n\tpid = 3\n').state).to.equal(
      'running',
    );
  });
});
