/**
 * SearchPool with real worker threads over a real index file: the answers equal an in-process
 * search, the queue is bounded (SearchBusy at once beyond it), a queued search whose client left
 * gives its place up, close() fails what is pending, and a lost worker is replaced.
 */
import path from 'node:path';
import { expect } from 'chai';
import { IndexDb } from '../../service/sessions/db.js';
import {
  SearchAborted,
  SearchBusy,
  SearchPool,
  SearchPoolClosed,
} from '../../service/sessions/search-pool.js';
import { searchMessages, type SearchOptions } from '../../service/sessions/search.js';
import { tempDir } from '../../harness/service.js';

describe('search pool: worker threads behind a bounded queue', function () {
  this.timeout(60_000);
  const RUN = 'a'.repeat(16_000);
  let db: IndexDb;
  let file: string;
  const pools: SearchPool[] = [];
  const pool = (workers: number, queue: number) => {
    const p = new SearchPool({ file, workers, queue });
    pools.push(p);
    return p;
  };
  const opts = (q: string, o: Partial<SearchOptions> = {}): SearchOptions => ({
    q,
    role: 'both',
    caseSensitive: false,
    limit: 20,
    maxBytes: 1 << 30,
    timeoutMs: 10_000,
    ...o,
  });
  // Slow on purpose (see search-load.test.ts): it keeps a worker busy while the test acts.
  const slow = () => opts('a'.repeat(999) + 'b');

  before(() => {
    file = path.join(tempDir('codex-sm-search-pool-'), 'index.sqlite');
    db = new IndexDb(file, '/nonexistent-home');
    for (let i = 0; i < 40; i++) {
      const id = `0a0a0a0a-0000-4000-8000-${String(i).padStart(12, '0')}`;
      db.upsert({
        id,
        path: `/x/${id}.jsonl`,
        createdAt: i,
        updatedAt: i,
        meta: null,
        firstUser: 'hello',
        archivedAt: null,
        messages: 4,
        size: 1,
      });
      db.addMessages(id, [
        { role: 'user', ts: i, offset: 0, text: `fix the parser ${i}` },
        { role: 'assistant', ts: i, offset: 10, text: `Fixed the Parser, run ${i}` },
        { role: 'user', ts: i, offset: 20, text: RUN },
        { role: 'assistant', ts: i, offset: 30, text: RUN },
      ]);
    }
  });

  after(async () => {
    await Promise.all(pools.map((p) => p.close()));
    db.close();
  });

  it('answers exactly what an in-process search answers', async () => {
    const p = pool(2, 4);
    for (const o of [
      opts('parser'),
      opts('Parser', { caseSensitive: true }),
      opts('parser', { role: 'assistant', limit: 3 }),
      opts('run 1', { sessionId: '0a0a0a0a-0000-4000-8000-000000000001', perSession: 50 }),
      opts('nothing like it'),
    ]) {
      const { elapsedMs: _a, ...inWorker } = await p.run(o);
      const { elapsedMs: _b, ...inProcess } = searchMessages(db, o);
      expect(inWorker).to.deep.equal(inProcess);
    }
  });

  it('refuses at once beyond workers + queue, and runs the queued ones in order', async () => {
    const p = pool(1, 2);
    const done: string[] = [];
    const run = (name: string, o: SearchOptions) =>
      p.run(o).then(() => {
        done.push(name);
      });
    const first = run('first', slow());
    const second = run('second', opts('parser'));
    const third = run('third', opts('fix'));
    expect(p.load).to.deep.equal({ running: 1, waiting: 2 });
    const refused = await p.run(opts('parser')).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(SearchBusy);
    expect(done, 'refused before anything finished').to.deep.equal([]);
    await Promise.all([first, second, third]);
    expect(done).to.deep.equal(['first', 'second', 'third']);
    expect(p.load).to.deep.equal({ running: 0, waiting: 0 });
  });

  it('takes a queued search out when its client goes away, freeing its place', async () => {
    const p = pool(1, 1);
    const running = p.run(slow());
    const gone = new AbortController();
    const queued = p.run(opts('parser'), gone.signal).catch((e: unknown) => e);
    expect(p.load.waiting).to.equal(1);
    gone.abort();
    expect(await queued).to.be.instanceOf(SearchAborted);
    expect(p.load.waiting).to.equal(0);
    const next = p.run(opts('parser')); // the freed place is taken, not refused
    await Promise.all([running, next]);
  });

  it('close() fails what is queued or running and refuses later searches', async () => {
    const p = pool(1, 1);
    const running = p.run(slow()).catch((e: unknown) => e);
    const queued = p.run(opts('parser')).catch((e: unknown) => e);
    await p.close();
    expect(await running).to.be.instanceOf(SearchPoolClosed);
    expect(await queued).to.be.instanceOf(SearchPoolClosed);
    expect(await p.run(opts('parser')).catch((e: unknown) => e)).to.be.instanceOf(SearchPoolClosed);
  });

  it('fails the search of a worker that cannot open the index, and keeps serving with a new one', async () => {
    const lost: Error[] = [];
    const bad = new SearchPool({
      file: path.join(path.dirname(file), 'missing.sqlite'),
      workers: 1,
      queue: 1,
      onWorkerLost: (e) => lost.push(e),
    });
    pools.push(bad);
    const a = await bad.run(opts('parser')).catch((e: unknown) => e);
    expect(a).to.be.instanceOf(Error);
    expect(lost).to.have.length.greaterThan(0);
    expect(bad.load).to.deep.equal({ running: 0, waiting: 0 });
    const b = await bad.run(opts('parser')).catch((e: unknown) => e);
    expect(b, 'a new worker was started for the next search').to.be.instanceOf(Error);
  });
});
