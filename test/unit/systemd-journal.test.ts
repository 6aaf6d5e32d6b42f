/** Journal lines (`journalctl -o json`) → readable lines and normalized JSON. */
import { expect } from 'chai';
import {
  formatEntry,
  journalArgs,
  journalCommand,
  parseJournalLine,
} from '../../src/platform/systemd/journal.js';

const pino = JSON.stringify({
  level: 40,
  time: 1763778853844,
  pid: 63,
  hostname: 'h',
  component: 'supervisor',
  msg: 'app-server exited',
  code: 1,
});
const line = (over: Record<string, unknown>) =>
  JSON.stringify({
    __REALTIME_TIMESTAMP: '1763778853844123',
    PRIORITY: '4',
    SYSLOG_IDENTIFIER: 'codex-sm',
    _PID: '63',
    MESSAGE: pino,
    ...over,
  });

describe('journal reading', () => {
  it('parses the service own structured lines with their priority', () => {
    const e = parseJournalLine(line({}))!;
    expect(e).to.include({
      priority: 4,
      level: 'warning',
      identifier: 'codex-sm',
      pid: 63,
      time: '2025-11-22T02:34:13.844Z',
    });
    expect(e.fields).to.include({ msg: 'app-server exited', component: 'supervisor' });
    expect(formatEntry(e)).to.equal(
      '2025-11-22 02:34:13.844 warning codex-sm[63]: app-server exited {"component":"supervisor","code":1}',
    );
  });

  it("keeps plain lines (systemd's own) and binary MESSAGE arrays readable", () => {
    const e = parseJournalLine(
      line({
        MESSAGE: 'Started codex-sm.service.',
        SYSLOG_IDENTIFIER: 'systemd',
        PRIORITY: '6',
        _PID: '16',
      }),
    )!;
    expect(formatEntry(e)).to.equal(
      '2025-11-22 02:34:13.844 info    systemd[16]: Started codex-sm.service.',
    );
    const bin = parseJournalLine(line({ MESSAGE: [...Buffer.from('bytes\u0001here')] }))!;
    expect(bin.message).to.equal('bytes\u0001here');
    expect(parseJournalLine('not json')).to.equal(undefined);
  });

  it('builds journalctl arguments for user and system units', () => {
    expect(
      journalArgs('user', 'codex-sm.service', { lines: 20, follow: false, json: false }),
    ).to.deep.equal(['--user', '-u', 'codex-sm.service', '-o', 'json', '--no-pager', '-n', '20']);
    expect(
      journalArgs('system', 'codex-sm.service', {
        lines: 5,
        follow: true,
        json: true,
        since: '10 min ago',
      }),
    ).to.deep.equal([
      '-u',
      'codex-sm.service',
      '-o',
      'json',
      '--no-pager',
      '-n',
      '5',
      '--since',
      '10 min ago',
      '-f',
    ]);
    expect(journalCommand('user', 'codex-sm.service')).to.equal(
      'journalctl --user -u codex-sm.service -n 50 --no-pager',
    );
  });
});
