/**
 * `codex-sm logs` on macOS: launchd has no journal, only the StandardOutPath/StandardErrorPath
 * files it appends to. Show the last lines of each, then (with follow) poll them for growth. The
 * service truncates them in place (service/logfile-truncate.ts), so a file that got shorter is
 * read again from the start instead of waiting for it to reach the old offset.
 */
import fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { CodexSmError, EXIT } from '../../errors.js';
import type { LogsOptions } from '../../lifecycle/port.js';

export interface LogSource {
  stream: 'stdout' | 'stderr';
  path: string;
}

export interface FollowOptions extends LogsOptions {
  /** Ends a follow (the CLI ends on Ctrl-C; tests abort). */
  signal?: AbortSignal;
  pollIntervalMs?: number;
}

const CHUNK = 64 * 1024;

/** The last `n` complete-or-final lines of a file, reading backwards in chunks. */
export function readLastLines(file: string, n: number): { lines: string[]; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return { lines: [], size: 0 };
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (n <= 0) return { lines: [], size };
    let pos = size;
    let text = '';
    while (pos > 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, pos);
      text = buf.toString('utf8') + text;
      // n newlines past the final one mean we have n whole lines.
      if (text.split('\n').length > n + 1) break;
    }
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return { lines: lines.slice(-n), size };
  } finally {
    fs.closeSync(fd);
  }
}

const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };

/**
 * `--since` in the journalctl forms people type: "10 min ago", "2h", "30s", "today",
 * "yesterday", or a date ("2025-01-31 12:00", ISO 8601).
 */
export function parseSince(since: string, now = Date.now()): number | undefined {
  const text = since.trim().toLowerCase();
  const rel =
    /^(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?)(?:\s+ago)?$/.exec(text);
  if (rel) return now - Number(rel[1]) * (UNIT_MS[rel[2]!.charAt(0)] ?? 0);
  if (text === 'today' || text === 'yesterday') {
    const midnight = new Date(now);
    midnight.setHours(0, 0, 0, 0);
    return midnight.getTime() - (text === 'yesterday' ? UNIT_MS.d! : 0);
  }
  const t = Date.parse(since);
  return Number.isNaN(t) ? undefined : t;
}

/** The timestamp of a pino JSON line (epoch ms in "time"), if it has one. */
function lineTime(line: string): number | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const obj = JSON.parse(line) as { time?: unknown };
    if (typeof obj.time === 'number') return obj.time;
    if (typeof obj.time === 'string') {
      const t = Date.parse(obj.time);
      return Number.isNaN(t) ? undefined : t;
    }
  } catch {
    /* not JSON */
  }
  return undefined;
}

/** Text: the line as written (stderr lines marked); JSON: one object per line. */
function formatLine(source: LogSource, line: string, json: boolean): string {
  if (!json) return source.stream === 'stderr' ? `[stderr] ${line}` : line;
  return JSON.stringify({ stream: source.stream, file: source.path, line });
}

export async function showLogFiles(
  sources: readonly LogSource[],
  opts: FollowOptions,
  write: (line: string) => void,
): Promise<void> {
  const since = opts.since === undefined ? undefined : parseSince(opts.since);
  if (opts.since !== undefined && since === undefined) {
    throw new CodexSmError('usage', `cannot read --since "${opts.since}"`, {
      hint: 'use e.g. "10 min ago", "2h", "today" or "2025-01-31 12:00"',
      exitCode: EXIT.usage,
    });
  }
  // Lines without a timestamp (a crash trace on stderr) are kept: we cannot tell their age.
  const keep = (line: string): boolean => {
    if (since === undefined) return true;
    const t = lineTime(line);
    return t === undefined || t >= since;
  };
  const offsets = new Map<string, number>();
  for (const source of sources) {
    const { lines, size } = readLastLines(source.path, opts.lines);
    for (const line of lines) if (keep(line)) write(formatLine(source, line, opts.json));
    offsets.set(source.path, size);
  }
  if (!opts.follow) return;
  const partial = new Map<string, string>();
  const interval = opts.pollIntervalMs ?? 250;
  while (!opts.signal?.aborted) {
    for (const source of sources) {
      const size = fileSize(source.path);
      let offset = offsets.get(source.path) ?? 0;
      if (size < offset) offset = 0; // truncated in place (or replaced): start over
      if (size > offset) {
        const text = (partial.get(source.path) ?? '') + readRange(source.path, offset, size);
        const lines = text.split('\n');
        partial.set(source.path, lines.pop() ?? '');
        for (const line of lines) if (keep(line)) write(formatLine(source, line, opts.json));
        offset = size;
      }
      offsets.set(source.path, offset);
    }
    try {
      await delay(interval, undefined, opts.signal ? { signal: opts.signal } : undefined);
    } catch {
      break; // aborted
    }
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function readRange(file: string, start: number, end: number): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(end - start);
    const n = fs.readSync(fd, buf, 0, buf.length, start);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}
