/**
 * Binding the listener: a socket-activated fd from systemd when LISTEN_PID is ours, otherwise
 * host:port; plain HTTP on loopback, HTTPS when tls is configured. Refuses a non-loopback bind
 * without TLS unless insecureBind is set (the Codex TUI itself refuses to send a token over
 * plain ws:// to a non-loopback host).
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Config, LimitsConfig } from '../src/config/schema.js';
import { CodexSmError, configError, EXIT } from '../src/errors.js';
import { guardRequests, guardServer, serverTimeoutOptions } from './limits.js';

export const SD_LISTEN_FDS_START = 3;

/** The fd systemd passed us, honouring LISTEN_FDNAMES (prefer one named "http" or "codex-sm"). */
export function activationFd(
  env: NodeJS.ProcessEnv,
  pid = process.pid,
): { fd: number; name?: string } | undefined {
  if (Number(env.LISTEN_PID) !== pid) return undefined;
  const count = Number(env.LISTEN_FDS);
  if (!Number.isInteger(count) || count < 1) return undefined;
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  const preferred = names.findIndex((n) => n === 'http' || n === 'codex-sm');
  const index = preferred >= 0 && preferred < count ? preferred : 0;
  const name = names[index] || undefined;
  return { fd: SD_LISTEN_FDS_START + index, ...(name ? { name } : {}) };
}

/** Children must not believe the fds are theirs. */
export function clearActivationEnv(env: NodeJS.ProcessEnv): void {
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return host === '::1';
}

export function checkExposure(config: Config): void {
  if (isLoopback(config.host) || config.tls || config.insecureBind) return;
  throw configError(
    `refusing to bind ${config.host} without TLS: the bearer token would cross the network in clear text`,
    'set tls.cert and tls.key in the config, bind 127.0.0.1 and use SSH port forwarding, or pass --insecure-bind',
  );
}

/**
 * The HTTP(S) server with the limits of service/limits.ts applied; `limits` is read again at
 * each new connection (a reload changes them for the next one).
 */
export function createServer(
  config: Config,
  handler: http.RequestListener,
  limits: () => LimitsConfig = () => config.limits,
): http.Server {
  const refused = new WeakSet<net.Socket>();
  const open = new Set<http.IncomingMessage>();
  const guarded = guardRequests(refused, open, handler);
  const options = serverTimeoutOptions(limits());
  const server = config.tls
    ? https.createServer({ ...tlsFiles(config.tls), ...options }, guarded)
    : http.createServer(options, guarded);
  guardServer(server, limits, { tls: Boolean(config.tls), refused, open });
  return server;
}

function tlsFiles(tls: NonNullable<Config['tls']>): { cert: Buffer; key: Buffer } {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = fs.readFileSync(tls.cert);
    key = fs.readFileSync(tls.key);
  } catch (e) {
    throw configError(
      `cannot read TLS files: ${(e as Error).message}`,
      'check tls.cert and tls.key',
    );
  }
  return { cert, key };
}

export type ListenTarget = { fd: number; name?: string } | { host: string; port: number };

export function listen(server: http.Server, target: ListenTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      const where = 'fd' in target ? `fd ${target.fd}` : `${target.host}:${target.port}`;
      if (e.code === 'EADDRINUSE') {
        // Possibly transient (an old instance still exiting): not exit 78, so systemd may retry.
        reject(
          new CodexSmError('port_in_use', `cannot listen on ${where}: address in use`, {
            hint: 'stop what holds it (`ss -ltnp`), or pick another --port',
            exitCode: EXIT.unavailable,
          }),
        );
      } else if (e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
        reject(configError(`cannot listen on ${where}: ${e.code}`, 'pick another --port/--host'));
      } else reject(e);
    };
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve();
    };
    if ('fd' in target) server.listen({ fd: target.fd }, done);
    else server.listen({ host: target.host, port: target.port }, done);
  });
}

/** The address a client should use for what we bound. */
export function boundAddress(server: http.Server): { host: string; port: number } | undefined {
  const a = server.address();
  if (!a || typeof a === 'string') return undefined;
  return { host: a.address, port: a.port };
}
