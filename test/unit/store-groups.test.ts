import { expect } from 'chai';
import { GROUP_RUN_STATUSES, PROMPT_STATUSES } from '../../service/store/enums.js';
import type { GroupRun } from '../../service/store/group-schema.js';
import { GroupRepo } from '../../service/store/groups.js';
import type { Store } from '../../service/store/store.js';
import { withStore } from '../helpers/store.js';

/** A group of these sessions with a run of one prompt, two turns at a time. */
function groupWithRun(store: Store, now: () => number, sessionIds: string[]) {
  const repo = new GroupRepo(store, now);
  const group = repo.createGroup({ name: 'g', sessionIds });
  const run = repo.createRun(group.id, { prompt: 'bump the lockfile', maxConcurrent: 2 });
  if (typeof run !== 'object') throw new Error(`no run: ${run}`);
  return { repo, group, run };
}

/** Starts the session's turn as the engine would: the attempt, then running with its turn. */
function start(repo: GroupRepo, runId: string, sessionId: string): void {
  repo.recordSessionAttempt(runId, sessionId);
  repo.markSessionRunning(runId, sessionId, `turn-${sessionId}`);
}

function statuses(run: GroupRun | null | undefined): string[][] {
  return (run?.sessions ?? []).map((s) => [s.sessionId, s.status]);
}

function rowCount(store: Store, table: string): number {
  return Number(store.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get());
}

describe('store: groups', () => {
  it('creates, shows and lists groups; a session given twice is there once', () =>
    withStore((store, now) => {
      const repo = new GroupRepo(store, now);
      const g = repo.createGroup({ name: 'all', description: 'd', sessionIds: ['s2', 's1', 's2'] });
      expect(g).to.include({ name: 'all', description: 'd', paused: false, run: null });
      expect(g.sessionIds).to.deep.equal(['s2', 's1']);
      const bare = repo.createGroup({ name: 'bare' });
      expect(bare).to.include({ description: null });
      expect(bare.sessionIds).to.deep.equal([]);
      expect(repo.getGroup(g.id)).to.deep.equal(g);
      expect(repo.listGroups().map((x) => x.name)).to.deep.equal(['all', 'bare']);
      expect(repo.getGroup('missing')).to.equal(undefined);
    }));

  it('addSession appends, is idempotent (keeps the place) and refuses an unknown group', () =>
    withStore((store, now) => {
      const repo = new GroupRepo(store, now);
      const g = repo.createGroup({ name: 'g', sessionIds: ['a', 'b'] });
      expect(repo.addSession(g.id, 'c')?.sessionIds).to.deep.equal(['a', 'b', 'c']);
      const again = repo.addSession(g.id, 'a');
      expect(again?.sessionIds).to.deep.equal(['a', 'b', 'c']);
      expect(repo.addSession(g.id, 'a')?.updatedAt).to.equal(again?.updatedAt);
      expect(repo.addSession('missing', 'a')).to.equal(undefined);
      expect(rowCount(store, 'group_sessions')).to.equal(3);
    }));

  it('setPaused pauses and resumes; an unknown group is refused', () =>
    withStore((store, now) => {
      const repo = new GroupRepo(store, now);
      const g = repo.createGroup({ name: 'g' });
      expect(repo.setPaused(g.id, true)?.paused).to.equal(true);
      expect(repo.getGroup(g.id)?.paused).to.equal(true);
      expect(repo.setPaused(g.id, false)?.paused).to.equal(false);
      expect(repo.setPaused('missing', true)).to.equal(undefined);
    }));

  it('deleteGroup cascades to its sessions, runs and their items, and leaves other groups alone', () =>
    withStore((store, now) => {
      const { repo, group } = groupWithRun(store, now, ['a', 'b']);
      const other = groupWithRun(store, now, ['c']);
      expect(repo.deleteGroup(group.id)).to.equal(true);
      expect(repo.deleteGroup(group.id)).to.equal(false);
      expect(repo.getGroup(group.id)).to.equal(undefined);
      expect(rowCount(store, 'group_sessions')).to.equal(1);
      expect(rowCount(store, 'group_runs')).to.equal(1);
      expect(rowCount(store, 'group_run_sessions')).to.equal(1);
      expect(repo.getRun(other.run.id)?.sessions).to.have.length(1);
    }));

  it('groupCounts: every group, and those whose latest run is running', () =>
    withStore((store, now) => {
      const repo = new GroupRepo(store, now);
      expect(repo.groupCounts()).to.deep.equal({ total: 0, running: 0 });
      const a = groupWithRun(store, now, ['s']);
      groupWithRun(store, now, ['t']);
      repo.createGroup({ name: 'idle' });
      expect(repo.groupCounts()).to.deep.equal({ total: 3, running: 2 });
      repo.finishRun(a.run.id, 'completed');
      expect(repo.groupCounts()).to.deep.equal({ total: 3, running: 1 });
    }));
});

