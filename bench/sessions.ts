/**
 * `sessions` suite: codex-sm's session index on a generated CODEX_HOME (default 10,000 rollout
 * files modelled on real 0.169.0 ones), against anchors measured in the same run on the same home:
 *
 * - list:   `GET /api/sessions?limit=50` (HTTP, through the running service) vs the app-server's
 *           own `thread/list {limit:50}` (direct on its socket; also with useStateDbOnly) and vs a
 *           naive scan reading the first line of every file;
 * - search: `GET /api/sessions/search?q=…` (full text over user + assistant messages) vs
 *           `thread/list {searchTerm}` (title-only substring) and vs a naive grep of every file;
 * - cold:   a fresh index of the home (files/s, in-process) vs the naive first-line scan;
 * - append: a turn appended to a rollout → visible in `GET /api/sessions?sort=updated`;
 * - healthz under search: `/healthz` latency while 16 clients search back to back, vs idle
 *           (searches run in worker threads, so the ratio should stay near 1).
 *
 * Targets from issue 6: list p50 ≤ 5 ms warm; search p50 ≤ 200 ms; cold ≥ 5,000 files/s;
 * append visible ≤ 1 s. The app-server's first start on a fresh big home backfills its SQLite
 * (~2 ms/session) before answering initialize: the service waits for it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RpcClient } from '../service/rpc.js';
import { IndexDb } from '../service/sessions/db.js';
import { SessionIndexer, walkRollouts } from '../service/sessions/indexer.js';
import { appendTurn, generateHome } from '../harness/gen-home.js';
import { startService, tempDir, waitReady } from '../harness/service.js';
import {
  Cleanup,
  median,
  now,
  plainRow,
  ratioRow,
  sleep,
  summarize,
  type BenchContext,
  type BenchSuite,
  type Row,
  type SuiteResult,
} from './lib.js';

export const suite: BenchSuite = {
  name: 'sessions',
  description:
    'session index: list/search over HTTP vs app-server thread/list and a naive scan; cold index; append latency',
  flags: {
    sessions: 'rollout files in the generated home (10000)',
    rounds: 'timed requests per list/search measurement (200)',
    'anchor-rounds': 'timed thread/list calls (30)',
  },
  run,
};

/** Absolute target row (no anchor). */
function targetRow(
  metric: string,
  unit: string,
  value: number,
  target: { max?: number; min?: number },
): Row {
  const pass =
    (target.max === undefined || value <= target.max) &&
    (target.min === undefined || value >= target.min);
  return {
    ...plainRow(metric, unit, value),
    target: target.max !== undefined ? `≤ ${target.max} ${unit}` : `≥ ${target.min} ${unit}`,
    pass,
  };
}

async function timeIt(n: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = now();
    await fn();
    xs.push(now() - t);
  }
  return xs;
}

/** Naive first page: read the first line of every rollout, parse it, sort by timestamp, take 50. */
function naiveList(home: string): unknown[] {
  const files = walkRollouts(path.join(home, 'sessions'));
  const buf = Buffer.alloc(64 * 1024);
  const metas: { ts: string; id: string }[] = [];
  for (const f of files) {
    const fd = fs.openSync(f, 'r');
    try {
      let n = fs.readSync(fd, buf, 0, buf.length, 0);
      let text = buf.toString('utf8', 0, n);
      let nl = text.indexOf('\n');
      for (let pos = n; nl < 0 && n > 0; pos += n) {
        // The first line (session_meta with base instructions) is often longer than 64 KB's worth? Not here, but be correct.
        n = fs.readSync(fd, buf, 0, buf.length, pos);
        text += buf.toString('utf8', 0, n);
        nl = text.indexOf('\n');
      }
      const o = JSON.parse(nl < 0 ? text : text.slice(0, nl)) as {
        payload?: { id?: string; timestamp?: string };
      };
      metas.push({ ts: o.payload?.timestamp ?? '', id: o.payload?.id ?? '' });
    } catch {
      /* malformed first line */
    } finally {
      fs.closeSync(fd);
    }
  }
  return metas.sort((a, b) => (a.ts < b.ts ? 1 : -1)).slice(0, 50);
}

/** Naive full-text search: read every file, parse message lines, substring match. */
function naiveSearch(home: string, q: string): number {
  let hits = 0;
  for (const f of [
    ...walkRollouts(path.join(home, 'sessions')),
    ...walkRollouts(path.join(home, 'archived_sessions')),
  ]) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      if (!line.includes('"event_msg"') || !line.includes(q)) continue;
      try {
        const o = JSON.parse(line) as {
          payload?: { message?: string; item?: { content?: { text?: string }[] } };
        };
        const text =
          o.payload?.message ?? o.payload?.item?.content?.map((c) => c.text ?? '').join('') ?? '';
        if (text.includes(q)) hits++;
      } catch {
        /* skip */
      }
    }
  }
  return hits;
}

