/**
 * Session operations that go through the app-server (thread/start, resume, fork, archive,
 * unarchive, name/set, turn/start, turn/steer, turn/interrupt, thread/read) on the supervisor's
 * control connection, with the index kept in step right away (the watcher would catch up too,
 * but a client that archives and then lists should see the move).
 * Method and field names are from `codex app-server generate-ts` 0.169.0.
 */
import path from 'node:path';
import { HttpError } from '../http.js';
import { RpcClosedError, RpcError, RpcTimeoutError, type RpcClient } from '../rpc.js';
import type { IndexDb } from './db.js';
import type { SessionIndexer } from './indexer.js';
import type { LiveHub } from './live.js';
import { normalizeSource } from './rollout.js';

/** The slice of the app-server Thread (v2/Thread.ts) codex-sm reads. */
export interface ThreadInfo {
  id: string;
  path: string | null;
  cwd: string;
  createdAt: number;
  updatedAt: number;
  modelProvider: string;
  cliVersion: string;
  originator: string | null;
  source: unknown;
  preview: string;
  name: string | null;
  forkedFromId: string | null;
  gitInfo: { sha: string | null; branch: string | null; originUrl: string | null } | null;
  status: { type: string };
}

export interface TurnInfo {
  id: string;
  status: string;
}

export type InputItem =
  | { type: 'text'; text: string }
  | { type: 'image'; url: string }
  | { type: 'localImage'; path: string };

/** API input (a string or items, plus image URLs/paths) → app-server UserInput[]. Pure. */
export function toUserInput(input: string | InputItem[], images: string[] = []): unknown[] {
  const items: InputItem[] = typeof input === 'string' ? [{ type: 'text', text: input }] : input;
  const out: unknown[] = items.map((i) =>
    i.type === 'text' ? { type: 'text', text: i.text, text_elements: [] } : i,
  );
  for (const img of images)
    out.push(
      /^(https?|data):/i.test(img)
        ? { type: 'image', url: img }
        : { type: 'localImage', path: img },
    );
  return out;
}

/** Map an app-server failure to an HTTP error a client can act on. */
export function rpcToHttp(e: unknown, what: string): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof RpcTimeoutError)
    return new HttpError(
      504,
      'app_server_timeout',
      `${what}: the app-server did not answer in time`,
    );
  if (e instanceof RpcClosedError)
    return new HttpError(
      503,
      'app_server_unavailable',
      `${what}: the app-server connection closed`,
      'retry in a moment',
    );
  if (e instanceof RpcError) {
    const msg = e.message.replace(/^[^:]+: /, '');
    if (/no rollout found|not found|thread not loaded|unknown thread/i.test(msg))
      return new HttpError(404, 'session_not_found', `${what}: ${msg}`);
    if (/is archived/i.test(msg))
      return new HttpError(409, 'session_archived', `${what}: ${msg}`, 'unarchive it first');
    if (/no active turn|expected turn|turn .*mismatch|not running/i.test(msg))
      return new HttpError(409, 'turn_conflict', `${what}: ${msg}`);
    return new HttpError(502, 'app_server_error', `${what}: ${msg}`);
  }
  return new HttpError(500, 'internal', `${what}: ${(e as Error).message}`);
}

export interface OpsDeps {
  client(): RpcClient | undefined;
  db: IndexDb;
  indexer: SessionIndexer;
  hub: LiveHub;
  timeoutMs: number;
}

export class SessionOps {
  constructor(private readonly d: OpsDeps) {}

  private rpc(): RpcClient {
    const c = this.d.client();
    if (!c)
      throw new HttpError(
        503,
        'app_server_unavailable',
        'the app-server is not ready',
        'check `codex-sm status`; it restarts by itself',
      );
    return c;
  }

  async call<T>(method: string, params: unknown, what = method): Promise<T> {
    try {
      return await this.rpc().request<T>(method, params, { timeoutMs: this.d.timeoutMs });
    } catch (e) {
      throw rpcToHttp(e, what);
    }
  }

  /** Record a thread the app-server told us about, before (or without) its rollout file. */
  remember(t: ThreadInfo): void {
    const ms = (s: number) => Math.round(s * 1000);
    if (t.name) this.d.db.putName(t.id, t.name, Date.now());
    if (this.d.db.getSession(t.id)) return; // the index (its file) knows better
    this.d.db.upsert({
      id: t.id,
      path: t.path,
      createdAt: ms(t.createdAt),
      updatedAt: ms(t.updatedAt),
      meta: null,
      firstUser: t.preview || null,
      archivedAt: null,
      messages: 0,
      size: 0,
    });
    // has_meta stays 0, so the file's session_meta wins once it is written.
    this.d.db.applyMetaSoft(t.id, {
      id: t.id,
      createdAt: ms(t.createdAt),
      cwd: t.cwd,
      originator: t.originator,
      cliVersion: t.cliVersion,
      source: normalizeSource(t.source),
      modelProvider: t.modelProvider,
      git: t.gitInfo,
      forkedFromId: t.forkedFromId,
    });
  }

