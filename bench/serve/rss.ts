/**
 * The `serve` suite's rss part: the service's node process idle and with N idle relayed
 * clients, against a bare app-server idle and with N direct clients.
 */
import fs from 'node:fs';
import path from 'node:path';
import { wsAddress } from '../../service/rpc.js';
import { startService, TestClient, waitReady } from '../../harness/service.js';
import { limitRow, plainRow, ratioRow, rssKiB, sleep, track } from '../lib.js';
import { SERVICE_CONFIG, type Env, startBareUnix, serviceStatus } from './common.js';

async function connectMany(
  url: string,
  n: number,
  headers: Record<string, string>,
): Promise<TestClient[]> {
  const out: TestClient[] = [];
  for (let i = 0; i < n; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, async () => {
        const c = await TestClient.connect(url, headers);
        await c.initialize('codex-sm-bench-idle');
        return c;
      }),
    );
    out.push(...batch);
  }
  return out;
}

async function closeAll(clients: TestClient[]): Promise<void> {
  await Promise.all(clients.map((c) => (c.close(), Promise.race([c.closed, sleep(5000)]))));
}

const mib = (kib: number | undefined) => (kib ?? NaN) / 1024;

export async function benchRss(env: Env, scratch: string): Promise<void> {
  const { ctx } = env;
  const n = ctx.num('clients', 200);
  const settle = ctx.num('settle', 2000);

  ctx.log(`rss: codex-sm idle, then with ${n} idle clients`);
  const svc = await startService({ dir: path.join(scratch, 'rss-sm'), config: SERVICE_CONFIG });
  track(svc.child);
  env.cleanup.add(() => svc.stop());
  await waitReady(svc);
  await sleep(settle);
  const st = await serviceStatus(svc);
  const nodeIdle = rssKiB(svc.child.pid);
  const nodeIdleAnon = rssKiB(svc.child.pid, 'RssAnon');
  const appIdle = rssKiB(st.appServer.pid);
  // V8 keeps the young generation it grew while loading until its memory reducer runs, ~10-20 s
  // into an idle process: the RSS a service settles at is read after that.
  const idleMs = ctx.flags.idle === '0' ? 0 : ctx.num('idle', 25_000);
  if (idleMs > settle) await sleep(idleMs - settle);
  const nodeLongIdle = idleMs ? rssKiB(svc.child.pid) : undefined;
  const nodeLongIdleAnon = idleMs ? rssKiB(svc.child.pid, 'RssAnon') : undefined;
  const clients = await connectMany(`${svc.wsUrl}/`, n, { authorization: `Bearer ${svc.token}` });
  await sleep(settle);
  const st2 = await serviceStatus(svc);
  if (st2.clients !== n)
    env.notes.push(`rss: /status counted ${st2.clients} clients, expected ${n}`);
  const nodeN = rssKiB(svc.child.pid);
  const appN = rssKiB(st.appServer.pid);
  await closeAll(clients);
  await svc.stop();

  ctx.log(`rss: bare app-server idle, then with ${n} direct clients`);
  const home = path.join(scratch, 'rss-bare', 'codex-home');
  fs.mkdirSync(home, { recursive: true });
  const bare = await startBareUnix(
    env.codexBin,
    home,
    path.join(scratch, 'rss-bare', 'app-server.sock'),
  );
  env.cleanup.add(() => bare.stop());
  await sleep(settle);
  const bareIdle = rssKiB(bare.child.pid);
  const direct = await connectMany(wsAddress(bare.endpoint), n, {});
  await sleep(settle);
  const bareN = rssKiB(bare.child.pid);
  await closeAll(direct);
  await bare.stop();

  env.rows.push(
    limitRow('RSS idle: codex-sm node process', 'MiB', mib(nodeIdle), 60),
    // The same target, once V8's memory reducer has given back what start-up grew: what a
    // service that sits idle for hours holds (docs/benchmarks.md, "RSS").
    ...(nodeLongIdle
      ? [
          limitRow(
            `RSS idle ${idleMs / 1000} s after ready: codex-sm node`,
            'MiB',
            mib(nodeLongIdle),
            60,
          ),
        ]
      : []),
    // Informational: the anonymous part alone, without the file-backed pages (mostly the node
    // binary's), which every node process shares (docs/benchmarks.md, "Issue 16, sixth pass").
    plainRow('RSS idle: codex-sm node, anonymous part', 'MiB', mib(nodeIdleAnon)),
    ...(nodeLongIdleAnon
      ? [
          plainRow(
            `RSS idle ${idleMs / 1000} s after ready: codex-sm node, anonymous part`,
            'MiB',
            mib(nodeLongIdleAnon),
          ),
        ]
      : []),
    ratioRow(
      'RSS idle: its app-server',
      'MiB',
      mib(appIdle),
      'bare app-server idle',
      mib(bareIdle),
    ),
    ratioRow(
      'RSS idle: node + its app-server',
      'MiB',
      mib((nodeIdle ?? NaN) + (appIdle ?? NaN)),
      'bare app-server idle',
      mib(bareIdle),
    ),
    plainRow(`RSS ${n} idle clients: codex-sm node process`, 'MiB', mib(nodeN)),
    ratioRow(
      `RSS ${n} idle clients: its app-server`,
      'MiB',
      mib(appN),
      `bare app-server, ${n} direct clients`,
      mib(bareN),
    ),
    // Against the reading just before the clients connected (the later one when there is one).
    limitRow(
      `RSS per idle client: codex-sm node process`,
      'KiB',
      ((nodeN ?? NaN) - (nodeLongIdle ?? nodeIdle ?? NaN)) / n,
      30,
    ),
    ratioRow(
      `RSS ${n} idle clients: node + app-server`,
      'MiB',
      mib((nodeN ?? NaN) + (appN ?? NaN)),
      `bare app-server, ${n} direct clients`,
      mib(bareN),
    ),
  );
  env.data.rss = {
    clients: n,
    settleMs: settle,
    kib: {
      codexSmNodeIdle: nodeIdle,
      codexSmNodeLongIdle: nodeLongIdle,
      codexSmNodeIdleAnon: nodeIdleAnon,
      codexSmNodeLongIdleAnon: nodeLongIdleAnon,
      codexSmAppServerIdle: appIdle,
      codexSmNodeWithClients: nodeN,
      codexSmAppServerWithClients: appN,
      bareAppServerIdle: bareIdle,
      bareAppServerWithClients: bareN,
    },
  };
}
