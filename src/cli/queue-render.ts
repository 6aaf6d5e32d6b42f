/**
 * What a person at a terminal sees of queues and groups: pure renderings of the service's
 * answers (docs/queues.md). Ids are shown by their first 8 characters, which the commands
 * accept back as a prefix.
 */
import { clip, columns, minute, table } from '../table.js';
import type { GroupJson, GroupRunJson } from '../../service/groups/group-json.js';
import type { PromptJson, QueueJson, QueueSummaryJson } from '../../service/queues/queue-json.js';

export const shortId = (id: string | null | undefined): string => (id ? id.slice(0, 8) : '-');

/** `running`, or `running, waiting for approval`. */
function queueState(q: QueueSummaryJson): string {
  return q.waitingFor ? `${q.status}, waiting for ${q.waitingFor}` : q.status;
}

/** `3/5 done` and what did not go well: `3/5 done, 1 failed`. */
function promptCounts(q: QueueSummaryJson): string {
  const c = q.counts;
  const total = Object.values(c).reduce((a, b) => a + b, 0);
  const bad = (['failed', 'interrupted', 'cancelled'] as const)
    .filter((k) => c[k] > 0)
    .map((k) => `${c[k]} ${k}`);
  return [`${c.completed}/${total} done`, ...bad].join(', ');
}

const where = (q: QueueSummaryJson) => q.cwd ?? `session ${q.sessionId ?? '-'}`;

export function queueList(queues: readonly QueueSummaryJson[]): string {
  if (!queues.length) return 'no queues (create one: codex-sm queue create NAME --cwd DIR)';
  return columns(
    ['ID', 'NAME', 'STATUS', 'PROMPTS', 'UPDATED', 'WHERE'],
    queues.map((q) => [
      shortId(q.id),
      clip(q.name, 24),
      queueState(q),
      promptCounts(q),
      minute(q.updatedAt),
      clip(where(q), 48),
    ]),
  );
}

/** What the user can do about a waiting queue. */
function waitingHint(q: QueueSummaryJson): string | undefined {
  if (q.waitingFor === 'go-ahead')
    return `a manual prompt waits: codex-sm queue start ${shortId(q.id)}`;
  if (q.waitingFor === 'approval')
    return q.approvals
      .map((a) => `an approval waits: codex-sm session approve ${a.id} --decision accept|decline`)
      .join('\n');
  return undefined;
}

function promptOutcome(p: PromptJson): string {
  if (p.error) return `error: ${p.error}`;
  return p.result?.message ?? '';
}

export function promptRows(prompts: readonly PromptJson[]): string {
  if (!prompts.length) return 'no prompts (add one: codex-sm queue add QUEUE PROMPT)';
  return columns(
    ['#', 'ID', 'STATUS', 'MODE', 'TRIES', 'PROMPT', 'RESULT'],
    prompts.map((p) => [
      p.position,
      shortId(p.id),
      p.status,
      p.mode,
      p.attempts,
      clip(p.text, 40) + (p.images.length ? ` [+${p.images.length} image(s)]` : ''),
      clip(promptOutcome(p), 60),
    ]),
  );
}

export function queueDetail(q: QueueJson): string {
  const head = table([
    ['id', q.id],
    ['name', q.name],
    ['status', queueState(q)],
    ['prompts', promptCounts(q)],
    ['cwd', q.cwd],
    ['session', q.sessionId],
    ['model', q.model],
    ['sandbox', q.sandbox],
    ['approval', q.approvalPolicy],
    ['max retries', q.maxRetries],
    ['created', minute(q.createdAt)],
    ['updated', minute(q.updatedAt)],
  ]);
  return [head, '', promptRows(q.prompts), waitingHint(q)]
    .filter((s) => s !== undefined)
    .join('\n');
}

/** After a change of state: `queue nightly (ab12cd34): paused — 3/5 done`. */
export function queueLine(q: QueueSummaryJson): string {
  const line = `queue ${q.name} (${shortId(q.id)}): ${queueState(q)} — ${promptCounts(q)}`;
  const hint = waitingHint(q);
  return hint ? `${line}\n${hint}` : line;
}

export function promptLine(p: PromptJson): string {
  return `prompt ${shortId(p.id)}: #${p.position} ${p.status} (${p.mode}) ${clip(p.text, 60)}`;
}

/** `running: 1 running, 2 completed, 0 failed, 1 pending (at most 2 at a time)`. */
export function runProgress(run: GroupRunJson): string {
  const p = run.progress;
  return (
    `run ${shortId(run.id)} ${run.status}: ${p.running.length} running, ` +
    `${p.completed.length} completed, ${p.failed.length} failed, ${p.pending.length} pending ` +
    `(at most ${run.maxConcurrent} at a time)`
  );
}

function runRows(run: GroupRunJson): string {
  return columns(
    ['SESSION', 'STATUS', 'TRIES', 'RESULT'],
    run.sessions.map((s) => [
      s.sessionId,
      s.status,
      s.attempts,
      clip(s.error ? `error: ${s.error}` : (s.result?.message ?? ''), 60),
    ]),
  );
}

function groupState(g: GroupJson): string {
  const run = g.run ? `run ${g.run.status}` : 'never run';
  return g.paused ? `${run}, paused` : run;
}

export function groupList(groups: readonly GroupJson[]): string {
  if (!groups.length) return 'no groups (create one: codex-sm group create NAME SESSION_ID...)';
  return columns(
    ['ID', 'NAME', 'SESSIONS', 'STATE', 'UPDATED', 'DESCRIPTION'],
    groups.map((g) => [
      shortId(g.id),
      clip(g.name, 24),
      g.sessionIds.length,
      groupState(g),
      minute(g.updatedAt),
      clip(g.description, 48),
    ]),
  );
}

export function groupDetail(g: GroupJson): string {
  const head = table([
    ['id', g.id],
    ['name', g.name],
    ['description', g.description],
    ['state', groupState(g)],
    ['created', minute(g.createdAt)],
    ['updated', minute(g.updatedAt)],
  ]);
  const sessions = g.sessionIds.length
    ? ['sessions:', ...g.sessionIds.map((id) => `  ${id}`)].join('\n')
    : 'no sessions (add one: codex-sm group add GROUP SESSION_ID)';
  const run = g.run
    ? `\n${runProgress(g.run)}\nprompt: ${clip(g.run.prompt, 80)}\n${runRows(g.run)}`
    : '';
  return `${head}\n\n${sessions}${run}`;
}

/** After a change: `group all (ab12cd34): 3 sessions, run running` and the run's progress. */
export function groupLine(g: GroupJson): string {
  const line = `group ${g.name} (${shortId(g.id)}): ${g.sessionIds.length} session(s), ${groupState(g)}`;
  return g.run ? `${line}\n${runProgress(g.run)}` : line;
}
