/**
 * The turn-job core. A queue's prompt and a group run's session are the same thing to the store:
 * one turn to run in one thread, with a status, the turn it started, how often it was attempted,
 * its result and error. Their transitions live here once, parameterized by the table, so the two
 * repositories cannot drift apart on the crash rules (an attempt is committed before turn/start,
 * `running` always with its turn id, a result only from `running`).
 *
 * A transition names the statuses it starts from; from any other it changes nothing and answers
 * undefined (the engine decides whether that is a race or a bug).
 */
import type { Store } from './store.js';
import type { Json, PromptStatus } from './enums.js';

/** The job columns of a row as SQLite returns them (result as JSON text). */
export interface JobRow {
  status: PromptStatus;
  turn_id: string | null;
  attempts: number;
  result: string | null;
  error: string | null;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface JobFields {
  status: PromptStatus;
  turnId: string | null;
  /** turn/start calls made for it (committed before each call: see TurnJobs.recordAttempt). */
  attempts: number;
  result: Json | null;
  error: string | null;
  startedAt: number | null;
  finishedAt: number | null;
}

export function toJobFields(r: JobRow): JobFields {
  return {
    status: r.status,
    turnId: r.turn_id,
    attempts: r.attempts,
    result: r.result === null ? null : (JSON.parse(r.result) as Json), // CHECK(json_valid)
    error: r.error,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** A value bound into a transition's SET clause. */
export type SqlArg = string | number | null;

/** Where the jobs of one kind live. Table and column names are our constants, never input. */
export interface JobTable<K extends readonly string[], T> {
  table: string;
  /** The key columns, one per part of K. */
  keyColumns: { readonly [I in keyof K]: string };
  /** The row whose updated_at every transition bumps too (the queue, the run). */
  parent: { table: string; fk: string };
  /** Where a turn may be (re)started from: a retry starts an interrupted one again. */
  startable: readonly PromptStatus[];
  read(key: K): T | undefined;
}

export class TurnJobs<K extends readonly string[], T> {
  private readonly where: string;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly spec: JobTable<K, T>,
  ) {
    this.where = spec.keyColumns.map((c) => `${c} = ?`).join(' AND ');
  }

  /**
   * Committed right before turn/start: a job with more attempts than turns seen on its thread may
   * have reached the app-server without its turn id being recorded (a crash between the two),
   * which reconciliation checks before running it again.
   */
  recordAttempt(key: K): T | undefined {
    return this.transition(key, this.spec.startable, 'attempts = attempts + 1', []);
  }

  /** turn/start answered: running, with its turn id, in one transaction (it now counts as started). */
  markRunning(key: K, turnId: string): T | undefined {
    return this.transition(
      key,
      this.spec.startable,
      "status = 'running', turn_id = ?, started_at = ?, finished_at = NULL, error = NULL",
      [turnId, this.now()],
    );
  }

  complete(key: K, result: Json): T | undefined {
    return this.finish(key, 'completed', result, null);
  }

  fail(key: K, error: string, result: Json | null = null): T | undefined {
    return this.finish(key, 'failed', result, error);
  }

  interrupt(key: K, error: string | null = null, result: Json | null = null): T | undefined {
    return this.finish(key, 'interrupted', result, error);
  }

  /** The app-server refused its turn/start: failed without a turn (from a startable status). */
  reject(key: K, error: string): T | undefined {
    return this.transition(
      key,
      this.spec.startable,
      "status = 'failed', error = ?, finished_at = ?",
      [error, this.now()],
    );
  }

  /** Never started, never will be: from a status that has no turn. */
  cancel(key: K, from: readonly PromptStatus[]): T | undefined {
    return this.transition(key, from, "status = 'cancelled', finished_at = ?", [this.now()]);
  }

  /** A guarded update, then the job as it is now; undefined when nothing changed. */
  transition(key: K, from: readonly PromptStatus[], set: string, args: SqlArg[]): T | undefined {
    return this.update(key, from, set, args) ? this.spec.read(key) : undefined;
  }

  /**
   * One guarded UPDATE of the job plus its parent's updated_at, in one transaction (a savepoint
   * inside a caller's). False when the job does not exist or is not in a `from` status.
   */
  update(key: K, from: readonly PromptStatus[], set: string, args: SqlArg[]): boolean {
    const { table, parent } = this.spec;
    const t = this.now();
    const keyArgs: SqlArg[] = [...key];
    return this.store.transaction(() => {
      const row = this.store.db
        .prepare<SqlArg[], { parent: string; status: PromptStatus }>(
          `SELECT ${parent.fk} AS parent, status FROM ${table} WHERE ${this.where}`,
        )
        .get(...keyArgs);
      if (!row || !from.includes(row.status)) return false;
      this.store.db
        .prepare(`UPDATE ${table} SET ${set}, updated_at = ? WHERE ${this.where}`)
        .run(...args, t, ...keyArgs);
      this.store.db
        .prepare(`UPDATE ${parent.table} SET updated_at = ? WHERE id = ?`)
        .run(t, row.parent);
      return true;
    });
  }

  private finish(
    key: K,
    status: PromptStatus,
    result: Json | null,
    error: string | null,
  ): T | undefined {
    return this.transition(key, ['running'], 'status = ?, result = ?, error = ?, finished_at = ?', [
      status,
      result === null ? null : JSON.stringify(result),
      error,
      this.now(),
    ]);
  }
}
