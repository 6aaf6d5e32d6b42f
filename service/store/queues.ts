/**
 * The queue tables' repository: the few operations the queue engine starts from. Every state
 * transition is one committed transaction (Store.transaction, synchronous = FULL), so the engine
 * can commit a transition and only then cause its side effect.
 *
 * A transition names the statuses it starts from; on a prompt in any other status it changes
 * nothing and returns undefined (the engine decides whether that is a race or a bug).
 */
import { randomUUID } from 'node:crypto';
import type { Store } from './store.js';
import {
  toPrompt,
  toQueue,
  type Json,
  type Prompt,
  type PromptMode,
  type PromptRow,
  type PromptStatus,
  type Queue,
  type QueueRow,
  type QueueStatus,
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

/** Where a prompt may be (re)started from: a retry starts an interrupted one again. */
const STARTABLE: readonly PromptStatus[] = ['pending', 'waiting', 'interrupted'];

export class QueueRepo {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  private get db() {
    return this.store.db;
  }

  createQueue(q: NewQueue): Queue {
    const id = randomUUID();
    const t = this.now();
    this.store.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO queues (id, name, cwd, thread_id, model, sandbox, approval_policy, max_retries, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          q.name,
          q.cwd ?? null,
          q.threadId ?? null,
          q.model ?? null,
          q.sandbox ?? null,
          q.approvalPolicy ?? null,
          q.maxRetries ?? 0,
          t,
          t,
        );
    });
    return this.mustGetQueue(id);
  }

  /** Appends after the last prompt of the queue; undefined when the queue does not exist. */
  addPrompt(queueId: string, p: NewPrompt): Prompt | undefined {
    const id = randomUUID();
    const t = this.now();
    const added = this.store.transaction(() => {
      if (!this.touchQueue(queueId, t)) return false;
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
    return this.store.transaction(
      () => this.db.prepare('DELETE FROM queues WHERE id = ?').run(id).changes === 1,
    );
  }

  /** Sets the status; with `from`, only when the queue is in one of those. */
  setQueueStatus(
    id: string,
    status: QueueStatus,
    from?: readonly QueueStatus[],
  ): Queue | undefined {
    const t = this.now();
    const changed = this.store.transaction(() => {
      const cur = this.db
        .prepare<[string], QueueStatus>('SELECT status FROM queues WHERE id = ?')
        .pluck()
        .get(id);
      if (cur === undefined || (from && !from.includes(cur))) return false;
      this.db
        .prepare('UPDATE queues SET status = ?, updated_at = ? WHERE id = ?')
        .run(status, t, id);
      return true;
    });
    return changed ? this.mustGetQueue(id) : undefined;
  }

  /** The thread a cwd queue started (recorded before its first turn/start). */
  setQueueThread(id: string, threadId: string): Queue | undefined {
    const t = this.now();
    const n = this.store.transaction(
      () =>
        this.db
          .prepare('UPDATE queues SET thread_id = ?, updated_at = ? WHERE id = ?')
          .run(threadId, t, id).changes,
    );
    return n ? this.mustGetQueue(id) : undefined;
  }

  /**
   * Committed right before turn/start: a prompt with more attempts than turns seen on its thread
   * may have reached the app-server without its turn id being recorded (a crash between the two),
   * which reconciliation checks before running it again.
   */
  recordAttempt(promptId: string): Prompt | undefined {
    return this.transition(promptId, STARTABLE, 'attempts = attempts + 1', []);
  }

  /** turn/start answered: running, with its turn id, in one transaction (it now counts as started). */
  markPromptRunning(promptId: string, turnId: string): Prompt | undefined {
    const t = this.now();
    return this.transition(
      promptId,
      STARTABLE,
      "status = 'running', turn_id = ?, started_at = ?, finished_at = NULL, error = NULL",
      [turnId, t],
    );
  }

  completePrompt(promptId: string, result: Json): Prompt | undefined {
    return this.finish(promptId, 'completed', result, null);
  }

  failPrompt(promptId: string, error: string, result: Json | null = null): Prompt | undefined {
    return this.finish(promptId, 'failed', result, error);
  }

  interruptPrompt(
    promptId: string,
    error: string | null = null,
    result: Json | null = null,
  ): Prompt | undefined {
    return this.finish(promptId, 'interrupted', result, error);
  }

  private finish(
    promptId: string,
    status: PromptStatus,
    result: Json | null,
    error: string | null,
  ): Prompt | undefined {
    return this.transition(
      promptId,
      ['running'],
      'status = ?, result = ?, error = ?, finished_at = ?',
      [status, result === null ? null : JSON.stringify(result), error, this.now()],
    );
  }

  /** One guarded UPDATE of a prompt plus its queue's updated_at, in one transaction. */
  private transition(
    promptId: string,
    from: readonly PromptStatus[],
    set: string,
    args: (string | number | null)[],
  ): Prompt | undefined {
    const t = this.now();
    const changed = this.store.transaction(() => {
      const row = this.db
        .prepare<[string], { queue_id: string; status: PromptStatus }>(
          'SELECT queue_id, status FROM prompts WHERE id = ?',
        )
        .get(promptId);
      if (!row || !from.includes(row.status)) return false;
      this.db
        .prepare(`UPDATE prompts SET ${set}, updated_at = ? WHERE id = ?`)
        .run(...args, t, promptId);
      this.touchQueue(row.queue_id, t);
      return true;
    });
    return changed ? this.getPrompt(promptId) : undefined;
  }

  private touchQueue(id: string, t: number): boolean {
    return (
      this.db.prepare('UPDATE queues SET updated_at = ? WHERE id = ?').run(t, id).changes === 1
    );
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
