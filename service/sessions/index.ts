/**
 * The sessions feature, mounted on the service core: the index (SQLite under stateDir, kept
 * current by a watcher), live state from the control connection, held approvals, the HTTP
 * routes, the `/ws` channel and the OpenAPI part. `registerSessions(ctx)` is the one entry.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';
import type { ServiceContext } from '../context.js';
import type { RequestId } from '../protocol.js';
import { approvalEventLog } from './approval-events.js';
import { Approvals, isApprovalMethod } from './approvals.js';
import { IndexDb } from './db.js';
import type { FollowDeps } from './follow.js';
import { SessionIndexer, type ScanStats } from './indexer.js';
import { LiveHub } from './live.js';
import { sessionsOpenApi } from './openapi.js';
import { SessionOps, type ThreadInfo } from './ops.js';
import { registerApprovalRoutes } from './approval-routes.js';
import { registerSessionRoutes } from './routes.js';
import { SearchPool } from './search-pool.js';
import { IndexWatcher } from './watch.js';
import { createEventsSocketHandler } from './ws.js';

export { sessionsOpenApi } from './openapi.js';

export interface SessionsHandle {
  readonly db: IndexDb;
  readonly indexer: SessionIndexer;
  readonly hub: LiveHub;
  readonly approvals: Approvals;
  readonly ops: SessionOps;
  /** Resolves after the first scan of CODEX_HOME (the API answers from the index before that). */
  readonly ready: Promise<ScanStats>;
  close(): void;
}

export interface SessionsOptions {
  /** Full rescan period (the watcher's safety net). */
  rescanMs?: number;
  searchMaxBytes?: number;
  searchTimeoutMs?: number;
  /** Search worker threads and queue length (default: config `search.workers`, `search.queue`). */
  searchWorkers?: number;
  searchQueue?: number;
}

export const INDEX_FILE = 'sessions-index.sqlite';

