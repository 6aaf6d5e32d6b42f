/**
 * Reading the service's journal: `journalctl [--user] -u codex-sm.service -o json`, turned into
 * readable lines (or normalized JSON lines with --json). The formatting is pure; the two effects
 * are a buffered run through the CommandRunner and, for --follow, a streamed child process
 * (CommandRunner buffers until exit, which a follow never reaches).
 */
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { CodexSmError, EXIT } from '../../errors.js';
import type { CommandRunner } from '../../runner.js';
import type { LogsOptions } from '../../lifecycle/port.js';

/** syslog(3) priorities, as journald stores them in PRIORITY. */
export const PRIORITY_NAMES = [
  'emerg',
  'alert',
  'crit',
  'err',
  'warning',
  'notice',
  'info',
  'debug',
] as const;

export interface LogEntry {
  /** ISO 8601 with milliseconds. */
  time: string;
  priority: number;
  level: string;
  identifier: string;
  pid?: number;
  message: string;
  /** The service's own structured record (pino JSON line), when the message is one. */
  fields?: Record<string, unknown>;
}

/** The exact command a person can run to see the same lines. */
export function journalCommand(scope: 'user' | 'system', unit: string, lines = 50): string {
  return `journalctl ${scope === 'user' ? '--user ' : ''}-u ${unit} -n ${lines} --no-pager`;
}

export function journalArgs(scope: 'user' | 'system', unit: string, opts: LogsOptions): string[] {
  const args = [
    ...(scope === 'user' ? ['--user'] : []),
    '-u',
    unit,
    '-o',
    'json',
    '--no-pager',
    '-n',
    String(opts.lines),
  ];
  if (opts.since) args.push('--since', opts.since);
  if (opts.follow) args.push('-f');
  return args;
}

/** MESSAGE is a string, or an array of bytes when journald considered it binary. */
function messageText(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw)) return Buffer.from(raw as number[]).toString('utf8');
  return raw === undefined || raw === null ? '' : String(raw);
}

/** One `journalctl -o json` line → LogEntry; undefined for lines that are not journal JSON. */
export function parseJournalLine(line: string): LogEntry | undefined {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!rec || typeof rec !== 'object') return undefined;
  const us = Number(rec.__REALTIME_TIMESTAMP ?? 0);
  const priority = Number(rec.PRIORITY ?? 6);
  const message = messageText(rec.MESSAGE);
  const pid = Number(rec._PID ?? rec.SYSLOG_PID);
  const entry: LogEntry = {
    time: new Date(Math.floor(us / 1000)).toISOString(),
    priority,
    level: PRIORITY_NAMES[priority] ?? String(priority),
    identifier: String(rec.SYSLOG_IDENTIFIER ?? rec._COMM ?? ''),
    ...(Number.isFinite(pid) && pid > 0 ? { pid } : {}),
    message,
  };
  if (message.startsWith('{')) {
    try {
      const fields = JSON.parse(message) as unknown;
      if (fields && typeof fields === 'object' && !Array.isArray(fields))
        entry.fields = fields as Record<string, unknown>;
    } catch {
      /* not a structured line */
    }
  }
  return entry;
}

/** pino's own bookkeeping keys, already shown (time, level) or noise in a terminal. */
const PINO_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v']);

/** `2025-11-22 02:30:00.123 info    codex-sm[1234]: listening {"port":3100}` */
export function formatEntry(e: LogEntry): string {
  const when = e.time.replace('T', ' ').replace('Z', '');
  const who = `${e.identifier || '?'}${e.pid ? `[${e.pid}]` : ''}`;
  let text = e.message;
  if (e.fields) {
    const rest = Object.fromEntries(Object.entries(e.fields).filter(([k]) => !PINO_KEYS.has(k)));
    const msg = typeof e.fields.msg === 'string' ? e.fields.msg : '';
    text = [msg, Object.keys(rest).length ? JSON.stringify(rest) : ''].filter(Boolean).join(' ');
  }
  return `${when} ${e.level.padEnd(7)} ${who}: ${text}`;
}

export function renderEntry(e: LogEntry, json: boolean): string {
  return json ? JSON.stringify(e) : formatEntry(e);
}

function journalFailure(stderr: string, command: string): CodexSmError {
  const text = stderr.trim().split('\n')[0] ?? '';
  if (/timestamp/i.test(text)) {
    return new CodexSmError('invalid_since', `journalctl could not parse --since: ${text}`, {
      hint: 'use e.g. --since "10 min ago", --since today, --since "2025-01-31 12:00"',
      exitCode: EXIT.usage,
    });
  }
  return new CodexSmError('journal_unavailable', `journalctl failed: ${text || 'no output'}`, {
    hint: `try it yourself: ${command}`,
    exitCode: EXIT.unavailable,
  });
}

/** The last `opts.lines` entries (no follow). */
export async function readJournal(
  runner: CommandRunner,
  env: NodeJS.ProcessEnv,
  scope: 'user' | 'system',
  unit: string,
  opts: LogsOptions,
): Promise<LogEntry[]> {
  const r = await runner.run('journalctl', journalArgs(scope, unit, { ...opts, follow: false }), {
    env,
    timeoutMs: 30_000,
  });
  if (r.code !== 0 && !r.stdout)
    throw journalFailure(r.stderr || r.spawnError || '', journalCommand(scope, unit));
  return r.stdout
    .split('\n')
    .map(parseJournalLine)
    .filter((e): e is LogEntry => e !== undefined);
}

/** Stream entries until journalctl exits (for -f: until we are interrupted). */
export function followJournal(
  env: NodeJS.ProcessEnv,
  scope: 'user' | 'system',
  unit: string,
  opts: LogsOptions,
  write: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('journalctl', journalArgs(scope, unit, opts), {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const e = parseJournalLine(line);
      if (e) write(renderEntry(e, opts.json));
    });
    const stop = () => child.kill('SIGTERM');
    process.once('SIGINT', stop).once('SIGTERM', stop);
    child.on('error', (e) => reject(journalFailure(e.message, journalCommand(scope, unit))));
    child.on('close', (code, signal) => {
      process.off('SIGINT', stop).off('SIGTERM', stop);
      if (code === 0 || signal) resolve();
      else reject(journalFailure(stderr, journalCommand(scope, unit)));
    });
  });
}

/** The last `n` entries as readable lines, for error reports; empty when the journal cannot be read. */
export async function tailLines(
  runner: CommandRunner,
  env: NodeJS.ProcessEnv,
  scope: 'user' | 'system',
  unit: string,
  n: number,
): Promise<string[]> {
  try {
    return (
      await readJournal(runner, env, scope, unit, { lines: n, follow: false, json: false })
    ).map(formatEntry);
  } catch {
    return [];
  }
}
