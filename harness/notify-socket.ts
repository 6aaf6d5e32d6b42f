/**
 * A NOTIFY_SOCKET bound by the caller, as systemd binds one (a unix datagram socket; node has
 * none built in, so unix-dgram): every sd_notify datagram the service sends, parsed into its
 * KEY=VALUE fields, in order, with a way to wait for the one that matters. Shared by the
 * systemd-protocol tests and the ready benchmark.
 */
import { createRequire } from 'node:module';
import { Recorder } from './recorder.js';

export interface Datagram {
  /** Its place in arrival order (0, 1, ...): "after" comparisons without indexOf. */
  seq: number;
  /** When it arrived, on the clock the socket was bound with. */
  at: number;
  fields: Record<string, string>;
}

export interface NotifySocket {
  readonly path: string;
  /** Every datagram so far, in arrival order. */
  readonly messages: readonly Datagram[];
  /** The first datagram matching `pred`, already arrived or still to come. */
  waitFor(
    pred: (d: Datagram) => boolean,
    timeoutMs?: number,
    signal?: AbortSignal,
  ): Promise<Datagram>;
  close(): void;
}

interface UnixDgram {
  createSocket(
    type: 'unix_dgram',
    onMessage: (buf: Buffer) => void,
  ): { bind(path: string): void; close(): void };
}

/** `clock` stamps each datagram's `at` (Date.now by default; a benchmark passes its own). */
export function bindNotifySocket(sockPath: string, clock: () => number = Date.now): NotifySocket {
  const unix = createRequire(import.meta.url)('unix-dgram') as UnixDgram;
  const received = new Recorder<Datagram>();
  const sock = unix.createSocket('unix_dgram', (buf) => {
    const at = clock();
    const fields: Record<string, string> = {};
    for (const line of buf.toString().split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1);
    }
    received.push({ seq: received.items.length, at, fields });
  });
  sock.bind(sockPath);
  return {
    path: sockPath,
    messages: received.items,
    waitFor: (pred, timeoutMs = 30_000, signal) =>
      received.waitFor(
        pred,
        timeoutMs,
        () => `no matching datagram; got ${JSON.stringify(received.items.map((d) => d.fields))}`,
        signal,
      ),
    close: () => sock.close(),
  };
}
