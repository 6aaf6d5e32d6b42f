/**
 * Groups (docs/queues.md): the latest run's progress per session, pause/resume, and a prompt run
 * in every session. A group's page follows its SSE events.
 */
import { useState } from 'preact/hooks';
import type { GroupJson, GroupRunJson } from '../../../service/groups/group-json.js';
import { api, can } from '../api';
import { ago, shortId } from '../format';
import { apiPath, href } from '../paths';
import { Badge, Button, ErrorLine, Section } from '../ui';
import { ActButton, NotShown, Progress, useAction, useFollow, WorkList } from './work';

function runProgress(r: GroupRunJson | null) {
  const g = r?.progress;
  return {
    done: g?.completed.length ?? 0,
    running: g?.running.length ?? 0,
    failed: g?.failed.length ?? 0,
    total: r?.sessions.length ?? 0,
  };
}

export function GroupsPage() {
  return (
    <WorkList
      title="Groups"
      load={() => api<{ groups: GroupJson[] }>('GET', '/api/groups').then((r) => r.groups)}
      page="g"
      testId="groups"
      empty={<code>codex-sm group create NAME SESSION_ID…</code>}
      meta={(g) => (
        <>
          <span class="row-meta">
            <span>{g.sessionIds.length} sessions</span>
            {g.paused ? <Badge text="paused" /> : null}
            {g.run ? <Badge text={g.run.status} /> : null}
            <span>{ago(g.updatedAt)}</span>
          </span>
          {g.run ? <Progress {...runProgress(g.run)} /> : null}
        </>
      )}
    />
  );
}

export function GroupPage({ id }: { id: string }) {
  const { obj: g, gone, ended } = useFollow<GroupJson>(apiPath`/api/groups/${id}/events`, 'group');
  const [act, error, busy] = useAction();
  const [prompt, setPrompt] = useState('');
  const [max, setMax] = useState('4');
  if (gone || !g) return <NotShown what="group" gone={gone} ended={ended} />;
  const path = apiPath`/api/groups/${g.id}`;
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
                <ActButton act={act} busy={busy} kind="primary" to={`${path}/resume`}>
                  Resume
                </ActButton>
              ) : (
                <ActButton act={act} busy={busy} to={`${path}/pause`}>
                  Pause
                </ActButton>
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
                }).then((ok) => ok && setPrompt('')); // a refused run keeps the typed prompt
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
