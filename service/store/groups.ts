/**
 * The group tables' repository: groups (a set of sessions), their runs (one prompt sent to every
 * session, at most maxConcurrent turns at a time) and each run's per-session turn jobs. Like
 * QueueRepo, every write is one committed transaction guarded by the statuses it starts from;
 * the per-session turn transitions are the shared turn-job core (jobs.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  toGroup,
  toGroupRun,
  toRunSession,
  type GroupRow,
  type GroupRun,
  type GroupRunRow,
  type GroupWithRun,
  type RunSession,
  type RunSessionRow,
} from './group-schema.js';
import { TurnJobs } from './jobs.js';
import type { GroupRunStatus, Json } from './enums.js';
import { StoreRepo } from './repo.js';
import type { GroupCountsJson } from '../groups/group-json.js';

export interface NewGroup {
  name: string;
  description?: string | null;
  sessionIds?: string[];
}

export interface NewRun {
  prompt: string;
  images?: string[];
  model?: string | null;
  sandbox?: string | null;
  approvalPolicy?: string | null;
  /** 1–64 (a CHECK; the API schema says so first). */
  maxConcurrent: number;
}

/** The latest run of a group: created last (rowid breaks a tie within one millisecond). */
const LATEST_RUN =
  'SELECT * FROM group_runs WHERE group_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1';

export class GroupRepo extends StoreRepo {
  private readonly jobs = new TurnJobs<[string, string], RunSession>(this.store, this.now, {
    table: 'group_run_sessions',
    keyColumns: ['run_id', 'session_id'],
    parent: { table: 'group_runs', fk: 'run_id' },
    startable: ['pending', 'interrupted'],
    read: ([runId, sessionId]) => this.getRunSession(runId, sessionId),
  });

  /** Session ids given twice are added once, at their first place. */
  createGroup(g: NewGroup): GroupWithRun {
    const id = randomUUID();
    const t = this.now();
    this.store.transaction(() => {
      const description = g.description ?? null;
      this.insertRow('groups', { id, name: g.name, description, created_at: t, updated_at: t });
      for (const sessionId of new Set(g.sessionIds ?? [])) this.insertSession(id, sessionId, t);
    });
    return this.mustGetGroup(id);
  }

  getGroup(id: string): GroupWithRun | undefined {
    const row = this.db.prepare<[string], GroupRow>('SELECT * FROM groups WHERE id = ?').get(id);
    return row && this.withRun(row);
  }

  listGroups(): GroupWithRun[] {
    return this.db
      .prepare<[], GroupRow>('SELECT * FROM groups ORDER BY created_at, id')
      .all()
      .map((r) => this.withRun(r));
  }

  /** Deletes the group and (ON DELETE CASCADE) its sessions, runs and their items. */
  deleteGroup(id: string): boolean {
    return this.deleteRow('groups', id);
  }

  /** Appends the session; a session already in the group stays where it is. */
  addSession(groupId: string, sessionId: string): GroupWithRun | undefined {
    const t = this.now();
    const found = this.store.transaction(() => {
      if (!this.groupExists(groupId)) return false;
      if (this.insertSession(groupId, sessionId, t)) this.touchGroup(groupId);
      return true;
    });
    return found ? this.mustGetGroup(groupId) : undefined;
  }

  /**
   * Takes the session out of the group; in the same transaction its item in the running run, if
   * it has not started, is cancelled (one that started finishes and keeps its result).
   */
  removeSession(groupId: string, sessionId: string): GroupWithRun | undefined {
    const found = this.store.transaction(() => {
      if (!this.groupExists(groupId)) return false;
      const removed = this.db
        .prepare('DELETE FROM group_sessions WHERE group_id = ? AND session_id = ?')
        .run(groupId, sessionId).changes;
      if (!removed) return true;
      this.touchGroup(groupId);
      const run = this.db.prepare<[string], GroupRunRow>(LATEST_RUN).get(groupId);
      if (run?.status === 'running') this.jobs.cancel([run.id, sessionId], ['pending']);
      return true;
    });
    return found ? this.mustGetGroup(groupId) : undefined;
  }

  setPaused(groupId: string, paused: boolean): GroupWithRun | undefined {
    const changed = this.updateRow('groups', groupId, { paused: paused ? 1 : 0 });
    return changed ? this.mustGetGroup(groupId) : undefined;
  }

  /**
   * Starts a run: one pending item per session, in the group's order. 'busy' while the group has
   * a run still running, 'empty' with no sessions, undefined when there is no such group.
   */
  createRun(groupId: string, r: NewRun): GroupRun | 'busy' | 'empty' | undefined {
    const id = randomUUID();
    const t = this.now();
    const outcome = this.store.transaction((): 'busy' | 'empty' | 'created' | undefined => {
      if (!this.groupExists(groupId)) return undefined;
      const running = this.db
        .prepare("SELECT 1 FROM group_runs WHERE group_id = ? AND status = 'running'")
        .get(groupId);
      if (running) return 'busy';
      const sessionIds = this.sessionIdsOf(groupId);
      if (!sessionIds.length) return 'empty';
      this.insertRow('group_runs', {
        id,
        group_id: groupId,
        prompt: r.prompt,
        images: JSON.stringify(r.images ?? []),
        model: r.model ?? null,
        sandbox: r.sandbox ?? null,
        approval_policy: r.approvalPolicy ?? null,
        max_concurrent: r.maxConcurrent,
        created_at: t,
        updated_at: t,
      });
      sessionIds.forEach((sessionId, i) =>
        this.insertRow('group_run_sessions', {
          run_id: id,
          session_id: sessionId,
          position: i + 1,
          updated_at: t,
        }),
      );
      this.touchGroup(groupId);
      return 'created';
    });
    return outcome === 'created' ? this.getRun(id) : outcome;
  }

