/**
 * Queues and groups (docs/queues.md): progress, pause/resume/stop, and the pending prompts of a
 * queue edited, moved or removed. A queue's or group's page follows its SSE events: each event
 * carries the whole current object, so the page just shows the latest one.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, can, message } from '../api';
import { ApprovalCard } from '../approval';
import { ago, shortId } from '../format';
import { usePoll } from '../poll';
import { href } from '../route';
import type { Approval } from '../timeline';
import { Badge, Button, ErrorLine, Section } from '../ui';

interface Prompt {
  id: string;
  position: number;
  text: string;
  mode: 'auto' | 'manual';
  status: string;
  attempts: number;
  error: string | null;
  result: { message: string | null } | null;
}

interface Queue {
  id: string;
  name: string;
  cwd: string | null;
  sessionId: string | null;
  status: string;
  waitingFor: string | null;
  approvals: Approval[];
  counts: Record<string, number>;
  prompts?: Prompt[];
  updatedAt: string;
}

interface GroupRun {
  id: string;
  prompt: string;
  status: string;
  maxConcurrent: number;
  sessions: {
    sessionId: string;
    status: string;
    error: string | null;
    result: { message: string | null } | null;
  }[];
  progress: { running: string[]; completed: string[]; failed: string[]; pending: string[] };
}

interface Group {
  id: string;
  name: string;
  description: string | null;
  paused: boolean;
  sessionIds: string[];
  run: GroupRun | null;
  updatedAt: string;
}

/** A bar of done / running / failed out of all. */
function Progress(p: { done: number; running: number; failed: number; total: number }) {
  const pct = (n: number) => `${p.total ? (100 * n) / p.total : 0}%`;
  return (
    <div
      class="progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={p.total}
      aria-valuenow={p.done}
      aria-label={`${p.done} of ${p.total} done`}
    >
      <span class="done" style={{ width: pct(p.done) }} />
      <span class="run" style={{ width: pct(p.running) }} />
      <span class="bad" style={{ width: pct(p.failed) }} />
    </div>
  );
}

function queueProgress(q: Queue) {
  const c = q.counts;
  const n = (k: string) => c[k] ?? 0;
  const total = Object.values(c).reduce((a, b) => a + b, 0);
  return {
    done: n('completed'),
    running: n('running'),
    failed: n('failed') + n('interrupted'),
    total,
  };
}

/** The latest object of an SSE stream whose events each carry it whole. */
function useFollow<T>(url: string, key: 'queue' | 'group'): { obj: T | null; gone: boolean } {
  const [obj, setObj] = useState<T | null>(null);
  const [gone, setGone] = useState(false);
  useEffect(() => {
    const es = new EventSource(url);
    const onEvent = (e: Event) => {
      const data = JSON.parse((e as MessageEvent<string>).data) as Record<string, unknown>;
      if (data.deleted === true || data.type === `${key}_deleted`) return setGone(true);
      setObj((data[key] ?? data) as T);
    };
    // Every event name of docs/queues.md carries the object; listen to them all through one handler.
    const names = [
      'snapshot',
      ...(key === 'queue'
        ? [
            'queue_started',
            'queue_paused',
            'queue_resumed',
            'queue_stopped',
            'queue_completed',
            'queue_failed',
            'prompt_added',
            'prompt_updated',
            'prompt_removed',
            'prompt_moved',
            'prompt_waiting',
            'prompt_started',
            'prompt_completed',
            'prompt_failed',
            'prompt_interrupted',
            'approval',
            'queue_deleted',
          ]
        : [
            'group_updated',
            'run_started',
            'session_started',
            'session_completed',
            'session_failed',
            'session_interrupted',
            'session_cancelled',
            'group_completed',
            'group_paused',
            'group_resumed',
            'approval',
            'group_deleted',
          ]),
    ];
    for (const n of names) es.addEventListener(n, onEvent);
    return () => es.close();
  }, [url]);
  return { obj, gone };
}

