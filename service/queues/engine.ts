/**
 * The queue engine: runs each `running` queue one turn at a time on the app-server, and owns
 * every change of a queue's state (the routes call its commands).
 *
 * Crash safety is in the order of things (docs/queues.md, "Crash safety"): the thread, the
 * attempt, the turn id and the result are each committed before the step that depends on them,
 * and nothing runs until `reconcile()` has matched what the store says with the turns the
 * thread really has. `reconcile()` runs every time the app-server becomes ready (first start,
 * restart after a crash of it), so the same code covers "codex-sm was killed" and "only the
 * app-server died".
 */
import type { Logger } from 'pino';
import { HttpError } from '../http.js';
import type { Approval } from '../sessions/approval-json.js';
import type { Approvals } from '../sessions/approvals.js';
import { toUserInput } from '../sessions/ops.js';
import type { QueueStatus } from '../store/enums.js';
import type { Prompt } from '../store/queue-schema.js';
import type { NewPrompt, NewQueue, QueueRepo, QueueWithPrompts } from '../store/queues.js';
import { ThreadGone, TurnLost, type TurnDriver } from '../work/driver.js';
import {
  attemptId,
  settle,
  unsettled,
  type TurnEnd,
  type TurnRecord,
} from '../work/turn-records.js';
import type { QueueEventName } from '../work/event-names.js';
import type { EventLog } from '../work/events.js';
import type { PromptJson, QueueCountsJson, QueueJson, QueueSummaryJson } from './queue-json.js';
import { promptJson, queueJson, queueSummaryJson } from './view.js';

/** Where a prompt may still be changed by a person. */
const EDITABLE = new Set(['pending', 'waiting']);

export interface QueueEngineDeps {
  repo: QueueRepo;
  driver: TurnDriver;
  approvals: Approvals;
  events: EventLog;
  log: Logger;
}

export class QueueEngine {
  /** Queues with a runner loop in flight. */
  private readonly loops = new Map<string, Promise<void>>();
  /** The turn each queue is waiting on (for stop --now and for "is a turn running"). */
  private readonly current = new Map<string, { threadId: string; turnId: string }>();
  /** False until reconcile() has run against the current app-server; no turn starts before. */
  private live = false;

  constructor(private readonly d: QueueEngineDeps) {}

  // --- views

  view(id: string): QueueJson<Approval> {
    const q = this.must(id);
    return queueJson(q, this.approvalsOf(q));
  }

  list(): QueueSummaryJson<Approval>[] {
    return this.d.repo.listQueues().map((q) => queueSummaryJson(q, this.approvalsOf(q)));
  }

  private approvalsOf(q: QueueWithPrompts): Approval[] {
    return q.threadId ? this.d.approvals.list({ threadId: q.threadId }) : [];
  }

  private must(id: string): QueueWithPrompts {
    const q = this.d.repo.getQueue(id);
    if (!q)
      throw new HttpError(
        404,
        'queue_not_found',
        `no queue ${id}`,
        'list them with `codex-sm queue list`',
      );
    return q;
  }

  private prompt(queueId: string, promptId: string): Prompt {
    const p = this.d.repo.getPrompt(promptId);
    if (!p || p.queueId !== queueId)
      throw new HttpError(404, 'prompt_not_found', `queue ${queueId} has no prompt ${promptId}`);
    return p;
  }

  private editable(queueId: string, promptId: string): Prompt {
    const p = this.prompt(queueId, promptId);
    if (!EDITABLE.has(p.status))
      throw new HttpError(
        409,
        'prompt_not_editable',
        `prompt ${promptId} is ${p.status}: only pending and waiting prompts can change`,
        'add a new prompt instead',
      );
    return p;
  }

  private emit(queueId: string, type: QueueEventName, prompt?: Prompt): void {
    const q = this.d.repo.getQueue(queueId);
    this.d.events.publish(queueId, type, {
      type,
      queueId,
      at: new Date().toISOString(),
      queue: q ? queueJson(q, this.approvalsOf(q)) : null,
      ...(prompt ? { prompt: promptJson(prompt) } : {}),
    });
  }