export function registerSessions(ctx: ServiceContext, opts: SessionsOptions = {}): SessionsHandle {
  const { config, supervisor } = ctx;
  const log = ctx.logger.child({ component: 'sessions' });
  fs.mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  const db = openIndex(path.join(config.stateDir, INDEX_FILE), config.codexHome, log);
  db.prunePending();
  const indexer = new SessionIndexer(db, { codexHome: config.codexHome });
  const hub = new LiveHub();
  ctx.turns.addSource(() => hub.runningTurns);
  // Live config keys are read where they are used (ctx.config is the current one after a reload).
  const approvals = new Approvals({ settings: () => ctx.config.approvals });
  const ops = new SessionOps({
    client: () => supervisor.client,
    db,
    indexer,
    hub,
    timeoutMs: config.appServer.requestTimeoutMs,
  });
  const watcher = new IndexWatcher(indexer, {
    rescanMs: opts.rescanMs ?? 30_000,
    onError: (e) => log.warn({ err: e.message }, 'session index update failed'),
  });

  approvals.on('approval', (a) => {
    hub.approval(a);
    log.info(
      {
        approval: a.id,
        method: a.method,
        threadId: a.threadId,
        status: a.status,
        decision: a.decision,
      },
      'approval',
    );
  });
  const respond = (id: RequestId, result: unknown) => supervisor.client?.respond(id, result);
  supervisor.on('notification', (method, params) => {
    try {
      hub.notification(method, params);
      ctx.turns.changed();
      const p = params as {
        requestId?: RequestId;
        thread?: ThreadInfo;
        threadId?: string;
        threadName?: string | null;
      };
      if (method === 'serverRequest/resolved' && p.requestId !== undefined)
        approvals.resolved(p.requestId);
      else if (method === 'thread/started' && p.thread?.id) ops.remember(p.thread);
      else if (method === 'thread/name/updated' && p.threadId && p.threadName)
        db.putName(p.threadId, p.threadName, Date.now());
    } catch (e) {
      log.warn({ err: (e as Error).message, method }, 'notification handling failed');
    }
  });
  supervisor.on('request', (req) => {
    // Only requests on codex-sm's own control connection arrive here: the app-server sends a
    // thread's server requests to the connection that started or resumed it (checked: a thread
    // started by a gateway client never shows up here).
    if (isApprovalMethod(req.method)) {
      // A file change is asked about by item id: the diff is in that item, seen just before.
      const p = (req.params ?? {}) as { threadId?: unknown; itemId?: unknown };
      const changes =
        req.method === 'item/fileChange/requestApproval' &&
        typeof p.threadId === 'string' &&
        typeof p.itemId === 'string'
          ? hub.fileChanges(p.threadId, p.itemId)
          : undefined;
      approvals.hold(req, { respond }, changes ? { changes } : {});
      return;
    }
    // Nothing else is ours to answer (dynamic tools, external auth refresh): refuse at once so
    // the turn fails visibly instead of waiting for an answer that never comes.
    log.warn({ method: req.method }, 'unhandled server request refused');
    supervisor.client?.respondError(req.id, {
      code: -32601,
      message: `codex-sm does not handle ${req.method}`,
    });
  });
  supervisor.on('down', () => {
    approvals.abandonAll();
    hub.reset();
    ctx.turns.changed();
  });

  // Each worker opens the index file itself (read-only), so a search never runs on this thread.
  const searchPool = new SearchPool({
    file: db.db.name,
    workers: opts.searchWorkers ?? config.search.workers,
    queue: opts.searchQueue ?? config.search.queue,
    onWorkerLost: (e) => log.error({ err: e.message }, 'search worker lost; starting another'),
  });

  const streams = new Set<() => void>();
  const follow: FollowDeps = {
    codexHome: config.codexHome,
    indexer,
    hub,
    approvals,
    open: streams,
  };
  const bodyLimitBytes = 4 * 1024 * 1024;
  registerSessionRoutes(ctx.router, {
    db,
    hub,
    ops,
    follow,
    bodyLimitBytes,
    imageDirs: () => ctx.config.images.allowedDirs,
    search: {
      maxBytes: opts.searchMaxBytes ?? 512 * 1024 * 1024,
      timeoutMs: opts.searchTimeoutMs ?? 2000,
      runner: searchPool,
    },
  });
  registerApprovalRoutes(ctx.router, {
    approvals,
    approvalEvents: approvalEventLog(approvals),
    streams,
    respond,
    bodyLimitBytes,
  });
  registerOpenApiIfMissing(ctx.router, ctx.version);
  ctx.sockets.set(
    '/ws',
    createEventsSocketHandler({
      codexHome: config.codexHome,
      indexer,
      hub,
      maxBufferedBytes: () => ctx.config.maxClientBufferBytes,
      channels: ctx.channels,
    }),
  );

  let closed = false;
  const ready = watcher.start().then((stats) => {
    log.info(
      { files: stats.files, read: stats.read, removed: stats.removed, ms: Math.round(stats.ms) },
      'session index up to date',
    );
    return stats;
  });
  ready.catch((e: Error) => log.error({ err: e.message }, 'session index scan failed'));

  const handle: SessionsHandle = {
    db,
    indexer,
    hub,
    approvals,
    ops,
    ready,
    close() {
      if (closed) return;
      closed = true;
      for (const end of [...streams]) end();
      watcher.close();
      void searchPool.close(); // fails what is queued or running (503) and ends the threads
      approvals.close();
      db.close();
    },
  };
  ctx.onShutdown(async () => {
    // A scan (the first, or a rescan) may be paused between two batches: start no other, let it
    // end, then close the db under it.
    watcher.close();
    await watcher.idle();
    handle.close();
  });
  return handle;
}

/** The index is a cache: a file that cannot be opened (corrupt, foreign) is replaced, never fatal. */
function openIndex(file: string, codexHome: string, log: ServiceContext['logger']): IndexDb {
  try {
    return new IndexDb(file, codexHome);
  } catch (e) {
    log.warn({ err: (e as Error).message, file }, 'session index unreadable; rebuilding it');
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
    return new IndexDb(file, codexHome);
  }
}

/** `/openapi.json` with the sessions part, unless the core serves one (then it should merge sessionsOpenApi()). */
function registerOpenApiIfMissing(router: Router, version: string): void {
  if (router.stack.some((l) => l.path === '/openapi.json')) return;
  router.get('/openapi.json', (c) => {
    const part = sessionsOpenApi();
    c.body = {
      openapi: '3.1.0',
      info: { title: 'codex-sm', version },
      components: {
        ...part.components,
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
      paths: part.paths,
    };
  });
}
