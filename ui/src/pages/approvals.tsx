/**
 * The approvals inbox: every pending approval of every session codex-sm runs, answered here.
 * Pending ones come from the live feed (approvals-feed.ts: they show the moment a turn asks);
 * "all" is fetched, again whenever the feed changes.
 */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ApprovalCard } from '../approval';
import { approvalAnswered, approvalsFeed } from '../approvals-feed';
import { usePoll } from '../poll';
import type { Approval } from '../../../service/sessions/approval-json.js';
import { ErrorLine, Section } from '../ui';

function AllApprovals({ version }: { version: number }) {
  const { data, error } = usePoll(
    () => api<{ approvals: Approval[] }>('GET', '/api/approvals?status=all'),
    0, // no timer: the feed's version says when to fetch again
    [version],
  );
  const list = data?.approvals ?? [];
  return (
    <>
      <ErrorLine error={error} />
      {data && !list.length ? <p class="muted">no approvals yet</p> : null}
      <Cards list={list} />
    </>
  );
}

function Cards({ list }: { list: Approval[] }) {
  return (
    <div class="stack" data-testid="approvals">
      {list
        .slice()
        .reverse()
        .map((a) => (
          <ApprovalCard key={a.id} approval={a} showSession onAnswered={approvalAnswered} />
        ))}
    </div>
  );
}

export function ApprovalsPage() {
  const [status, setStatus] = useState('pending');
  const feed = approvalsFeed.value;
  return (
    <main>
      <Section
        title={status === 'pending' ? `Waiting for you (${feed.pending.length})` : 'Approvals'}
        actions={
          <select
            aria-label="which approvals"
            value={status}
            onChange={(e) => setStatus(e.currentTarget.value)}
          >
            <option value="pending">pending</option>
            <option value="all">all</option>
          </select>
        }
      >
        {status === 'pending' ? (
          <>
            {feed.loaded && !feed.pending.length ? (
              <p class="muted">nothing waits for an answer</p>
            ) : null}
            <Cards list={feed.pending} />
          </>
        ) : (
          <AllApprovals version={feed.version} />
        )}
        {feed.loaded && !feed.live ? (
          <p class="muted" role="status">
            not live: checking every 30 s until the connection is back
          </p>
        ) : null}
      </Section>
    </main>
  );
}
