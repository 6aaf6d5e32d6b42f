/**
 * Benchmark entry: `make bench ARGS="serve --rounds=15"` → `node dist/bench/run.js serve --rounds=15`.
 *
 *   node dist/bench/run.js [SUITE...] [--flag=value...] [--help]
 *
 * With no suite named, every suite present runs. A suite is a module `bench/<name>.ts` exporting
 * `suite: BenchSuite` (see bench/lib.ts); add its name to SUITES below. Flags are handed to every
 * suite as strings; each reads the ones it knows (`--help` lists them). `--SUITE.flag=v` sets a
 * flag for one suite only (e.g. `--serve.rounds=30 --sessions.rounds=100`).
 *
 * Output: progress on stderr; on stdout a table (codex-sm's number, the anchor measured in the
 * same run, the ratio or difference, the target, PASS/MISS) and, last, one JSON line with every
 * number. Targets are informational: the exit status is 0 unless a suite crashed.
 */
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  formatTable,
  terminateTracked,
  type BenchContext,
  type BenchSuite,
  type SuiteResult,
} from './lib.js';

/** Known suites, in run order; each is `bench/<name>.ts`, loaded only if it was built. */
const SUITES = ['serve', 'sessions', 'queues'] as const;

async function loadSuite(name: string): Promise<BenchSuite | undefined> {
  const file = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  if (!fs.existsSync(file)) return undefined;
  const mod = (await import(`./${name}.js`)) as { suite?: BenchSuite; default?: BenchSuite };
  const s = mod.suite ?? mod.default;
  if (!s || typeof s.run !== 'function')
    throw new Error(`bench/${name}.ts does not export \`suite: BenchSuite\``);
  return s;
}

function parseArgs(argv: string[]): {
  names: string[];
  flags: Record<string, string>;
  help: boolean;
} {
  const names: string[] = [];
  const flags: Record<string, string> = {};
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--help' || a === '-h') help = true;
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else if (argv[i + 1] !== undefined && !(argv[i + 1] as string).startsWith('--'))
        flags[a.slice(2)] = argv[++i] as string;
      else flags[a.slice(2)] = 'true';
    } else names.push(...a.split(',').filter(Boolean));
  }
  return { names, flags, help };
}

/** The flags one suite sees: `--serve.rounds=5` overrides `--rounds` for the serve suite only. */
function suiteFlags(all: Record<string, string>, suite: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) if (!k.includes('.')) out[k] = v;
  for (const [k, v] of Object.entries(all))
    if (k.startsWith(`${suite}.`)) out[k.slice(suite.length + 1)] = v;
  return out;
}

function context(flags: Record<string, string>): BenchContext {
  return {
    flags,
    num(name, def) {
      const v = flags[name];
      if (v === undefined) return def;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0)
        throw new Error(`--${name} must be a positive number, got "${v}"`);
      return n;
    },
    log: (msg) => process.stderr.write(`bench: ${msg}\n`),
  };
}

function machine() {
  const cpus = os.cpus();
  return {
    host: os.hostname(),
    platform: `${os.platform()} ${os.release()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

async function main(): Promise<number> {
  const { names, flags, help } = parseArgs(process.argv.slice(2));
  const available = new Map<string, BenchSuite>();
  const broken = new Map<string, string>();
  for (const name of SUITES) {
    try {
      const s = await loadSuite(name);
      if (s) available.set(name, s);
    } catch (e) {
      broken.set(name, (e as Error).message);
    }
  }
  for (const [name, why] of broken)
    process.stderr.write(`bench: suite ${name} cannot be loaded: ${why}\n`);
  if (help) {
    process.stdout.write('usage: node dist/bench/run.js [SUITE...] [--flag=value...]\n\n');
    for (const s of available.values()) {
      process.stdout.write(`${s.name}: ${s.description}\n`);
      for (const [f, d] of Object.entries(s.flags ?? {}))
        process.stdout.write(`  --${f.padEnd(14)} ${d}\n`);
    }
    return 0;
  }
  const unknown = names.filter((n) => !available.has(n));
  if (unknown.some((n) => broken.has(n))) return 2;
  if (unknown.length) {
    process.stderr.write(
      `bench: unknown suite(s) ${unknown.join(', ')}; available: ${[...available.keys()].join(', ')}\n`,
    );
    return 2;
  }
  const chosen = names.length ? [...new Set(names)] : [...available.keys()];
  const log = context(flags).log;
  const before = machine();
  const started = new Date();
  const results: SuiteResult[] = [];
  const errors: { suite: string; error: string }[] = [];
  for (const name of chosen) {
    const t0 = Date.now();
    log(`suite ${name} starting`);
    try {
      results.push(await available.get(name)!.run(context(suiteFlags(flags, name))));
      log(`suite ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (e) {
      const err = e as Error;
      log(`suite ${name} failed: ${err.stack ?? err.message}`);
      errors.push({ suite: name, error: err.message });
    }
  }
  const m = machine();
  process.stdout.write(
    `\ncodex-sm benchmarks — ${started.toISOString()} — ${m.cpus} × ${m.cpuModel ?? '?'}, ${m.memGiB} GiB, node ${m.node}\n`,
  );
  process.stdout.write(
    `load average before ${before.loadavg.join(' ')}, after ${m.loadavg.join(' ')} (other work on the machine adds noise)\n\n`,
  );
  process.stdout.write(formatTable(results) + '\n\n');
  const json = {
    bench: 'codex-sm',
    date: started.toISOString(),
    argv: process.argv.slice(2),
    machine: { ...m, loadavgBefore: before.loadavg },
    results: results.map((r) => ({ suite: r.suite, rows: r.rows, data: r.data, notes: r.notes })),
    errors,
  };
  process.stdout.write(JSON.stringify(json) + '\n');
  return errors.length ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    const n = terminateTracked();
    process.stderr.write(`bench: ${signal}; stopped ${n} child process(es)\n`);
    setTimeout(() => process.exit(130), 500);
  });
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
