/**
 * The group engine: a run sends one prompt to every session of a group, at most
 * `maxConcurrent` turns at a time. Each session's turn is a job like a queued prompt — attempt
 * committed before `turn/start`, turn id committed when it answers, result on `turn/completed`
 * — and `reconcile()` settles them from the threads' recorded turns whenever the app-server
 * (re)starts. An interrupted session is not run again: a group run is one shot per session.
 */
import type { Logger } from 'pino';
import { HttpError } from '../http.js';
import type { Approval } from '../sessions/approval-json.js';
import { toUserInput } from '../sessions/ops.js';
import type { GroupRun, GroupWithRun, RunSession } from '../store/group-schema.js';
import type { GroupRepo } from '../store/groups.js';
import { TurnLost, type TurnDriver } from '../work/driver.js';
import { attemptId, settle, unsettled, type TurnEnd } from '../work/turn-records.js';
import type { GroupEventName } from '../work/event-names.js';
import type { EventLog } from '../work/events.js';
import type { GroupCountsJson, GroupJson } from './group-json.js';
import { groupJson } from './view.js';

export interface GroupEngineDeps {
  repo: GroupRepo;
  driver: TurnDriver;
  events: EventLog;
  log: Logger;
  /** Whether a session exists (the index or the app-server knows it). */
  sessionExists(id: string): Promise<boolean>;
}

export interface RunInput {
  prompt: string;
  images?: string[];
  maxConcurrent: number;
  model?: string | null;
  sandbox?: string | null;
  approvalPolicy?: string | null;
}

/** A session's job inside a run: its client id must be unique across runs and sessions. */
const jobId = (runId: string, sessionId: string) => `${runId}:${sessionId}`;

export class GroupEngine {
  /** Per run, the sessions whose turn is being started or is running. */
  private readonly inFlight = new Map<string, Set<string>>();
  private live = false;

  constructor(private readonly d: GroupEngineDeps) {}

  view(id: string): GroupJson {
    return groupJson(this.must(id));
  }

  list(): GroupJson[] {
    return this.d.repo.listGroups().map(groupJson);
  }

  private must(id: string): GroupWithRun {
    const g = this.d.repo.getGroup(id);
    if (!g)
      throw new HttpError(
        404,
        'group_not_found',
        `no group ${id}`,
        'list them with `codex-sm group list`',
      );
    return g;
  }

  private emit(groupId: string, type: GroupEventName, sessionId?: string): void {
    const g = this.d.repo.getGroup(groupId);
    this.d.events.publish(groupId, type, {
      type,
      groupId,
      at: new Date().toISOString(),
      group: g ? groupJson(g) : null,
      ...(sessionId ? { sessionId } : {}),
    });
  }

  private async checkSession(id: string): Promise<void> {
    if (!(await this.d.sessionExists(id)))
      throw new HttpError(
        404,
        'session_not_found',
        `no session ${id}`,
        'list sessions with `codex-sm session list`',
      );
  }

  // --- commands

  async create(g: {
    name: string;
    description?: string | null;
    sessionIds?: string[];
  }): Promise<GroupJson> {
    for (const id of g.sessionIds ?? []) await this.checkSession(id);
    const created = this.d.repo.createGroup(g);
    this.emit(created.id, 'group_updated');
    return groupJson(created);
  }

  async addSession(groupId: string, sessionId: string): Promise<GroupJson> {
    this.must(groupId);
    await this.checkSession(sessionId);
    const g = this.d.repo.addSession(groupId, sessionId);
    if (!g) throw new HttpError(404, 'group_not_found', `no group ${groupId}`);
    this.emit(groupId, 'group_updated', sessionId);
    return groupJson(g);
  }

  removeSession(groupId: string, sessionId: string): GroupJson {
    const before = this.must(groupId);
    const pending =
      before.run?.status === 'running' &&
      before.run.sessions.some((s) => s.sessionId === sessionId && s.status === 'pending');
    const g = this.d.repo.removeSession(groupId, sessionId);
    if (!g) throw new HttpError(404, 'group_not_found', `no group ${groupId}`);
    if (pending) this.emit(groupId, 'session_cancelled', sessionId);
    this.emit(groupId, 'group_updated', sessionId);
    if (g.run?.status === 'running') this.pump(g.run.id); // it may have been the last one
    return groupJson(g);
  }

  run(groupId: string, input: RunInput): GroupJson {
    this.must(groupId);
    const r = this.d.repo.createRun(groupId, input);
    if (r === 'busy')
      throw new HttpError(
        409,
        'group_busy',
        `group ${groupId} has an unfinished run`,
        'wait for it (`codex-sm group show`)',
      );
    if (r === 'empty')
      throw new HttpError(
        409,
        'group_empty',
        `group ${groupId} has no sessions`,
        'add some: `codex-sm group add`',
      );
    if (!r) throw new HttpError(404, 'group_not_found', `no group ${groupId}`);
    this.emit(groupId, 'run_started');
    this.pump(r.id);
    return this.view(groupId);
  }

  setPaused(groupId: string, paused: boolean): GroupJson {
    this.must(groupId);
    const g = this.d.repo.setPaused(groupId, paused);
    if (!g) throw new HttpError(404, 'group_not_found', `no group ${groupId}`);
    this.emit(groupId, paused ? 'group_paused' : 'group_resumed');
    if (!paused && g.run?.status === 'running') this.pump(g.run.id);
    return groupJson(g);
  }

