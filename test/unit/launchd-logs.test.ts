/**
 * launchd's log files: in-place truncation (service/logfile-truncate.ts) on real files with a
 * real O_APPEND descriptor held open the way launchd holds StandardOutPath, and `logs` tail/follow
 * through the manager.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'chai';
import {
  logFilesFromEnv,
  startLogTruncation,
  truncateInPlace,
} from '../../service/logfile-truncate.js';
import { readLastLines, parseSince } from '../../src/platform/launchd/logs.js';
import { launchdBackend } from '../../src/platform/launchd/backend.js';
import type { LogsOptions } from '../../src/lifecycle/port.js';
import { renderPlist } from '../../src/platform/launchd/render.js';
import { execRunner } from '../../src/runner.js';
import { basePlan } from '../helpers/plans.js';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'launchd-logs-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const line = (i: number): string =>
  `{"level":30,"time":${1_700_000_000_000 + i},"msg":"line ${String(i).padStart(6, '0')}"}\n`;

function appendLines(fd: number, from: number, to: number): void {
  let chunk = '';
  for (let i = from; i < to; i++) chunk += line(i);
  fs.writeSync(fd, chunk);
}

describe('launchd log files: truncation in place', () => {
  it('keeps the newest whole lines and the same inode; the held O_APPEND fd keeps writing at the new end', async () => {
    const file = path.join(tmp, 'codex-sm.out.log');
    const fd = fs.openSync(file, 'a'); // what launchd does with StandardOutPath
    try {
      appendLines(fd, 0, 20_000); // ~1.3 MB
      const inode = fs.statSync(file).ino;
      const before = fs.statSync(file).size;
      const info = await truncateInPlace(file, 1_000_000, 100_000);
      expect(info?.sizeBefore).to.equal(before);
      const after = fs.readFileSync(file, 'utf8');
      expect(after.length).to.be.at.most(100_000).and.equal(info?.sizeAfter);
      expect(after.startsWith('{"level"'), 'starts on a line boundary').to.equal(true);
      expect(after.endsWith(line(19_999))).to.equal(true);
      expect(fs.statSync(file).ino).to.equal(inode);

      appendLines(fd, 20_000, 20_010);
      const text = fs.readFileSync(file, 'utf8');
      expect(text.includes('\0'), 'no hole of NUL bytes').to.equal(false);
      expect(text.length).to.equal(after.length + 10 * line(0).length);
      const lines = text.trimEnd().split('\n');
      const numbers = lines.map((l) => Number(/line (\d+)/.exec(l)?.[1]));
      expect(
        numbers.every((n, i) => i === 0 || n === numbers[i - 1]! + 1),
        'contiguous',
      ).to.equal(true);
      expect(numbers.at(-1)).to.equal(20_009);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('leaves small and missing files alone', async () => {
    const file = path.join(tmp, 'small.log');
    fs.writeFileSync(file, 'hello\n');
    expect(await truncateInPlace(file, 1000, 100)).to.equal(undefined);
    expect(fs.readFileSync(file, 'utf8')).to.equal('hello\n');
    expect(await truncateInPlace(path.join(tmp, 'missing.log'), 1000, 100)).to.equal(undefined);
  });

  it('one giant line longer than keepBytes: keeps nothing rather than half a line', async () => {
    const file = path.join(tmp, 'giant.log');
    fs.writeFileSync(file, 'x'.repeat(5000));
    const info = await truncateInPlace(file, 1000, 100);
    expect(info?.sizeAfter).to.equal(0);
  });

  it('startLogTruncation bounds files a writer keeps appending to, without corrupting them', async () => {
    const files = [path.join(tmp, 'a.out.log'), path.join(tmp, 'a.err.log')];
    const fds = files.map((f) => fs.openSync(f, 'a'));
    const truncations: string[] = [];
    const trunc = startLogTruncation({
      files,
      maxBytes: 50_000,
      keepBytes: 10_000,
      intervalMs: 5,
      onTruncate: (i) => truncations.push(i.file),
    });
    try {
      let n = 0;
      for (let round = 0; round < 60; round++) {
        for (const fd of fds) appendLines(fd, n, n + 50);
        n += 50;
        await delay(2);
      }
      await delay(30);
    } finally {
      trunc.stop();
      fds.forEach((fd) => fs.closeSync(fd));
    }
    expect(truncations.length).to.be.greaterThan(2);
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      expect(text.length).to.be.lessThan(60_000);
      expect(text.includes('\0')).to.equal(false);
      for (const l of text.trimEnd().split('\n'))
        expect(l, 'only whole lines').to.match(/^\{"level":30,"time":\d+,"msg":"line \d{6}"\}$/);
    }
  });

  it('logFilesFromEnv reads the CODEX_SM_LOG_FILES the plist sets', () => {
    const plan = basePlan();
    const env = /<key>CODEX_SM_LOG_FILES<\/key>\s*<string>([^<]*)<\/string>/.exec(
      renderPlist(plan),
    )?.[1];
    expect(logFilesFromEnv({ CODEX_SM_LOG_FILES: env })).to.deep.equal([
      '/Users/alice/Library/Logs/codex-sm/codex-sm.out.log',
      '/Users/alice/Library/Logs/codex-sm/codex-sm.err.log',
    ]);
    expect(logFilesFromEnv({})).to.deep.equal([]);
  });
});

describe('launchd logs: tail and follow the files', () => {
  function managerWithLogs(): {
    manager: { logs(o: LogsOptions, write: (l: string) => void): Promise<void> };
    out: string;
    err: string;
  } {
    const home = path.join(tmp, 'home');
    const logDir = path.join(home, 'Library', 'Logs', 'codex-sm');
    fs.mkdirSync(logDir, { recursive: true });
    const out = path.join(logDir, 'codex-sm.out.log');
    const err = path.join(logDir, 'codex-sm.err.log');
    const backend = launchdBackend({
      runner: execRunner,
      uid: 501,
      home,
      label: 'dev.codex-sm.service',
      stateDir: path.join(home, '.local', 'state', 'codex-sm'),
      pollIntervalMs: 10,
    });
    const manager = {
      logs: (o: LogsOptions, w: (l: string) => void) => backend.logs(undefined, o, w),
    };
    return { manager, out, err };
  }

  it('shows the last N lines of stdout then stderr (stderr marked), or JSON objects', async () => {
    const { manager, out, err } = managerWithLogs();
    fs.writeFileSync(out, [0, 1, 2, 3, 4].map(line).join(''));
    fs.writeFileSync(err, 'TypeError: boom\n    at x (main.js:1)\n');
    const lines: string[] = [];
    await manager.logs({ follow: false, lines: 2, json: false }, (l) => lines.push(l));
    expect(lines).to.deep.equal([
      line(3).trimEnd(),
      line(4).trimEnd(),
      '[stderr] TypeError: boom',
      '[stderr]     at x (main.js:1)',
    ]);
    const json: string[] = [];
    await manager.logs({ follow: false, lines: 1, json: true }, (l) => json.push(l));
    expect(json.map((l) => JSON.parse(l) as unknown)).to.deep.equal([
      { stream: 'stdout', file: out, line: line(4).trimEnd() },
      { stream: 'stderr', file: err, line: '    at x (main.js:1)' },
    ]);
  });

  it('--since keeps lines at or after the time (and lines without a timestamp)', async () => {
    const { manager, out } = managerWithLogs();
    fs.writeFileSync(out, [0, 1, 2, 3].map(line).join('') + 'plain text\n');
    const lines: string[] = [];
    await manager.logs(
      { follow: false, lines: 100, json: false, since: new Date(1_700_000_000_002).toISOString() },
      (l) => lines.push(l),
    );
    expect(lines).to.deep.equal([line(2).trimEnd(), line(3).trimEnd(), 'plain text']);
    expect(parseSince('10m', 1_000_000)).to.equal(400_000);
    expect(parseSince('2h ago', 10_000_000)).to.equal(2_800_000);
    expect(parseSince('10 min ago', 1_000_000)).to.equal(400_000);
    expect(parseSince('30 seconds ago', 100_000)).to.equal(70_000);
    expect(parseSince('1 day', 100_000_000)).to.equal(13_600_000);
    const today = parseSince('today')!;
    expect(new Date(today).getHours()).to.equal(0);
    expect(parseSince('yesterday')).to.equal(today - 86_400_000);
    expect(parseSince('2025-01-31 12:00')).to.equal(new Date(2025, 0, 31, 12, 0).getTime());
    expect(parseSince('nonsense')).to.equal(undefined);
    let thrown: unknown;
    try {
      await manager.logs(
        { follow: false, lines: 5, json: false, since: 'nonsense' },
        () => undefined,
      );
    } catch (e) {
      thrown = e;
    }
    expect(thrown).to.have.property('code', 'usage');
  });

  it('follow prints appended lines and starts over after an in-place truncation', async () => {
    const { manager, out } = managerWithLogs();
    fs.writeFileSync(out, line(0));
    const fd = fs.openSync(out, 'a');
    const lines: string[] = [];
    const abort = new AbortController();
    const following = manager.logs(
      { follow: true, lines: 10, json: false, signal: abort.signal } as Parameters<
        typeof manager.logs
      >[0],
      (l) => lines.push(l),
    );
    try {
      await delay(50);
      appendLines(fd, 1, 3);
      await delay(80);
      fs.ftruncateSync(fd, 0);
      await delay(50);
      appendLines(fd, 3, 4);
      await delay(80);
    } finally {
      abort.abort();
      await following;
      fs.closeSync(fd);
    }
    expect(lines).to.deep.equal([0, 1, 2, 3].map((i) => line(i).trimEnd()));
  });

  it('readLastLines reads backwards across chunk boundaries', () => {
    const file = path.join(tmp, 'big.log');
    fs.writeFileSync(file, Array.from({ length: 5000 }, (_, i) => line(i)).join(''));
    const { lines } = readLastLines(file, 3000);
    expect(lines).to.have.length(3000);
    expect(lines[0]).to.equal(line(2000).trimEnd());
    expect(readLastLines(path.join(tmp, 'none'), 5).lines).to.deep.equal([]);
  });
});
