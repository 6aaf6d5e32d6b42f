/**
 * `queues` suite: what codex-sm adds to running prompts as a queue, against anchors measured in
 * the same run on the same app-server and fake Responses API:
 *
 * - per prompt: a queue of `--prompts` prompts run by the service (POST start → the
 *   `queue_completed` event) vs the same number of turns driven directly over the app-server
 *   protocol on the service's own app-server socket (`turn/start` → `turn/completed`, one after
 *   the other in one thread). Rounds alternate which side goes first. The difference per prompt
 *   is what codex-sm's engine, store and events cost; target ≤ 20 ms (issue 11).
 * - per transition: the store's committed writes for one prompt's life (attempt, running,
 *   completed), in-process on a fresh store, vs the floor: a bare one-row UPDATE transaction on
 *   the same SQLite settings (WAL, synchronous = FULL) in the same directory.
 */
import path from 'node:path';
import { startFakeResponses } from '../harness/fake-responses.js';
import { startService, tempDir, waitReady } from '../harness/service.js';
import { RpcClient } from '../service/rpc.js';
import { openSqlite } from '../service/sqlite.js';
import { QueueRepo } from '../service/store/queues.js';
import { Store } from '../service/store/store.js';
import {
  Cleanup,
  diffRow,
  INIT_PARAMS,
  median,
  now,
  ratioRow,
  summarize,
  type BenchContext,
  type BenchSuite,
  type SuiteResult,
} from './lib.js';

export const suite: BenchSuite = {
  name: 'queues',
  description:
    'queued prompts vs the same turns driven directly on the app-server; store write cost per transition',
  flags: {
    prompts: 'prompts per queue, and turns per direct run (20)',
    rounds: 'queue runs and direct runs, interleaved (7)',
    transitions: 'prompt lives written to the store (500)',
  },
  run,
};

const userText = (text: string) => [{ type: 'text', text, text_elements: [] }];

