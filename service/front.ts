/**
 * The service's front end: the Koa app (core routes + feature modules), the HTTP(S) server, the
 * WebSocket upgrade dispatcher (Host check, auth (bearer or the dashboard cookie), then the app-server gateway on `/` and
 * `/app-server` or a feature channel such as `/ws`). Loaded by main.ts only after READY=1 (or
 * once the app-server is slow to start): the listener is bound before, and what arrives early
 * waits in ./front-gate.ts. Nothing here is needed to be ready (issue 16).
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import Router from '@koa/router';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Config } from '../src/config/schema.js';
import type { ServiceContext, SocketHandler } from './context.js';
import { answerHandshakeErrorsInJson, Gateway, rejectUpgrade } from './gateway.js';
import { CLOSE } from './ws-frames.js';
import { createApp, errorBody, hostAllowed, upgradeRefusal } from './http.js';
import {
  Authenticator,
  authMiddleware,
  forbiddenBody,
  isRefusal,
  originMismatchBody,
  refusalBody,
  requestScopes,
} from './auth/auth.js';
import { clearedSessionCookie, sameOrigin } from './auth/cookies.js';
import { LoginCodes } from './auth/login-codes.js';
import { registerTokenRoutes, tokensOpenApi } from './auth/routes.js';
import { registerUiAuthRoutes, uiAuthOpenApi } from './auth/ui-routes.js';
import { allows, socketScope } from './auth/scopes.js';
import { Store } from './store/store.js';
import { TokenRepo } from './store/tokens.js';
import { registerCoreRoutes, type CoreRouteDeps } from './routes.js';
import { registerFeatures } from './features.js';
import { appServerOpenApi, registerAppServerRoutes } from './app-server-api.js';
import { openApiDocument } from './openapi.js';
import { sessionsOpenApi } from './sessions/openapi.js';
import { workOpenApi } from './queues/openapi.js';
import { appServerGraceMs } from './child-process.js';
import type { FrontHandlers } from './front-gate.js';
import type { AppServerSupervisor } from './supervisor.js';
import { TurnActivity } from './turns.js';
import { ServiceMetrics } from './metrics.js';
import { registerUi } from './ui.js';

const GATEWAY_PATHS = new Set(['/', '/app-server']);
/** Largest message a client may send on a feature channel such as `/ws` (docs/api.md). */
export const CHANNEL_MAX_MESSAGE_BYTES = 1024 * 1024;

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
  readonly gateway: Gateway;
  /** What the listener hands over (through the gate): requests, upgrades, CONNECT. */
  readonly handlers: FrontHandlers;
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
    maxClients: () => opts.config().maxGatewayClients,
    upstream: () => supervisor.upstreamEndpoint,
  });
  supervisor.on('down', (reason) => {
    gateway.closeAll(CLOSE.serviceRestart, 'app-server restarting');
    logger.warn({ reason }, 'app-server down; clients closed with 1012');
  });

  // The durable store (queues, groups, tokens): opened here, closed after every feature stopped.
  const store = Store.open(initial.stateDir);
  const tokens = new TokenRepo(store);
  const auth = new Authenticator({ ownerToken: opts.token, tokens, logger });
  // Sessions logged in with an owner token that has since been replaced: start-up is when a
  // replaced token file is read (a reload reads it too: the sweep catches that).
  auth.revokeStaleOwnerSessions();
  const expirySweep = setInterval(() => {
    auth.revokeStaleOwnerSessions();
    auth.cutExpired();
  }, 60_000);
  expirySweep.unref();
  const router = new Router();
  const sockets = new Map<string, SocketHandler>();
  const shutdownHooks: (() => Promise<void> | void)[] = [];
  const turns = new TurnActivity();
  const statusParts = new Map<string, () => unknown>();
  const metrics = new ServiceMetrics({
    supervisor,
    gateway,
    webhookStats: () => ctx.webhookStats?.(),
  });
  const ctx: ServiceContext = {
    get config() {
      return opts.config();
    },
    logger,
    supervisor,
    version: opts.version,
    store,
    router,
    sockets,
    turns,
    channels: new Map(),
    addStatus: (key, part) => statusParts.set(key, part),
    onShutdown: (fn) => shutdownHooks.push(fn),
    metrics,
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
    tokensOpenApi(),
    uiAuthOpenApi(),
    appServerOpenApi(),
  ]);
  router.get('/openapi.json', (c) => {
    c.body = openApi;
  });
  router.get('/metrics', async (c) => {
    const { contentType, body } = await metrics.scrape();
    c.type = contentType;
    c.body = body;
  });
  registerTokenRoutes(router, { tokens, auth });
  registerUiAuthRoutes(router, { tokens, auth, codes: new LoginCodes() });
  registerFeatures(ctx);
  registerUi(router);

  const app = createApp(
    { allowedHosts: () => opts.config().allowedHosts, auth: authMiddleware(auth) },
    router,
    metrics.httpMiddleware(router),
  );
  app.on('error', (e: Error & { code?: string }) => {
    // A client that closes an event stream is not a failure of ours.
    if (e.code === 'ERR_STREAM_PREMATURE_CLOSE') return logger.debug('client closed a stream');
    if (e.code === 'request_aborted') return logger.debug('client aborted its request');
    logger.error({ err: e.message, stack: e.stack }, 'request failed');
  });
  const channels = new WebSocketServer({
    noServer: true,
    maxPayload: CHANNEL_MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
  });
  answerHandshakeErrorsInJson(channels);

  const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
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
    const tls = 'encrypted' in req.socket && req.socket.encrypted === true;
    // The relay is `codex --remote`'s, never a browser's: a session cookie does not open it.
    const who = auth.authenticateRequest(req.headers, req.socket.remoteAddress ?? 'unknown', {
      cookie: !GATEWAY_PATHS.has(path),
      tls,
    });
    if (isRefusal(who)) {
      auth.audit(undefined, {
        route: `UPGRADE ${path}`,
        status: who.status,
        why: who.why,
        peer: req.socket.remoteAddress,
      });
      return rejectUpgrade(socket, who.status, refusalBody(who), {
        ...(who.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="codex-sm"' } : {}),
        ...(who.retryAfterSec !== undefined ? { 'Retry-After': String(who.retryAfterSec) } : {}),
        ...(who.via === 'cookie' ? { 'Set-Cookie': clearedSessionCookie(tls) } : {}),
      });
    }
    // Any page may open a WebSocket to us and the browser sends our cookie with it (no CORS,
    // SameSite aside): only our own page's Origin is taken with the cookie.
    if (who.via === 'cookie' && !sameOrigin(req.headers.origin, req.headers.host, tls)) {
      auth.audit(who, { route: `UPGRADE ${path}`, status: 403, why: 'origin mismatch' });
      return rejectUpgrade(socket, 403, originMismatchBody(req.headers.origin));
    }
    const need = socketScope(path);
    if (!allows(who.scopes, need)) {
      auth.audit(who, { route: `UPGRADE ${path}`, status: 403, missingScope: need });
      return rejectUpgrade(socket, 403, forbiddenBody(need));
    }
    const refusal = upgradeRefusal(req);
    if (refusal) return rejectUpgrade(socket, refusal.status, refusal.body, refusal.headers);
    auth.track(who, req.socket);
    requestScopes.set(req, who.scopes);
    if (need === 'app-server') auth.audit(who, { route: `UPGRADE ${path}`, status: 101 });
    if (GATEWAY_PATHS.has(path)) return gateway.handleUpgrade(req, socket, head);
    const handler = sockets.get(path);
    if (!handler) {
      return rejectUpgrade(socket, 404, errorBody('not_found', `no WebSocket endpoint at ${path}`));
    }
    channels.handleUpgrade(req, socket, head, (ws) => {
      // A bad frame or an oversized message is an 'error' on the socket; unheard, it kills the
      // process. `ws` closes the connection itself (1002/1007/1009).
      ws.on('error', (e) => logger.debug({ err: e.message, path }, 'WebSocket client error'));
      ws.once('close', metrics.connectionOpened(path));
      handler(ws, req);
    });
  };

  return {
    ctx,
    gateway,
    handlers: {
      request: app.callback(),
      upgrade,
      connect: (_req, socket) =>
        rejectUpgrade(socket, 501, errorBody('not_implemented', 'CONNECT is not implemented')),
    },
    async shutdown(code, reason) {
      turns.close();
      gateway.closeAll(code, reason);
      for (const ws of channels.clients) ws.close(code, reason);
      for (const hook of shutdownHooks) {
        await Promise.resolve()
          .then(hook)
          .catch((e: Error) => logger.warn({ err: e.message }, 'shutdown hook failed'));
      }
      clearInterval(expirySweep);
      store.close();
    },
  };
}
