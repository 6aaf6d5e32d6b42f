/**
 * The template filler behind units/ (src/platform/template.ts): lists repeat their line, blocks
 * come and go with their flag, and every mismatch between a template and its renderer is an
 * error rather than text that would end up in an installed unit.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { CodexSmError } from '../../src/errors.js';
import { fillTemplate, loadTemplate, unitsDir } from '../../src/platform/template.js';
import { packageInfo } from '../../src/package-info.js';

const TEXT = [
  '#@ a comment for template readers',
  '[Service]',
  'ExecStart=@EXEC_START@',
  'Environment=@ENVIRONMENT@',
  '#@if watchdog',
  'WatchdogSec=@WATCHDOG_SEC@',
  '#@end',
  '',
].join('\n');

function refused(text: string, fill: Parameters<typeof fillTemplate>[2], why: RegExp): void {
  try {
    fillTemplate('test.service', text, fill);
    expect.fail(`filled although ${why}`);
  } catch (e) {
    expect(e).to.be.instanceOf(CodexSmError);
    expect((e as CodexSmError).code).to.equal('unit_template_invalid');
    expect((e as CodexSmError).message).to.match(why);
  }
}

describe('unit templates (units/ filled by src/platform/template.ts)', () => {
  it('substitutes values, repeats a line per list element, drops comments and blocks that are off', () => {
    const fill = {
      values: { EXEC_START: '/usr/bin/node x', ENVIRONMENT: ['"A=1"', '"B=2"'], WATCHDOG_SEC: 30 },
      flags: { watchdog: true },
    };
    expect(fillTemplate('t', TEXT, fill)).to.equal(
      '[Service]\nExecStart=/usr/bin/node x\nEnvironment="A=1"\nEnvironment="B=2"\nWatchdogSec=30\n',
    );
    // An empty list drops its line; a block that is off needs no values inside it.
    expect(
      fillTemplate('t', TEXT, {
        values: { EXEC_START: '/bin/true', ENVIRONMENT: [] },
        flags: { watchdog: false },
      }),
    ).to.equal('[Service]\nExecStart=/bin/true\n');
  });

  it('does not read placeholders in the values it substitutes', () => {
    expect(fillTemplate('t', 'A=@A@ B=@B@\n', { values: { A: '@B@', B: 'b' } })).to.equal(
      'A=@B@ B=b\n',
    );
  });

  it('leaves lower-case @words@ alone (SystemCallFilter=@system-service @mount)', () => {
    const line = 'SystemCallFilter=@system-service @mount\n';
    expect(fillTemplate('t', line, { values: {} })).to.equal(line);
  });

  it('refuses a placeholder that is not filled', () => {
    refused(
      TEXT,
      { values: { EXEC_START: 'x', WATCHDOG_SEC: 1 }, flags: { watchdog: true } },
      /@ENVIRONMENT@ is not filled/,
    );
    refused(
      TEXT,
      { values: { EXEC_START: 'x', ENVIRONMENT: [] }, flags: { watchdog: true } },
      /@WATCHDOG_SEC@ is not filled/,
    );
  });

  it('refuses a value for a placeholder the template does not have (renderer and template drifted)', () => {
    refused(
      TEXT,
      { values: { EXEC_START: 'x', ENVIRONMENT: [], EXEC_STOP: 'y' }, flags: { watchdog: false } },
      /no placeholder @EXEC_STOP@/,
    );
    // A placeholder named only in a template comment does not count as part of the template.
    refused('#@ @A@ is documented here\nB=@B@\n', { values: { A: 'a', B: 'b' } }, /@A@/);
  });

  it('refuses flags that are missing or unknown, and malformed blocks', () => {
    refused(TEXT, { values: { EXEC_START: 'x', ENVIRONMENT: [] } }, /flag "watchdog" is not set/);
    refused(
      TEXT,
      { values: { EXEC_START: 'x', ENVIRONMENT: [] }, flags: { watchdog: false, system: true } },
      /no block "#@if system"/,
    );
    refused('#@if a\nx\n', { values: {}, flags: { a: true } }, /never closed/);
    refused(
      '#@if a\n#@if b\n#@end\n#@end\n',
      { values: {}, flags: { a: true, b: true } },
      /inside/,
    );
    refused('x\n#@end\n', { values: {} }, /without "#@if"/);
    refused('#@ifnot a\n', { values: {} }, /unknown directive/);
    refused('#@if A_B\n#@end\n', { values: {}, flags: { A_B: true } }, /bad flag/);
  });

  it('refuses two list placeholders on one line and numbers that are not finite', () => {
    refused('@A@=@B@\n', { values: { A: ['1'], B: ['2'] } }, /more than one list/);
    refused('X=@A@\n', { values: { A: Number.NaN } }, /NaN/);
  });

  it("loads the templates from the package's units/ folder, which package.json ships", () => {
    const root = packageInfo().root;
    expect(unitsDir()).to.equal(path.join(root, 'units'));
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      files: string[];
    };
    expect(pkg.files).to.include('units');
    expect(loadTemplate('systemd/codex-sm.service')).to.equal(
      fs.readFileSync(path.join(root, 'units', 'systemd', 'codex-sm.service'), 'utf8'),
    );
    expect(() => loadTemplate('systemd/nope.service'))
      .to.throw(CodexSmError)
      .with.property('code', 'unit_template_missing');
  });
});