/** Opens an SSE stream; the promise it returns resolves at the first `event: <name>` line. */
async function sseEvent(url: string, headers: Record<string, string>, name: string) {
  const ac = new AbortController();
  const r = await fetch(url, {
    headers: { ...headers, accept: 'text/event-stream' },
    signal: ac.signal,
  });
  if (!r.ok || !r.body) throw new Error(`GET ${url}: ${r.status}`);
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  const seen = (async () => {
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${url} ended before ${name}`);
      buf += value;
      if (buf.includes(`event: ${name}\n`)) return;
      buf = buf.slice(-200);
    }
  })();
  return { seen, close: () => ac.abort() };
}

/** `n` turns one after the other in one new thread, straight on the app-server; total ms. */
async function directRun(c: RpcClient, cwd: string, n: number): Promise<number> {
  const t0 = now();
  const st = await c.request<{ thread: { id: string } }>('thread/start', { cwd });
  const threadId = st.thread.id;
  for (let i = 0; i < n; i++) {
    const done = new Promise<void>((resolve) => {
      const on = (method: string, params: unknown) => {
        if (method !== 'turn/completed') return;
        // Notification params are the app-server's, untyped here; only threadId is read.
        if ((params as { threadId?: string } | undefined)?.threadId !== threadId) return;
        c.off('notification', on);
        resolve();
      };
      c.on('notification', on);
    });
    await c.request('turn/start', { threadId, input: userText(`direct prompt ${i + 1}`) });
    await done;
  }
  return now() - t0;
}

async function run(ctx: BenchContext): Promise<SuiteResult> {
  const prompts = ctx.num('prompts', 20);
  const rounds = ctx.num('rounds', 7);
  const transitions = ctx.num('transitions', 500);
  const cleanup = new Cleanup();
  try {
    const fake = await startFakeResponses();
    cleanup.add(() => fake.close());
    const svc = await startService({
      config: { logLevel: 'info', appServer: { args: fake.codexArgs() } },
    });
    cleanup.add(() => svc.stop());
    await waitReady(svc);
    const ready = await svc.waitForLog((l) => l.msg === 'app-server ready');
    const direct = await RpcClient.connect(String(ready.endpoint), { requestTimeoutMs: 120_000 });
    cleanup.add(() => direct.close());
    await direct.initialize(INIT_PARAMS);
    const auth = { authorization: `Bearer ${svc.token}` };
    const post = async <T>(p: string, body: unknown): Promise<T> => {
      const r = await fetch(svc.endpoint + p, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!r.ok) throw new Error(`POST ${p}: ${r.status} ${await r.text()}`);
      return (await r.json()) as T;
    };
    const queueRun = async (round: number): Promise<number> => {
      const q = await post<{ id: string }>('/api/queues', {
        name: `bench ${round}`,
        cwd: svc.dir,
        prompts: Array.from({ length: prompts }, (_, i) => ({ text: `queued prompt ${i + 1}` })),
      });
      const sse = await sseEvent(
        `${svc.endpoint}/api/queues/${q.id}/events`,
        auth,
        'queue_completed',
      );
      const t0 = now();
      await post(`/api/queues/${q.id}/start`, {});
      await sse.seen;
      const ms = now() - t0;
      sse.close();
      return ms;
    };

    ctx.log(`queues: warm-up, then ${rounds} rounds of ${prompts} prompts each side`);
    await directRun(direct, svc.dir, 2);
    await queueRun(0);
    const viaQueue: number[] = [];
    const viaDirect: number[] = [];
    for (let i = 1; i <= rounds; i++) {
      // Alternate the order so neither side always runs on a warmer (or busier) machine.
      if (i % 2) {
        viaQueue.push((await queueRun(i)) / prompts);
        viaDirect.push((await directRun(direct, svc.dir, prompts)) / prompts);
      } else {
        viaDirect.push((await directRun(direct, svc.dir, prompts)) / prompts);
        viaQueue.push((await queueRun(i)) / prompts);
      }
      ctx.log(
        `  round ${i}: queue ${viaQueue.at(-1)?.toFixed(1)} ms/prompt, direct ${viaDirect.at(-1)?.toFixed(1)} ms/prompt`,
      );
    }

    // The store, in-process: one prompt's life is three committed transitions.
    const dir = tempDir('codex-sm-bench-store-');
    const store = Store.open(path.join(dir, 'store'));
    cleanup.add(() => store.close());
    const repo = new QueueRepo(store);
    const queue = repo.createQueue({ name: 'bench', cwd: dir });
    const ids = Array.from(
      { length: transitions },
      (_, i) => repo.addPrompt(queue.id, { text: `p${i}` })?.id ?? '',
    );
    const perTransition: number[] = [];
    for (const id of ids) {
      const t0 = now();
      repo.recordAttempt(id);
      repo.markPromptRunning(id, `turn-${id}`);
      repo.completePrompt(id, { message: 'done' });
      perTransition.push((now() - t0) / 3);
    }
    const floorDb = openSqlite(path.join(dir, 'floor.sqlite'));
    cleanup.add(() => floorDb.close());
    floorDb.pragma('journal_mode = WAL');
    floorDb.pragma('synchronous = FULL');
    floorDb.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
    floorDb.prepare('INSERT INTO t (id, v) VALUES (1, 0)').run();
    const bump = floorDb.prepare('UPDATE t SET v = v + 1 WHERE id = 1');
    const write = floorDb.transaction(() => bump.run());
    const floor: number[] = [];
    for (let i = 0; i < transitions * 3; i++) {
      const t0 = now();
      write.immediate();
      floor.push(now() - t0);
    }

    const q50 = median(viaQueue);
    const d50 = median(viaDirect);
    const s50 = median(perTransition);
    const f50 = median(floor);
    return {
      suite: 'queues',
      rows: [
        diffRow('queued prompt p50', 'ms', q50, 'direct turn/start→completed', d50, 20),
        ratioRow('store write per transition p50', 'ms', s50, 'bare SQLite UPDATE txn', f50, {
          max: 3,
        }),
      ],
      data: {
        prompts,
        rounds,
        queueMsPerPrompt: summarize(viaQueue),
        directMsPerPrompt: summarize(viaDirect),
        storeMsPerTransition: summarize(perTransition),
        bareWriteMs: summarize(floor),
      },
      notes: [
        `per prompt = a whole queue (or direct run) of ${prompts} turns / ${prompts}, ${rounds} rounds each side, interleaved`,
        'store: recordAttempt + markPromptRunning + completePrompt on one prompt, / 3 (each is one committed transaction, synchronous = FULL)',
      ],
    };
  } finally {
    await cleanup.run();
  }
}
