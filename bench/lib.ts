/**
 * What every benchmark suite shares: the suite interface `bench/run.ts` dispatches to, summary
 * statistics, rows that compare a codex-sm number with an anchor measured in the same run, and
 * the printed table. Results are informational: a MISS never fails anything.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

/** What a suite gets from the runner: its flags (`--rounds=15` → { rounds: '15' }) and a logger. */
export interface BenchContext {
  flags: Record<string, string>;
  /** A numeric flag, or `def`. */
  num(name: string, def: number): number;
  /** Progress on stderr (the table and the JSON line go to stdout). */
  log(msg: string): void;
}

/** One compared number: codex-sm's value, the anchor's value, their ratio or difference, the target. */
export interface Row {
  metric: string;
  unit: string;
  value: number;
  anchor?: string;
  anchorValue?: number;
  /** 'ratio' = value / anchorValue; 'diff' = value − anchorValue. */
  compare?: 'ratio' | 'diff';
  result?: number;
  target?: string;
  pass?: boolean;
}

export interface SuiteResult {
  suite: string;
  rows: Row[];
  /** Raw summaries (all percentiles, sample counts, pids) for the JSON line. */
  data: Record<string, unknown>;
  notes: string[];
}

/**
 * A suite is a module `bench/<name>.ts` exporting `suite: BenchSuite`; `bench/run.ts` lists the
 * known names and loads the ones that exist.
 */
export interface BenchSuite {
  name: string;
  description: string;
  /** Flags the suite reads, for `--help`: name → description (with the default). */
  flags?: Record<string, string>;
  run(ctx: BenchContext): Promise<SuiteResult>;
}

export const now = (): number => performance.now();

/** The `initialize` params every benchmark client sends the app-server. */
export const INIT_PARAMS = {
  clientInfo: { name: 'codex-sm-bench', title: null, version: '0.0.0' },
  capabilities: { experimentalApi: true },
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile of an unsorted sample. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))] as number;
}

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(xs: readonly number[]): Summary {
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return {
    n: xs.length,
    min: r(Math.min(...xs)),
    p50: r(percentile(xs, 50)),
    p90: r(percentile(xs, 90)),
    p99: r(percentile(xs, 99)),
    max: r(Math.max(...xs)),
    mean: r(xs.reduce((a, b) => a + b, 0) / (xs.length || 1)),
  };
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/** value / anchor, with a target "≤ max" or "≥ min". */
export function ratioRow(
  metric: string,
  unit: string,
  value: number,
  anchor: string,
  anchorValue: number,
  target?: { max?: number; min?: number },
): Row {
  const result = value / anchorValue;
  const row: Row = { metric, unit, value, anchor, anchorValue, compare: 'ratio', result };
  if (target?.max !== undefined)
    Object.assign(row, { target: `≤ ${target.max.toFixed(2)}×`, pass: result <= target.max });
  if (target?.min !== undefined)
    Object.assign(row, { target: `≥ ${target.min.toFixed(2)}×`, pass: result >= target.min });
  return row;
}

/** value − anchor, with a target "≤ max". */
export function diffRow(
  metric: string,
  unit: string,
  value: number,
  anchor: string,
  anchorValue: number,
  max?: number,
): Row {
  const result = value - anchorValue;
  const row: Row = { metric, unit, value, anchor, anchorValue, compare: 'diff', result };
  if (max !== undefined) Object.assign(row, { target: `≤ +${max} ${unit}`, pass: result <= max });
  return row;
}

export function plainRow(metric: string, unit: string, value: number): Row {
  return { metric, unit, value };
}

/**
 * An absolute budget ("≤ 60 MiB"): for what has no anchor to divide by (memory a small VPS
 * pays). Still read next to an anchor row where one exists.
 */
export function limitRow(metric: string, unit: string, value: number, max: number): Row {
  return { metric, unit, value, target: `≤ ${max} ${unit}`, pass: value <= max };
}

/**
 * Resident set size of a process in KiB (Linux /proc), or undefined. `RssAnon` is its anonymous
 * part: what the process itself costs the machine, without the file-backed pages of its binary
 * and libraries, which every process running them shares and the kernel can drop and read again.
 */
export function rssKiB(
  pid: number | undefined,
  field: 'VmRSS' | 'RssAnon' = 'VmRSS',
): number | undefined {
  if (!pid) return undefined;
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(
      fs.readFileSync(`/proc/${pid}/status`, 'utf8'),
    );
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; clock-tick resolution). */
export function cpuMs(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/**
 * CPU time (user + system) of a process's live threads so far, in ms, to the nanosecond: the sum
 * of /proc/PID/task/TID/schedstat (clock ticks, cpuMs's unit, are 10 ms: too coarse for a start
 * that costs 20-100 ms). Threads that already exited are not in it, so it is for short lives
 * (start-up); cpuMs, which counts them, when the kernel has no schedstat.
 */
export function threadCpuMs(pid: number | undefined): number {
  if (!pid) return NaN;
  let ns = 0;
  let read = 0;
  let tids: string[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return NaN; // gone
  }
  for (const tid of tids) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      read++;
    } catch {
      /* the thread exited meanwhile, or no schedstat here */
    }
  }
  return read ? ns / 1e6 : cpuMs(pid);
}

