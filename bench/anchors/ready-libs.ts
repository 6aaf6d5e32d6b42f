/**
 * An anchor for the `serve` suite's ready part, run as its own process: the work READY=1 needs
 * and nothing else, done with codex-sm's own libraries and none of its code. It spawns the
 * app-server as codex-sm does, binds an HTTP listener, polls the app-server's socket every
 * 10 ms, opens a `ws` WebSocket, answers the `initialize` handshake, logs with pino and sends
 * READY=1 with unix-dgram. `make build` bundles it with esbuild as the service is bundled
 * (dist/bench/anchors/ready-libs.bundle.js; tsc's unbundled ready-libs.js beside it is not used), so that the two load their code the same way.
 *
 * What codex-sm spends at READY=1 beyond this is its own code (config, token, supervisor,
 * module loading); what this spends beyond the node floor, any node service in codex-sm's
 * place would spend.
 *
 * argv: codex binary, CODEX_HOME, socket path. Env: NOTIFY_SOCKET. SIGTERM stops both.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { pino } from 'pino';
import WebSocket from 'ws';

const [codexBin, home, sock] = process.argv.slice(2) as [string, string, string];
const log = pino({ level: 'info' });

const child = spawn(codexBin, ['app-server', '--listen', `unix://${sock}`], {
  env: { PATH: process.env.PATH, HOME: path.dirname(home), CODEX_HOME: home }, // as the bare rounds
  stdio: 'ignore',
  cwd: home,
});
log.info({ pid: child.pid }, 'starting app-server');
process.once('SIGTERM', () => {
  if (child.exitCode !== null || child.signalCode !== null) process.exit(0);
  child.kill('SIGTERM');
  child.once('exit', () => process.exit(0));
});
http.createServer((_req, res) => res.end()).listen(0, '127.0.0.1');

function poll(): void {
  const probe = net.connect(sock);
  probe.once('connect', () => {
    probe.destroy();
    initialize();
  });
  probe.once('error', () => setTimeout(poll, 10));
}

function initialize(): void {
  const ws = new WebSocket(`ws+unix://${sock}:/`, { perMessageDeflate: false });
  ws.once('open', () =>
    ws.send(
      JSON.stringify({
        id: 1,
        method: 'initialize',
        params: { clientInfo: { name: 'ready-libs', version: '0' } },
      }),
    ),
  );
  ws.once('message', () => {
    ws.send(JSON.stringify({ method: 'initialized' }));
    log.info('app-server ready');
    notifyReady();
  });
}

function notifyReady(): void {
  // A native addon: loaded from node_modules at run time, as the service loads it.
  const unix = createRequire(import.meta.url)('unix-dgram') as {
    createSocket(type: 'unix_dgram'): {
      send(b: Buffer, o: number, l: number, path: string, cb: () => void): void;
      close(): void;
    };
  };
  const s = unix.createSocket('unix_dgram');
  const msg = Buffer.from('READY=1');
  s.send(msg, 0, msg.length, process.env.NOTIFY_SOCKET ?? '', () => s.close());
}

poll();
