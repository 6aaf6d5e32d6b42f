/** The API's JSON for groups and their runs (ISO times, per-session progress). Pure. */
import { iso } from '../sessions/view.js';
import type { GroupRun, GroupWithRun, RunSession } from '../store/group-schema.js';
import { turnResultJson } from '../work/turn-records.js';
import type { GroupJson, GroupRunJson, RunProgressJson, RunSessionJson } from './group-json.js';

function runSessionJson(s: RunSession): RunSessionJson {
  return {
    sessionId: s.sessionId,
    status: s.status,
    turnId: s.turnId,
    attempts: s.attempts,
    result: turnResultJson(s.result),
    error: s.error,
    startedAt: iso(s.startedAt),
    finishedAt: iso(s.finishedAt),
  };
}

/** Which sessions are where: failed lists interrupted and cancelled ones too (they did not complete). */
function progressOf(run: GroupRun): RunProgressJson {
  const out: RunProgressJson = { running: [], completed: [], failed: [], pending: [] };
  for (const s of run.sessions) {
    if (s.status === 'running') out.running.push(s.sessionId);
    else if (s.status === 'completed') out.completed.push(s.sessionId);
    else if (s.status === 'pending' || s.status === 'waiting') out.pending.push(s.sessionId);
    else out.failed.push(s.sessionId);
  }
  return out;
}

function runJson(run: GroupRun): GroupRunJson {
  return {
    id: run.id,
    prompt: run.prompt,
    images: run.images,
    maxConcurrent: run.maxConcurrent,
    model: run.model,
    sandbox: run.sandbox,
    approvalPolicy: run.approvalPolicy,
    status: run.status,
    createdAt: iso(run.createdAt),
    finishedAt: iso(run.finishedAt),
    sessions: run.sessions.map(runSessionJson),
    progress: progressOf(run),
  };
}

export function groupJson(g: GroupWithRun): GroupJson {
  return {
    id: g.id,
    name: g.name,
    description: g.description,
    paused: g.paused,
    sessionIds: g.sessionIds,
    createdAt: iso(g.createdAt),
    updatedAt: iso(g.updatedAt),
    run: g.run ? runJson(g.run) : null,
  };
}