async function run(ctx: BenchContext): Promise<SuiteResult> {
  const n = ctx.num('sessions', 10_000);
  const rounds = ctx.num('rounds', 200);
  const anchorRounds = ctx.num('anchor-rounds', 30);
  const cleanup = new Cleanup();
  const rows: Row[] = [];
  const data: Record<string, unknown> = { sessions: n };
  const notes: string[] = [];
  const dir = tempDir('codex-sm-bench-sessions-');
  cleanup.add(() => fs.rmSync(dir, { recursive: true, force: true }));
  try {
    ctx.log(`generating ${n} rollout files`);
    let t = now();
    const gen = generateHome(path.join(dir, 'home'), { count: n });
    data.generate = { ms: Math.round(now() - t), bytes: gen.bytes };
    ctx.log(`generated ${(gen.bytes / 1e6).toFixed(0)} MB in ${Math.round(now() - t)} ms`);

    // --- cold index, in process (fresh db each round), against the naive first-line scan
    const cold: number[] = [];
    for (let i = 0; i < 3; i++) {
      const f = path.join(dir, `cold-${i}.sqlite`);
      const db = new IndexDb(f, gen.home);
      const s = new SessionIndexer(db, { codexHome: gen.home }).fullScan();
      cold.push(s.ms);
      db.close();
    }
    const naiveListMs = await timeIt(3, () => naiveList(gen.home));
    const coldRate = n / (median(cold) / 1000);
    const naiveRate = n / (median(naiveListMs) / 1000);
    rows.push(targetRow('cold index (all lines, full text)', 'files/s', coldRate, { min: 5000 }));
    rows.push(
      ratioRow(
        'cold index vs first-line scan',
        'files/s',
        coldRate,
        'naive scan (1st line only)',
        naiveRate,
      ),
    );
    data.cold = { ms: summarize(cold), naiveFirstLineMs: summarize(naiveListMs) };

    // --- the service on that home
    ctx.log(
      'starting codex-sm serve on the generated home (the app-server backfills its SQLite first)',
    );
    t = now();
    const svc = await startService({ config: { codexHome: gen.home, logLevel: 'info' } });
    cleanup.add(() => svc.stop());
    await waitReady(svc, 600_000);
    data.serviceReadyMs = Math.round(now() - t);
    const indexed = await svc.waitForLog((l) => l.msg === 'session index up to date', 120_000);
    data.serviceIndex = { ms: indexed.ms, files: indexed.files };
    const auth = { authorization: `Bearer ${svc.token}` };
    const get = async (p: string) => {
      const r = await fetch(svc.endpoint + p, { headers: auth });
      const body = await r.text();
      if (r.status !== 200) throw new Error(`${p}: ${r.status} ${body.slice(0, 200)}`);
      return body;
    };
    const status = JSON.parse(await get('/status')) as { appServer: { endpoint?: string } };
    if (!status.appServer.endpoint) throw new Error('no app-server endpoint in /status');
    const app = await RpcClient.connect(status.appServer.endpoint, { requestTimeoutMs: 120_000 });
    cleanup.add(() => app.close());
    await app.initialize({
      clientInfo: { name: 'codex-sm-bench', title: null, version: '0' },
      capabilities: { experimentalApi: true },
    });

    // --- list
    await timeIt(20, () => get('/api/sessions?limit=50'));
    const list = await timeIt(rounds, () => get('/api/sessions?limit=50'));
    await app.request('thread/list', { limit: 50 });
    const tl = await timeIt(anchorRounds, () => app.request('thread/list', { limit: 50 }));
    const tlDb = await timeIt(anchorRounds, () =>
      app.request('thread/list', { limit: 50, useStateDbOnly: true }),
    );
    rows.push(targetRow('GET /api/sessions?limit=50 p50', 'ms', median(list), { max: 5 }));
    rows.push(
      ratioRow('list p50 vs thread/list', 'ms', median(list), 'thread/list limit 50', median(tl)),
    );
    rows.push(
      ratioRow(
        'list p50 vs thread/list (state db only)',
        'ms',
        median(list),
        'thread/list useStateDbOnly',
        median(tlDb),
      ),
    );
    rows.push(
      ratioRow(
        'list p50 vs naive scan',
        'ms',
        median(list),
        'first line of every file',
        median(naiveListMs),
      ),
    );
    data.list = {
      http: summarize(list),
      threadList: summarize(tl),
      threadListStateDb: summarize(tlDb),
    };

    // --- search: a rare term (the whole message table is scanned) and a common one (stops at the limit)
    const rare = 'zebra42';
    const searchRare = await timeIt(Math.min(rounds, 50), () =>
      get(`/api/sessions/search?q=${rare}&limit=50`),
    );
    const searchCommon = await timeIt(Math.min(rounds, 50), () =>
      get('/api/sessions/search?q=refactor&limit=20'),
    );
    const tlSearch = await timeIt(Math.max(3, Math.round(anchorRounds / 6)), () =>
      app.request('thread/list', { limit: 50, searchTerm: rare }),
    );
    const naiveGrep = await timeIt(2, () => naiveSearch(gen.home, rare));
    const hitCount = (
      JSON.parse(await get(`/api/sessions/search?q=${rare}&limit=50`)) as {
        results: unknown[];
        truncated: boolean;
      }
    ).results.length;
    rows.push(
      targetRow(`search "${rare}" (full text) p50`, 'ms', median(searchRare), { max: 200 }),
    );
    rows.push(
      ratioRow(
        'search p50 vs thread/list searchTerm (title only)',
        'ms',
        median(searchRare),
        'thread/list searchTerm',
        median(tlSearch),
      ),
    );
    rows.push(
      ratioRow(
        'search p50 vs naive grep of all files',
        'ms',
        median(searchRare),
        'read + parse every file',
        median(naiveGrep),
      ),
    );
    rows.push(plainRow('search "refactor" (common, limit 20) p50', 'ms', median(searchCommon)));
    data.search = {
      rare: summarize(searchRare),
      common: summarize(searchCommon),
      threadListSearchTerm: summarize(tlSearch),
      naiveGrep: summarize(naiveGrep),
      rareHits: hitCount,
    };

    // --- /healthz while searches run (issue 12): searches are in worker threads, so a client
    // hammering search must not stretch the main thread's answers. 16 clients stay within the
    // default search.workers + search.queue (18), so none is refused.
    const healthz = async () => {
      const r = await fetch(svc.endpoint + '/healthz');
      await r.arrayBuffer();
    };
    await timeIt(20, healthz);
    const healthzIdle = await timeIt(rounds, healthz);
    let loading = true;
    const searchLoad = { done: 0, refused: 0 };
    const searcher = async () => {
      while (loading) {
        const r = await fetch(`${svc.endpoint}/api/sessions/search?q=${rare}&limit=50`, {
          headers: auth,
        });
        await r.arrayBuffer();
        if (r.status === 200) searchLoad.done++;
        else searchLoad.refused++;
      }
    };
    const searchers = Array.from({ length: 16 }, searcher);
    const healthzLoaded = await timeIt(rounds, healthz);
    loading = false;
    await Promise.all(searchers);
    rows.push(
      ratioRow(
        '/healthz p50 under 16 concurrent searches',
        'ms',
        median(healthzLoaded),
        '/healthz p50 idle',
        median(healthzIdle),
      ),
    );
    rows.push(
      ratioRow(
        '/healthz max under 16 concurrent searches',
        'ms',
        Math.max(...healthzLoaded),
        '/healthz max idle',
        Math.max(...healthzIdle),
      ),
    );
    data.healthzUnderSearch = {
      idle: summarize(healthzIdle),
      loaded: summarize(healthzLoaded),
      clients: 16,
      ...searchLoad,
    };

    // --- append → visible in the list (sorted by update time)
    const appendMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s = gen.sessions[(i * 997) % gen.sessions.length] as (typeof gen.sessions)[number];
      if (s.archived) continue;
      const t0 = now();
      appendTurn(s, `bench append ${i}`, 'ok', Date.parse('2030-01-01T00:00:00Z') + i * 1000);
      for (;;) {
        const top = JSON.parse(await get('/api/sessions?sort=updated&limit=1')) as {
          sessions: { id: string }[];
        };
        if (top.sessions[0]?.id === s.id) break;
        if (now() - t0 > 10_000) throw new Error('appended session not visible in 10 s');
        await sleep(5);
      }
      appendMs.push(now() - t0);
    }
    rows.push(
      targetRow('appended turn visible in list p50', 'ms', median(appendMs), { max: 1000 }),
    );
    data.append = summarize(appendMs);
    notes.push(
      `home: ${n} files, ${(gen.bytes / 1e6).toFixed(0)} MB; service ready after ${String(data.serviceReadyMs)} ms (app-server backfill included)`,
    );
  } finally {
    await cleanup.run();
  }
  return { suite: 'sessions', rows, data, notes };
}
