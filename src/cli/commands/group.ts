/**
 * `codex-sm group create|list|show|add|remove|run|pause|resume|delete`: a client of the running
 * service's groups API (docs/queues.md). A group may be named by a unique id prefix; `--json`
 * prints the service's answer as it is.
 */
import type { Command } from 'commander';
import {
  collect,
  groupCreateBody,
  groupRunBody,
  promptText,
  wholeNumber,
  type DeletedJson,
  type GroupJson,
  type GroupRunFlags,
} from '../queue-api.js';
import { deletedLine, groupDetail, groupLine, groupList, shortId } from '../queue-render.js';
import {
  addTurnSettingFlags,
  apiPath,
  call,
  clientCommand,
  connection,
  readStdin,
  resolveListedId,
  runClientCommand,
  type ServiceConnection,
} from '../service-client.js';

function groupId(conn: ServiceConnection, given: string): Promise<string> {
  return resolveListedId(conn, '/api/groups', 'groups', given, {
    noun: 'group',
    code: 'group_not_found',
    listedBy: 'codex-sm group list',
  });
}

export function registerGroup(program: Command): void {
  const group = program
    .command('group')
    .description('groups of sessions: send one prompt to all of them');

  clientCommand(
    group.command('create <name> [sessionIds...]').description('create a group of sessions'),
  )
    .option('--description <text>', 'what the group is for')
    .action((name: string, sessionIds: string[], _o: unknown, cmd: Command) =>
      runClientCommand<{ description?: string }>(cmd, async (f) => {
        const body = groupCreateBody(name, sessionIds, f.description);
        const g = await call<GroupJson>(connection(f), '/api/groups', { body });
        return { json: g, human: `created ${groupLine(g)}` };
      }),
    );

  clientCommand(group.command('list').description('list groups')).action(
    (_o: unknown, cmd: Command) =>
      runClientCommand(cmd, async (f) => {
        const r = await call<{ groups: GroupJson[] }>(connection(f), '/api/groups');
        return { json: r, human: groupList(r.groups) };
      }),
  );

  clientCommand(
    group.command('show <group>').description('a group, its sessions and its latest run'),
  ).action((given: string, _o: unknown, cmd: Command) =>
    runClientCommand(cmd, async (f) => {
      const conn = connection(f);
      const g = await call<GroupJson>(conn, apiPath('groups', await groupId(conn, given)));
      return { json: g, human: groupDetail(g) };
    }),
  );

  clientCommand(
    group.command('add <group> <sessionId>').description('add a session to a group'),
  ).action((given: string, sessionId: string, _o: unknown, cmd: Command) =>
    runClientCommand(cmd, async (f) => {
      const conn = connection(f);
      const id = await groupId(conn, given);
      const g = await call<GroupJson>(conn, apiPath('groups', id, 'sessions'), {
        body: { sessionId },
      });
      return { json: g, human: groupLine(g) };
    }),
  );

  clientCommand(
    group
      .command('remove <group> <sessionId>')
      .description(
        'remove a session from a group (its pending turn in the current run is cancelled)',
      ),
  ).action((given: string, sessionId: string, _o: unknown, cmd: Command) =>
    runClientCommand(cmd, async (f) => {
      const conn = connection(f);
      const id = await groupId(conn, given);
      const g = await call<GroupJson>(conn, apiPath('groups', id, 'sessions', sessionId), {
        method: 'DELETE',
      });
      return { json: g, human: groupLine(g) };
    }),
  );

  addTurnSettingFlags(
    clientCommand(
      group
        .command('run <group> <prompt>')
        .description('send one prompt to every session of the group (`-`: read it from stdin)'),
    ),
  )
    .option('--max-concurrent <n>', 'turns at a time, 1-64 (default 4)', wholeNumber(1, 64))
    .option('--image <pathOrUrl>', 'attach an image (repeatable)', collect)
    .action((given: string, prompt: string, _o: unknown, cmd: Command) =>
      runClientCommand<GroupRunFlags>(cmd, async (f) => {
        const body = groupRunBody(await promptText(prompt, readStdin), f, process.cwd());
        const conn = connection(f);
        const id = await groupId(conn, given);
        const g = await call<GroupJson>(conn, apiPath('groups', id, 'run'), { body });
        return {
          json: g,
          human: `${groupLine(g)}\nfollow it: codex-sm group show ${shortId(g.id)}`,
        };
      }),
    );

  for (const [verb, what] of [
    ['pause', 'start no new turns of the current run (running ones finish)'],
    ['resume', 'go on with the current run'],
  ] as const)
    clientCommand(group.command(`${verb} <group>`).description(what)).action(
      (given: string, _o: unknown, cmd: Command) =>
        runClientCommand(cmd, async (f) => {
          const conn = connection(f);
          const id = await groupId(conn, given);
          const g = await call<GroupJson>(conn, apiPath('groups', id, verb), { body: {} });
          return { json: g, human: groupLine(g) };
        }),
    );

  clientCommand(
    group.command('delete <group>').description('delete a group (its sessions stay)'),
  ).action((given: string, _o: unknown, cmd: Command) =>
    runClientCommand(cmd, async (f) => {
      const conn = connection(f);
      const id = await groupId(conn, given);
      const r = await call<DeletedJson>(conn, apiPath('groups', id), { method: 'DELETE' });
      return { json: r, human: deletedLine('group', r) };
    }),
  );
}
