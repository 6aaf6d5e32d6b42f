/** The approvals inbox: every pending approval of every session codex-sm runs, answered here. */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ApprovalCard } from '../approval';
import { usePoll } from '../poll';
import type { Approval } from '../timeline';
import { ErrorLine, Section } from '../ui';

export function ApprovalsPage() {
  const [status, setStatus] = useState('pending');
  const { data, error, reload } = usePoll(
    () => api<{ approvals: Approval[] }>('GET', `/api/approvals?status=${status}`),
    3000,
    [status],
  );
  const list = data?.approvals ?? [];
  return (
    <main>
      <Section
        title={status === 'pending' ? `Waiting for you (${list.length})` : 'Approvals'}
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
        <ErrorLine error={error} />
        {data && !list.length ? <p class="muted">nothing waits for an answer</p> : null}
        <div class="stack" data-testid="approvals">
          {list
            .slice()
            .reverse()
            .map((a) => (
              <ApprovalCard key={a.id} approval={a} showSession onAnswered={reload} />
            ))}
        </div>
      </Section>
    </main>
  );
}
