/**
 * The queue tables' repository: the few operations the queue engine starts from. Every state
 * transition is one committed transaction (Store.transaction, synchronous = FULL), so the engine
 * can commit a transition and only then cause its side effect.
 *
 * A transition names the statuses it starts from; on a prompt in any other status it changes
 * nothing and returns undefined (the engine decides whether that is a race or a bug). The turn
 * transitions are the shared turn-job core (jobs.ts); the rest is the queue's own.
 */
import { randomUUID } from 'node:crypto';
import {
  QUEUE_STATUSES,
  type Json,
  type PromptMode,
  type PromptStatus,
  type QueueStatus,
} from './enums.js';
import { TurnJobs } from './jobs.js';
import { StoreRepo } from './repo.js';
import type { QueueCountsJson } from '../queues/queue-json.js';
import {
  toPrompt,
  toQueue,
  type Prompt,
  type PromptRow,
  type Queue,
  type QueueRow,
} from './queue-schema.js';

export interface NewQueue {
  name: string;
  /** A working directory (a new thread is started there) or an existing thread; at least one. */
  cwd?: string | null;
  threadId?: string | null;
  model?: string | null;
  sandbox?: string | null;
  approvalPolicy?: string | null;
  maxRetries?: number;
}

export interface NewPrompt {
  text: string;
  images?: string[];
  mode?: PromptMode;
}

export type QueueWithPrompts = Queue & { prompts: Prompt[] };

/** Not run yet: the only prompts that may be edited, moved, removed or cancelled. */
const EDITABLE: readonly PromptStatus[] = ['pending', 'waiting'];

export class QueueRepo extends StoreRepo {
  private readonly jobs = new TurnJobs<[string], Prompt>(this.store, this.now, {
    table: 'prompts',
    keyColumns: ['id'],
    parent: { table: 'queues', fk: 'queue_id' },
    startable: ['pending', 'waiting', 'interrupted'],
    read: ([id]) => this.getPrompt(id),
  });

  createQueue(q: NewQueue): Queue {
    const id = randomUUID();
    const t = this.now();
    this.store.transaction(() =>
      this.insertRow('queues', {
        id,
        name: q.name,
        cwd: q.cwd ?? null,
        thread_id: q.threadId ?? null,
        model: q.model ?? null,
        sandbox: q.sandbox ?? null,
        approval_policy: q.approvalPolicy ?? null,
        max_retries: q.maxRetries ?? 0,
        created_at: t,
        updated_at: t,
      }),
    );
    return this.mustGetQueue(id);
  }

  /** A queue and its first prompts in one transaction: a crash leaves all of it or none. */
  createQueueWithPrompts(q: NewQueue, prompts: readonly NewPrompt[]): Queue {
    return this.store.transaction(() => {
      const created = this.createQueue(q);
      for (const p of prompts) this.addPrompt(created.id, p);
      return created;
    });
  }

  /** Appends after the last prompt of the queue; undefined when the queue does not exist. */
  addPrompt(queueId: string, p: NewPrompt): Prompt | undefined {
    const id = randomUUID();
    const t = this.now();
    const added = this.store.transaction(() => {
      if (!this.touchQueue(queueId)) return false;
      this.db
        .prepare(
          `INSERT INTO prompts (id, queue_id, position, text, images, mode, created_at, updated_at)
           VALUES (?, ?, (SELECT coalesce(max(position), 0) + 1 FROM prompts WHERE queue_id = ?), ?, ?, ?, ?, ?)`,
        )
        .run(id, queueId, queueId, p.text, JSON.stringify(p.images ?? []), p.mode ?? 'auto', t, t);
      return true;
    });
    return added ? this.getPrompt(id) : undefined;
  }

  getQueue(id: string): QueueWithPrompts | undefined {
    const row = this.db.prepare<[string], QueueRow>('SELECT * FROM queues WHERE id = ?').get(id);
    return row && { ...toQueue(row), prompts: this.promptsOf(id) };
  }

