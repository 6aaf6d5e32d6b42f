/**
 * Issue 12, finding 3: full-text search used to run on the main thread, so concurrent searches
 * stalled `/healthz` (and the watchdog) for seconds. Searches now run in worker threads behind a
 * bounded queue. Against the real service on a generated CODEX_HOME: `/healthz` requests made
 * while searches run are all answered before any search is, and searches beyond
 * `search.workers + search.queue` are refused at once with the documented 503.
 *
 * Only orders of events are compared, never durations: each search is made slow on purpose (long
 * runs of one letter searched for with a 1,000-character pattern that almost matches, which costs
 * SQLite's LIKE message length × pattern length per message), so it takes far longer than a
 * handful of `/healthz` round trips on any machine.
 */
import path from 'node:path';
import { expect } from 'chai';
import { appendTurn, generateHome } from '../../harness/gen-home.js';
import { startService, tempDir, type ServiceProcess } from '../../harness/service.js';

interface SearchBody {
  query?: string;
  results?: { sessionId: string; matches: unknown[] }[];
  truncated?: boolean;
  scannedBytes?: number;
  elapsedMs?: number;
  error?: { code: string; message: string; hint?: string };
}

describe('search under load: worker threads and a bounded queue (real service)', function () {
  this.timeout(180_000);
  const WORKERS = 1;
  const QUEUE = 2;
  const FIRED = 9;
  const HEALTHZ = 10;
  const RUN = 'a'.repeat(16_000); // messages are indexed by their first 16 KiB
  const SLOW_Q = 'a'.repeat(999) + 'b'; // the longest q the schema allows; matches nothing
  let svc: ServiceProcess;
  let auth: Record<string, string>;

  const search = async (q: string) => {
    const r = await fetch(
      `${svc.endpoint}/api/sessions/search?q=${encodeURIComponent(q)}&timeoutMs=10000`,
      { headers: auth },
    );
    return {
      status: r.status,
      retryAfter: r.headers.get('retry-after'),
      type: r.headers.get('content-type'),
      body: (await r.json()) as SearchBody,
    };
  };

  before(async () => {
    const dir = tempDir('codex-sm-search-load-');
    const gen = generateHome(path.join(dir, 'codex-home'), { count: 2000 });
    for (const s of gen.sessions.slice(0, 15)) appendTurn(s, RUN, RUN);
    svc = await startService({ dir, config: { search: { workers: WORKERS, queue: QUEUE } } });
    auth = { authorization: `Bearer ${svc.token}` };
    await svc.waitForLog((l) => l.msg === 'session index up to date', 120_000);
  });

  after(async () => {
    await svc?.stop();
  });

  it('answers every /healthz made meanwhile before any search, and refuses searches over the cap with 503 + Retry-After', async () => {
    // One search first: it starts the worker, and its answer is what every later one must equal.
    const reference = await search(SLOW_Q);
    expect(reference.status, JSON.stringify(reference.body)).to.equal(200);
    expect(reference.body.scannedBytes).to.be.greaterThan(15 * 2 * RUN.length);

    const order: ('search' | 'refused' | 'healthz')[] = [];
    const searches = Array.from({ length: FIRED }, () =>
      search(SLOW_Q).then((r) => {
        order.push(r.status === 200 ? 'search' : 'refused');
        return r;
      }),
    );
    for (let i = 0; i < HEALTHZ; i++) {
      const h = await fetch(`${svc.endpoint}/healthz`);
      expect(h.status).to.equal(200);
      await h.arrayBuffer();
      order.push('healthz');
    }
    const answers = await Promise.all(searches);

    // The event loop stayed free: no /healthz waited for a search.
    expect(order.lastIndexOf('healthz'), order.join(' ')).to.be.lessThan(order.indexOf('search'));

    const accepted = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    expect(accepted).to.have.length(WORKERS + QUEUE);
    expect(refused).to.have.length(FIRED - WORKERS - QUEUE);
    for (const r of refused) {
      expect(r.status).to.equal(503);
      expect(r.type).to.match(/^application\/json/);
      expect(r.body.error?.code).to.equal('search_busy');
      expect(r.body.error?.hint).to.contain('search.queue');
      expect(Number(r.retryAfter)).to.be.a('number').and.to.be.at.least(1);
    }
    // Refusals are immediate: every one came back before the first accepted search.
    expect(order.lastIndexOf('refused')).to.be.lessThan(order.indexOf('search'));
    // A search in a worker answers exactly what it answered alone.
    const strip = ({ elapsedMs: _e, ...rest }: SearchBody) => rest;
    for (const a of accepted) expect(strip(a.body)).to.deep.equal(strip(reference.body));
  });

  it('searches again normally once the load is gone, with the same results as before', async () => {
    const word = await search('refactor');
    expect(word.status).to.equal(200);
    expect(word.body.results).to.have.length.greaterThan(0);
    const busy = await Promise.all(Array.from({ length: WORKERS + QUEUE }, () => search(SLOW_Q)));
    expect(busy.map((b) => b.status)).to.deep.equal(busy.map(() => 200));
    const again = await search('refactor');
    expect(again.body.results).to.deep.equal(word.body.results);
  });
});
