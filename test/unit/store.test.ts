import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { tempDir } from '../../harness/service.js';
import { CodexSmError } from '../../src/errors.js';
import { GroupRepo } from '../../service/store/groups.js';
import { MIGRATIONS, type Migration } from '../../service/store/migrations.js';
import { PROMPT_STATUSES, QUEUE_STATUSES } from '../../service/store/enums.js';
import { QueueRepo } from '../../service/store/queues.js';
import { openSqlite } from '../../service/sqlite.js';
import { STORE_FILE, Store } from '../../service/store/store.js';
import { thrown } from '../helpers/assertions.js';

const CHILD = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'helpers',
  'store-crash-child.js',
);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CodexSmError) return err.code;
    throw err;
  }
  return undefined;
}

function openRepo(dir = tempDir()): { store: Store; repo: QueueRepo; dir: string } {
  const store = Store.open(dir);
  return { store, repo: new QueueRepo(store), dir };
}

describe('store', () => {
  it('creates the state dir 0700 and the file 0600, in WAL with synchronous=FULL and foreign keys', () => {
    const dir = path.join(tempDir(), 'state');
    const store = Store.open(dir);
    try {
      expect(fs.statSync(dir).mode & 0o777).to.equal(0o700);
      expect(fs.statSync(path.join(dir, STORE_FILE)).mode & 0o777).to.equal(0o600);
      expect(store.journalMode).to.equal('wal');
      expect(store.db.pragma('synchronous', { simple: true })).to.equal(2); // FULL
      expect(store.db.pragma('foreign_keys', { simple: true })).to.equal(1);
      new QueueRepo(store).createQueue({ name: 'q', cwd: '/w' }); // makes the -wal file
      expect(fs.statSync(path.join(dir, `${STORE_FILE}-wal`)).mode & 0o777).to.equal(0o600);
    } finally {
      store.close();
    }
  });

  it('applies the migrations once; reopening keeps the data and applies nothing', () => {
    const dir = tempDir();
    let runs = 0;
    const counted: Migration[] = MIGRATIONS.map((m) => ({
      ...m,
      up: (db) => {
        runs++;
        m.up(db);
      },
    }));
    const a = Store.open(dir, { migrations: counted });
    expect(a.schemaVersion).to.equal(MIGRATIONS.length);
    new QueueRepo(a).createQueue({ name: 'kept', cwd: '/w' });
    a.close();
    const b = Store.open(dir, { migrations: counted });
    try {
      expect(runs).to.equal(MIGRATIONS.length);
      expect(b.schemaVersion).to.equal(MIGRATIONS.length);
      expect(new QueueRepo(b).listQueues().map((q) => q.name)).to.deep.equal(['kept']);
    } finally {
      b.close();
    }
  });

  it('migrates a version 1 store to 2: its prompts survive (no go-ahead yet) and groups can be kept', () => {
    const dir = tempDir();
    const v1 = Store.open(dir, { migrations: MIGRATIONS.slice(0, 1) });
    const old = new QueueRepo(v1);
    const q = old.createQueue({ name: 'before', cwd: '/w', maxRetries: 2 });
    old.addPrompt(q.id, { text: 'kept', images: ['/a.png'], mode: 'manual' });
    const before = v1.db.prepare('SELECT * FROM prompts').all();
    expect(v1.schemaVersion).to.equal(1);
    v1.close();

    const v2 = Store.open(dir);
    try {
      expect(v2.schemaVersion).to.equal(MIGRATIONS.length);
      const [row] = v2.db.prepare<[], Record<string, unknown>>('SELECT * FROM prompts').all();
      expect(row).to.deep.equal({ ...(before[0] as object), go_ahead_at: null });
      const [p] = new QueueRepo(v2).getQueue(q.id)?.prompts ?? [];
      expect(p).to.include({ text: 'kept', mode: 'manual', status: 'pending', goAheadAt: null });
      const g = new GroupRepo(v2).createGroup({ name: 'g', sessionIds: ['s1'] });
      expect(g.sessionIds).to.deep.equal(['s1']);
      expect(v2.integrityCheck()).to.deep.equal(['ok']);
    } finally {
      v2.close();
    }
  });

  it('applies a later migration forward, in one transaction with the version bump', () => {
    const dir = tempDir();
    Store.open(dir).close();
    const failing: Migration[] = [
      ...MIGRATIONS,
      {
        version: MIGRATIONS.length + 1,
        name: 'half done',
        up: (db) => {
          db.exec('CREATE TABLE half_done (id TEXT PRIMARY KEY)');
          throw new Error('boom');
        },
      },
    ];
    expect(codeOf(() => Store.open(dir, { migrations: failing }))).to.equal('store_unreadable');
    const again = Store.open(dir);
    try {
      expect(again.schemaVersion).to.equal(MIGRATIONS.length);
      const half = again.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").get();
      expect(half).to.equal(undefined);
    } finally {
      again.close();
    }
  });

  it('refuses a store written by a newer codex-sm, and leaves it as it was', () => {
    const dir = tempDir();
    Store.open(dir).close();
    const raw = openSqlite(path.join(dir, STORE_FILE));
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    const e = thrown(() => Store.open(dir));
    expect(e.code).to.equal('store_too_new');
    expect(e.exitCode).to.equal(78);
    expect(e.message).to.contain(path.join(dir, STORE_FILE));
    const check = openSqlite(path.join(dir, STORE_FILE));
    expect(check.pragma('user_version', { simple: true })).to.equal(MIGRATIONS.length + 1);
    check.close();
  });

  it('reports a file that is not a database by name with a hint, and never deletes it', () => {
    const dir = tempDir();
    const file = path.join(dir, STORE_FILE);
    const junk = Buffer.from('this is not sqlite, but it is somebody’s queued work\n'.repeat(100));
    fs.writeFileSync(file, junk, { mode: 0o600 });
    const e = thrown(() => Store.open(dir));
    expect(e.code).to.equal('store_unreadable');
    expect(e.message).to.contain(file);
    expect(e.hint).to.contain('move it aside');
    expect(fs.readFileSync(file).equals(junk)).to.equal(true);
  });

  it('cascades a queue delete to its prompts (foreign keys on)', () => {
    const { store, repo } = openRepo();
    try {
      const q = repo.createQueue({ name: 'q', cwd: '/w' });
      repo.addPrompt(q.id, { text: 'one' });
      repo.addPrompt(q.id, { text: 'two' });
      const other = repo.createQueue({ name: 'other', cwd: '/w' });
      repo.addPrompt(other.id, { text: 'stays' });
      expect(repo.deleteQueue(q.id)).to.equal(true);
      const left = store.db.prepare('SELECT text FROM prompts').pluck().all();
      expect(left).to.deep.equal(['stays']);
      expect(() =>
        store.db
          .prepare(
            "INSERT INTO prompts (id, queue_id, position, text, created_at, updated_at) VALUES ('p', 'nope', 1, 't', 0, 0)",
          )
          .run(),
      ).to.throw(/FOREIGN KEY/);
    } finally {
      store.close();
    }
  });

  it('accepts every status of the TypeScript enums and rejects any other (CHECK)', () => {
    const { store, repo } = openRepo();
    try {
      const q = repo.createQueue({ name: 'q', cwd: '/w' });
      const p = repo.addPrompt(q.id, { text: 't' });
      if (!p) throw new Error('no prompt');
      const setQ = store.db.prepare('UPDATE queues SET status = ? WHERE id = ?');
      const setP = store.db.prepare('UPDATE prompts SET status = ?, turn_id = ? WHERE id = ?');
      for (const s of QUEUE_STATUSES) setQ.run(s, q.id);
      for (const s of PROMPT_STATUSES) setP.run(s, 'turn-1', p.id);
      expect(() => setQ.run('sleeping', q.id)).to.throw(/CHECK constraint/);
      expect(() => setP.run('done', 'turn-1', p.id)).to.throw(/CHECK constraint/);
      // The crash rule in the schema itself: running without a turn id cannot be written.
      expect(() => setP.run('running', null, p.id)).to.throw(/CHECK constraint/);
      expect(repo.getPrompt(p.id)?.status).to.equal(PROMPT_STATUSES[PROMPT_STATUSES.length - 1]);
    } finally {
      store.close();
    }
  });

  it('rolls back everything of a transaction that throws', () => {
    const { store, repo } = openRepo();
    try {
      const q = repo.createQueue({ name: 'q', cwd: '/w' });
      expect(() =>
        store.transaction(() => {
          repo.addPrompt(q.id, { text: 'nested' }); // its own transaction becomes a savepoint
          store.db.prepare("UPDATE queues SET name = 'renamed' WHERE id = ?").run(q.id);
          throw new Error('side effect failed');
        }),
      ).to.throw('side effect failed');
      const after = repo.getQueue(q.id);
      expect(after?.name).to.equal('q');
      expect(after?.prompts).to.deep.equal([]);
    } finally {
      store.close();
    }
  });

  it('queues: appends positions, records the turn id with running, stores results, guards transitions', () => {
    let t = 1000;
    const { store } = openRepo();
    const repo = new QueueRepo(store, () => ++t);
    try {
      expect(() => repo.createQueue({ name: 'neither' })).to.throw(/CHECK constraint/);
      const q = repo.createQueue({ name: 'q', threadId: 'thr-1', model: 'm', maxRetries: 1 });
      expect(q).to.include({
        status: 'idle',
        threadId: 'thr-1',
        cwd: null,
        model: 'm',
        maxRetries: 1,
      });
      const a = repo.addPrompt(q.id, { text: 'a', images: ['/x.png'], mode: 'manual' });
      const b = repo.addPrompt(q.id, { text: 'b' });
      if (!a || !b) throw new Error('no prompts');
      expect([a.position, b.position]).to.deep.equal([1, 2]);
      expect(a).to.include({ mode: 'manual', status: 'pending', turnId: null, attempts: 0 });
      expect(a.images).to.deep.equal(['/x.png']);
      expect(repo.addPrompt('missing', { text: 'x' })).to.equal(undefined);

      expect(repo.setQueueStatus(q.id, 'running', ['idle', 'paused'])?.status).to.equal('running');
      expect(repo.setQueueStatus(q.id, 'idle', ['paused'])).to.equal(undefined);

      expect(repo.completePrompt(a.id, { finalMessage: 'no' })).to.equal(undefined); // not running
      expect(repo.recordAttempt(a.id)?.attempts).to.equal(1);
      const running = repo.markPromptRunning(a.id, 'turn-a');
      expect(running).to.include({ status: 'running', turnId: 'turn-a', attempts: 1 });
      expect(running?.startedAt).to.be.a('number');
      expect(repo.markPromptRunning(a.id, 'turn-other')).to.equal(undefined); // never started twice
      const done = repo.completePrompt(a.id, { finalMessage: 'hi', usage: { output: 3 } });
      expect(done?.status).to.equal('completed');
      expect(done?.result).to.deep.equal({ finalMessage: 'hi', usage: { output: 3 } });
      expect(done?.finishedAt).to.be.a('number');

      repo.markPromptRunning(b.id, 'turn-b');
      expect(repo.interruptPrompt(b.id, 'service stopped')?.status).to.equal('interrupted');
      expect(repo.markPromptRunning(b.id, 'turn-b2')?.turnId).to.equal('turn-b2'); // a retry
      expect(repo.failPrompt(b.id, 'model error')).to.include({
        status: 'failed',
        error: 'model error',
      });

      const shown = repo.getQueue(q.id);
      expect(shown?.prompts.map((p) => [p.text, p.status])).to.deep.equal([
        ['a', 'completed'],
        ['b', 'failed'],
      ]);
      expect(shown?.updatedAt).to.be.greaterThan(q.updatedAt);
      expect(repo.listQueues().map((x) => x.id)).to.deep.equal([q.id]);
    } finally {
      store.close();
    }
  });

  it('survives SIGKILL at random points: intact, every committed transition kept, no half-written prompt', async function () {
    this.timeout(20_000);
    const dir = tempDir();
    Store.open(dir).close(); // migrations done once, so the rounds kill transitions, not DDL
    const committed = new Map<string, string>(); // prompt id -> last transition the child reported
    for (let round = 0; round < 10; round++) {
      const killAfter = 1 + Math.floor(Math.random() * 40);
      const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, signal) => resolve(signal)),
      );
      let seen = 0;
      for await (const line of readline.createInterface({ input: child.stdout })) {
        const [what, id] = line.split(' ');
        if (what && id) committed.set(id, what);
        if (++seen === killAfter) child.kill('SIGKILL');
      }
      expect(await exited, `round ${round}: ${stderr}`).to.equal('SIGKILL');

      const store = Store.open(dir);
      try {
        expect(store.integrityCheck(), `round ${round}`).to.deep.equal(['ok']);
        expect(store.db.pragma('foreign_key_check')).to.deep.equal([]);
        const [q, ...others] = new QueueRepo(store).listQueues();
        expect(others).to.have.length(0);
        const prompts = q?.prompts ?? [];
        expect(prompts.map((p) => p.position)).to.deep.equal(prompts.map((_, i) => i + 1));
        const byId = new Map(prompts.map((p) => [p.id, p]));
        for (const [id, what] of committed) {
          const p = byId.get(id);
          expect(p, `round ${round}: reported ${what} ${id}, then lost`).to.not.equal(undefined);
          if (what === 'finished')
            expect(p?.status).to.be.oneOf(['completed', 'failed', 'interrupted']);
          if (what === 'running') expect(p?.status).to.not.equal('pending');
        }
        for (const p of prompts) {
          if (p.status === 'pending') {
            expect(p.turnId).to.equal(null);
            continue;
          }
          expect(p.turnId, `${p.status} prompt without its turn`).to.equal(`turn-${p.id}`);
          expect(p.startedAt).to.be.a('number');
          // More than one: a kill between recordAttempt and markPromptRunning left it pending with an
          // attempt, which is what tells reconciliation to look for an unrecorded turn.
          expect(p.attempts).to.be.at.least(1);
          if (p.status === 'running') expect(p.finishedAt).to.equal(null);
          else expect(p.finishedAt).to.be.a('number');
          if (p.status === 'completed') {
            const r = p.result as { finalMessage: string; len: number }; // the child's own shape
            expect(r.finalMessage.length).to.equal(r.len);
          }
        }
      } finally {
        store.close();
      }
    }
  });
});
