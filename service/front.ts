/**
 * The service's front end: the Koa app (core routes + feature modules), the HTTP(S) server, the
 * WebSocket upgrade dispatcher (Host check, bearer auth, then the app-server gateway on `/` and
 * `/app-server` or a feature channel such as `/ws`). Loaded by main.ts only after the
 * app-server has been spawned, so the two start up in parallel.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import Router from '@koa/router';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Config } from '../src/config/schema.js';
import type { ServiceContext, SocketHandler } from './context.js';
import { CLOSE, Gateway, rejectUpgrade } from './gateway.js';
import { authorized, createApp, errorBody, hostAllowed } from './http.js';
import { createServer } from './listen.js';
import { registerCoreRoutes, type CoreRouteDeps } from './routes.js';
import { registerFeatures } from './features.js';
import { appServerOpenApi, registerAppServerRoutes } from './app-server-api.js';
import { openApiDocument } from './openapi.js';
import { sessionsOpenApi } from './sessions/openapi.js';
import { workOpenApi } from './queues/openapi.js';
import { appServerGraceMs } from './child-process.js';
import type { AppServerSupervisor } from './supervisor.js';
import { TurnActivity } from './turns.js';

const GATEWAY_PATHS = new Set(['/', '/app-server']);

export interface FrontEndOptions {
  config: () => Config;
  token: () => string;
  logger: Logger;
  supervisor: AppServerSupervisor;
  version: string;
  stopping: () => boolean;
  routes: Omit<CoreRouteDeps, 'clients'>;
}

export interface FrontEnd {
  readonly ctx: ServiceContext;
  readonly server: http.Server;
  readonly gateway: Gateway;
  /** Close every WebSocket (gateway and channels) with `code`, then run the features' shutdown hooks. */
  shutdown(code: number, reason: string): Promise<void>;
}

export function createFrontEnd(opts: FrontEndOptions): FrontEnd {
  const { logger, supervisor } = opts;
  const initial = opts.config();
  const gateway = new Gateway({
    logger,
    maxFrameBytes: initial.maxFrameBytes,
    maxClientBufferBytes: () => opts.config().maxClientBufferBytes,
    upstream: () => supervisor.upstreamEndpoint,
  });
  supervisor.on('down', (reason) => {
    gateway.closeAll(CLOSE.serviceRestart, 'app-server restarting');
    logger.warn({ reason }, 'app-server down; clients closed with 1012');
  });

  const router = new Router();
  const sockets = new Map<string, SocketHandler>();
  const shutdownHooks: (() => Promise<void> | void)[] = [];
  const turns = new TurnActivity();
  const statusParts = new Map<string, () => unknown>();
  const ctx: ServiceContext = {
    get config() {
      return opts.config();
    },
    logger,
    supervisor,
    version: opts.version,
    router,
    sockets,
    turns,
    channels: new Map(),
    addStatus: (key, part) => statusParts.set(key, part),
    onShutdown: (fn) => shutdownHooks.push(fn),
  };
  registerCoreRoutes(router, {
    ...opts.routes,
    clients: () => gateway.clientCount,
    parts: () => Object.fromEntries([...statusParts].map(([k, part]) => [k, part()])),
  });
  registerAppServerRoutes(router, {
    logger,
    supervisor,
    turns,
    graceMs: () => appServerGraceMs(opts.config().stopTimeoutMs),
  });
  const openApi = openApiDocument(opts.version, [
    sessionsOpenApi(),
    workOpenApi(),
    appServerOpenApi(),
  ]);
  router.get('/openapi.json', (c) => {
    c.body = openApi;
  });
  registerFeatures(ctx);

  const app = createApp(
    { token: opts.token, allowedHosts: () => opts.config().allowedHosts },
    router,
  );
  app.on('error', (e: Error & { code?: string }) => {
    // A client that closes an event stream is not a failure of ours.
    if (e.code === 'ERR_STREAM_PREMATURE_CLOSE') return logger.debug('client closed a stream');
    logger.error({ err: e.message, stack: e.stack }, 'request failed');
  });
  // Timeouts and connection caps (limits.*) are applied by createServer, read at each connection.
  const server = createServer(initial, app.callback(), () => opts.config().limits);
  const channels = new WebSocketServer({
    noServer: true,
    maxPayload: 1024 * 1024,
    perMessageDeflate: false,
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    const path = (req.url ?? '/').split('?')[0] as string;
    if (opts.stopping()) {
      return rejectUpgrade(socket, 503, errorBody('stopping', 'codex-sm is stopping'));
    }
    if (!hostAllowed(req.headers.host, opts.config().allowedHosts)) {
      return rejectUpgrade(
        socket,
        403,
        errorBody('host_not_allowed', `Host "${req.headers.host ?? ''}" is not allowed`),
      );
    }
    if (!authorized(req.headers.authorization, opts.token())) {
      return rejectUpgrade(
        socket,
        401,
        errorBody('unauthorized', 'missing or wrong bearer token'),
        { 'WWW-Authenticate': 'Bearer realm="codex-sm"' },
      );
    }
    if (GATEWAY_PATHS.has(path)) return gateway.handleUpgrade(req, socket, head);
    const handler = sockets.get(path);
    if (!handler) {
      return rejectUpgrade(socket, 404, errorBody('not_found', `no WebSocket endpoint at ${path}`));
    }
    channels.handleUpgrade(req, socket, head, (ws) => handler(ws, req));
  });

  return {
    ctx,
    server,
    gateway,
    async shutdown(code, reason) {
      turns.close();
      gateway.closeAll(code, reason);
      for (const ws of channels.clients) ws.close(code, reason);
      for (const hook of shutdownHooks) {
        await Promise.resolve()
          .then(hook)
          .catch((e: Error) => logger.warn({ err: e.message }, 'shutdown hook failed'));
      }
    },
  };
}
