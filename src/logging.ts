/**
 * pino JSON lines on stdout. Under systemd (JOURNAL_STREAM set) each line starts with the
 * syslog priority `<N>` so journald records PRIORITY= and `journalctl -p warning` filters work
 * (the same trick syncthing uses with STLOGFORMATLEVELSYSLOG).
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import type { Env } from './paths.js';

export type { Logger };

/** pino level number → syslog priority (RFC 5424 severities). */
export function syslogPriority(pinoLevel: number): number {
  if (pinoLevel >= 60) return 2; // fatal → crit
  if (pinoLevel >= 50) return 3; // error → err
  if (pinoLevel >= 40) return 4; // warn → warning
  if (pinoLevel >= 30) return 6; // info → info
  return 7; // debug, trace
}

/** Prefix one pino line with `<N>`; pino always writes `{"level":N,` first. */
export function withPriorityPrefix(line: string): string {
  const m = /^\{"level":(\d+)/.exec(line);
  return m ? `<${syslogPriority(Number(m[1]))}>${line}` : line;
}

export function underJournal(env: Env = process.env): boolean {
  return Boolean(env.JOURNAL_STREAM);
}

export interface LoggerOptions {
  level?: string;
  env?: Env;
  /** Where lines go; defaults to fd 1 written synchronously (a journal stream is a socket). */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const env = opts.env ?? process.env;
  const dest = opts.destination ?? pino.destination({ fd: 1, sync: true });
  const stream: DestinationStream = underJournal(env)
    ? { write: (line: string) => dest.write(withPriorityPrefix(line)) }
    : dest;
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid },
      // journald stamps every line itself; keep an ISO time for people reading files or pipes.
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (_label, number) => ({ level: number }) },
    },
    stream,
  );
}