  delete(groupId: string): { deleted: true; id: string } {
    const g = this.must(groupId);
    if (g.run?.status === 'running' && g.run.sessions.some((s) => s.status === 'running'))
      throw new HttpError(
        409,
        'group_busy',
        `group ${groupId} has turns running`,
        'pause it and wait for them',
      );
    this.d.repo.deleteGroup(groupId);
    if (g.run) this.inFlight.delete(g.run.id);
    this.emit(groupId, 'group_deleted');
    return { deleted: true, id: groupId };
  }

  approval(a: Approval): void {
    if (!a.threadId) return;
    for (const run of this.d.repo.activeRuns())
      if (run.sessions.some((s) => s.sessionId === a.threadId))
        this.emit(run.groupId, 'approval', a.threadId);
  }

  counts(): GroupCountsJson {
    return this.d.repo.groupCounts();
  }

  // --- the runner

  down(): void {
    this.live = false;
  }

  /** Start turns up to maxConcurrent; finish the run when nothing is left. */
  private pump(runId: string): void {
    if (!this.live) return;
    const run = this.d.repo.getRun(runId);
    if (!run || run.status !== 'running') return;
    const flying = this.inFlight.get(runId) ?? new Set<string>();
    this.inFlight.set(runId, flying);
    const group = this.d.repo.getGroup(run.groupId);
    if (!group) return;
    if (!group.paused) {
      const free = run.maxConcurrent - flying.size;
      const next =
        free > 0
          ? this.d.repo
              .nextSessions(runId, run.maxConcurrent)
              .filter((s) => !flying.has(s.sessionId))
              .slice(0, free)
          : [];
      for (const s of next) {
        flying.add(s.sessionId);
        void this.runSession(run, s).finally(() => {
          flying.delete(s.sessionId);
          this.pump(runId);
        });
      }
    }
    if (
      flying.size === 0 &&
      !run.sessions.some((s) => s.status === 'pending' || s.status === 'running')
    ) {
      const failed = run.sessions.some((s) => s.status !== 'completed' && s.status !== 'cancelled');
      if (this.d.repo.finishRun(runId, failed ? 'failed' : 'completed')) {
        this.inFlight.delete(runId);
        this.emit(run.groupId, 'group_completed');
      }
    }
  }

  private async runSession(run: GroupRun, s: RunSession): Promise<void> {
    const o = { model: run.model, sandbox: run.sandbox, approvalPolicy: run.approvalPolicy };
    try {
      // A turn someone else runs on the session (a person in the TUI, say) finishes first.
      const busy = await this.d.driver.attach(s.sessionId, o);
      if (busy) await this.d.driver.wait(busy.id);
      const attempt = this.d.repo.recordSessionAttempt(run.id, s.sessionId);
      if (!attempt) return;
      const turnId = await this.d.driver.startTurn(
        s.sessionId,
        toUserInput(run.prompt, run.images),
        attemptId(jobId(run.id, s.sessionId), attempt.attempts),
        o,
      );
      if (this.d.repo.markSessionRunning(run.id, s.sessionId, turnId))
        this.emit(run.groupId, 'session_started', s.sessionId);
      this.finish(run, s.sessionId, await this.d.driver.wait(turnId));
    } catch (e) {
      if (e instanceof TurnLost) {
        this.d.log.warn(
          { runId: run.id, sessionId: s.sessionId, err: e.message },
          'group turn outcome unknown; reconciling when the app-server is back',
        );
        return;
      }
      // Refused by the app-server: this session's turn never started. Record it as failed.
      const msg = e instanceof Error ? e.message : String(e);
      if (this.d.repo.rejectSession(run.id, s.sessionId, msg))
        this.emit(run.groupId, 'session_failed', s.sessionId);
    }
  }

  private finish(run: GroupRun, sessionId: string, end: TurnEnd): void {
    const s =
      end.status === 'completed'
        ? this.d.repo.completeSession(run.id, sessionId, end.result)
        : end.status === 'failed'
          ? this.d.repo.failSession(run.id, sessionId, end.error ?? 'failed', end.result)
          : this.d.repo.interruptSession(run.id, sessionId, end.error, end.result);
    if (s) this.emit(run.groupId, `session_${end.status}`, sessionId);
  }

  /** Settle every running run's sessions from their threads' turns, then go on. */
  async reconcile(): Promise<void> {
    this.live = false;
    this.inFlight.clear();
    for (const run of this.d.repo.activeRuns()) {
      for (const s of run.sessions.filter(unsettled)) {
        try {
          const job = jobId(run.id, s.sessionId);
          const done = settle(s, job, await this.d.driver.settledTurns(s.sessionId));
          if (
            !done ||
            (done.adopt && !this.d.repo.markSessionRunning(run.id, s.sessionId, done.turnId))
          )
            continue;
          this.finish(run, s.sessionId, done.end);
        } catch (e) {
          this.d.log.warn(
            { runId: run.id, err: (e as Error).message },
            'group reconcile incomplete',
          );
          return;
        }
      }
    }
    this.live = true;
    for (const run of this.d.repo.activeRuns()) this.pump(run.id);
  }
}
