/**
 * `codex-sm group create|list|show|add|remove|run|pause|resume|delete`: a client of the running
 * service's groups API (docs/queues.md). A group may be named by a unique id prefix; `--json`
 * prints the service's answer as it is.
 */
import type { Command } from 'commander';
import type { GroupJson } from '../../../service/groups/group-json.js';
import {
  collect,
  groupCreateBody,
  groupRunBody,
  promptText,
  wholeNumber,
  type GroupRunFlags,
} from '../queue-api.js';
import { groupDetail, groupLine, groupList, shortId } from '../queue-render.js';
import { addRecordCommands, callOnRecord, type RecordKind } from '../record-commands.js';
import {
  addTurnSettingFlags,
  call,
  clientCommand,
  connection,
  readStdin,
  runClientCommand,
} from '../service-client.js';

const GROUP: RecordKind = { noun: 'group', collection: 'groups', notFound: 'group_not_found' };

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

  addRecordCommands<GroupJson, GroupJson>(
    group,
    GROUP,
    { list: groupList, show: groupDetail, changed: groupLine },
    {
      show: 'a group, its sessions and its latest run',
      delete: 'delete a group (its sessions stay)',
      verbs: [
        ['pause', 'start no new turns of the current run (running ones finish)'],
        ['resume', 'go on with the current run'],
      ],
    },
  );

  clientCommand(
    group.command('add <group> <sessionId>').description('add a session to a group'),
  ).action((given: string, sessionId: string, _o: unknown, cmd: Command) =>
    runClientCommand(cmd, async (f) => {
      const g = await callOnRecord<GroupJson>(f, GROUP, given, ['sessions'], {
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
      const g = await callOnRecord<GroupJson>(f, GROUP, given, ['sessions', sessionId], {
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
        const g = await callOnRecord<GroupJson>(f, GROUP, given, ['run'], { body });
        return {
          json: g,
          human: `${groupLine(g)}\nfollow it: codex-sm group show ${shortId(g.id)}`,
        };
      }),
    );
}
