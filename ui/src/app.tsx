/**
 * The shell: log in (a code from the URL fragment, or the login page), then the navigation and
 * the page the hash names. The session cookie is HttpOnly: whether we are logged in is asked
 * of the service (`GET /api/ui/session`). While logged in, one stream keeps the pending
 * approvals current (approvals-feed.ts).
 */
import { useEffect, useState } from 'preact/hooks';
import type { Scope } from '../../service/auth/scopes.js';
import { can, checkSession, login, logout, message, session } from './api';
import { approvalsFeed, followApprovals } from './approvals-feed';
import { ApprovalsPage } from './pages/approvals';
import { LoginPage } from './pages/login';
import { GroupPage, GroupsPage } from './pages/groups';
import { QueuePage, QueuesPage } from './pages/queues';
import { SessionPage } from './pages/session';
import { SessionsPage } from './pages/sessions';
import { StatusPage } from './pages/status';
import { wide } from './layout';
import { href, type Page as PageName } from './paths';
import { route } from './route';
import { ErrorLine } from './ui';

/** `#code=…` from `codex-sm open`: taken once, and gone from the address bar and history. */
function takeLoginCode(): string | undefined {
  const m = /^#code=([^&]+)/.exec(location.hash);
  if (!m) return undefined;
  history.replaceState(null, '', location.pathname + location.search + '#/status');
  return decodeURIComponent(m[1] ?? '');
}

/** The scope each page's data needs (service/auth/scopes.ts); the status page needs none. */
const SCOPE_OF: Record<PageName, Scope | null> = {
  status: null,
  sessions: 'sessions:read',
  s: 'sessions:read',
  approvals: 'approvals',
  queues: 'queues',
  q: 'queues',
  groups: 'groups',
  g: 'groups',
};

function allowed(page: PageName): boolean {
  const need = SCOPE_OF[page];
  return need === null || can(need);
}

function Nav() {
  const r = route.value;
  const pending = approvalsFeed.value.pending.length;
  // Pages the session's scopes do not allow are not offered (docs/dashboard.md).
  const link = (page: PageName, label: string, also: PageName[] = []) =>
    allowed(page) && (
      <a
        href={href(page)}
        class={r.page === page || also.includes(r.page) ? 'current' : ''}
        aria-current={r.page === page ? 'page' : undefined}
      >
        {label}
      </a>
    );
  return (
    <nav class="nav" aria-label="pages">
      {link('status', 'Status')}
      {link('sessions', 'Sessions', ['s'])}
      {allowed('approvals') && (
        <a
          href={href('approvals')}
          class={r.page === 'approvals' ? 'current' : ''}
          aria-current={r.page === 'approvals' ? 'page' : undefined}
        >
          Approvals{pending ? <span class="count">{pending}</span> : null}
        </a>
      )}
      {link('queues', 'Queues', ['q'])}
      {link('groups', 'Groups', ['g'])}
    </nav>
  );
}

/** A desktop: the sessions beside the one open (or beside a hint to pick one). */
function SessionsSplit({ id }: { id?: string }) {
  return (
    <div class="split">
      <SessionsPage pane current={id} />
      {id ? (
        <SessionPage key={id} id={id} />
      ) : (
        <main class="pick">
          <p class="muted center">Pick a session on the left, or start a new one.</p>
        </main>
      )}
    </div>
  );
}

function Page() {
  const r = route.value;
  if (!allowed(r.page))
    return (
      <main class="muted">
        this session may not see this page (it lacks the {SCOPE_OF[r.page]} scope)
      </main>
    );
  switch (r.page) {
    case 'sessions':
      return wide.value ? <SessionsSplit /> : <SessionsPage />;
    case 's':
      if (wide.value) return <SessionsSplit id={r.id} />;
      return r.id ? <SessionPage key={r.id} id={r.id} /> : <SessionsPage />;
    case 'approvals':
      return <ApprovalsPage />;
    case 'queues':
      return <QueuesPage />;
    case 'q':
      return r.id ? <QueuePage key={r.id} id={r.id} /> : <QueuesPage />;
    case 'groups':
      return <GroupsPage />;
    case 'g':
      return r.id ? <GroupPage key={r.id} id={r.id} /> : <GroupsPage />;
    default:
      return <StatusPage />;
  }
}

export function App() {
  const [loginError, setLoginError] = useState<string | null>(null);
  const [logoutError, setLogoutError] = useState<string | null>(null);
  const logOut = () => {
    setLogoutError(null);
    logout().catch((e) => setLogoutError(`not logged out: ${message(e)}`));
  };
  useEffect(() => {
    const code = takeLoginCode();
    if (code)
      login({ code }).catch((e) => {
        setLoginError(`the login link did not work: ${message(e)}`);
        session.value = null;
      });
    else void checkSession();
  }, []);
  const s = session.value;
  const loggedIn = !!s;
  // One stream of approvals while logged in (the nav's count, the inbox); ends at logout.
  // Only with the approvals scope: without it the stream would be refused (and audited) again and again.
  const mayApprove = loggedIn && can('approvals');
  useEffect(() => (mayApprove ? followApprovals() : undefined), [mayApprove]);
  if (s === undefined) return <p class="muted center">…</p>;
  if (s === null) return <LoginPage error={loginError} />;
  return (
    <>
      <header class="top">
        <a class="brand" href={href('status')}>
          codex-sm
        </a>
        <button type="button" class="btn plain logout" onClick={logOut}>
          Log out
        </button>
        <Nav />
      </header>
      <ErrorLine error={logoutError} />
      <Page />
    </>
  );
}