  listQueues(): QueueWithPrompts[] {
    const rows = this.db
      .prepare<[], QueueRow>('SELECT * FROM queues ORDER BY created_at, id')
      .all();
    return rows.map((r) => ({ ...toQueue(r), prompts: this.promptsOf(r.id) }));
  }

  getPrompt(id: string): Prompt | undefined {
    const row = this.db.prepare<[string], PromptRow>('SELECT * FROM prompts WHERE id = ?').get(id);
    return row && toPrompt(row);
  }

  /** Deletes the queue and (ON DELETE CASCADE) its prompts; false when there was none. */
  deleteQueue(id: string): boolean {
    return this.deleteRow('queues', id);
  }

  /** Sets the status; with `from`, only when the queue is in one of those. */
  setQueueStatus(
    id: string,
    status: QueueStatus,
    from?: readonly QueueStatus[],
  ): Queue | undefined {
    const changed = this.store.transaction(() => {
      const cur = this.db
        .prepare<[string], QueueStatus>('SELECT status FROM queues WHERE id = ?')
        .pluck()
        .get(id);
      if (cur === undefined || (from && !from.includes(cur))) return false;
      return this.updateRow('queues', id, { status });
    });
    return changed ? this.mustGetQueue(id) : undefined;
  }

  /** The thread a cwd queue started (recorded before its first turn/start). */
  setQueueThread(id: string, threadId: string): Queue | undefined {
    return this.updateRow('queues', id, { thread_id: threadId })
      ? this.mustGetQueue(id)
      : undefined;
  }

  /** Committed right before turn/start (see TurnJobs.recordAttempt). */
  recordAttempt(promptId: string): Prompt | undefined {
    return this.jobs.recordAttempt([promptId]);
  }

  /** turn/start answered: running, with its turn id (it now counts as started). */
  markPromptRunning(promptId: string, turnId: string): Prompt | undefined {
    return this.jobs.markRunning([promptId], turnId);
  }

  completePrompt(promptId: string, result: Json): Prompt | undefined {
    return this.jobs.complete([promptId], result);
  }

  failPrompt(promptId: string, error: string, result: Json | null = null): Prompt | undefined {
    return this.jobs.fail([promptId], error, result);
  }

  interruptPrompt(
    promptId: string,
    error: string | null = null,
    result: Json | null = null,
  ): Prompt | undefined {
    return this.jobs.interrupt([promptId], error, result);
  }

  /**
   * Changes what a prompt that has not run says. A waiting prompt switched to `auto` goes back to
   * `pending`: `waiting` means waiting for a go-ahead, which an auto prompt does not need.
   */
  updatePrompt(
    promptId: string,
    patch: { text?: string; images?: string[]; mode?: PromptMode },
  ): Prompt | undefined {
    const mode = patch.mode ?? null;
    return this.jobs.transition(
      [promptId],
      EDITABLE,
      `text = coalesce(?, text), images = coalesce(?, images), mode = coalesce(?, mode),
       status = CASE WHEN ? = 'auto' AND status = 'waiting' THEN 'pending' ELSE status END`,
      [patch.text ?? null, patch.images ? JSON.stringify(patch.images) : null, mode, mode],
    );
  }

  setPromptMode(promptId: string, mode: PromptMode): Prompt | undefined {
    return this.updatePrompt(promptId, { mode });
  }

  /** The engine reached a manual prompt without its go-ahead. */
  markWaiting(promptId: string): Prompt | undefined {
    return this.jobs.transition([promptId], ['pending'], "status = 'waiting'", []);
  }

  /** `queue start` on a queue whose next prompt is manual: it may run now. */
  giveGoAhead(promptId: string): Prompt | undefined {
    return this.jobs.transition([promptId], EDITABLE, 'go_ahead_at = ?', [this.now()]);
  }

  /** turn/start was refused: failed, with no turn. */
  rejectPrompt(promptId: string, error: string): Prompt | undefined {
    return this.jobs.reject([promptId], error);
  }

  cancelPrompt(promptId: string): Prompt | undefined {
    return this.jobs.cancel([promptId], EDITABLE);
  }

