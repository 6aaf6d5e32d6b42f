/**
 * `codex-sm queue create|add|list|show|start|pause|resume|stop|edit|remove|move|mode|delete`: a
 * client of the running service's queues API (docs/queues.md). A queue, and a prompt in it, may
 * be named by a unique id prefix; `--json` prints the service's answer as it is.
 */
import { Argument, type Command } from 'commander';
import type {
  PromptJson,
  QueueJson,
  QueueSummaryJson,
} from '../../../service/queues/queue-json.js';
import { PROMPT_MODES, type PromptMode } from '../../../service/store/enums.js';
import {
  collect,
  promptInput,
  promptText,
  queueCreateBody,
  wholeNumber,
  type DeletedJson,
  type PromptFlags,
  type QueueCreateFlags,
} from '../queue-api.js';
import {
  promptLine,
  promptRows,
  queueDetail,
  queueLine,
  queueList,
  shortId,
} from '../queue-render.js';
import { addRecordCommands, callOnRecord, recordId, type RecordKind } from '../record-commands.js';
import {
  addTurnSettingFlags,
  apiPath,
  call,
  clientCommand,
  connection,
  readStdin,
  resolvePrefix,
  runClientCommand,
  type ClientFlags,
} from '../service-client.js';

const QUEUE: RecordKind = { noun: 'queue', collection: 'queues', notFound: 'queue_not_found' };

/** One request on the prompt `promptGiven` (an id or a unique prefix) of a queue names. */
async function callOnPrompt<T>(
  f: ClientFlags,
  queueGiven: string,
  promptGiven: string,
  path: string[],
  opts: { method?: string; body?: unknown } = {},
): Promise<T> {
  const conn = connection(f);
  const queue = await recordId(conn, QUEUE, queueGiven);
  const q = await call<QueueJson>(conn, apiPath('queues', queue));
  const prompt = resolvePrefix(
    q.prompts.map((p) => p.id),
    promptGiven,
    { noun: 'prompt', code: 'prompt_not_found', listedBy: `codex-sm queue show ${shortId(queue)}` },
  );
  return call<T>(conn, apiPath('queues', queue, 'prompts', prompt, ...path), opts);
}

export function registerQueue(program: Command): void {
  const queue = program
    .command('queue')
    .description('queues of prompts the service runs one turn at a time in one Codex thread');

  addTurnSettingFlags(
    clientCommand(
      queue
        .command('create <name> [prompts...]')
        .description('create a queue (each PROMPT argument is one prompt; `queue start` runs it)'),
    ),
  )
    .option('--cwd <dir>', 'run in a new thread in this directory (made absolute here)')
    .option('--session <id>', 'run in this existing session instead')
    .option(
      '--max-retries <n>',
      'run an interrupted prompt again up to n times (default 0)',
      wholeNumber(0),
    )
    .action((name: string, prompts: string[], _o: unknown, cmd: Command) =>
      runClientCommand<QueueCreateFlags>(cmd, async (f) => {
        const body = queueCreateBody(name, prompts, f, process.cwd());
        const q = await call<QueueJson>(connection(f), '/api/queues', { body });
        return {
          json: q,
          human: `created ${queueLine(q)}\nstart it: codex-sm queue start ${shortId(q.id)}`,
        };
      }),
    );

  clientCommand(
    queue
      .command('add <queue> <prompt>')
      .description('add a prompt at the end of a queue (`-`: read it from stdin)'),
  )
    .option('--manual', 'wait for `queue start` before running it')
    .option('--image <pathOrUrl>', 'attach an image (repeatable)', collect)
    .action((given: string, prompt: string, _o: unknown, cmd: Command) =>
      runClientCommand<PromptFlags>(cmd, async (f) => {
        const body = promptInput(await promptText(prompt, readStdin), f, process.cwd());
        const p = await callOnRecord<PromptJson>(f, QUEUE, given, ['prompts'], { body });
        return { json: p, human: `added ${promptLine(p)}` };
      }),
    );

  addRecordCommands<QueueSummaryJson, QueueJson>(
    queue,
    QUEUE,
    { list: queueList, show: queueDetail, changed: queueLine },
    {
      show: 'a queue and its prompts',
      delete: 'delete a queue and its prompts',
      verbs: [
        ['start', 'start or continue a queue; also the go-ahead for a waiting manual prompt'],
        ['pause', 'pause a queue after its current turn'],
        ['resume', 'resume a paused queue'],
      ],
    },
  );

  clientCommand(queue.command('stop <queue>').description('stop a queue after its current turn'))
    .option('--now', 'interrupt the current turn instead (its prompt ends `interrupted`)')
    .action((given: string, _o: unknown, cmd: Command) =>
      runClientCommand<{ now?: boolean }>(cmd, async (f) => {
        const body = f.now ? { now: true } : {};
        const q = await callOnRecord<QueueJson>(f, QUEUE, given, ['stop'], { body });
        return { json: q, human: queueLine(q) };
      }),
    );

  clientCommand(
    queue
      .command('edit <queue> <promptId> <text>')
      .description('change the text of a pending prompt (`-`: read it from stdin)'),
  ).action((given: string, promptGiven: string, text: string, _o: unknown, cmd: Command) =>
    runClientCommand(cmd, async (f) => {
      const body = { text: await promptText(text, readStdin) };
      const p = await callOnPrompt<PromptJson>(f, given, promptGiven, [], {
        method: 'PATCH',
        body,
      });
      return { json: p, human: `edited ${promptLine(p)}` };
    }),
  );

  clientCommand(
    queue.command('remove <queue> <promptId>').description('remove a pending prompt'),
  ).action((given: string, promptGiven: string, _o: unknown, cmd: Command) =>
    runClientCommand(cmd, async (f) => {
      const r = await callOnPrompt<DeletedJson>(f, given, promptGiven, [], { method: 'DELETE' });
      return { json: r, human: `deleted prompt ${r.id}` };
    }),
  );

  clientCommand(
    queue
      .command('move <queue> <promptId>')
      .description('move a pending prompt among the pending ones')
      .argument('<position>', '1 = the next prompt to run', wholeNumber(1)),
  ).action((given: string, promptGiven: string, to: number, _o: unknown, cmd: Command) =>
    runClientCommand(cmd, async (f) => {
      const q = await callOnPrompt<QueueJson>(f, given, promptGiven, ['move'], { body: { to } });
      return { json: q, human: `${queueLine(q)}\n${promptRows(q.prompts)}` };
    }),
  );

  clientCommand(
    queue
      .command('mode <queue> <promptId>')
      .description('run a pending prompt by itself (auto) or after `queue start` (manual)')
      .addArgument(new Argument('<mode>').choices(PROMPT_MODES)),
  ).action((given: string, promptGiven: string, mode: PromptMode, _o: unknown, cmd: Command) =>
    runClientCommand(cmd, async (f) => {
      const p = await callOnPrompt<PromptJson>(f, given, promptGiven, ['mode'], {
        body: { mode },
      });
      return { json: p, human: promptLine(p) };
    }),
  );
}
