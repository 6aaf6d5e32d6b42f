/**
 * Sessions: the index with filters and cursor paging (a page at a time, however many there
 * are), full-text search with each match shown in its snippet, and a form to start a session.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type {
  SessionJson,
  SessionListJson,
  SessionSearchJson,
} from '../../../service/sessions/session-json.js';
import { api, can, message } from '../api';
import { ago, bytes, splitMatches } from '../format';
import { newestWins } from '../newest';
import { href } from '../paths';
import { go } from '../route';
import { Badge, Button, ErrorLine, Section } from '../ui';

interface Filters {
  archived: string;
  sort: string;
  cwd: string;
  branch: string;
  source: string;
}

const PAGE = 50;

function query(f: Filters, cursor?: string): string {
  const q = new URLSearchParams({ limit: String(PAGE), archived: f.archived, sort: f.sort });
  if (f.cwd) q.set('cwd', f.cwd);
  if (f.branch) q.set('branch', f.branch);
  if (f.source) q.set('source', f.source);
  if (cursor) q.set('cursor', cursor);
  return q.toString();
}

/** Prompts to send once a new session's page is following it (so no delta is missed). */
export const firstPrompts = new Map<string, string>();

function SessionItem({ s, current }: { s: SessionJson; current: boolean }) {
  return (
    <li class={current ? 'row current' : 'row'}>
      <a class="row-link" href={href('s', s.id)} aria-current={current ? 'page' : undefined}>
        <span class="row-title">{s.title || s.id}</span>
        <span class="row-meta">
          {s.status && s.status !== 'notLoaded' ? <Badge text={s.status} /> : null}
          <span>{ago(s.updatedAt)}</span>
          <span>{s.messageCount} msgs</span>
          <span>{bytes(s.sizeBytes)}</span>
          {s.git?.branch ? <span>⎇ {s.git.branch}</span> : null}
          {s.cwd ? <span class="path">{s.cwd}</span> : null}
        </span>
      </a>
    </li>
  );
}

function Highlight({ text, q }: { text: string; q: string }) {
  return (
    <span>
      {splitMatches(text, q).map((part, i) => (i % 2 ? <mark key={i}>{part}</mark> : part))}
    </span>
  );
}

function NewSession() {
  const [open, setOpen] = useState(false);
  const [cwd, setCwd] = useState('');
  const [prompt, setPrompt] = useState('');
  const [policy, setPolicy] = useState('on-request');
  const [sandbox, setSandbox] = useState('workspace-write');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!can('sessions:write')) return null;
  if (!open)
    return (
      <Button kind="primary" onClick={() => setOpen(true)}>
        New session
      </Button>
    );
  const start = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ session: { id: string } }>('POST', '/api/sessions', {
        ...(cwd.trim() ? { cwd: cwd.trim() } : {}),
        approvalPolicy: policy,
        sandbox,
      });
      if (prompt.trim()) firstPrompts.set(r.session.id, prompt.trim());
      setOpen(false); // beside the list (a desktop) the form stays on screen: done with it
      go('s', r.session.id);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card stack" onSubmit={(e) => void start(e)} aria-label="new session">
      <label class="field">
        <span>Working directory (absolute; empty: the service's)</span>
        <input name="cwd" value={cwd} onInput={(e) => setCwd(e.currentTarget.value)} />
      </label>
      <label class="field">
        <span>Prompt</span>
        <textarea
          name="prompt"
          rows={3}
          value={prompt}
          onInput={(e) => setPrompt(e.currentTarget.value)}
        />
      </label>
      <div class="grid2">
        <label class="field">
          <span>Approvals</span>
          <select
            name="approvalPolicy"
            value={policy}
            onChange={(e) => setPolicy(e.currentTarget.value)}
          >
            <option value="untrusted">untrusted (ask for most commands)</option>
            <option value="on-request">on-request</option>
            <option value="never">never</option>
          </select>
        </label>
        <label class="field">
          <span>Sandbox</span>
          <select
            name="sandbox"
            value={sandbox}
            onChange={(e) => setSandbox(e.currentTarget.value)}
          >
            <option value="read-only">read-only</option>
            <option value="workspace-write">workspace-write</option>
            <option value="danger-full-access">danger-full-access</option>
          </select>
        </label>
      </div>
      <div class="actions">
        <Button type="submit" kind="primary" disabled={busy}>
          Start
        </Button>
        <Button onClick={() => setOpen(false)}>Cancel</Button>
      </div>
      <ErrorLine error={error} />
    </form>
  );
}

/**
 * `pane`: beside the open session on a desktop (an aside of its own height and scroll, not the
 * page's main); `current`: the session open beside it, marked in the list.
 */
