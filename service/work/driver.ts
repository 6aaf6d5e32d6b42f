/**
 * Turns run by codex-sm itself (queued prompts, group runs) on the supervisor's control
 * connection: start a turn tagged with a client id, wait for its `turn/completed`, and — after a
 * crash — find out from the thread's recorded turns what became of an attempt.
 *
 * The one rule the engines build on: an error here is either `TurnLost` (the outcome is unknown:
 * the connection dropped or the app-server did not answer in time; commit nothing, reconcile
 * later) or `TurnRejected` (the app-server said no: the attempt definitely did not start).
 * Shapes are from `codex app-server generate-ts` 0.169.0 (v2/Turn.ts, TurnStartParams.ts).
 */
import type { Logger } from 'pino';
import { HttpError } from '../http.js';
import { RpcClosedError, RpcError, RpcTimeoutError, type RpcClient } from '../rpc.js';
import type { SessionOps } from '../sessions/ops.js';
import { endOf, usageOf, type TurnEnd, type TurnRecord, type Usage } from './turn-records.js';

export class TurnLost extends Error {
  override name = 'TurnLost';
}
export class TurnRejected extends Error {
  override name = 'TurnRejected';
}
/** The thread cannot be loaded (no rollout: it never had a turn, or it was deleted). */
export class ThreadGone extends TurnRejected {
  override name = 'ThreadGone';
}

export interface TurnOverrides {
  model?: string | null;
  sandbox?: string | null;
  approvalPolicy?: string | null;
}

/** Whether an app-server error means "the outcome is unknown" rather than "no". */
function classify(e: unknown, what: string): Error {
  if (e instanceof TurnLost || e instanceof TurnRejected) return e;
  if (e instanceof RpcClosedError || e instanceof RpcTimeoutError)
    return new TurnLost(`${what}: ${e.message}`);
  if (e instanceof RpcError) {
    if (/no rollout found|not found|unknown thread|invalid thread/i.test(e.message))
      return new ThreadGone(`${what}: ${e.message}`);
    return new TurnRejected(`${what}: ${e.message}`);
  }
  // SessionOps' HttpErrors: 503/504 are the connection, the rest a refusal.
  const status = e instanceof HttpError ? e.status : undefined;
  const msg = e instanceof Error ? e.message : String(e);
  if (status === 503 || status === 504) return new TurnLost(`${what}: ${msg}`);
  if (status === 404) return new ThreadGone(`${what}: ${msg}`);
  return new TurnRejected(`${what}: ${msg}`);
}

interface Waiter {
  resolve(end: TurnEnd): void;
  reject(e: Error): void;
}

/** How long an interrupted leftover turn may take to report its end. */
const LEFTOVER_WAIT_MS = 10_000;

/** How long a thread's previous writer may take to let go of it (doubling waits up to here). */
const WRITER_WAIT_MS = 20_000;

/** Keep at most this many finished-but-unclaimed turns and usages (a bound, not a cache). */
const KEEP = 1000;

export class TurnDriver {
  private readonly waiters = new Map<string, Waiter>();
  /** turn/completed that arrived before anyone waited (bounded). */
  private readonly early = new Map<string, TurnEnd>();
  private readonly usage = new Map<string, Usage>();
  /** Threads our connection started or resumed on the current app-server. */
  private readonly attached = new Set<string>();

  constructor(
    private readonly d: {
      client(): RpcClient | undefined;
      ops: SessionOps;
      timeoutMs: number;
      log?: Logger;
    },
  ) {}

  /** Feed every control-connection notification here. */
  notification(method: string, params: unknown): void {
    const p = params as { turnId?: string; turn?: TurnRecord; threadId?: string } | null;
    if (method === 'turn/started' || method === 'turn/completed')
      this.d.log?.debug(
        { method, threadId: p?.threadId, turnId: p?.turn?.id, status: p?.turn?.status },
        'turn event',
      );
    if (method === 'thread/closed' && p?.threadId) this.attached.delete(p.threadId);
    else if (method === 'thread/tokenUsage/updated' && p?.turnId) {
      const u = usageOf(params);
      if (u) remember(this.usage, p.turnId, u);
    } else if (method === 'turn/completed' && p?.turn?.id) {
      const id = p.turn.id;
      const end = endOf(p.turn, this.usage.get(id) ?? null);
      this.usage.delete(id);
      const w = this.waiters.get(id);
      if (w) {
        this.waiters.delete(id);
        w.resolve(end);
      } else remember(this.early, id, end);
    }
  }

  /** The app-server went away: nobody will hear of these turns again from this connection. */
  down(reason: string): void {
    for (const w of this.waiters.values()) w.reject(new TurnLost(`app-server down: ${reason}`));
    this.waiters.clear();
    this.early.clear();
    this.usage.clear();
    this.attached.clear();
  }

  private rpc(): RpcClient {
    const c = this.d.client();
    if (!c) throw new TurnLost('the app-server is not ready');
    return c;
  }

  /** thread/start in a working directory (the index learns of it through SessionOps). */
  async startThread(cwd: string, o: TurnOverrides): Promise<string> {
    try {
      const r = await this.d.ops.start({
        cwd,
        model: o.model ?? undefined,
        sandbox: o.sandbox ?? undefined,
        approvalPolicy: o.approvalPolicy ?? undefined,
      });
      this.attached.add(r.thread.id); // thread/start subscribes the connection that made it
      return r.thread.id;
    } catch (e) {
      throw classify(e, 'start thread');
    }
  }