  // --- commands (each commits, publishes, then kicks the runner if there is work)

  create(q: NewQueue, prompts: NewPrompt[]): QueueJson<Approval> {
    const created = this.d.repo.createQueueWithPrompts(q, prompts);
    this.emit(created.id, 'queue_created');
    return this.view(created.id);
  }

  addPrompt(queueId: string, p: NewPrompt): PromptJson {
    this.must(queueId);
    const added = this.d.repo.addPrompt(queueId, p);
    if (!added) throw new HttpError(404, 'queue_not_found', `no queue ${queueId}`);
    this.emit(queueId, 'prompt_added', added);
    this.kick(queueId); // a running queue that had run out of prompts takes it
    return promptJson(added);
  }

  updatePrompt(queueId: string, promptId: string, patch: Partial<NewPrompt>): PromptJson {
    this.editable(queueId, promptId);
    const p = this.d.repo.updatePrompt(promptId, patch);
    if (!p) throw this.raced(promptId);
    this.emit(queueId, 'prompt_updated', p);
    if (patch.mode) this.kick(queueId);
    return promptJson(p);
  }

  removePrompt(queueId: string, promptId: string): { deleted: true; id: string } {
    const p = this.editable(queueId, promptId);
    if (!this.d.repo.deletePrompt(promptId)) throw this.raced(promptId);
    this.emit(queueId, 'prompt_removed', p);
    this.kick(queueId);
    return { deleted: true, id: promptId };
  }

  movePrompt(queueId: string, promptId: string, to: number): QueueJson<Approval> {
    this.editable(queueId, promptId);
    if (!this.d.repo.movePrompt(promptId, to)) throw this.raced(promptId);
    this.emit(queueId, 'prompt_moved', this.d.repo.getPrompt(promptId));
    this.kick(queueId);
    return this.view(queueId);
  }

  private raced(promptId: string): HttpError {
    return new HttpError(
      409,
      'prompt_not_editable',
      `prompt ${promptId} changed meanwhile`,
      'look again',
    );
  }

  /** Start or continue; on a queue waiting for a manual prompt's go-ahead, this is the go-ahead. */
  start(queueId: string): QueueJson<Approval> {
    const q = this.must(queueId);
    if (q.status === 'running') {
      const waiting = q.prompts.find((p) => p.status === 'waiting');
      if (waiting) this.d.repo.giveGoAhead(waiting.id);
    } else {
      const next = this.d.repo.nextPrompt(queueId);
      if (next?.status === 'waiting' || next?.mode === 'manual') this.d.repo.giveGoAhead(next.id);
      this.setStatus(queueId, 'running', 'queue_started');
    }
    this.kick(queueId);
    return this.view(queueId);
  }

  pause(queueId: string): QueueJson<Approval> {
    this.transitionOr409(queueId, 'paused', ['running'], 'queue_paused', 'queue_not_running');
    return this.view(queueId);
  }

  resume(queueId: string): QueueJson<Approval> {
    this.transitionOr409(queueId, 'running', ['paused'], 'queue_resumed', 'queue_not_paused');
    this.kick(queueId);
    return this.view(queueId);
  }

  /** After the current turn; `now` interrupts it (its prompt ends `interrupted`). */
  async stop(queueId: string, now: boolean): Promise<QueueJson<Approval>> {
    this.transitionOr409(
      queueId,
      'stopped',
      ['running', 'paused'],
      'queue_stopped',
      'queue_not_running',
    );
    const cur = this.current.get(queueId);
    if (now && cur)
      await this.d.driver.interrupt(cur.threadId, cur.turnId).catch((e: Error) => {
        this.d.log.warn({ queueId, err: e.message }, 'could not interrupt the queue turn');
      });
    return this.view(queueId);
  }

