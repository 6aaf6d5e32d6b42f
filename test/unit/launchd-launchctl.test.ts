/**
 * launchctl's exit codes and messages → outcomes → coded errors with hints (5, 36, 37, 113, 119,
 * 125, "already loaded", launchctl missing).
 */
import { expect } from 'chai';
import { classifyLaunchctl, launchctlError } from '../../src/platform/launchd/launchctl.js';
import type { RunResult } from '../../src/runner.js';

const LABEL = 'dev.codex-sm.service';

describe('launchctl error mapping', () => {
  const r = (code: number, stderr: string): RunResult => ({
    code,
    signal: null,
    stdout: '',
    stderr,
  });
  const ctx = {
    target: `gui/501/${LABEL}`,
    plistPath: '/Users/a/Library/LaunchAgents/x.plist',
    uid: 501,
  };

  it('classifies the codes and texts launchd uses', () => {
    expect(classifyLaunchctl(r(0, ''))).to.equal('ok');
    expect(classifyLaunchctl(r(5, 'Bootstrap failed: 5: Input/output error'))).to.equal('ioError');
    expect(
      classifyLaunchctl(r(37, 'Bootstrap failed: 37: Operation already in progress')),
    ).to.equal('busy');
    expect(classifyLaunchctl(r(36, ''))).to.equal('inProgress');
    expect(classifyLaunchctl(r(113, 'Could not find service "x" in domain for port'))).to.equal(
      'notFound',
    );
    expect(classifyLaunchctl(r(3, 'Boot-out failed: 3: No such process'))).to.equal('notFound');
    expect(
      classifyLaunchctl(r(125, 'Bootstrap failed: 125: Domain does not support specified action')),
    ).to.equal('noSession');
    expect(classifyLaunchctl(r(1, 'Could not find domain for user gui: 501'))).to.equal(
      'noSession',
    );
    expect(classifyLaunchctl(r(5, 'service already loaded'))).to.equal('alreadyLoaded');
    expect(
      classifyLaunchctl(r(130, 'Bootstrap failed: 130: Service already exists in domain')),
    ).to.equal('alreadyLoaded');
    expect(classifyLaunchctl(r(119, 'Bootstrap failed: 119: Service is disabled'))).to.equal(
      'disabled',
    );
    expect(classifyLaunchctl({ ...r(-2, ''), code: null, spawnError: 'ENOENT' })).to.equal(
      'missing',
    );
    expect(classifyLaunchctl(r(1, 'something new'))).to.equal('other');
  });

  it('turns each into a coded error with a hint', () => {
    const cases: [RunResult, string, RegExp][] = [
      [r(5, 'Bootstrap failed: 5: Input/output error'), 'launchd_io_error', /plutil -lint/],
      [r(37, 'Bootstrap failed: 37: Operation already in progress'), 'launchd_busy', /retry/],
      [r(113, 'Could not find service'), 'launchd_not_loaded', /codex-sm start/],
      [
        r(125, 'Bootstrap failed: 125: Domain does not support specified action'),
        'launchd_no_session',
        /log in/,
      ],
      [r(17, 'Service already exists in domain'), 'launchd_already_loaded', /restart/],
      [r(119, 'Service is disabled'), 'launchd_disabled', /launchctl enable gui\/501/],
      [r(1, 'weird'), 'launchctl_failed', /plutil/],
    ];
    for (const [result, code, hint] of cases) {
      const err = launchctlError(['bootstrap', 'gui/501', ctx.plistPath], result, ctx);
      expect(err.code, result.stderr).to.equal(code);
      expect(err.hint ?? '', code).to.match(hint);
      expect(err.message).to.not.equal('');
      expect(err.toJSON().error).to.include({ code, exitStatus: result.code });
    }
  });
});
