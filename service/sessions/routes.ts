/**
 * HTTP routes for sessions (codex-agent's paths and shapes where they exist; the approvals'
 * routes are ./approval-routes.ts).
 * Each handler: validate (ajv, 400 with the failing schema path), resolve the id (400 for
 * anything that is not a thread id — so no path ever reaches the file system — 404 when
 * unknown), do one thing, answer JSON.
 */
import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { HttpError, readJsonBody } from '../http.js';
import type { IndexDb, SessionRow } from './db.js';
import { parseLastEventId, streamSessionEvents, type FollowDeps } from './follow.js';
import type { LiveHub } from './live.js';
import { checkPromptImages } from './images.js';
import { toUserInput, type InputItem, type SessionOps, type ThreadInfo } from './ops.js';
import { isSessionId, type MessageRole } from './rollout.js';
import { truthy, validateBody, validateQuery, type BodyName } from './schemas.js';
import { SearchAborted, SearchBusy, SearchPoolClosed, type SearchRunner } from './search-pool.js';
import type { SearchOptions, SearchOutcome } from './search.js';
import type {
  SessionListJson,
  SessionSearchJson,
  SessionStartedJson,
  TurnStartedJson,
} from './session-json.js';
import { decodeCursor, encodeCursor, sessionJson, type SessionJson } from './view.js';

export interface SessionRouteDeps {
  db: IndexDb;
  hub: LiveHub;
  ops: SessionOps;
  follow: FollowDeps;
  bodyLimitBytes: number;
  /** Searches run in worker threads (search-pool.ts), bounded by these budgets. */
  search: { maxBytes: number; timeoutMs: number; runner: SearchRunner };
  /** images.allowedDirs, read per request (live on reload). */
  imageDirs(): readonly string[];
}

type Ctx = RouterContext;

function sessionIdParam(ctx: Ctx): string {
  const id = ctx.params.id ?? '';
  if (!isSessionId(id))
    throw new HttpError(
      400,
      'invalid_session_id',
      `not a session id: ${JSON.stringify(id.slice(0, 80))}`,
      'session ids are UUIDs, as in `codex-sm session list`',
    );
  return id.toLowerCase();
}

async function body<T>(ctx: Ctx, name: BodyName, limit: number): Promise<T> {
  return validateBody<T>(name, await readJsonBody(ctx, limit));
}