  async start(p: {
    cwd?: string;
    model?: string;
    sandbox?: string;
    approvalPolicy?: string;
  }): Promise<{ thread: ThreadInfo; model: string }> {
    const r = await this.call<{ thread: ThreadInfo; model: string }>(
      'thread/start',
      {
        cwd: p.cwd ?? null,
        model: p.model ?? null,
        sandbox: p.sandbox ?? null,
        approvalPolicy: p.approvalPolicy ?? null,
      },
      'start session',
    );
    this.remember(r.thread);
    return r;
  }

  async resume(
    id: string,
    p: { cwd?: string; model?: string; sandbox?: string; approvalPolicy?: string },
  ): Promise<{ thread: ThreadInfo }> {
    const r = await this.call<{ thread: ThreadInfo }>(
      'thread/resume',
      { threadId: id, ...p, excludeTurns: true },
      'resume session',
    );
    this.remember(r.thread);
    return r;
  }

  async fork(id: string, p: Record<string, unknown>): Promise<{ thread: ThreadInfo }> {
    const r = await this.call<{ thread: ThreadInfo }>(
      'thread/fork',
      { threadId: id, ...p, excludeTurns: true },
      'fork session',
    );
    this.remember(r.thread);
    this.d.indexer.processPaths([r.thread.path ?? ''].filter(Boolean));
    return r;
  }

  async archive(id: string): Promise<void> {
    const before = this.d.db.getSession(id)?.rollout_path;
    await this.call('thread/archive', { threadId: id }, 'archive session');
    if (before)
      this.d.indexer.processPaths([
        path.join(this.d.indexer.archivedDir, path.basename(before)),
        before,
      ]);
  }

  async unarchive(id: string): Promise<void> {
    const before = this.d.db.getSession(id)?.rollout_path;
    const r = await this.call<{ thread: ThreadInfo }>(
      'thread/unarchive',
      { threadId: id },
      'unarchive session',
    );
    this.d.indexer.processPaths([r.thread.path ?? '', before ?? ''].filter(Boolean));
  }

  async setName(id: string, name: string): Promise<void> {
    await this.call('thread/name/set', { threadId: id, name }, 'name session');
    this.d.db.putName(id, name, Date.now());
  }

  async read(id: string, timeoutMs = 2000): Promise<ThreadInfo | undefined> {
    const c = this.d.client();
    if (!c) return undefined;
    try {
      return (
        await c.request<{ thread: ThreadInfo }>('thread/read', { threadId: id }, { timeoutMs })
      ).thread;
    } catch {
      return undefined;
    }
  }

  /** turn/start; a thread the app-server has not loaded (restart, started elsewhere) is resumed first. */
  async startTurn(
    id: string,
    input: unknown[],
    extra: { model?: string; effort?: string },
  ): Promise<TurnInfo> {
    const params = {
      threadId: id,
      input,
      ...(extra.model ? { model: extra.model } : {}),
      ...(extra.effort ? { effort: extra.effort } : {}),
    };
    try {
      const r = await this.rpc().request<{ turn: TurnInfo }>('turn/start', params, {
        timeoutMs: this.d.timeoutMs,
      });
      return r.turn;
    } catch (e) {
      if (!(e instanceof RpcError) || !/not loaded|not found|unknown thread/i.test(e.message))
        throw rpcToHttp(e, 'start turn');
    }
    await this.resume(id, {});
    const r = await this.call<{ turn: TurnInfo }>('turn/start', params, 'start turn');
    return r.turn;
  }

  private activeTurn(id: string, given: string | undefined): string {
    const turnId = given ?? this.d.hub.thread(id)?.activeTurnId ?? undefined;
    if (!turnId)
      throw new HttpError(
        409,
        'no_active_turn',
        `session ${id} has no running turn codex-sm knows of`,
        'pass turnId / expectedTurnId explicitly',
      );
    return turnId;
  }

  async steer(id: string, input: unknown[], expectedTurnId?: string): Promise<{ turnId: string }> {
    const turnId = this.activeTurn(id, expectedTurnId);
    return this.call<{ turnId: string }>(
      'turn/steer',
      { threadId: id, input, expectedTurnId: turnId },
      'steer turn',
    );
  }

  async interrupt(id: string, turnId?: string): Promise<{ turnId: string }> {
    const t = this.activeTurn(id, turnId);
    await this.call('turn/interrupt', { threadId: id, turnId: t }, 'interrupt turn');
    return { turnId: t };
  }
}
