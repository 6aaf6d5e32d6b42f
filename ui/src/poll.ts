/**
 * Fetch now and again every `ms` while the page is shown, and at once when it becomes visible
 * again: nothing is asked while the tab is hidden (a phone's background tab would otherwise
 * poll all day).
 */
import { useEffect, useState } from 'preact/hooks';
import { message } from './api';

export function usePoll<T>(
  load: () => Promise<T>,
  ms: number,
  deps: unknown[] = [],
): { data: T | undefined; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      clearTimeout(timer);
      if (document.hidden) return; // onVisible runs it again
      try {
        const d = await load();
        if (!live) return;
        setData(d);
        setError(null);
      } catch (e) {
        if (live) setError(message(e));
      }
      if (live && ms > 0) timer = setTimeout(() => void run(), ms);
    };
    const onVisible = () => document.visibilityState === 'visible' && void run();
    document.addEventListener('visibilitychange', onVisible);
    void run();
    return () => {
      live = false;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}
