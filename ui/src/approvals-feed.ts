/**
 * The pending approvals of every session, live: one `GET /api/approvals/events` stream for the
 * whole page (the nav's count and the inbox both read `approvalsFeed`), so an approval shows
 * the moment a turn asks. A snapshot first, then each approval as it is held or changes.
 * Only while the stream is down does a slow poll stand in (and reopen it when it gave up);
 * the browser itself reconnects a dropped stream with Last-Event-ID.
 */
import { signal } from '@preact/signals';
import { api } from './api';
import type { Approval } from '../../service/sessions/approval-json.js';

export interface ApprovalsFeed {
  /** Pending approvals, oldest first. */
  pending: Approval[];
  /** Whether the stream is open (false: the poll stands in). */
  live: boolean;
  /** Whether a first list has arrived. */
  loaded: boolean;
  /** Bumped at every change (the "all" view refetches on it). */
  version: number;
}

export const approvalsFeed = signal<ApprovalsFeed>({
  pending: [],
  live: false,
  loaded: false,
  version: 0,
});

/** While the stream is down: how often the list is fetched instead. */
const FALLBACK_MS = 30_000;

function set(pending: Approval[], live = approvalsFeed.value.live): void {
  const v = approvalsFeed.value;
  approvalsFeed.value = { pending, live, loaded: true, version: v.version + 1 };
}

/** One approval's news: a pending one is kept (replaced by id), any other status drops it. Pure. */
function withApproval(pending: Approval[], a: Approval): Approval[] {
  if (a.status !== 'pending') return pending.filter((x) => x.id !== a.id);
  return pending.some((x) => x.id === a.id)
    ? pending.map((x) => (x.id === a.id ? a : x))
    : [...pending, a];
}

/** An answer given from this page: shown at once, whatever the stream is doing. */
export function approvalAnswered(a: Approval): void {
  set(withApproval(approvalsFeed.value.pending, a));
}

/** Start following; the returned function stops (at logout). */
export function followApprovals(): () => void {
  let es: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const parse = (e: Event): unknown => JSON.parse((e as MessageEvent<string>).data);

  const open = () => {
    es?.close();
    const s = new EventSource('/api/approvals/events');
    es = s;
    s.addEventListener('snapshot', (e) => {
      set((parse(e) as { approvals: Approval[] }).approvals, true);
    });
    s.addEventListener('approval', (e) => {
      set(withApproval(approvalsFeed.value.pending, parse(e) as Approval), true);
    });
    s.onopen = () => {
      clearTimeout(timer);
      timer = undefined;
    };
    s.onerror = () => {
      if (stopped) return;
      if (approvalsFeed.value.live) set(approvalsFeed.value.pending, false);
      if (timer === undefined) void poll();
    };
  };

  const poll = async () => {
    timer = undefined;
    if (stopped) return;
    try {
      const r = await api<{ approvals: Approval[] }>('GET', '/api/approvals');
      // The stream came back meanwhile: its snapshot is newer than this answer.
      if (!stopped && es?.readyState !== EventSource.OPEN) set(r.approvals, false);
    } catch {
      /* down too: try again at the next round (a 401 logs the page out) */
    }
    if (stopped) return;
    if (es?.readyState === EventSource.CLOSED) open(); // the browser gave up: start again
    if (es?.readyState !== EventSource.OPEN) timer = setTimeout(() => void poll(), FALLBACK_MS);
  };

  open();
  return () => {
    stopped = true;
    es?.close();
    clearTimeout(timer);
    approvalsFeed.value = { pending: [], live: false, loaded: false, version: 0 };
  };
}
