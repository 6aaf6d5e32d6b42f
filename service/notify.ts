/**
 * sd_notify from the node main PID (systemd only accepts the main PID with NotifyAccess=main).
 * One datagram per message to $NOTIFY_SOCKET via unix-dgram (node has no AF_UNIX SOCK_DGRAM).
 * A no-op without NOTIFY_SOCKET, like caddy's notify_linux.go.
 *
 * Abstract sockets ("@name") cannot be addressed by unix-dgram (it copies the path as a C
 * string); rather than drop messages silently we fall back to `systemd-notify`, which works
 * only with NotifyAccess=all, and say so once in the log.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

export interface Notifier {
  readonly enabled: boolean;
  send(fields: Record<string, string | number>): void;
  close(): void;
}

interface DgramSocket {
  send(
    buf: Buffer,
    offset: number,
    length: number,
    path: string,
    cb?: (err?: Error | number) => void,
  ): void;
  on(event: 'error', cb: (err: Error) => void): void;
  close(): void;
}

/** "KEY=VALUE\n..." — values must be single-line. */
export function formatNotify(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${String(v).replace(/[\r\n]+/g, ' ')}`)
    .join('\n');
}

/** CLOCK_MONOTONIC in µs, as Type=notify-reload wants in MONOTONIC_USEC. */
export function monotonicUsec(): string {
  return (process.hrtime.bigint() / 1000n).toString();
}

export function createNotifier(env: NodeJS.ProcessEnv, logger: Logger): Notifier {
  const target = env.NOTIFY_SOCKET;
  const log = logger.child({ component: 'notify' });
  if (!target) return { enabled: false, send() {}, close() {} };

  if (target.startsWith('@')) {
    log.warn(
      { socket: target },
      'NOTIFY_SOCKET is abstract; sending through systemd-notify (needs NotifyAccess=all)',
    );
    return {
      enabled: true,
      send(fields) {
        const args = [
          `--pid=${process.pid}`,
          ...Object.entries(fields).map(([k, v]) => `${k}=${String(v)}`),
        ];
        spawn('systemd-notify', args, {
          stdio: 'ignore',
          env: { ...process.env, NOTIFY_SOCKET: target },
        }).on('error', () => {});
      },
      close() {},
    };
  }

  let socket: DgramSocket | undefined;
  try {
    // unix-dgram is a CommonJS native addon.
    const require = createRequire(import.meta.url);
    const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket };
    socket = unix.createSocket('unix_dgram');
    socket.on('error', (e) => log.warn({ err: e.message }, 'sd_notify socket error'));
  } catch (e) {
    log.error(
      { err: (e as Error).message },
      'unix-dgram unavailable: cannot talk to systemd (READY=1 will never arrive)',
    );
  }
  let reported = false;
  return {
    enabled: socket !== undefined,
    send(fields) {
      if (!socket) return;
      const buf = Buffer.from(formatNotify(fields));
      socket.send(buf, 0, buf.length, target, (err) => {
        if (err && !reported) {
          reported = true;
          log.warn({ err: String(err), socket: target }, 'sd_notify send failed');
        }
      });
    },
    close() {
      socket?.close();
      socket = undefined;
    },
  };
}

/** WATCHDOG=1 every WATCHDOG_USEC/2 from the main event loop, if the watchdog is meant for us. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 1000 / 2));
}