  /**
   * Make sure our control connection follows the thread on this app-server (thread/resume,
   * once per app-server lifetime): only a connection that started or resumed a thread hears
   * its turn events and approvals. Returns the turn the app-server is running on the thread by
   * itself, if any: with `--managed-daemon` a restarted app-server continues a turn its
   * predecessor was stopped in ("daemon recovery"), and a turn/start now would be folded into it.
   */
  async attach(threadId: string, o: TurnOverrides): Promise<TurnRecord | undefined> {
    if (this.attached.has(threadId)) return undefined;
    const status = await this.resume(threadId, o);
    this.attached.add(threadId);
    if (status !== 'active') return undefined;
    const turns = await this.turnsOf(threadId);
    return [...turns].reverse().find((t) => t.status === 'inProgress');
  }

  /** turn/start with the attempt's client id, on a thread attach() has made ours. */
  async startTurn(
    threadId: string,
    input: unknown[],
    clientId: string,
    o: TurnOverrides,
  ): Promise<string> {
    const params = {
      threadId,
      input,
      clientUserMessageId: clientId,
      ...(o.model ? { model: o.model } : {}),
    };
    try {
      const r = await this.rpc().request<{ turn: { id: string; status: string } }>(
        'turn/start',
        params,
        { timeoutMs: this.d.timeoutMs },
      );
      this.d.log?.debug(
        { threadId, clientId, turnId: r.turn.id, status: r.turn.status },
        'turn/start answered',
      );
      return r.turn.id;
    } catch (e) {
      throw classify(e, 'start turn');
    }
  }

  /**
   * thread/resume, waiting out "already has an active writer": after codex-sm was killed, the
   * previous app-server may still be saving the thread on its way out (it got SIGTERM from
   * its parent-death signal), and its lock goes with it. Returns the thread's status type.
   */
  private async resume(threadId: string, o: TurnOverrides): Promise<string> {
    for (let delay = 100; ; delay *= 2) {
      try {
        const r = await this.d.ops.resume(threadId, {
          model: o.model ?? undefined,
          sandbox: o.sandbox ?? undefined,
          approvalPolicy: o.approvalPolicy ?? undefined,
        });
        this.d.log?.debug({ threadId, status: r.thread.status }, 'thread resumed');
        return r.thread.status.type;
      } catch (e) {
        const busy = e instanceof Error && /active writer/i.test(e.message);
        if (!busy || delay > WRITER_WAIT_MS) throw classify(e, 'resume thread');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Resolves on the turn's `turn/completed`; rejects with TurnLost if the app-server goes first. */
  wait(turnId: string): Promise<TurnEnd> {
    const done = this.early.get(turnId);
    if (done) {
      this.early.delete(turnId);
      return Promise.resolve(done);
    }
    if (!this.d.client()) return Promise.reject(new TurnLost('the app-server is not ready'));
    return new Promise((resolve, reject) => this.waiters.set(turnId, { resolve, reject }));
  }

  async interrupt(threadId: string, turnId: string): Promise<void> {
    try {
      await this.rpc().request(
        'turn/interrupt',
        { threadId, turnId },
        { timeoutMs: this.d.timeoutMs },
      );
    } catch (e) {
      throw classify(e, 'interrupt turn');
    }
  }

  /**
   * The thread's turns, each with its final status, for reconciliation after a crash. A turn
   * the thread still shows `inProgress` belongs to an app-server that died: the new one may
   * hold it open (its rollout has no end) or continue it by itself when the thread is loaded
   * (`--managed-daemon` recovery), and either way a new turn/start would wait behind it. We
   * attach to the thread and interrupt it, so it ends now with a status we can record.
   */
  async settledTurns(threadId: string): Promise<TurnRecord[]> {
    const turns = await this.turnsOf(threadId);
    const open = turns.filter((t) => t.status === 'inProgress');
    if (!open.length) return turns;
    await this.attach(threadId, {});
    for (const t of open) {
      const ended = this.wait(t.id);
      ended.catch(() => undefined); // a lost connection is reported by the read below
      try {
        await this.rpc().request(
          'turn/interrupt',
          { threadId, turnId: t.id },
          { timeoutMs: this.d.timeoutMs },
        );
        await Promise.race([ended, new Promise((r) => setTimeout(r, LEFTOVER_WAIT_MS).unref())]);
      } catch (e) {
        const err = classify(e, 'interrupt a leftover turn');
        if (err instanceof TurnLost) throw err;
        // "no active turn": it was not running after all; the read below tells its status.
      } finally {
        this.forget(t.id);
      }
      this.d.log?.info(
        { threadId, turnId: t.id },
        'leftover turn of a previous app-server interrupted',
      );
    }
    return this.turnsOf(threadId);
  }

  private forget(turnId: string): void {
    this.waiters.delete(turnId);
    this.early.delete(turnId);
  }

  /** Every turn the thread has recorded, with items (thread/read works on unloaded threads too). */
  async turnsOf(threadId: string): Promise<TurnRecord[]> {
    try {
      const r = await this.rpc().request<{ thread: { turns?: TurnRecord[] } }>(
        'thread/read',
        { threadId, includeTurns: true },
        { timeoutMs: this.d.timeoutMs },
      );
      return r.thread.turns ?? [];
    } catch (e) {
      const err = classify(e, 'read thread');
      if (err instanceof ThreadGone) return []; // no rollout: no turn ever reached it
      throw err;
    }
  }
}

function remember<V>(m: Map<string, V>, k: string, v: V): void {
  m.set(k, v);
  if (m.size > KEEP) m.delete(m.keys().next().value as string);
}