  getRun(runId: string): GroupRun | undefined {
    const row = this.db
      .prepare<[string], GroupRunRow>('SELECT * FROM group_runs WHERE id = ?')
      .get(runId);
    return row && this.runWithSessions(row);
  }

  /** Every run still running, oldest first (what the engine resumes after a restart). */
  activeRuns(): GroupRun[] {
    return this.db
      .prepare<[], GroupRunRow>(
        "SELECT * FROM group_runs WHERE status = 'running' ORDER BY created_at, rowid",
      )
      .all()
      .map((r) => this.runWithSessions(r));
  }

  /** The run's pending items by position, at most n (the engine passes its free slots). */
  nextSessions(runId: string, n: number): RunSession[] {
    return this.db
      .prepare<[string, number], RunSessionRow>(
        `SELECT * FROM group_run_sessions WHERE run_id = ? AND status = 'pending'
         ORDER BY position LIMIT ?`,
      )
      .all(runId, Math.max(0, Math.trunc(n)))
      .map(toRunSession);
  }

  /** Committed right before turn/start (see TurnJobs.recordAttempt). */
  recordSessionAttempt(runId: string, sessionId: string): RunSession | undefined {
    return this.jobs.recordAttempt([runId, sessionId]);
  }

  markSessionRunning(runId: string, sessionId: string, turnId: string): RunSession | undefined {
    return this.jobs.markRunning([runId, sessionId], turnId);
  }

  completeSession(runId: string, sessionId: string, result: Json): RunSession | undefined {
    return this.jobs.complete([runId, sessionId], result);
  }

  failSession(
    runId: string,
    sessionId: string,
    error: string,
    result: Json | null = null,
  ): RunSession | undefined {
    return this.jobs.fail([runId, sessionId], error, result);
  }

  /** turn/start was refused: failed, with no turn. */
  rejectSession(runId: string, sessionId: string, error: string): RunSession | undefined {
    return this.jobs.reject([runId, sessionId], error);
  }

  interruptSession(
    runId: string,
    sessionId: string,
    error: string | null = null,
    result: Json | null = null,
  ): RunSession | undefined {
    return this.jobs.interrupt([runId, sessionId], error, result);
  }

  /** Ends a running run; undefined when it is not running (or does not exist). */
  finishRun(runId: string, status: Exclude<GroupRunStatus, 'running'>): GroupRun | undefined {
    const t = this.now();
    const n = this.store.transaction(
      () =>
        this.db
          .prepare(
            "UPDATE group_runs SET status = ?, finished_at = ?, updated_at = ? WHERE id = ? AND status = 'running'",
          )
          .run(status, t, t, runId).changes,
    );
    return n ? this.getRun(runId) : undefined;
  }

  /** For /status: every group, and those whose latest run is running. */
  groupCounts(): GroupCountsJson {
    const row = this.db
      .prepare<[], { total: number; running: number }>(
        `SELECT count(*) AS total, coalesce(sum((
           SELECT r.status FROM group_runs r WHERE r.group_id = g.id
           ORDER BY r.created_at DESC, r.rowid DESC LIMIT 1) = 'running'), 0) AS running
         FROM groups g`,
      )
      .get();
    return row ?? { total: 0, running: 0 };
  }

  getRunSession(runId: string, sessionId: string): RunSession | undefined {
    const row = this.db
      .prepare<[string, string], RunSessionRow>(
        'SELECT * FROM group_run_sessions WHERE run_id = ? AND session_id = ?',
      )
      .get(runId, sessionId);
    return row && toRunSession(row);
  }

  /** False when it was already in the group (its place is kept). */
  private insertSession(groupId: string, sessionId: string, t: number): boolean {
    const info = this.db
      .prepare(
        `INSERT INTO group_sessions (group_id, session_id, position, added_at)
         VALUES (?, ?, (SELECT coalesce(max(position), 0) + 1 FROM group_sessions WHERE group_id = ?), ?)
         ON CONFLICT (group_id, session_id) DO NOTHING`,
      )
      .run(groupId, sessionId, groupId, t);
    return info.changes === 1;
  }

  private groupExists(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM groups WHERE id = ?').get(id) !== undefined;
  }

  private touchGroup(id: string): void {
    this.updateRow('groups', id, {});
  }

  private sessionIdsOf(groupId: string): string[] {
    return this.db
      .prepare<[string], string>(
        'SELECT session_id FROM group_sessions WHERE group_id = ? ORDER BY position',
      )
      .pluck()
      .all(groupId);
  }

  private runWithSessions(r: GroupRunRow): GroupRun {
    const sessions = this.db
      .prepare<[string], RunSessionRow>(
        'SELECT * FROM group_run_sessions WHERE run_id = ? ORDER BY position',
      )
      .all(r.id)
      .map(toRunSession);
    return toGroupRun(r, sessions);
  }

  private withRun(r: GroupRow): GroupWithRun {
    const run = this.db.prepare<[string], GroupRunRow>(LATEST_RUN).get(r.id);
    return { ...toGroup(r, this.sessionIdsOf(r.id)), run: run ? this.runWithSessions(run) : null };
  }

  private mustGetGroup(id: string): GroupWithRun {
    const group = this.getGroup(id);
    if (!group) throw new Error(`group ${id} vanished inside its own transition`);
    return group;
  }
}
