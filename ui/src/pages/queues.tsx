/**
 * Queues (docs/queues.md): progress, start/pause/resume/stop, and the pending prompts edited,
 * moved, switched or removed. A queue's page follows its SSE events.
 */
import { useState } from 'preact/hooks';
import type {
  PromptJson,
  QueueJson,
  QueueSummaryJson,
} from '../../../service/queues/queue-json.js';
import { api, can } from '../api';
import { ApprovalCard } from '../approval';
import { ago, shortId } from '../format';
import { apiPath, href } from '../paths';
import type { Approval } from '../../../service/sessions/approval-json.js';
import { Badge, Button, ErrorLine, Section } from '../ui';
import { ActButton, NotShown, Progress, useAction, useFollow, WorkList, type Act } from './work';

type Queue = QueueJson<Approval>;

function queueProgress(q: QueueSummaryJson<Approval>) {
  const c = q.counts;
  const total = Object.values(c).reduce((a, b) => a + b, 0);
  return { done: c.completed, running: c.running, failed: c.failed + c.interrupted, total };
}

export function QueuesPage() {
  return (
    <WorkList
      title="Queues"
      load={() =>
        api<{ queues: QueueSummaryJson<Approval>[] }>('GET', '/api/queues').then((r) => r.queues)
      }
      page="q"
      testId="queues"
      empty={<code>codex-sm queue create NAME --cwd DIR "first prompt"</code>}
      meta={(q) => {
        const progress = queueProgress(q);
        return (
          <>
            <span class="row-meta">
              <Badge text={q.status} />
              {q.waitingFor ? <Badge text={`waiting for ${q.waitingFor}`} /> : null}
              <span>
                {progress.done} of {progress.total} done
              </span>
              <span>{ago(q.updatedAt)}</span>
            </span>
            <Progress {...progress} />
          </>
        );
      }}
    />
  );
}

function PromptRow(props: { q: Queue; p: PromptJson; act: Act; busy: boolean }) {
  const { q, p, act, busy } = props;
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(p.text);
  const editable = p.status === 'pending' || p.status === 'waiting';
  const base = apiPath`/api/queues/${q.id}/prompts/${p.id}`;
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
            // A refused edit (the prompt started meanwhile) keeps the editor and the text.
            void act('PATCH', base, { text }).then((ok) => ok && setEditing(false));
          }}
        >
          <textarea
            aria-label="prompt text"
            rows={3}
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
          <div class="actions">
            <Button type="submit" kind="primary" disabled={busy || !text.trim()}>
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
          <ActButton act={act} busy={busy} to={`${base}/move`} body={{ to: 1 }} label="run next">
            Run next
          </ActButton>
          <ActButton
            act={act}
            busy={busy}
            to={`${base}/mode`}
            body={{ mode: p.mode === 'auto' ? 'manual' : 'auto' }}
          >
            {p.mode === 'auto' ? 'Make manual' : 'Make auto'}
          </ActButton>
          <ActButton act={act} busy={busy} method="DELETE" to={base} kind="danger">
            Remove
          </ActButton>
        </div>
      ) : null}
    </li>
  );
}

export function QueuePage({ id }: { id: string }) {
  const { obj: q, gone, ended } = useFollow<Queue>(apiPath`/api/queues/${id}/events`, 'queue');
  const [act, error, busy] = useAction();
  const [add, setAdd] = useState('');
  if (gone || !q) return <NotShown what="queue" gone={gone} ended={ended} />;
  const path = apiPath`/api/queues/${q.id}`;
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
                <ActButton act={act} busy={busy} kind="primary" to={`${path}/start`}>
                  Start
                </ActButton>
              ) : null}
              {q.waitingFor === 'go-ahead' && q.status === 'running' ? (
                <ActButton act={act} busy={busy} kind="primary" to={`${path}/start`}>
                  Go ahead
                </ActButton>
              ) : null}
              {q.status === 'running' ? (
                <ActButton act={act} busy={busy} to={`${path}/pause`}>
                  Pause
                </ActButton>
              ) : null}
              {q.status === 'paused' ? (
                <ActButton act={act} busy={busy} kind="primary" to={`${path}/resume`}>
                  Resume
                </ActButton>
              ) : null}
              {q.status === 'running' || q.status === 'paused' ? (
                <>
                  <ActButton act={act} busy={busy} kind="danger" to={`${path}/stop`}>
                    Stop
                  </ActButton>
                  <ActButton
                    act={act}
                    busy={busy}
                    kind="danger"
                    to={`${path}/stop`}
                    body={{ now: true }}
                  >
                    Stop now
                  </ActButton>
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
          {q.prompts.map((p) => (
            <PromptRow key={p.id + p.text} q={q} p={p} act={act} busy={busy} />
          ))}
        </ul>
        {can('queues') ? (
          <form
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              if (add.trim())
                void act('POST', `${path}/prompts`, { text: add.trim() }).then(
                  (ok) => ok && setAdd(''),
                );
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