export function SessionsPage({ pane = false, current }: { pane?: boolean; current?: string }) {
  const [filters, setFilters] = useState<Filters>({
    archived: 'false',
    sort: 'updated',
    cwd: '',
    branch: '',
    source: '',
  });
  const [rows, setRows] = useState<SessionJson[]>([]);
  const [total, setTotal] = useState(0);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [q, setQ] = useState('');
  const [role, setRole] = useState('both');
  const [found, setFound] = useState<{ q: string; answer: SessionSearchJson } | null>(null);

  // A "Load more" still under way when the filters change, or filters changed twice quickly:
  // only the newest request's answer is applied (no old rows or cursor appended to new ones).
  const listing = useMemo(newestWins, []);
  const searching = useMemo(newestWins, []);
  const load = async (f: Filters, after?: string) => {
    const current = listing.take();
    setBusy(true);
    setError(null);
    try {
      const r = await api<SessionListJson>('GET', `/api/sessions?${query(f, after)}`);
      if (!current()) return;
      setRows((old) => (after ? [...old, ...r.sessions] : r.sessions));
      setTotal(r.total);
      setCursor(r.nextCursor);
    } catch (e) {
      if (current()) setError(message(e));
    } finally {
      if (current()) setBusy(false);
    }
  };
  useEffect(() => void load(filters), [filters]);
  // A session opened beside the list that it does not show yet (just started): list it.
  useEffect(() => {
    if (pane && current && !busy && !rows.some((r) => r.id === current)) void load(filters);
  }, [current]);

  const search = async (e: Event) => {
    e.preventDefault();
    const text = q.trim();
    const current = searching.take();
    if (!text) return setFound(null);
    setBusy(true);
    setError(null);
    try {
      const p = new URLSearchParams({ q: text, limit: '50' });
      if (role !== 'both') p.set('role', role);
      const answer = await api<SessionSearchJson>('GET', `/api/sessions/search?${p}`);
      if (current()) setFound({ q: text, answer });
    } catch (err) {
      if (current()) setError(message(err));
    } finally {
      if (current()) setBusy(false);
    }
  };
  const set = (k: keyof Filters) => (e: Event) =>
    setFilters({ ...filters, [k]: (e.currentTarget as HTMLInputElement).value });

  const Wrap = pane ? 'aside' : 'main';
  return (
    <Wrap class={pane ? 'pane' : undefined} aria-label={pane ? 'sessions' : undefined}>
      <NewSession />
      <form class="card stack" role="search" onSubmit={(e) => void search(e)}>
        <div class="inline">
          <input
            type="search"
            name="q"
            aria-label="search messages"
            placeholder="search messages"
            value={q}
            onInput={(e) => setQ(e.currentTarget.value)}
          />
          <select aria-label="role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <option value="both">all</option>
            <option value="user">user</option>
            <option value="assistant">assistant</option>
          </select>
          <Button type="submit" kind="primary">
            Search
          </Button>
        </div>
        <details>
          <summary>Filters</summary>
          <div class="grid2">
            <label class="field">
              <span>Archived</span>
              <select value={filters.archived} onChange={set('archived')}>
                <option value="false">active</option>
                <option value="true">archived</option>
                <option value="all">all</option>
              </select>
            </label>
            <label class="field">
              <span>Sort</span>
              <select value={filters.sort} onChange={set('sort')}>
                <option value="updated">last updated</option>
                <option value="created">created</option>
              </select>
            </label>
            <label class="field">
              <span>cwd (exact)</span>
              <input value={filters.cwd} onChange={set('cwd')} />
            </label>
            <label class="field">
              <span>git branch</span>
              <input value={filters.branch} onChange={set('branch')} />
            </label>
            <label class="field">
              <span>source</span>
              <input
                value={filters.source}
                onChange={set('source')}
                placeholder="cli, vscode, exec…"
              />
            </label>
          </div>
        </details>
      </form>
      <ErrorLine error={error} />
      {found ? (
        <Section
          title={`${found.answer.results.length} sessions match “${found.q}”${found.answer.truncated ? ' (more not searched)' : ''}`}
          actions={<Button onClick={() => (searching.take(), setFound(null))}>Clear</Button>}
        >
          <ul class="list" data-testid="search-results">
            {found.answer.results.map((r) => (
              <li class="row" key={r.sessionId}>
                <a class="row-link" href={href('s', r.sessionId)}>
                  <span class="row-title">{r.session?.title || r.sessionId}</span>
                  {r.matches.slice(0, 3).map((m, i) => (
                    <span class="snippet" key={i}>
                      <span class="muted">{m.role}: </span>
                      <Highlight text={m.snippet} q={found.q} />
                    </span>
                  ))}
                </a>
              </li>
            ))}
          </ul>
        </Section>
      ) : (
        <Section title={`Sessions (${total})`}>
          <ul class="list" data-testid="sessions">
            {rows.map((s) => (
              <SessionItem key={s.id} s={s} current={s.id === current} />
            ))}
          </ul>
          {cursor ? (
            <Button disabled={busy} onClick={() => void load(filters, cursor)}>
              Load more
            </Button>
          ) : null}
        </Section>
      )}
    </Wrap>
  );
}