function useAction(): [
  (method: string, path: string, body?: unknown) => Promise<void>,
  string | null,
  boolean,
] {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (method: string, path: string, body: unknown = {}) => {
    setBusy(true);
    setError(null);
    try {
      await api(method, path, body);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  return [run, error, busy];
}

export function QueuesPage() {
  const { data, error } = usePoll(() => api<{ queues: Queue[] }>('GET', '/api/queues'), 5000);
  return (
    <main>
      <Section title={`Queues (${data?.queues.length ?? 0})`}>
        <ErrorLine error={error} />
        {data && !data.queues.length ? (
          <p class="muted">
            none yet: <code>codex-sm queue create NAME --cwd DIR "first prompt"</code>
          </p>
        ) : null}
        <ul class="list" data-testid="queues">
          {data?.queues.map((q) => (
            <li class="row" key={q.id}>
              <a class="row-link" href={href('q', q.id)}>
                <span class="row-title">{q.name}</span>
                <span class="row-meta">
                  <Badge text={q.status} />
                  {q.waitingFor ? <Badge text={`waiting for ${q.waitingFor}`} /> : null}
                  <span>
                    {q.counts.completed ?? 0} of {queueProgress(q).total} done
                  </span>
                  <span>{ago(q.updatedAt)}</span>
                </span>
                <Progress {...queueProgress(q)} />
              </a>
            </li>
          ))}
        </ul>
      </Section>
    </main>
  );
}

function PromptRow(props: {
  q: Queue;
  p: Prompt;
  act: (m: string, path: string, body?: unknown) => Promise<void>;
}) {
  const { q, p, act } = props;
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(p.text);
  const editable = p.status === 'pending' || p.status === 'waiting';
  const base = `/api/queues/${q.id}/prompts/${p.id}`;
  return (
    <li class="row prompt" data-prompt={p.id}>
      <div class="row-meta">
        <span>#{p.position}</span>
        <Badge text={p.status} />
        {p.mode === 'manual' ? <Badge text="manual" /> : null}
        {p.attempts > 1 ? <span>{p.attempts} attempts</span> : null}
      </div>
      {editing ? (
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            void act('PATCH', base, { text }).then(() => setEditing(false));
          }}
        >
          <textarea
            aria-label="prompt text"
            rows={3}
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
          <div class="actions">
            <Button type="submit" kind="primary" disabled={!text.trim()}>
              Save
            </Button>
            <Button onClick={() => (setEditing(false), setText(p.text))}>Cancel</Button>
          </div>
        </form>
      ) : (
        <p class="prompt-text">{p.text}</p>
      )}
      {p.result?.message ? <pre class="output">{p.result.message}</pre> : null}
      {p.error ? <p class="error">{p.error}</p> : null}
      {editable && !editing && can('queues') ? (
        <div class="actions">
          <Button onClick={() => (setText(p.text), setEditing(true))}>Edit</Button>
          <Button onClick={() => void act('POST', `${base}/move`, { to: 1 })} label="run next">
            Run next
          </Button>
          <Button
            onClick={() =>
              void act('POST', `${base}/mode`, { mode: p.mode === 'auto' ? 'manual' : 'auto' })
            }
          >
            {p.mode === 'auto' ? 'Make manual' : 'Make auto'}
          </Button>
          <Button kind="danger" onClick={() => void act('DELETE', base)}>
            Remove
          </Button>
        </div>
      ) : null}
    </li>
  );
}

export function QueuePage({ id }: { id: string }) {
  const { obj: q, gone } = useFollow<Queue>(
    `/api/queues/${encodeURIComponent(id)}/events`,
    'queue',
  );
  const [act, error, busy] = useAction();
  const [add, setAdd] = useState('');
  if (gone) return <main class="muted">this queue was deleted</main>;
  if (!q) return <main class="muted">loading…</main>;
  const path = `/api/queues/${q.id}`;
  const pending = q.approvals.filter((a) => a.status === 'pending');
  return (
    <main>
      <Section title={q.name} actions={<Badge text={q.status} />}>
        <div class="stack">
          <Progress {...queueProgress(q)} />
          <div class="row-meta">
            {Object.entries(q.counts)
              .filter(([, n]) => n)
              .map(([k, n]) => (
                <span key={k}>
                  {n} {k}
                </span>
              ))}
            {q.sessionId ? (
              <a href={href('s', q.sessionId)}>session {shortId(q.sessionId)}</a>
            ) : null}
            {q.cwd ? <span class="path">{q.cwd}</span> : null}
          </div>
          {q.waitingFor === 'go-ahead' ? (
            <p>A manual prompt waits for the go-ahead (Start).</p>
          ) : null}
          {can('queues') ? (
            <div class="actions">
              {q.status !== 'running' && q.status !== 'paused' ? (
                <Button
                  kind="primary"
                  disabled={busy}
                  onClick={() => void act('POST', `${path}/start`)}
                >
                  Start
                </Button>
              ) : null}
              {q.waitingFor === 'go-ahead' && q.status === 'running' ? (
                <Button
                  kind="primary"
                  disabled={busy}
                  onClick={() => void act('POST', `${path}/start`)}
                >
                  Go ahead
                </Button>
              ) : null}
              {q.status === 'running' ? (
                <Button disabled={busy} onClick={() => void act('POST', `${path}/pause`)}>
                  Pause
                </Button>
              ) : null}
              {q.status === 'paused' ? (
                <Button
                  kind="primary"
                  disabled={busy}
                  onClick={() => void act('POST', `${path}/resume`)}
                >
                  Resume
                </Button>
              ) : null}
              {q.status === 'running' || q.status === 'paused' ? (
                <>
                  <Button
                    kind="danger"
                    disabled={busy}
                    onClick={() => void act('POST', `${path}/stop`)}
                  >
                    Stop
                  </Button>
                  <Button
                    kind="danger"
                    disabled={busy}
                    onClick={() => void act('POST', `${path}/stop`, { now: true })}
                  >
                    Stop now
                  </Button>
                </>
              ) : null}
            </div>
          ) : null}
          <ErrorLine error={error} />
        </div>
      </Section>
      {pending.map((a) => (
        <ApprovalCard key={a.id} approval={a} />
      ))}
      <Section title="Prompts">
        <ul class="list" data-testid="prompts">
          {(q.prompts ?? []).map((p) => (
            <PromptRow key={p.id + p.text} q={q} p={p} act={act} />
          ))}
        </ul>
        {can('queues') ? (
          <form
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              if (add.trim())
                void act('POST', `${path}/prompts`, { text: add.trim() }).then(() => setAdd(''));
            }}
          >
            <textarea
              aria-label="new prompt"
              rows={2}
              placeholder="add a prompt…"
              value={add}
              onInput={(e) => setAdd(e.currentTarget.value)}
            />
            <div class="actions">
              <Button type="submit" disabled={!add.trim()}>
                Add prompt
              </Button>
            </div>
          </form>
        ) : null}
      </Section>
    </main>
  );
}

