/**
 * A real Prometheus server (Debian's `prometheus`, installed by .ci/run) scrapes a real
 * `codex-sm serve` with a `metrics`-scoped token from a credentials file, as docs/metrics.md
 * tells an operator to, and the service's series arrive in its TSDB. The app-server is real;
 * only the Responses API is faked (no turn runs here, so none is needed).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { startService, tempDir, waitReady, type ServiceProcess } from '../../harness/service.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

interface Query {
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('a real Prometheus server scrapes /metrics with a scoped token', function () {
  this.timeout(120_000);
  let svc: ServiceProcess;
  let prom: ChildProcess | undefined;
  let promUrl: string;

  before(async function () {
    if (spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status !== 0) {
      console.warn(
        "\n  NOT RUN: no `prometheus` binary (Debian's prometheus; .ci/run installs it)\n",
      );
      this.skip();
    }
    svc = await startService({});
    await waitReady(svc);
    const made = await fetch(`${svc.endpoint}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${svc.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'prometheus', scopes: ['metrics'] }),
    });
    const dir = tempDir('codex-sm-prom-');
    const tokenFile = path.join(dir, 'codex-sm.token');
    fs.writeFileSync(tokenFile, ((await made.json()) as { token: string }).token, { mode: 0o600 });
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        '  - job_name: codex-sm',
        '    metrics_path: /metrics',
        `    authorization: { type: Bearer, credentials_file: ${tokenFile} }`,
        `    static_configs: [{ targets: ['${new URL(svc.endpoint).host}'] }]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
  });

  after(async () => {
    prom?.kill('SIGTERM');
    await svc?.stop();
  });

  /** The query's result once Prometheus has one (its scrape loop is what we wait for). */
  const whenPresent = async (query: string): Promise<Query['data']['result']> => {
    for (;;) {
      const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(query)}`).catch(
        () => undefined,
      );
      if (r?.ok) {
        const q = (await r.json()) as Query;
        if (q.data.result.length) return q.data.result;
      }
      await new Promise((res) => setTimeout(res, 200)); // Prometheus has no push: ask again
    }
  };

  it('scrapes it: up is 1 and codex-sm series are stored', async () => {
    const up = await whenPresent('up{job="codex-sm"} == 1');
    expect(up[0]?.value[1]).to.equal('1');
    const state = await whenPresent('codex_sm_app_server_state{job="codex-sm"} == 1');
    expect(state.map((s) => s.metric.state)).to.deep.equal(['ready']);
    const targets = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as {
      data: { activeTargets: { health: string; lastError: string }[] };
    };
    expect(targets.data.activeTargets[0]).to.include({ health: 'up', lastError: '' });
  });
});
