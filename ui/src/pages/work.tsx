/**
 * What the queue and group pages share (docs/queues.md): a progress bar, following an SSE stream
 * whose every event carries the whole current object, and a button action with its error.
 */
import { useEffect, useState } from 'preact/hooks';
import { GROUP_EVENTS, QUEUE_EVENTS } from '../../../service/work/event-names.js';
import { api, checkSession, message } from '../api';

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
  const run = async (method: string, path: string, body: unknown = {}) => {
    setBusy(true);
    setError(null);
    try {
      await api(method, path, body);
      return true;
    } catch (e) {
      setError(message(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return [run, error, busy];
}
