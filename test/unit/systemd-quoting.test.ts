/** systemd quoting (./escape.ts): what we write is what systemd passes to the process. */
import { expect } from 'chai';
import {
  environmentAssignment,
  escapeSpecifiers,
  execLine,
  pathListItem,
  pathValue,
  quoteExecArg,
  quoteExecutable,
  splitExecLine,
} from '../../src/platform/systemd/escape.js';
import { unitObjectPath } from '../../src/platform/systemd/dbus.js';

describe('systemd quoting', () => {
  it('leaves plain words alone and escapes specifiers and variables in arguments', () => {
    expect(quoteExecArg('serve')).to.equal('serve');
    expect(quoteExecArg('--port')).to.equal('--port');
    expect(quoteExecArg('/home/a/.codex')).to.equal('/home/a/.codex');
    expect(quoteExecArg('100%')).to.equal('100%%');
    expect(quoteExecArg('$HOME')).to.equal('"$$HOME"');
    expect(quoteExecArg('')).to.equal('""');
    expect(quoteExecArg(';')).to.equal('";"');
  });

  it('quotes spaces, quotes and backslashes C-style', () => {
    expect(quoteExecArg('a b')).to.equal('"a b"');
    expect(quoteExecArg('say "hi"')).to.equal('"say \\"hi\\""');
    expect(quoteExecArg("it's")).to.equal('"it\'s"');
    expect(quoteExecArg('C:\\dir')).to.equal('"C:\\\\dir"');
  });

  it('round-trips any argv through execLine and the unit parser', () => {
    const argvs = [
      ['/usr/bin/node', '/opt/codex-sm/main.js', 'serve', '--port', '3100'],
      [
        '/opt/my node/bin/node',
        "it's",
        'a "b"',
        'c\\d',
        '100%',
        '$HOME',
        '${X}',
        ';',
        '',
        'tab-free   spaces',
      ],
      ['/usr/bin/node', '%h', '%%', '$$', '\\n'],
    ];
    for (const argv of argvs) expect(splitExecLine(execLine(argv))).to.deep.equal(argv);
  });

  it('refuses executables systemd would refuse, and control characters anywhere', () => {
    expect(() => quoteExecutable('node')).to.throw(/absolute/);
    expect(() => quoteExecutable("/opt/it's/node")).to.throw(/quotes or backslashes/);
    expect(() => quoteExecutable('/opt/a"b/node')).to.throw(/quotes or backslashes/);
    expect(quoteExecutable('/opt/$x/100%/node')).to.equal('"/opt/$x/100%%/node"');
    expect(quoteExecutable('/opt/my node/node')).to.equal('"/opt/my node/node"');
    expect(() => quoteExecArg('a\nb')).to.throw(/control character/);
    expect(() => environmentAssignment('K', 'a\nExecStartPre=/bin/evil')).to.throw(
      /control character/,
    );
  });

  it('always quotes Environment= assignments so spaces cannot split them (pitfall 8)', () => {
    expect(environmentAssignment('PATH', '/usr/bin:/bin')).to.equal('"PATH=/usr/bin:/bin"');
    expect(environmentAssignment('DATABASE_URL', 'postgres://u:p w@h/db?x=1')).to.equal(
      '"DATABASE_URL=postgres://u:p w@h/db?x=1"',
    );
    expect(environmentAssignment('X', 'a"b\\c%d$e')).to.equal('"X=a\\"b\\\\c%%d$e"');
    expect(() => environmentAssignment('1BAD', 'x')).to.throw(/invalid environment variable name/);
    expect(() => environmentAssignment('A-B', 'x')).to.throw(/invalid environment variable name/);
  });

  it('paths: specifiers escaped, never quoted (EnvironmentFile=- must stay a prefix), lists quoted per item', () => {
    expect(pathValue('/home/a/100%/x')).to.equal('/home/a/100%%/x');
    expect(() => pathValue('relative/x')).to.throw(/absolute/);
    expect(pathListItem('/home/a b')).to.equal('"/home/a b"');
    expect(pathListItem('/home/ab')).to.equal('/home/ab');
    expect(escapeSpecifiers('%h%u')).to.equal('%%h%%u');
  });

  it('escapes unit names into D-Bus object paths like systemd does', () => {
    expect(unitObjectPath('codex-sm.service')).to.equal(
      '/org/freedesktop/systemd1/unit/codex_2dsm_2eservice',
    );
    expect(unitObjectPath('a@b.socket')).to.equal('/org/freedesktop/systemd1/unit/a_40b_2esocket');
    expect(unitObjectPath('1x.service')).to.equal('/org/freedesktop/systemd1/unit/_31x_2eservice');
  });
});