/** sysconf(_SC_CLK_TCK): 100 on every Linux this runs on. */
const CLK_TCK = 100;

function fmt(v: number | undefined, unit = ''): string {
  if (v === undefined || Number.isNaN(v)) return '';
  const abs = Math.abs(v);
  const s =
    abs >= 1000
      ? v.toFixed(0)
      : abs >= 100
        ? v.toFixed(1)
        : abs >= 10
          ? v.toFixed(2)
          : v.toFixed(3);
  return unit ? `${s} ${unit}` : s;
}

function compared(row: Row): string {
  if (row.result === undefined) return '';
  if (row.compare === 'ratio') return `${row.result.toFixed(3)}×`;
  return `${row.result >= 0 ? '+' : ''}${fmt(row.result, row.unit)}`;
}

/** A plain-text table of every suite's rows. */
export function formatTable(results: readonly SuiteResult[]): string {
  const header = [
    'suite',
    'metric',
    'codex-sm',
    'anchor',
    'anchor value',
    'vs anchor',
    'target',
    '',
  ];
  const lines: string[][] = [header];
  for (const r of results) {
    for (const row of r.rows) {
      lines.push([
        r.suite,
        row.metric,
        fmt(row.value, row.unit),
        row.anchor ?? '',
        fmt(row.anchorValue, row.unit),
        compared(row),
        row.target ?? '',
        row.pass === undefined ? '' : row.pass ? 'PASS' : 'MISS',
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => [...(l[i] ?? '')].length)));
  const pad = (s: string, w: number, right: boolean) => (right ? s.padStart(w) : s.padEnd(w));
  const numeric = new Set([2, 4, 5]);
  const out = lines.map((l) =>
    l
      .map((c, i) => pad(c, widths[i] as number, numeric.has(i)))
      .join('  ')
      .trimEnd(),
  );
  out.splice(
    1,
    0,
    widths
      .map((w) => '-'.repeat(w))
      .join('  ')
      .trimEnd(),
  );
  const notes = results.flatMap((r) => r.notes.map((n) => `[${r.suite}] ${n}`));
  const judged = results.flatMap((r) => r.rows).filter((row) => row.pass !== undefined);
  const missed = judged.filter((row) => !row.pass).length;
  const tally = judged.length
    ? [`targets: ${judged.length - missed} PASS, ${missed} MISS (informational)`]
    : [];
  return [...out, ...(notes.length ? ['', ...notes] : []), '', ...tally].join('\n');
}

/** Things to undo at the end (or on Ctrl-C): stop services, close servers, remove temp dirs. */
export class Cleanup {
  private readonly fns: (() => Promise<unknown> | unknown)[] = [];

  add(fn: () => Promise<unknown> | unknown): void {
    this.fns.push(fn);
  }

  async run(): Promise<void> {
    for (const fn of this.fns.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        /* best effort */
      }
    }
  }
}

const tracked = new Set<ChildProcess>();

/** Remember a child so an interrupted run (SIGINT/SIGTERM to the runner) can still stop it. */
export function track<T extends ChildProcess>(child: T): T {
  tracked.add(child);
  child.once('exit', () => tracked.delete(child));
  return child;
}

/** SIGTERM every tracked child still running (a codex-sm service then stops its app-server). */
export function terminateTracked(): number {
  let n = 0;
  for (const c of tracked)
    if (c.exitCode === null && c.signalCode === null && c.kill('SIGTERM')) n++;
  return n;
}
