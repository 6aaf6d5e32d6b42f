/**
 * Node's default metrics start with the first scrape (service/metrics.ts): before it, the
 * registry holds none of them — so no event-loop-delay monitor wakes an unscraped service — and
 * every scrape after the first serves them. The supervisor and gateway are stand-ins with only
 * what the collectors read (the integration test scrapes the real service).
 */
import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import { ServiceMetrics, type MetricsSources } from '../../service/metrics.js';
import type { AppServerSupervisor } from '../../service/supervisor.js';

function sources(): MetricsSources {
  const supervisor = Object.assign(new EventEmitter(), {
    state: 'ready',
    snapshot: () => ({
      state: 'ready',
      restarts: 0,
      remoteControl: { enabled: false, status: null, serverName: null },
    }),
  });
  return {
    // The collectors read state, snapshot() and the 'notification' events only.
    supervisor: supervisor as unknown as AppServerSupervisor,
    gateway: {
      clientsByPath: () => new Map(),
      relayed: {
        toAppServer: { messages: 0, bytes: 0 },
        toClient: { messages: 0, bytes: 0 },
      },
    },
    webhookStats: () => undefined,
  };
}

describe("Node's default metrics start with the first scrape", () => {
  it('registers none before it, serves them from it on, and scrapes again without clashing', async () => {
    const m = new ServiceMetrics(sources());
    const names = () => m.registry.getMetricsAsArray().map((x) => x.name);
    expect(names().filter((n) => /^(nodejs|process)_/.test(n))).to.deep.equal([]);
    expect(names()).to.include('codex_sm_app_server_state');

    const first = await m.scrape();
    expect(first.body).to.match(/^nodejs_eventloop_lag_seconds /m);
    expect(first.body).to.match(/^process_cpu_seconds_total /m);
    expect(first.body, 'the gauge promtool rejects stays out').not.to.match(
      /^nodejs_active_handles_total /m,
    );
    const second = await m.scrape();
    expect(second.body).to.match(/^nodejs_eventloop_lag_seconds /m);
    m.registry.clear(); // its monitors keep running, but they do not hold the process open
  });
});
