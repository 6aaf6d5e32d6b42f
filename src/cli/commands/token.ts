/**
 * `codex-sm token create|list|revoke|rotate`: scoped tokens for other devices (a phone that
 * reads sessions and answers approvals, a script that runs queues). A client of the running
 * service's `/api/tokens` (needs the owner's token, found like the `session` commands). The
 * token itself is printed once, by `create` and `rotate`; only its hash is kept.
 */
import type { Command } from 'commander';
import { columns } from '../output.js';
import { apiPath, call, clientCommand, connection, runClientCommand } from '../service-client.js';

interface TokenJson {
  id: string;
  name: string;
  /** `browser`: a dashboard login (`codex-sm open`); absent from services before it. */
  kind?: 'token' | 'browser';
  /** The token a browser session was logged in with: an id, or `owner:<fingerprint>` for the owner's. */
  parentId?: string | null;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  /** Only in the answers of create and rotate. */
  token?: string;
  closedConnections?: number;
}

const SCOPE_HELP =
  'sessions:read, sessions:write, approvals, queues, groups, metrics, app-server (the relay: full power over Codex), admin (everything)';

/** `a,b c` → ['a', 'b', 'c']. Pure. */
export function scopeList(v: string, prev: string[] = []): string[] {
  return [...prev, ...v.split(/[\s,]+/).filter(Boolean)];
}

function shownOnce(t: TokenJson): string {
  return `${t.id}  ${t.name}  [${t.scopes.join(', ')}]${t.expiresAt ? `  expires ${t.expiresAt}` : ''}\ntoken: ${t.token ?? '?'}\n(shown this once: store it now; only its hash is kept)`;
}

export function tokenTable(tokens: TokenJson[]): string {
  if (!tokens.length) return 'no tokens (the owner token in the token file always works)';
  return columns(
    ['ID', 'KIND', 'NAME', 'SCOPES', 'EXPIRES', 'LAST USED', 'STATE'],
    tokens.map((t) => [
      t.id,
      t.kind === 'browser' ? `browser (via ${t.parentId ?? 'owner'})` : (t.kind ?? 'token'),
      t.name,
      t.scopes.join(','),
      t.expiresAt ?? 'never',
      t.lastUsedAt ?? 'never',
      t.revokedAt
        ? `revoked ${t.revokedAt}`
        : t.expiresAt && t.expiresAt < new Date().toISOString()
          ? 'expired'
          : 'live',
    ]),
  );
}

export function registerToken(program: Command): void {
  const token = program
    .command('token')
    .description('scoped tokens for other devices and scripts (create, list, revoke, rotate)');

  clientCommand(token.command('create').description('create a scoped token (printed once)'))
    .requiredOption('--name <name>', 'what it is for, e.g. phone')
    .requiredOption('--scope <scopes>', `comma-separated: ${SCOPE_HELP}`, scopeList)
    .option('--expires <duration>', 'e.g. 30d, 12h, 90m (default: never)')
    .action((_o: unknown, cmd: Command) =>
      runClientCommand<{ name: string; scope: string[]; expires?: string }>(cmd, async (f) => {
        const t = await call<TokenJson>(connection(f), '/api/tokens', {
          body: { name: f.name, scopes: f.scope, ...(f.expires ? { expiresIn: f.expires } : {}) },
        });
        return { json: t, human: shownOnce(t) };
      }),
    );

  clientCommand(
    token.command('list').description('the scoped tokens (never their secrets)'),
  ).action((_o: unknown, cmd: Command) =>
    runClientCommand(cmd, async (f) => {
      const r = await call<{ tokens: TokenJson[] }>(connection(f), '/api/tokens');
      return { json: r, human: tokenTable(r.tokens) };
    }),
  );

  clientCommand(
    token.command('revoke <id>').description('revoke a token; its open streams end at once'),
  ).action((id: string, _o: unknown, cmd: Command) =>
    runClientCommand(cmd, async (f) => {
      const t = await call<TokenJson>(connection(f), apiPath('tokens', id), { method: 'DELETE' });
      return {
        json: t,
        human: `revoked ${t.id} (${t.name}); ${t.closedConnections ?? 0} connection(s) closed`,
      };
    }),
  );

  clientCommand(
    token
      .command('rotate <id>')
      .description('a new secret for a token (the old one stops working)'),
  ).action((id: string, _o: unknown, cmd: Command) =>
    runClientCommand(cmd, async (f) => {
      const t = await call<TokenJson>(connection(f), `${apiPath('tokens', id)}/rotate`, {
        method: 'POST',
        body: {},
      });
      return { json: t, human: shownOnce(t) };
    }),
  );
}
