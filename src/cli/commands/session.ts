/**
 * `codex-sm session list|show|search|watch|start|send|resume|fork|archive|approve`: a client of
 * the running service's sessions API (endpoint and token from the same config the service
 * uses). Human tables on a TTY, one JSON object otherwise; `watch` streams one JSON object per
 * event (NDJSON) when not on a TTY.
 */
import type { Command } from 'commander';
import { CodexSmError } from '../../errors.js';
import { clip, columns, minute, runCommand, table, wantsJson } from '../output.js';
import {
  addTurnSettingFlags,
  apiPath,
  call,
  clientCommand as client,
  clientFlags,
  connection,
  type TurnSettingFlags,
} from '../service-client.js';
import { beginAndWait, watch } from '../session-follow.js';
import type {
  SessionJson,
  SessionListJson,
  SessionSearchJson,
  SessionStartedJson,
  TurnStartedJson,
} from '../../../service/sessions/session-json.js';

function sessionRows(list: SessionJson[]): string {
  if (!list.length) return 'no sessions';
  return columns(
    ['ID', 'UPDATED', 'SOURCE', 'BRANCH', 'CWD', 'TITLE'],
    list.map((s) => [
      s.id,
      minute(s.updatedAt),
      s.source ?? '-',
      clip(s.git?.branch, 16),
      clip(s.cwd, 32),
      clip(s.title, 60) + (s.archived ? ' [archived]' : ''),
    ]),
  );
}

function sessionDetail(s: SessionJson): string {
  return table([
    ['id', s.id],
    ['title', s.title],
    ['status', s.status ?? 'notLoaded'],
    ['cwd', s.cwd],
    ['source', s.source],
    ['branch', s.git?.branch],
    ['created', s.createdAt],
    ['updated', s.updatedAt],
    ['messages', s.messageCount],
    ['archived', s.archived],
    ['rollout', s.rolloutPath],
  ]);
}

function qs(params: Record<string, unknown>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== false) u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

type Flags = Record<string, unknown>;

const turnsPath = (id: string) => apiPath('sessions', id, 'turns');

/** What `--wait` prints and exits with: 0 only for a turn that completed. */
const waited = <J>(json: J, turnId: string, status: string | undefined) => ({
  json,
  human: `turn ${turnId} ${status ?? 'ended'}`,
  exitCode: status === 'completed' ? 0 : 1,
});
const opts = (cmd: Command) => clientFlags<Flags>(cmd);

