/**
 * What the queue and group pages share (docs/queues.md): a progress bar, following an SSE stream
 * whose every event carries the whole current object, and a button action with its error.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { GROUP_EVENTS, QUEUE_EVENTS } from '../../../service/work/event-names.js';
import { api, attempt, checkSession } from '../api';
import { href, type Page } from '../paths';
import { usePoll } from '../poll';
import { Button, ErrorLine, Section } from '../ui';

/** A bar of done / running / failed out of all. */
export function Progress(p: { done: number; running: number; failed: number; total: number }) {
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

/**
 * The list page of queues or groups: polled, each a link to its own page, a hint where there
 * are none yet.
 */
export function WorkList<T extends { id: string; name: string }>(props: {
  title: string;
  load: () => Promise<T[]>;
  page: Page;
  testId: string;
  empty: ComponentChildren;
  meta: (x: T) => ComponentChildren;
}) {
  const { data, error } = usePoll(props.load, 5000);
  return (
    <main>
      <Section title={`${props.title} (${data?.length ?? 0})`}>
        <ErrorLine error={error} />
        {data && !data.length ? <p class="muted">none yet: {props.empty}</p> : null}
        <ul class="list" data-testid={props.testId}>
          {data?.map((x) => (
            <li class="row" key={x.id}>
              <a class="row-link" href={href(props.page, x.id)}>
                <span class="row-title">{x.name}</span>
                {props.meta(x)}
              </a>
            </li>
          ))}
        </ul>
      </Section>
    </main>
  );
}

/** What a followed page shows while its object is not there: loading, deleted, or unfollowable. */
export function NotShown(props: { what: 'queue' | 'group'; gone: boolean; ended: boolean }) {
  return (
    <main class="muted">
      {props.gone
        ? `this ${props.what} was deleted`
        : props.ended
          ? `could not follow this ${props.what} (reload the page)`
          : 'loading…'}
    </main>
  );
}

/** The latest object of an SSE stream whose events each carry it whole. */
export function useFollow<T>(
  url: string,
  key: 'queue' | 'group',
): { obj: T | null; gone: boolean; ended: boolean } {
  const [obj, setObj] = useState<T | null>(null);
  const [gone, setGone] = useState(false);
  const [ended, setEnded] = useState(false);
  useEffect(() => {
    const es = new EventSource(url);
    const onEvent = (e: Event) => {
      const data = JSON.parse((e as MessageEvent<string>).data) as Record<string, unknown>;
      if (data.deleted === true || data.type === `${key}_deleted`) return setGone(true);
      setObj((data[key] ?? data) as T);
    };
    // Every event carries the whole object; an SSE client has no wildcard listener, so listen
    // to each name the service emits (the one list: service/work/event-names.ts).
    const names = ['snapshot', ...(key === 'queue' ? QUEUE_EVENTS : GROUP_EVENTS)];
    for (const n of names) es.addEventListener(n, onEvent);
    // CLOSED: the service refused the stream (a 401 when the session ended) and the browser
    // gives up for good; if we are logged out, checkSession shows the login page.
    es.onerror = () => {
      if (es.readyState !== EventSource.CLOSED) return;
      setEnded(true);
      void checkSession();
    };
    return () => es.close();
  }, [url]);
  return { obj, gone, ended };
}

/** Runs one request; says whether it succeeded, so a form is cleared or closed only then. */
export type Act = (method: string, path: string, body?: unknown) => Promise<boolean>;

/** A button's request, its error shown (not thrown) and whether one is under way. */
export function useAction(): [Act, string | null, boolean] {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = (method: string, path: string, body: unknown = {}) =>
    attempt(() => api(method, path, body), setBusy, setError);
  return [run, error, busy];
}

/** A button that sends one request through `act`, disabled while any of the page's is under way. */
export function ActButton(props: {
  act: Act;
  busy: boolean;
  method?: string;
  to: string;
  body?: unknown;
  kind?: 'primary' | 'danger';
  label?: string;
  children: ComponentChildren;
}) {
  const { act, busy, method = 'POST', to, body } = props;
  return (
    <Button
      kind={props.kind}
      label={props.label}
      disabled={busy}
      onClick={() => void act(method, to, body)}
    >
      {props.children}
    </Button>
  );
}