export function registerSessionRoutes(router: Router, d: SessionRouteDeps): void {
  const live = (id: string) => {
    const t = d.hub.thread(id);
    return t ? { status: t.status, activeTurnId: t.activeTurnId } : undefined;
  };
  const view = (r: SessionRow): SessionJson => sessionJson(r, live(r.id));

  /** The session from the index, else from the app-server (a thread with no file yet), else 404. */
  const findSession = async (id: string): Promise<{ row?: SessionRow; thread?: ThreadInfo }> => {
    const row = d.db.getSession(id);
    if (row) return { row };
    const thread = await d.ops.read(id);
    if (thread) {
      d.ops.remember(thread);
      const r = d.db.getSession(id);
      return r ? { row: r, thread } : { thread };
    }
    throw new HttpError(
      404,
      'session_not_found',
      `no session ${id}`,
      'list sessions with `codex-sm session list`',
    );
  };
  const sessionOut = async (id: string): Promise<SessionJson> => {
    const { row } = await findSession(id);
    return view(row as SessionRow);
  };

  router.get('/api/sessions', (ctx) => {
    const q = validateQuery<{
      source?: string;
      cwd?: string;
      branch?: string;
      archived: string;
      sort: 'created' | 'updated';
      order: 'asc' | 'desc';
      limit: number;
      offset: number;
      cursor?: string;
    }>('ListSessions', ctx.query);
    const archived = q.archived === 'all' ? 'all' : truthy(q.archived);
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor, q.sort, q.order);
    if (q.cursor !== undefined && !cursor)
      throw new HttpError(
        400,
        'invalid_cursor',
        'cursor is not one this server issued for this sort order',
        'pass nextCursor back unchanged, with the same sort and order',
      );
    const { rows, total } = d.db.list({
      source: q.source,
      cwd: q.cwd,
      branch: q.branch,
      archived,
      sort: q.sort,
      order: q.order,
      limit: q.limit,
      offset: q.offset,
      after: cursor ? { value: cursor.v, id: cursor.id } : undefined,
    });
    const offset = cursor ? cursor.n : q.offset;
    const last = rows[rows.length - 1];
    const more = last !== undefined && offset + rows.length < total;
    ctx.body = {
      sessions: rows.map(view),
      total,
      offset,
      limit: q.limit,
      nextCursor: more
        ? encodeCursor({
            v: q.sort === 'updated' ? last.updated_at : last.created_at,
            id: last.id,
            n: offset + rows.length,
            s: q.sort,
            o: q.order,
          })
        : null,
    } satisfies SessionListJson;
  });

  const search = async (ctx: Ctx, sessionId?: string) => {
    const q = validateQuery<{
      q: string;
      role: MessageRole | 'both';
      caseSensitive: string;
      limit: number;
      maxBytes?: number;
      timeoutMs?: number;
    }>('Search', ctx.query);
    const caseSensitive = truthy(q.caseSensitive);
    const r = await runSearch(ctx, {
      q: q.q,
      role: q.role,
      caseSensitive,
      limit: q.limit,
      sessionId,
      perSession: sessionId ? 50 : 3,
      maxBytes: Math.min(q.maxBytes ?? d.search.maxBytes, d.search.maxBytes),
      timeoutMs: Math.min(q.timeoutMs ?? d.search.timeoutMs, d.search.timeoutMs),
    });
    ctx.body = {
      query: q.q,
      results: r.hits.map((h) => {
        const row = d.db.getSession(h.sessionId);
        return {
          sessionId: h.sessionId,
          ...(row ? { session: view(row) } : {}),
          matches: h.matches,
        };
      }),
      truncated: r.truncated,
      scannedBytes: r.scannedBytes,
      elapsedMs: r.elapsedMs,
    } satisfies SessionSearchJson;
  };

  /** The search in a worker; a full pool is a 503 the client can retry, never a stalled service. */
  const runSearch = async (ctx: Ctx, o: SearchOptions): Promise<SearchOutcome> => {
    const gone = new AbortController();
    const onClose = () => gone.abort();
    // ServerResponse 'close' before the answer is sent = the client went away: a queued search
    // gives its place up. (IncomingMessage 'close' also fires for a request simply fully read.)
    ctx.res.once('close', onClose);
    try {
      return await d.search.runner.run(o, gone.signal);
    } catch (e) {
      if (e instanceof SearchBusy) {
        // A running search frees its worker after about its time budget (checked between chunks).
        ctx.set('Retry-After', String(Math.max(1, Math.ceil(d.search.timeoutMs / 1000))));
        throw new HttpError(
          503,
          'search_busy',
          `too many searches at once (${e.running} running, ${e.waiting} waiting)`,
          'retry after the seconds in Retry-After; the limits are search.workers and search.queue in the config',
        );
      }
      if (e instanceof SearchPoolClosed)
        throw new HttpError(503, 'stopping', 'codex-sm is stopping; the search did not run');
      // Nobody reads this answer; it only keeps a client's leaving from being logged as a 500.
      if (e instanceof SearchAborted) throw new HttpError(400, 'bad_request', e.message);
      throw e;
    } finally {
      ctx.res.off('close', onClose);
    }
  };
  router.get('/api/sessions/search', (ctx) => search(ctx));

  router.get('/api/sessions/:id', async (ctx) => {
    const id = sessionIdParam(ctx);
    const { row, thread } = await findSession(id);
    const out = row ? view(row) : undefined;
    // The app-server knows what no file says: whether the thread is loaded and running.
    const t = thread ?? (d.hub.thread(id) ? undefined : await d.ops.read(id, 1000));
    if (out && t && !out.status) out.status = t.status?.type;
    ctx.body = out;
  });

  router.get('/api/sessions/:id/search', async (ctx) => {
    const id = sessionIdParam(ctx);
    await findSession(id);
    await search(ctx, id);
  });

  router.get('/api/sessions/:id/events', async (ctx) => {
    const id = sessionIdParam(ctx);
    const q = validateQuery<{ follow: string; from?: number }>('Events', ctx.query);
    const { row, thread } = await findSession(id);
    const resume = parseLastEventId(ctx.get('last-event-id'));
    streamSessionEvents(ctx, d.follow, {
      sessionId: id,
      rolloutPath: row?.rollout_path ?? thread?.path ?? null,
      follow: truthy(q.follow),
      offset: resume?.offset ?? q.from ?? 0,
      seq: resume?.seq,
    });
  });

  router.post('/api/sessions', async (ctx) => {
    const b = await body<{
      cwd?: string;
      model?: string;
      sandbox?: string;
      approvalPolicy?: string;
      name?: string;
      input?: string | InputItem[];
      images?: string[];
    }>(ctx, 'StartSession', d.bodyLimitBytes);
    checkPromptImages(b.input, b.images, [b.cwd, ...d.imageDirs()]); // before anything is created
    const { thread, model } = await d.ops.start(b);
    if (b.name) await d.ops.setName(thread.id, b.name);
    const turn = b.input
      ? await d.ops.startTurn(thread.id, toUserInput(b.input, b.images), {})
      : undefined;
    ctx.status = 201;
    ctx.body = {
      session: await sessionOut(thread.id),
      model,
      ...(turn ? { turn } : {}),
      eventsUrl: `/api/sessions/${thread.id}/events?follow=true`,
    } satisfies SessionStartedJson;
  });

  const simple = (
    action: string,
    name: BodyName,
    run: (id: string, b: Record<string, unknown>) => Promise<unknown>,
  ) => {
    router.post(`/api/sessions/:id/${action}`, async (ctx) => {
      const id = sessionIdParam(ctx);
      const b = await body<Record<string, unknown>>(ctx, name, d.bodyLimitBytes);
      await findSession(id);
      const extra = await run(id, b);
      ctx.body = {
        session: await sessionOut(id).catch(() => null),
        ...(extra && typeof extra === 'object' ? extra : {}),
      };
    });
  };
  simple('resume', 'ResumeSession', (id, b) => d.ops.resume(id, b).then(() => undefined));
  /**
   * Archiving an archived session and unarchiving one that is not are refused alike (409), from
   * the index (kept in step by each archive): the app-server answers them with unrelated errors
   * ("no rollout found", "already has an active writer").
   */
  const refuseSameArchiveState = (id: string, archive: boolean): void => {
    const archived = d.db.getSession(id)?.archived === 1;
    if (archive && archived)
      throw new HttpError(409, 'session_archived', `session ${id} is already archived`);
    if (!archive && !archived)
      throw new HttpError(409, 'session_not_archived', `session ${id} is not archived`);
  };
  simple('archive', 'Empty', (id) => {
    refuseSameArchiveState(id, true);
    return d.ops.archive(id);
  });
  simple('unarchive', 'Empty', (id) => {
    refuseSameArchiveState(id, false);
    return d.ops.unarchive(id);
  });
  simple('name', 'SetName', (id, b) => d.ops.setName(id, b.name as string));

  router.post('/api/sessions/:id/fork', async (ctx) => {
    const id = sessionIdParam(ctx);
    const b = await body<Record<string, unknown>>(ctx, 'ForkSession', d.bodyLimitBytes);
    await findSession(id);
    const { thread } = await d.ops.fork(id, b);
    ctx.status = 201;
    ctx.body = { session: await sessionOut(thread.id), forkedFromId: id };
  });

  router.post('/api/sessions/:id/turns', async (ctx) => {
    const id = sessionIdParam(ctx);
    const b = await body<{
      input: string | InputItem[];
      images?: string[];
      model?: string;
      effort?: string;
    }>(ctx, 'StartTurn', d.bodyLimitBytes);
    const found = await findSession(id);
    checkPromptImages(b.input, b.images, [found.row?.cwd ?? found.thread?.cwd, ...d.imageDirs()]);
    const turn = await d.ops.startTurn(id, toUserInput(b.input, b.images), {
      model: b.model,
      effort: b.effort,
    });
    ctx.status = 202;
    ctx.body = {
      sessionId: id,
      turnId: turn.id,
      turn,
      eventsUrl: `/api/sessions/${id}/events?follow=true`,
    } satisfies TurnStartedJson;
  });

  router.post('/api/sessions/:id/steer', async (ctx) => {
    const id = sessionIdParam(ctx);
    const b = await body<{ input: string | InputItem[]; expectedTurnId?: string }>(
      ctx,
      'Steer',
      d.bodyLimitBytes,
    );
    const found = await findSession(id);
    checkPromptImages(b.input, [], [found.row?.cwd ?? found.thread?.cwd, ...d.imageDirs()]);
    ctx.body = {
      sessionId: id,
      ...(await d.ops.steer(id, toUserInput(b.input), b.expectedTurnId)),
    };
  });

  router.post('/api/sessions/:id/interrupt', async (ctx) => {
    const id = sessionIdParam(ctx);
    const b = await body<{ turnId?: string }>(ctx, 'Interrupt', d.bodyLimitBytes);
    await findSession(id);
    ctx.body = { sessionId: id, interrupted: true, ...(await d.ops.interrupt(id, b.turnId)) };
  });
}
