import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Ajv } from 'ajv';
import { resolveConfig } from '../../src/config/load.js';
import { planReload, RELOAD_KEYWORD, schemaKeys } from '../../src/config/reload.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { AJV_OPTIONS } from '../../src/config/validator-options.js';
import { REPO_ROOT } from '../../harness/service.js';

function baseConfig(over: Record<string, unknown> = {}): Config {
  return resolveConfig({ env: { HOME: '/home/u' }, flags: over }).config;
}

describe('config reload markers (unit)', () => {
  it('every key, top-level and nested, says live or restart; an object and its keys agree', () => {
    const keys = schemaKeys();
    expect(keys.map((k) => k.key)).to.include.members([
      'port',
      'approvals',
      'approvals.timeoutMs',
      'appServer.args',
      'tls.cert',
    ]);
    for (const k of keys) {
      expect(k.reload, `${k.key} has no ${RELOAD_KEYWORD} marker`).to.be.oneOf(['live', 'restart']);
      const parent = keys.find((p) => p.key === k.keyPath.slice(0, -1).join('.'));
      if (parent) expect(k.reload, `${k.key} differs from ${parent.key}`).to.equal(parent.reload);
    }
  });

  it('ajv strict mode accepts the marker and rejects a misspelt one', () => {
    expect(() => new Ajv(AJV_OPTIONS).compile(configSchema)).to.not.throw();
    const bad = structuredClone(configSchema) as unknown as {
      properties: Record<string, Record<string, unknown>>;
    };
    (bad.properties.port as Record<string, unknown>)[RELOAD_KEYWORD] = 'soon';
    expect(() => new Ajv(AJV_OPTIONS).compile(bad)).to.throw(/x-reload/);
  });
});

describe('planReload (unit)', () => {
  it('applies live keys, keeps restart keys at their running value and names them', () => {
    const running = baseConfig({ port: 3100, logLevel: 'info' });
    const next = {
      ...baseConfig({ port: 3200, logLevel: 'debug' }),
      stateDir: '/elsewhere',
      maxFrameBytes: 4096,
      approvals: { timeoutMs: 5000, defaultDecision: 'accept' },
      tls: { cert: '/c.pem', key: '/k.pem' },
    } satisfies Config;
    const plan = planReload(running, next);
    expect(plan.applied).to.have.members([
      'logLevel',
      'approvals.timeoutMs',
      'approvals.defaultDecision',
    ]);
    expect(plan.needsRestart).to.have.members([
      'port',
      'stateDir',
      'maxFrameBytes',
      'tls.cert',
      'tls.key',
    ]);
    const expected: Partial<Config> = {
      ...next,
      port: running.port,
      stateDir: running.stateDir,
      maxFrameBytes: running.maxFrameBytes,
    };
    delete expected.tls; // an absent restart key stays absent
    expect(plan.effective).to.deep.equal(expected);
  });

  it('keeps reporting a restart key on later reloads until the file goes back', () => {
    const running = baseConfig({ port: 3100 });
    const first = planReload(running, baseConfig({ port: 3200 }));
    const second = planReload(first.effective, baseConfig({ port: 3200, logLevel: 'warn' }));
    expect(second.needsRestart).to.deep.equal(['port']);
    expect(second.applied).to.deep.equal(['logLevel']);
    expect(planReload(second.effective, baseConfig({ port: 3100 })).needsRestart).to.deep.equal([]);
  });
});

describe('docs/configuration.md reload column (unit)', () => {
  it('shows the schema’s live/restart marker for every key', () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8');
    const table = doc.slice(doc.indexOf('## Keys'));
    const header = table.split('\n').find((l) => l.startsWith('| key |')) ?? '';
    const cols = header.split('|').map((c) => c.trim());
    const reloadCol = cols.indexOf('reload');
    expect(reloadCol, 'the key table has a reload column').to.be.greaterThan(0);
    const documented = new Map<string, string>();
    for (const line of table.split('\n').filter((l) => /^\| `/.test(l))) {
      const cells = line.split('|').map((c) => c.trim());
      for (const m of (cells[1] ?? '').matchAll(/`([^`]+)`/g)) {
        documented.set(m[1] as string, cells[reloadCol] as string);
      }
    }
    const expected = new Map(
      schemaKeys()
        .filter((k) => !k.nested)
        .map((k) => [k.key, k.reload ?? '']),
    );
    expect(Object.fromEntries(documented)).to.deep.equal(Object.fromEntries(expected));
  });
});