describe('store: group runs', () => {
  it('createRun: pending items in the group order; busy while running; empty; unknown group', () =>
    withStore((store, now) => {
      const { repo, group, run } = groupWithRun(store, now, ['b', 'a', 'c']);
      expect(run).to.include({
        status: 'running',
        maxConcurrent: 2,
        model: null,
        finishedAt: null,
      });
      expect(
        run.sessions.map((s) => [s.sessionId, s.position, s.status, s.attempts]),
      ).to.deep.equal([
        ['b', 1, 'pending', 0],
        ['a', 2, 'pending', 0],
        ['c', 3, 'pending', 0],
      ]);
      expect(repo.getGroup(group.id)?.run).to.deep.equal(run);
      expect(repo.createRun(group.id, { prompt: 'again', maxConcurrent: 1 })).to.equal('busy');

      const empty = repo.createGroup({ name: 'empty' });
      expect(repo.createRun(empty.id, { prompt: 'x', maxConcurrent: 1 })).to.equal('empty');
      expect(repo.createRun('missing', { prompt: 'x', maxConcurrent: 1 })).to.equal(undefined);
      repo.addSession(empty.id, 's');
      expect(() => repo.createRun(empty.id, { prompt: 'x', maxConcurrent: 65 })).to.throw(/CHECK/);
      expect(repo.getGroup(empty.id)?.run).to.equal(null);
      expect(rowCount(store, 'group_runs')).to.equal(1);
    }));

  it('a finished run lets the next start; the group shows the latest; its options are kept', () =>
    withStore((store, now) => {
      const { repo, group, run } = groupWithRun(store, now, ['a']);
      expect(repo.finishRun(run.id, 'failed')).to.include({ status: 'failed' });
      expect(repo.finishRun(run.id, 'completed')).to.equal(undefined); // only from running
      expect(repo.getRun(run.id)?.status).to.equal('failed');
      const next = repo.createRun(group.id, {
        prompt: 'two',
        images: ['data:image/png;base64,AA=='],
        model: 'm',
        sandbox: 'read-only',
        approvalPolicy: 'never',
        maxConcurrent: 64,
      });
      expect(next).to.include({ prompt: 'two', model: 'm', sandbox: 'read-only' });
      expect(repo.getGroup(group.id)?.run?.id).to.equal(typeof next === 'object' && next.id);
      expect(repo.getGroup(group.id)?.run?.images).to.deep.equal(['data:image/png;base64,AA==']);
      expect(repo.activeRuns().map((r) => r.prompt)).to.deep.equal(['two']);
      expect(repo.finishRun('missing', 'completed')).to.equal(undefined);
    }));

  it('nextSessions: pending items by position, at most n', () =>
    withStore((store, now) => {
      const { repo, run } = groupWithRun(store, now, ['a', 'b', 'c', 'd']);
      const ids = (n: number) => repo.nextSessions(run.id, n).map((s) => s.sessionId);
      expect(ids(2)).to.deep.equal(['a', 'b']);
      start(repo, run.id, 'a');
      expect(ids(2)).to.deep.equal(['b', 'c']);
      expect(ids(10)).to.deep.equal(['b', 'c', 'd']);
      expect(ids(0)).to.deep.equal([]);
      expect(repo.nextSessions('missing', 2)).to.deep.equal([]);
    }));

  it('session turns: attempt, running with its turn, result; guarded like prompts', () =>
    withStore((store, now) => {
      const { repo, run } = groupWithRun(store, now, ['a', 'b']);
      expect(repo.completeSession(run.id, 'a', { message: 'no' })).to.equal(undefined); // pending
      expect(repo.recordSessionAttempt(run.id, 'a')?.attempts).to.equal(1);
      const running = repo.markSessionRunning(run.id, 'a', 'turn-a');
      expect(running).to.include({ status: 'running', turnId: 'turn-a', attempts: 1 });
      expect(running?.startedAt).to.be.a('number');
      expect(repo.markSessionRunning(run.id, 'a', 'turn-again')).to.equal(undefined);
      expect(repo.recordSessionAttempt(run.id, 'a')).to.equal(undefined); // running
      const done = repo.completeSession(run.id, 'a', { message: 'hi', usage: { totalTokens: 3 } });
      expect(done).to.include({ status: 'completed', error: null });
      expect(done?.result).to.deep.equal({ message: 'hi', usage: { totalTokens: 3 } });
      expect(done?.finishedAt).to.be.a('number');
      expect(repo.getRun(run.id)?.updatedAt).to.be.greaterThan(run.updatedAt);

      start(repo, run.id, 'b');
      expect(repo.interruptSession(run.id, 'b', 'app-server died')).to.include({
        status: 'interrupted',
        error: 'app-server died',
      });
      expect(repo.recordSessionAttempt(run.id, 'b')?.attempts).to.equal(2); // a retry
      expect(repo.markSessionRunning(run.id, 'b', 'turn-b2')).to.include({ error: null });
      expect(repo.failSession(run.id, 'b', 'model error', { message: 'partial' })).to.include({
        status: 'failed',
        error: 'model error',
      });
      expect(statuses(repo.getRun(run.id))).to.deep.equal([
        ['a', 'completed'],
        ['b', 'failed'],
      ]);
      expect(repo.interruptSession(run.id, 'missing')).to.equal(undefined);
    }));

  it('removeSession cancels that session’s pending item only; a started one runs on', () =>
    withStore((store, now) => {
      const { repo, group, run } = groupWithRun(store, now, ['a', 'b', 'c']);
      start(repo, run.id, 'a');
      const after = repo.removeSession(group.id, 'b');
      expect(after?.sessionIds).to.deep.equal(['a', 'c']);
      expect(statuses(after?.run)).to.deep.equal([
        ['a', 'running'],
        ['b', 'cancelled'],
        ['c', 'pending'],
      ]);
      expect(statuses(repo.removeSession(group.id, 'a')?.run)).to.deep.equal([
        ['a', 'running'],
        ['b', 'cancelled'],
        ['c', 'pending'],
      ]);
      expect(repo.removeSession(group.id, 'nobody')?.sessionIds).to.deep.equal(['c']);
      expect(repo.removeSession('missing', 'c')).to.equal(undefined);
      expect(repo.nextSessions(run.id, 5).map((s) => s.sessionId)).to.deep.equal(['c']);
    }));

  it('removeSession leaves a finished run as it was', () =>
    withStore((store, now) => {
      const { repo, group, run } = groupWithRun(store, now, ['a', 'b']);
      const finished = repo.finishRun(run.id, 'failed');
      expect(repo.removeSession(group.id, 'a')?.run).to.deep.equal(finished);
    }));

  it('accepts every run and item status of the TypeScript enums, rejects any other (CHECK)', () =>
    withStore((store, now) => {
      const { run } = groupWithRun(store, now, ['a']);
      const setRun = store.db.prepare('UPDATE group_runs SET status = ? WHERE id = ?');
      const setItem = store.db.prepare(
        'UPDATE group_run_sessions SET status = ?, turn_id = ? WHERE run_id = ?',
      );
      for (const s of GROUP_RUN_STATUSES) setRun.run(s, run.id);
      for (const s of PROMPT_STATUSES) setItem.run(s, 'turn-1', run.id);
      expect(() => setRun.run('done', run.id)).to.throw(/CHECK constraint/);
      expect(() => setItem.run('done', 'turn-1', run.id)).to.throw(/CHECK constraint/);
      expect(() => setItem.run('running', null, run.id)).to.throw(/CHECK constraint/);
      expect(() =>
        store.db.prepare('UPDATE groups SET paused = 2 WHERE id = ?').run(run.groupId),
      ).to.throw(/CHECK constraint/);
    }));
});
