/**
 * One session, live: its history and what happens now (messages, reasoning summaries,
 * commands and their output, file diffs, approvals), streamed over the session's SSE events;
 * send a turn, steer the running one, interrupt it.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, attempt, can, checkSession, message } from '../api';
import { ApprovalCard } from '../approval';
import { shortId } from '../format';
import { apiPath } from '../paths';
import type { Approval } from '../../../service/sessions/approval-json.js';
import { reasoningParts, Timeline, type Entry, type FileChange } from '../timeline';
import { Badge, Button, Diff, ErrorLine } from '../ui';
import type { SessionJson } from '../../../service/sessions/session-json.js';
import { firstPrompts } from './sessions';

function EntryView({
  e,
  changesOfItem,
}: {
  e: Entry;
  changesOfItem: (itemId: string | null) => FileChange[];
}) {
  switch (e.kind) {
    case 'user':
      return <div class="msg user">{e.text}</div>;
    case 'agent':
      return <div class={`msg agent${e.done ? '' : ' streaming'}`}>{e.text}</div>;
    case 'reasoning': {
      if (!e.text) return null;
      const { title, body } = reasoningParts(e.text);
      return (
        <details class="reasoning" open={!e.done}>
          <summary>
            reasoning{title ? ': ' : ''}
            {title ? <strong>{title}</strong> : null}
          </summary>
          <p>{body}</p>
        </details>
      );
    }
    case 'command':
      return (
        <div class="command">
          <div class="command-head">
            <code>$ {e.command}</code>
            {e.exitCode !== null ? (
              <Badge text={e.exitCode === 0 ? 'exit 0' : `exit ${e.exitCode}`} />
            ) : (
              <Badge text={e.status} />
            )}
          </div>
          {e.output ? <pre class="output">{e.output}</pre> : null}
        </div>
      );
    case 'fileChange':
      return (
        <div class="filechange">
          {e.changes.map((c) => (
            <details open key={c.path}>
              <summary>
                {c.kind} <code>{c.path}</code> <Badge text={e.status} />
              </summary>
              <Diff diff={c.diff} />
            </details>
          ))}
        </div>
      );
    case 'approval':
      return <ApprovalCard approval={e.approval} changes={changesOfItem(e.approval.itemId)} />;
    case 'notice':
      return <p class={e.tone === 'error' ? 'error' : 'muted'}>{e.text}</p>;
  }
}

function firstUserText(entries: Entry[]): string | undefined {
  const first = entries.find((e) => e.kind === 'user');
  return first?.kind === 'user' ? first.text.split('\n')[0] : undefined;
}

export function SessionPage({ id }: { id: string }) {
  const timeline = useMemo(() => new Timeline(), [id]);
  const [, setVersion] = useState(0);
  const [session, setSession] = useState<SessionJson | null>(null);
  const [stream, setStream] = useState<'connecting' | 'live' | 'ended'>('connecting');
  const [error, setError] = useState<string | null>(null);
  const [input, setInput] = useState('');
  const [busy, setBusy] = useState(false);
  const bottom = useRef<HTMLDivElement>(null);

  // A running turn is steered; otherwise the text starts a turn.
  const sendTurn = (text: string) =>
    attempt(
      async () => {
        const active = timeline.state.activeTurnId;
        if (active)
          await api('POST', apiPath`/api/sessions/${id}/steer`, {
            input: text,
            expectedTurnId: active,
          });
        else await api('POST', apiPath`/api/sessions/${id}/turns`, { input: text });
      },
      setBusy,
      setError,
    );

  useEffect(() => {
    let frame = 0;
    // Many deltas a second: render once per frame.
    const changed = () => {
      if (!frame) frame = requestAnimationFrame(() => ((frame = 0), setVersion((v) => v + 1)));
    };
    api<SessionJson>('GET', apiPath`/api/sessions/${id}`)
      .then((s) => {
        setSession(s);
        // Until the replay says otherwise: the turn running when the page opened is steered.
        if (s.status && !timeline.state.status)
          timeline.state = {
            ...timeline.state,
            status: s.status,
            activeTurnId: timeline.state.activeTurnId ?? s.activeTurnId ?? null,
          };
        changed();
      })
      .catch((e) => setError(message(e)));
    // (Without the approvals scope the request would be refused: none are shown.)
    if (can('approvals'))
      api<{ approvals: Approval[] }>(
        'GET',
        `/api/approvals?${new URLSearchParams({ sessionId: id })}`,
      )
        .then((r) => {
          for (const a of r.approvals) timeline.approval(a);
          changed();
        })
        .catch(() => {});
    const es = new EventSource(apiPath`/api/sessions/${id}/events` + '?follow=true');
    const parse = (e: Event) => JSON.parse((e as MessageEvent<string>).data) as unknown;
    es.addEventListener('rollout', (e) => {
      timeline.rollout(parse(e));
      changed();
    });
    es.addEventListener('notification', (e) => {
      const n = parse(e) as { method: string; params: unknown };
      timeline.notification(n.method, n.params);
      changed();
    });
    es.addEventListener('approval', (e) => {
      timeline.approval(parse(e) as Approval);
      changed();
    });
    es.onopen = () => {
      setStream('live');
      const first = firstPrompts.get(id);
      if (first !== undefined) {
        firstPrompts.delete(id);
        void sendTurn(first);
      }
    };
    es.onerror = () => {
      // CONNECTING: the browser retries by itself. CLOSED: the service refused the stream (a 401
      // when the session ended, a 404) and the browser gives up for good; ask whether we are
      // still logged in (no: the login page) and say the stream ended instead of "connecting…".
      if (es.readyState === EventSource.CLOSED) {
        setStream('ended');
        void checkSession();
      } else setStream(es.readyState === EventSource.OPEN ? 'live' : 'connecting');
    };
    return () => {
      es.close();
      cancelAnimationFrame(frame);
    };
  }, [id]);

  useEffect(() => {
    const el = bottom.current;
    if (!el) return;
    const r = el.getBoundingClientRect();
    if (r.top < window.innerHeight + 400) el.scrollIntoView({ block: 'end' });
  });

  const st = timeline.state;
  const running = !!st.activeTurnId || st.status === 'active';
  const submit = async (e: Event) => {
    e.preventDefault();
    const text = input.trim();
    if (text && (await sendTurn(text))) setInput('');
  };
  const interrupt = () =>
    attempt(
      () =>
        api(
          'POST',
          apiPath`/api/sessions/${id}/interrupt`,
          st.activeTurnId ? { turnId: st.activeTurnId } : {},
        ),
      setBusy,
      setError,
    );
  const changesOfItem = (itemId: string | null): FileChange[] => {
    const item = timeline.entries.find((x) => x.key === itemId);
    return item?.kind === 'fileChange' ? item.changes : [];
  };

  return (
    <main class="session">
      <header class="session-head">
        <h1>{session?.title || firstUserText(timeline.entries) || shortId(id)}</h1>
        <div class="row-meta">
          <Badge text={st.status || session?.status} />
          {st.flags.includes('waitingOnApproval') ? <Badge text="waiting for approval" /> : null}
          <span class={stream === 'live' ? 'live on' : 'live'}>
            {stream === 'live'
              ? 'live'
              : stream === 'ended'
                ? 'not live: the stream ended (reload the page)'
                : 'connecting…'}
          </span>
          {session?.cwd ? <span class="path">{session.cwd}</span> : null}
        </div>
      </header>
      <div class="timeline" data-testid="timeline" aria-live="polite">
        {timeline.entries.map((e) => (
          <EntryView key={e.key} e={e} changesOfItem={changesOfItem} />
        ))}
        {timeline.entries.length === 0 ? <p class="muted">nothing yet</p> : null}
        <div ref={bottom} />
      </div>
      <ErrorLine error={error} />
      {can('sessions:write') ? (
        <form class="composer" onSubmit={(e) => void submit(e)}>
          <textarea
            name="input"
            aria-label={running ? 'steer the running turn' : 'message'}
            placeholder={running ? 'steer the running turn…' : 'send a message…'}
            rows={2}
            value={input}
            onInput={(e) => setInput(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void submit(e);
            }}
          />
          <div class="actions">
            <Button type="submit" kind="primary" disabled={busy || !input.trim()}>
              {running ? 'Steer' : 'Send'}
            </Button>
            {running ? (
              <Button kind="danger" disabled={busy} onClick={() => void interrupt()}>
                Interrupt
              </Button>
            ) : null}
          </div>
        </form>
      ) : null}
    </main>
  );
}