  delete(queueId: string): { deleted: true; id: string } {
    // A runner in flight may be between committing an attempt and its turn/start.
    if (this.loops.has(queueId) || this.must(queueId).prompts.some((p) => p.status === 'running'))
      throw new HttpError(
        409,
        'queue_running',
        `queue ${queueId} has a turn running`,
        'stop it first: `codex-sm queue stop --now`',
      );
    this.d.repo.deleteQueue(queueId);
    this.emit(queueId, 'queue_deleted');
    return { deleted: true, id: queueId };
  }

  /** A pending approval of one of our threads changed: tell the queue's followers. */
  approval(a: Approval): void {
    if (!a.threadId) return;
    for (const q of this.d.repo.listQueues())
      if (q.threadId === a.threadId) this.emit(q.id, 'approval');
  }

  counts(): QueueCountsJson {
    return this.d.repo.queueCounts();
  }

  private setStatus(
    queueId: string,
    status: QueueStatus,
    event: QueueEventName,
    from?: QueueStatus[],
  ): boolean {
    const ok = this.d.repo.setQueueStatus(queueId, status, from) !== undefined;
    if (ok) this.emit(queueId, event);
    return ok;
  }

  private transitionOr409(
    queueId: string,
    status: QueueStatus,
    from: QueueStatus[],
    event: QueueEventName,
    code: 'queue_not_running' | 'queue_not_paused',
  ): void {
    const q = this.must(queueId);
    if (!this.setStatus(queueId, status, event, from))
      throw new HttpError(
        409,
        code,
        `queue ${queueId} is ${q.status}`,
        `it must be ${from.join(' or ')}`,
      );
  }

  // --- the runner

  /** The app-server went away: loops end without committing; reconcile() follows on `ready`. */
  down(): void {
    this.live = false;
  }

  private kick(queueId: string): void {
    if (!this.live || this.loops.has(queueId)) return;
    const loop = this.run(queueId)
      .catch((e: Error) =>
        this.d.log.error({ queueId, err: e.message, stack: e.stack }, 'queue runner failed'),
      )
      .finally(() => this.loops.delete(queueId));
    this.loops.set(queueId, loop);
  }

  private async run(queueId: string): Promise<void> {
    for (;;) {
      if (!this.live) return;
      const q = this.d.repo.getQueue(queueId);
      if (!q || q.status !== 'running') return;
      const p = this.d.repo.nextPrompt(queueId);
      if (!p) {
        this.setStatus(queueId, 'completed', 'queue_completed', ['running']);
        return;
      }
      if (p.mode === 'manual' && p.goAheadAt === null) {
        if (p.status !== 'waiting') {
          const w = this.d.repo.markWaiting(p.id);
          if (w) this.emit(queueId, 'prompt_waiting', w);
        }
        return; // start() gives the go-ahead and kicks again
      }
      if (!(await this.runPrompt(q, p))) return;
    }
  }