function runProgress(r: GroupRun | null) {
  const g = r?.progress;
  return {
    done: g?.completed.length ?? 0,
    running: g?.running.length ?? 0,
    failed: g?.failed.length ?? 0,
    total: r?.sessions.length ?? 0,
  };
}

export function GroupsPage() {
  const { data, error } = usePoll(() => api<{ groups: Group[] }>('GET', '/api/groups'), 5000);
  return (
    <main>
      <Section title={`Groups (${data?.groups.length ?? 0})`}>
        <ErrorLine error={error} />
        {data && !data.groups.length ? (
          <p class="muted">
            none yet: <code>codex-sm group create NAME SESSION_ID…</code>
          </p>
        ) : null}
        <ul class="list" data-testid="groups">
          {data?.groups.map((g) => (
            <li class="row" key={g.id}>
              <a class="row-link" href={href('g', g.id)}>
                <span class="row-title">{g.name}</span>
                <span class="row-meta">
                  <span>{g.sessionIds.length} sessions</span>
                  {g.paused ? <Badge text="paused" /> : null}
                  {g.run ? <Badge text={g.run.status} /> : null}
                  <span>{ago(g.updatedAt)}</span>
                </span>
                {g.run ? <Progress {...runProgress(g.run)} /> : null}
              </a>
            </li>
          ))}
        </ul>
      </Section>
    </main>
  );
}

export function GroupPage({ id }: { id: string }) {
  const { obj: g, gone } = useFollow<Group>(
    `/api/groups/${encodeURIComponent(id)}/events`,
    'group',
  );
  const [act, error, busy] = useAction();
  const [prompt, setPrompt] = useState('');
  const [max, setMax] = useState('4');
  if (gone) return <main class="muted">this group was deleted</main>;
  if (!g) return <main class="muted">loading…</main>;
  const path = `/api/groups/${g.id}`;
  const runBusy = g.run?.status === 'running';
  return (
    <main>
      <Section
        title={g.name}
        actions={g.paused ? <Badge text="paused" /> : g.run ? <Badge text={g.run.status} /> : null}
      >
        <div class="stack">
          {g.description ? <p>{g.description}</p> : null}
          {g.run ? (
            <>
              <p>
                <span class="muted">latest run: </span>
                {g.run.prompt}
              </p>
              <Progress {...runProgress(g.run)} />
              <ul class="list">
                {g.run.sessions.map((s) => (
                  <li class="row" key={s.sessionId}>
                    <a class="row-link" href={href('s', s.sessionId)}>
                      <span class="row-meta">
                        <span>{shortId(s.sessionId)}</span>
                        <Badge text={s.status} />
                      </span>
                      {s.result?.message ? <span class="snippet">{s.result.message}</span> : null}
                      {s.error ? <span class="error">{s.error}</span> : null}
                    </a>
                  </li>
                ))}
              </ul>
            </>
          ) : (
            <p class="muted">never run; {g.sessionIds.length} sessions</p>
          )}
          {can('groups') ? (
            <div class="actions">
              {g.paused ? (
                <Button
                  kind="primary"
                  disabled={busy}
                  onClick={() => void act('POST', `${path}/resume`)}
                >
                  Resume
                </Button>
              ) : (
                <Button disabled={busy} onClick={() => void act('POST', `${path}/pause`)}>
                  Pause
                </Button>
              )}
            </div>
          ) : null}
          <ErrorLine error={error} />
        </div>
      </Section>
      {can('groups') && !runBusy ? (
        <Section title="Run a prompt in every session">
          <form
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              if (prompt.trim())
                void act('POST', `${path}/run`, {
                  prompt: prompt.trim(),
                  maxConcurrent: Number(max) || 4,
                }).then(() => setPrompt(''));
            }}
          >
            <textarea
              aria-label="prompt for the group"
              rows={2}
              value={prompt}
              onInput={(e) => setPrompt(e.currentTarget.value)}
            />
            <label class="field">
              <span>at most this many turns at a time</span>
              <input
                type="number"
                min={1}
                max={64}
                value={max}
                onInput={(e) => setMax(e.currentTarget.value)}
              />
            </label>
            <div class="actions">
              <Button type="submit" kind="primary" disabled={busy || !prompt.trim()}>
                Run
              </Button>
            </div>
          </form>
        </Section>
      ) : null}
    </main>
  );
}