  /** Removes a prompt that has not run; the others keep their positions (a gap is harmless). */
  deletePrompt(promptId: string): boolean {
    return this.store.transaction(() => {
      const row = this.db
        .prepare<[string], { queue_id: string; status: PromptStatus }>(
          'SELECT queue_id, status FROM prompts WHERE id = ?',
        )
        .get(promptId);
      if (!row || !EDITABLE.includes(row.status)) return false;
      this.db.prepare('DELETE FROM prompts WHERE id = ?').run(promptId);
      return this.touchQueue(row.queue_id);
    });
  }

  /**
   * Moves a prompt that has not run to place `to` (1-based, clamped) among the queue's prompts
   * that have not run. They keep the positions they hold between them, in the new order; prompts
   * that ran keep theirs. Each changed row is parked at the negative of its position first (free:
   * positions are positive), so the unique (queue_id, position) index holds at every statement.
   */
  movePrompt(promptId: string, to: number): QueueWithPrompts | undefined {
    const t = this.now();
    const queueId = this.store.transaction(() => {
      const moved = this.getPrompt(promptId);
      if (!moved || !EDITABLE.includes(moved.status)) return undefined;
      const rows = this.db
        .prepare<[string], { id: string; position: number }>(
          `SELECT id, position FROM prompts WHERE queue_id = ? AND status IN ('pending', 'waiting')
           ORDER BY position`,
        )
        .all(moved.queueId);
      const order = rows.filter((r) => r.id !== promptId);
      order.splice(Math.min(Math.max(Math.trunc(to), 1), rows.length) - 1, 0, moved);
      const changes = order
        .map((r, i) => ({ id: r.id, from: r.position, to: rows[i]?.position ?? r.position }))
        .filter((c) => c.from !== c.to);
      const place = this.db.prepare('UPDATE prompts SET position = ?, updated_at = ? WHERE id = ?');
      for (const c of changes) place.run(-c.from, t, c.id);
      for (const c of changes) place.run(c.to, t, c.id);
      this.touchQueue(moved.queueId);
      return moved.queueId;
    });
    return queueId === undefined ? undefined : this.getQueue(queueId);
  }

  /**
   * The prompt the queue runs next: the first by position that has not run, or that was
   * interrupted and has retries left (`attempts <= max_retries`: the first run is attempt 1).
   */
  nextPrompt(queueId: string): Prompt | undefined {
    const row = this.db
      .prepare<[string], PromptRow>(
        `SELECT p.* FROM prompts p JOIN queues q ON q.id = p.queue_id
         WHERE p.queue_id = ? AND (p.status IN ('pending', 'waiting')
           OR (p.status = 'interrupted' AND p.attempts <= q.max_retries))
         ORDER BY p.position LIMIT 1`,
      )
      .get(queueId);
    return row && toPrompt(row);
  }

  /** How many queues are in each status (every status named, 0 included), for /status. */
  queueCounts(): QueueCountsJson {
    const counts = Object.fromEntries(QUEUE_STATUSES.map((s) => [s, 0])) as Record<
      QueueStatus,
      number
    >; // every key set just above
    const rows = this.db
      .prepare<[], { status: QueueStatus; n: number }>(
        'SELECT status, count(*) AS n FROM queues GROUP BY status',
      )
      .all();
    for (const r of rows) counts[r.status] = r.n;
    return { ...counts, total: rows.reduce((sum, r) => sum + r.n, 0) };
  }

  private touchQueue(id: string): boolean {
    return this.updateRow('queues', id, {});
  }

  private promptsOf(queueId: string): Prompt[] {
    return this.db
      .prepare<[string], PromptRow>('SELECT * FROM prompts WHERE queue_id = ? ORDER BY position')
      .all(queueId)
      .map(toPrompt);
  }

  private mustGetQueue(id: string): Queue {
    const row = this.db.prepare<[string], QueueRow>('SELECT * FROM queues WHERE id = ?').get(id);
    if (!row) throw new Error(`queue ${id} vanished inside its own transition`);
    return toQueue(row);
  }
}
