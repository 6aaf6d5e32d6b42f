/**
 * The lifecycle lock, exercised across real processes: mutual exclusion under contention, release
 * when the holder is SIGKILLed, a timeout that names the holder, and the pid-file fallback.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireLifecycleLock, withLifecycleLock } from '../../src/platform/lock.js';

const lockModule = new URL('../../src/platform/lock.js', import.meta.url).href;

/** A child that takes the lock, does a non-atomic read-modify-write of `counter` with a pause, logs overlap. */
function contender(
  file: string,
  counter: string,
  log: string,
  helpers: string,
): Promise<number | null> {
  const script = `
    import fs from 'node:fs';
    const { withLifecycleLock } = await import(${JSON.stringify(lockModule)});
    await withLifecycleLock(${JSON.stringify(file)}, async () => {
      fs.appendFileSync(${JSON.stringify(log)}, 'in ' + process.pid + '\\n');
      const n = Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8'));
      await new Promise((r) => setTimeout(r, 15));
      fs.writeFileSync(${JSON.stringify(counter)}, String(n + 1));
      fs.appendFileSync(${JSON.stringify(log)}, 'out ' + process.pid + '\\n');
    }, { timeoutMs: 60000, helpers: ${helpers} });
  `;
  return new Promise((resolve) =>
    spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' }).on(
      'exit',
      resolve,
    ),
  );
}

function assertNoOverlap(log: string, n: number): void {
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
  expect(lines).to.have.length(2 * n);
  for (let i = 0; i < lines.length; i += 2) {
    const pid = lines[i]!.split(' ')[1];
    expect(lines[i]).to.equal(`in ${pid}`);
    expect(lines[i + 1]).to.equal(`out ${pid}`);
  }
}

describe('lifecycle lock', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codex-sm-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [name, helpers, n] of [
    ['flock child', "['flock']", 20],
    ['pid-file fallback', '[]', 10],
  ] as const) {
    it(`${name}: ${n} processes contending never overlap and lose no update`, async () => {
      const file = path.join(dir, 'lifecycle.lock');
      const counter = path.join(dir, 'counter');
      const log = path.join(dir, 'log');
      fs.writeFileSync(counter, '0');
      const codes = await Promise.all(
        Array.from({ length: n }, () => contender(file, counter, log, helpers)),
      );
      expect(codes.every((c) => c === 0)).to.equal(true);
      expect(fs.readFileSync(counter, 'utf8')).to.equal(String(n));
      assertNoOverlap(log, n);
    });
  }

  it('is released by the kernel when the holder is SIGKILLed (no stale lock)', async () => {
    const file = path.join(dir, 'lifecycle.lock');
    const holder = spawn(process.execPath, [
      '--input-type=module',
      '-e',
      `const { acquireLifecycleLock } = await import(${JSON.stringify(lockModule)}); await acquireLifecycleLock(${JSON.stringify(file)}); console.log('held'); setInterval(() => {}, 1000);`,
    ]);
    await new Promise((r) => holder.stdout.once('data', r));
    const blocked = await acquireLifecycleLock(file, { timeoutMs: 300 }).then(
      () => 'acquired',
      (e: { code: string }) => e.code,
    );
    expect(blocked).to.equal('lock_timeout');
    holder.kill('SIGKILL');
    const t0 = Date.now();
    const lock = await acquireLifecycleLock(file, { timeoutMs: 10_000 });
    expect(Date.now() - t0).to.be.lessThan(2000);
    expect(lock.mechanism).to.equal('flock');
    await lock.release();
  });

  it('times out with a hint naming the holder', async () => {
    const file = path.join(dir, 'lifecycle.lock');
    await withLifecycleLock(file, async () => {
      const err = await acquireLifecycleLock(file, { timeoutMs: 200 }).then(
        () => undefined,
        (e: unknown) => e as { code: string; hint: string },
      );
      expect(err?.code).to.equal('lock_timeout');
      expect(err?.hint).to.include(`pid ${process.pid}`);
    });
  });

  it('releases after the body throws', async () => {
    const file = path.join(dir, 'lifecycle.lock');
    await withLifecycleLock(file, async () => {
      throw new Error('boom');
    }).catch(() => undefined);
    const lock = await acquireLifecycleLock(file, { timeoutMs: 1000 });
    await lock.release();
  });
});