export function registerSession(program: Command): void {
  const session = program
    .command('session')
    .description(
      'list, read, search, follow, start and steer Codex sessions through the running service',
    );

  client(session.command('list').description('list sessions (newest first)'))
    .option('--source <source>', 'cli | vscode | exec | appServer | subagent ...')
    .option('--cwd <dir>', 'exact working directory')
    .option('--branch <name>', 'git branch')
    .option('--archived', 'archived sessions only')
    .option('--all', 'archived and not')
    .option('--sort <key>', 'created | updated', 'created')
    .option('--order <dir>', 'desc | asc', 'desc')
    .option('--limit <n>', 'page size (1-500)', '50')
    .option('--offset <n>', 'skip this many')
    .option('--cursor <c>', 'nextCursor from a previous page')
    .action(async (_o: unknown, cmd: Command) => {
      const f = opts(cmd);
      await runCommand(f, async () => {
        const q = qs({
          source: f.source,
          cwd: f.cwd,
          branch: f.branch,
          archived: f.all ? 'all' : f.archived ? 'true' : undefined,
          sort: f.sort,
          order: f.order,
          limit: f.limit,
          offset: f.offset,
          cursor: f.cursor,
        });
        const r = await call<SessionListJson>(connection(f), `/api/sessions${q}`);
        const tail = `\n${r.offset + 1}-${r.offset + r.sessions.length} of ${r.total}${r.nextCursor ? `  (next: --cursor ${r.nextCursor})` : ''}`;
        return { json: r, human: sessionRows(r.sessions) + (r.sessions.length ? tail : '') };
      });
    });

  client(session.command('show <id>').description('one session')).action(
    async (id: string, _o: unknown, cmd: Command) => {
      const f = opts(cmd);
      await runCommand(f, async () => {
        const s = await call<SessionJson>(connection(f), apiPath('sessions', id));
        return { json: s, human: sessionDetail(s) };
      });
    },
  );

  client(
    session
      .command('search <query...>')
      .description('full-text search over user and assistant messages'),
  )
    .option('--role <role>', 'user | assistant | both', 'both')
    .option('--case-sensitive', 'match case')
    .option('--limit <n>', 'sessions to return', '20')
    .option('--session <id>', 'search inside one session')
    .action(async (words: string[], _o: unknown, cmd: Command) => {
      const f = opts(cmd);
      await runCommand(f, async () => {
        const base = f.session
          ? apiPath('sessions', String(f.session), 'search')
          : '/api/sessions/search';
        const r = await call<SessionSearchJson>(
          connection(f),
          base +
            qs({
              q: words.join(' '),
              role: f.role,
              caseSensitive: f.caseSensitive ? 'true' : undefined,
              limit: f.limit,
            }),
        );
        const human = r.results.length
          ? r.results
              .map(
                (x) =>
                  `${x.sessionId}  ${clip(x.session?.title, 60)}\n${x.matches.map((m) => `    ${m.role}: ${m.snippet}`).join('\n')}`,
              )
              .join('\n') +
            `\n${r.results.length} session(s) in ${r.elapsedMs} ms${r.truncated ? ' (budget reached: narrow the query for more)' : ''}`
          : 'no matches';
        return { json: r, human };
      });
    });

  client(
    session
      .command('watch <id>')
      .description('follow a session live (existing events, then new ones; Ctrl-C to stop)'),
  ).action(async (id: string, _o: unknown, cmd: Command) => {
    const f = opts(cmd);
    try {
      await watch(connection(f), id, wantsJson(f) ? 'json' : 'human');
    } catch (e) {
      await runCommand(f, () => Promise.reject(e));
    }
  });

  const threadFlags = (c: Command) =>
    addTurnSettingFlags(c.option('--cwd <dir>', 'working directory'));
  const threadBody = (f: Flags & TurnSettingFlags) => ({
    cwd: f.cwd,
    model: f.model,
    sandbox: f.sandbox,
    approvalPolicy: f.approvalPolicy,
  });

  threadFlags(
    client(
      session
        .command('start [prompt...]')
        .description('start a session (and a first turn when a prompt is given)'),
    ),
  )
    .option('--name <name>', 'session name')
    .option('--wait', 'with a prompt: follow the first turn until it completes')
    .action(async (words: string[], _o: unknown, cmd: Command) => {
      const f = opts(cmd);
      await runCommand(f, async () => {
        const prompt = words.join(' ');
        if (f.wait && !prompt)
          throw new CodexSmError('usage', '--wait follows the first turn: give a prompt', {
            hint: 'codex-sm session start --wait PROMPT...',
          });
        const conn = connection(f);
        const start = (input?: string) =>
          call<SessionStartedJson>(conn, '/api/sessions', {
            body: {
              ...threadBody(f),
              cwd: (f.cwd as string | undefined) ?? process.cwd(),
              name: f.name,
              ...(input ? { input } : {}),
            },
          });
        if (!f.wait) {
          const r = await start(prompt);
          return {
            json: r,
            human: `started ${r.session.id}${r.turn ? `, turn ${r.turn.id}` : ''}\nfollow it: codex-sm session watch ${r.session.id}`,
          };
        }
        // --wait: the session first, then its turn once the event stream is open (beginAndWait).
        const r = await start();
        // At once: a person who stops the wait (Ctrl-C) still knows which session it was.
        if (!wantsJson(f)) process.stdout.write(`started ${r.session.id}\n`);
        const { answer, status } = await beginAndWait(
          conn,
          r.session.id,
          wantsJson(f) ? 'quiet' : 'human',
          () =>
            call<TurnStartedJson>(conn, turnsPath(r.session.id), {
              body: { input: prompt },
            }),
        );
        return waited({ ...r, turn: answer.turn, status }, answer.turnId, status);
      });
    });

  client(session.command('send <id> <prompt...>').description('start a turn in a session'))
    .option('--image <pathOrUrl...>', 'attach images')
    .option('--steer', 'add the input to the running turn instead (turn/steer)')
    .option('--wait', 'follow the turn until it completes')
    .action(async (id: string, words: string[], _o: unknown, cmd: Command) => {
      const f = opts(cmd);
      await runCommand(f, async () => {
        const conn = connection(f);
        const body = {
          input: words.join(' '),
          ...(f.image && !f.steer ? { images: f.image } : {}),
        };
        if (f.steer) {
          const r = await call<{ turnId: string }>(conn, apiPath('sessions', id, 'steer'), {
            body,
          });
          return { json: r, human: `turn ${r.turnId} steered` };
        }
        const begin = () => call<TurnStartedJson>(conn, turnsPath(id), { body });
        if (!f.wait) {
          const r = await begin();
          return { json: r, human: `turn ${r.turnId} started` };
        }
        const { answer, status } = await beginAndWait(
          conn,
          id,
          wantsJson(f) ? 'quiet' : 'human',
          begin,
        );
        return waited({ ...answer, status }, answer.turnId, status);
      });
    });

  for (const [name, what] of [
    ['resume', 'resume a session in the app-server'],
    ['fork', 'fork a session into a new one'],
  ] as const) {
    threadFlags(client(session.command(`${name} <id>`).description(what))).action(
      async (id: string, _o: unknown, cmd: Command) => {
        const f = opts(cmd);
        await runCommand(f, async () => {
          const r = await call<{ session: SessionJson }>(
            connection(f),
            apiPath('sessions', id, name),
            { body: threadBody(f) },
          );
          return {
            json: r,
            human: `${name === 'fork' ? 'forked into' : 'resumed'} ${r.session.id}`,
          };
        });
      },
    );
  }

  client(
    session
      .command('archive <id>')
      .description('archive a session (moves its rollout to archived_sessions/)'),
  )
    .option('--undo', 'unarchive instead')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const f = opts(cmd);
      await runCommand(f, async () => {
        const r = await call<{ session: SessionJson }>(
          connection(f),
          apiPath('sessions', id, f.undo ? 'unarchive' : 'archive'),
          { body: {} },
        );
        return { json: r, human: `${f.undo ? 'unarchived' : 'archived'} ${id}` };
      });
    });

  client(
    session.command('approve [approvalId]').description('list pending approvals, or answer one'),
  )
    .option('--decision <d>', 'accept | acceptForSession | decline | cancel', 'accept')
    .option('--session <id>', 'only approvals of this session (listing)')
    .action(async (approvalId: string | undefined, _o: unknown, cmd: Command) => {
      const f = opts(cmd);
      await runCommand<object>(f, async () => {
        const conn = connection(f);
        if (!approvalId) {
          const r = await call<{
            approvals: {
              id: string;
              method: string;
              threadId: string;
              params: { command?: string; reason?: string };
              expiresAt: string;
            }[];
          }>(conn, `/api/approvals${qs({ sessionId: f.session })}`);
          const human = r.approvals.length
            ? columns(
                ['ID', 'SESSION', 'KIND', 'EXPIRES', 'WHAT'],
                r.approvals.map((a) => [
                  a.id,
                  a.threadId,
                  a.method.split('/')[1] ?? a.method,
                  minute(a.expiresAt),
                  clip(a.params?.command ?? a.params?.reason ?? '', 60),
                ]),
              )
            : 'no pending approvals';
          return { json: r, human };
        }
        const r = await call<{ id: string; decision: string }>(
          conn,
          apiPath('approvals', approvalId),
          { body: { decision: f.decision } },
        );
        return { json: r, human: `${r.id}: ${r.decision}` };
      });
    });
}
