/**
 * The subcommands that queues and groups have alike (`list`, `show`, `delete`, state verbs such
 * as `pause`), and the one way both name a record: its id or a unique id prefix, resolved
 * against the service's list (docs/queues.md).
 */
import type { Command } from 'commander';
import type { ErrorCode } from '../errors.js';
import type { DeletedJson } from './queue-api.js';
import {
  apiPath,
  call,
  clientCommand,
  connection,
  resolvePrefix,
  runClientCommand,
  type ClientFlags,
  type ServiceConnection,
} from './service-client.js';

export interface RecordKind {
  /** `queue`: the command's name, and what messages call one. */
  noun: string;
  /** `queues`: the API's path under /api/ and the key of its list answer. */
  collection: string;
  /** The code of "no such record": the service's own, and ours for a prefix that names none. */
  notFound: ErrorCode;
}

/** The full id of the record `given` (an id or a unique prefix of one) names. */
export async function recordId(
  conn: ServiceConnection,
  kind: RecordKind,
  given: string,
): Promise<string> {
  const list = await call<Record<string, { id: string }[] | undefined>>(
    conn,
    apiPath(kind.collection),
  );
  return resolvePrefix(
    (list[kind.collection] ?? []).map((r) => r.id),
    given,
    { noun: kind.noun, code: kind.notFound, listedBy: `codex-sm ${kind.noun} list` },
  );
}

/** One request on the record `given` names, at `/api/<collection>/<id>/<...path>`. */
export async function callOnRecord<T>(
  f: ClientFlags,
  kind: RecordKind,
  given: string,
  path: string[],
  opts: { method?: string; body?: unknown } = {},
): Promise<T> {
  const conn = connection(f);
  const id = await recordId(conn, kind, given);
  return call<T>(conn, apiPath(kind.collection, id, ...path), opts);
}

/** `list`, `show`, `delete` and the state verbs (`POST .../<verb>` with `{}`) of one kind. */
export function addRecordCommands<Summary, Full>(
  parent: Command,
  kind: RecordKind,
  render: {
    list: (items: Summary[]) => string;
    show: (item: Full) => string;
    changed: (item: Full) => string;
  },
  about: {
    show: string;
    delete: string;
    verbs: readonly (readonly [verb: string, description: string])[];
  },
): void {
  clientCommand(parent.command('list').description(`list ${kind.collection}`)).action(
    (_o: unknown, cmd: Command) =>
      runClientCommand(cmd, async (f) => {
        const r = await call<Record<string, Summary[]>>(connection(f), apiPath(kind.collection));
        return { json: r, human: render.list(r[kind.collection] ?? []) };
      }),
  );

  const onRecord = (
    name: string,
    description: string,
    request: (given: string) => (f: ClientFlags) => Promise<{ json: object; human: string }>,
  ) =>
    clientCommand(parent.command(`${name} <${kind.noun}>`).description(description)).action(
      (given: string, _o: unknown, cmd: Command) => runClientCommand(cmd, request(given)),
    );

  onRecord('show', about.show, (given) => async (f) => {
    const r = await callOnRecord<Full & object>(f, kind, given, []);
    return { json: r, human: render.show(r) };
  });
  for (const [verb, description] of about.verbs)
    onRecord(verb, description, (given) => async (f) => {
      const r = await callOnRecord<Full & object>(f, kind, given, [verb], { body: {} });
      return { json: r, human: render.changed(r) };
    });
  onRecord('delete', about.delete, (given) => async (f) => {
    const r = await callOnRecord<DeletedJson>(f, kind, given, [], { method: 'DELETE' });
    return { json: r, human: `deleted ${kind.noun} ${r.id}` };
  });
}