  /** One prompt, start to end; false when the loop must stop (lost connection, failure). */
  private async runPrompt(q: QueueWithPrompts, p: Prompt): Promise<boolean> {
    const o = { model: q.model, sandbox: q.sandbox, approvalPolicy: q.approvalPolicy };
    try {
      let threadId = q.threadId;
      if (!threadId) {
        if (!q.cwd) throw new Error(`queue ${q.id} has neither a cwd nor a session`);
        threadId = await this.d.driver.startThread(q.cwd, o);
        this.d.repo.setQueueThread(q.id, threadId);
      }
      let busy: TurnRecord | undefined;
      try {
        busy = await this.d.driver.attach(threadId, o);
      } catch (e) {
        // A cwd queue whose thread never got a turn has no rollout, so it cannot be resumed
        // after a restart: start it afresh (nothing of it is lost).
        if (!(e instanceof ThreadGone) || !q.cwd || q.prompts.some((x) => x.turnId)) throw e;
        threadId = await this.d.driver.startThread(q.cwd, o);
        this.d.repo.setQueueThread(q.id, threadId);
      }
      if (busy) return await this.waitOut(q, busy);
      const attempt = this.d.repo.recordAttempt(p.id);
      if (!attempt) return true; // edited or removed meanwhile: look again
      const turnId = await this.d.driver.startTurn(
        threadId,
        toUserInput(p.text, p.images),
        attemptId(p.id, attempt.attempts),
        o,
      );
      const running = this.d.repo.markPromptRunning(p.id, turnId);
      if (running) this.emit(q.id, 'prompt_started', running);
      this.current.set(q.id, { threadId, turnId });
      const end = await this.d.driver.wait(turnId);
      return this.finish(q.id, p.id, end);
    } catch (e) {
      if (e instanceof TurnLost) {
        this.d.log.warn(
          { queueId: q.id, promptId: p.id, err: e.message },
          'queue turn outcome unknown; reconciling when the app-server is back',
        );
        return false;
      }
      // The app-server refused the turn (or the thread is gone): this prompt failed.
      const msg = e instanceof Error ? e.message : String(e);
      const failed = this.d.repo.rejectPrompt(p.id, msg);
      if (failed) this.emit(q.id, 'prompt_failed', failed);
      this.setStatus(q.id, 'failed', 'queue_failed', ['running']);
      return false;
    } finally {
      this.current.delete(q.id);
    }
  }

  /** A turn someone else runs on the queue's thread (a person in the TUI, say) ends first. */
  private async waitOut(q: QueueWithPrompts, turn: TurnRecord): Promise<boolean> {
    this.d.log.info(
      { queueId: q.id, turnId: turn.id },
      'waiting for a turn codex-sm did not start',
    );
    await this.d.driver.wait(turn.id);
    return true;
  }

  /** Commit a turn's end; a failed prompt fails the queue (later prompts usually build on it). */
  private finish(queueId: string, promptId: string, end: TurnEnd): boolean {
    const p =
      end.status === 'completed'
        ? this.d.repo.completePrompt(promptId, end.result)
        : end.status === 'failed'
          ? this.d.repo.failPrompt(promptId, end.error ?? 'failed', end.result)
          : this.d.repo.interruptPrompt(promptId, end.error, end.result);
    if (p) this.emit(queueId, `prompt_${end.status}`, p);
    if (end.status === 'failed') {
      this.setStatus(queueId, 'failed', 'queue_failed', ['running']);
      return false;
    }
    return true;
  }

  /**
   * Before anything runs on a (new) app-server: settle every prompt whose turn may have
   * started, from the thread's recorded turns; then let the running queues go on.
   */
  async reconcile(): Promise<void> {
    this.live = false;
    await Promise.all([...this.loops.values()]); // the old runners end (their turns were lost)
    for (const q of this.d.repo.listQueues()) {
      try {
        await this.reconcileQueue(q);
      } catch (e) {
        // TurnLost: the app-server went away again; the next `ready` reconciles again.
        this.d.log.warn({ queueId: q.id, err: (e as Error).message }, 'queue reconcile incomplete');
        return;
      }
    }
    this.live = true;
    for (const q of this.d.repo.listQueues()) if (q.status === 'running') this.kick(q.id);
  }

  private async reconcileQueue(q: QueueWithPrompts): Promise<void> {
    const open = q.prompts.filter(unsettled);
    if (!open.length || !q.threadId) return;
    const turns = await this.d.driver.settledTurns(q.threadId);
    for (const p of open) {
      const s = settle(p, p.id, turns);
      if (!s || (s.adopt && !this.d.repo.markPromptRunning(p.id, s.turnId))) continue;
      this.d.log.info(
        { queueId: q.id, promptId: p.id, turnId: s.turnId, status: s.end.status },
        'queue prompt reconciled',
      );
      this.finish(q.id, p.id, s.end);
    }
  }
}
