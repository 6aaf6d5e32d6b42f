/**
 * What every client of the running service shares (`session`, `queue`, `group`): the
 * connection the client flags and config describe, one request with the service's error
 * relayed as ours, the commander declaration of a client command, and naming a record by a
 * unique id prefix.
 */
import type { Command } from 'commander';
import { endpointFor, serviceRequest } from '../client.js';
import { CodexSmError, EXIT, isErrorCode, type ErrorCode } from '../errors.js';
import type { Config } from '../config/schema.js';
import { readToken } from '../token.js';
import { addClientFlags, loadConfig, type ConfigFlags } from './common.js';
import { runCommand, type CommandResult } from './output.js';

export interface ServiceConnection {
  endpoint: string;
  token: string;
}

export type ClientFlags = ConfigFlags & { json?: boolean };

/** The service the config (and the client flags over it) describes, and its token. */
export function connection(flags: ConfigFlags): ServiceConnection {
  return connectionFor(loadConfig(flags).config);
}

/** The same for a config already loaded (a command that reads more of it). */
export function connectionFor(config: Config): ServiceConnection {
  const token = readToken(config.tokenFile);
  return { endpoint: endpointFor(config.host, config.port, Boolean(config.tls)), token };
}

export function unreachable(conn: ServiceConnection, e: Error): CodexSmError {
  return new CodexSmError(
    'service_unreachable',
    `cannot reach codex-sm at ${conn.endpoint}: ${e.message}`,
    { hint: 'is it running? `codex-sm status`, `codex-sm start`', exitCode: EXIT.unavailable },
  );
}

/** The service's `{error: {code, message, hint}}` as our error: its code when we know it. */
export function relayedError(status: number, body: unknown): CodexSmError {
  const err = (body as { error?: { code?: string; message?: string; hint?: string } } | undefined)
    ?.error;
  const code: ErrorCode = isErrorCode(err?.code) ? err.code : 'service_error';
  return new CodexSmError(code, err?.message ?? `HTTP ${status}`, { hint: err?.hint });
}

/** One request; a 4xx/5xx answer or no answer at all is thrown as a CodexSmError. */
export async function call<T>(
  conn: ServiceConnection,
  path: string,
  opts: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<T> {
  let r;
  try {
    r = await serviceRequest(conn.endpoint, conn.token, path, { timeoutMs: 30_000, ...opts });
  } catch (e) {
    throw unreachable(conn, e as Error);
  }
  if (r.status >= 400) throw relayedError(r.status, r.body);
  // The service's answer to this route (docs/api.md, docs/queues.md); the caller names its shape.
  return r.body as T;
}

/** `/api/queues/<id>/prompts/<pid>`: each segment URL-encoded. */
export function apiPath(...segments: string[]): string {
  return '/api/' + segments.map(encodeURIComponent).join('/');
}

/** A client command: the flags that find the service, and `--json`. */
export function clientCommand(cmd: Command): Command {
  return addClientFlags(cmd).option('--json', 'print one JSON object');
}

/** The flags of a client command (commander does not type them: each command names its own). */
export function clientFlags<T extends object = object>(cmd: Command): ClientFlags & T {
  return cmd.optsWithGlobals<ClientFlags & T>();
}

/** The settings of the turns a command starts (sessions, queues, group runs). */
export function addTurnSettingFlags(cmd: Command): Command {
  return cmd
    .option('--model <model>', 'model')
    .option('--sandbox <mode>', 'read-only | workspace-write | danger-full-access')
    .option('--approval-policy <policy>', 'untrusted | on-request | never');
}

export interface TurnSettingFlags {
  model?: string;
  sandbox?: string;
  approvalPolicy?: string;
}

export interface IdKind {
  /** What the records are called in messages: `queue`, `prompt`, `group`. */
  noun: string;
  /** The code of "no such record" (the service's own for a full id). */
  code: ErrorCode;
  /** Where the user sees the ids, e.g. `codex-sm queue list`. */
  listedBy: string;
}

/**
 * The one id among `ids` that `given` is, or starts (ids are case-insensitive UUIDs). Unknown
 * and ambiguous prefixes are errors: acting on a guess could act on the wrong record.
 */
export function resolvePrefix(ids: readonly string[], given: string, kind: IdKind): string {
  const prefix = given.trim().toLowerCase();
  const hint = `give more of the id, as \`${kind.listedBy}\` shows it`;
  if (!prefix) throw new CodexSmError(kind.code, `no ${kind.noun} id given`, { hint });
  const exact = ids.find((id) => id.toLowerCase() === prefix);
  if (exact) return exact;
  const matches = ids.filter((id) => id.toLowerCase().startsWith(prefix));
  const [only] = matches;
  if (only !== undefined && matches.length === 1) return only;
  if (!matches.length)
    throw new CodexSmError(kind.code, `no ${kind.noun} with id ${JSON.stringify(given)}`, {
      hint: `\`${kind.listedBy}\` lists them`,
    });
  throw new CodexSmError(
    kind.code,
    `${JSON.stringify(given)} is the start of ${matches.length} ${kind.noun} ids: ${matches.join(', ')}`,
    { hint },
  );
}

/** All of stdin, for the commands that take `-` for "the text is on stdin". */
export async function readStdin(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

/** A client command's action: its flags, then one result printed by the output rule. */
export function runClientCommand<F extends object = object>(
  cmd: Command,
  body: (f: ClientFlags & F) => Promise<CommandResult<object>>,
): Promise<void> {
  const f = clientFlags<F>(cmd);
  return runCommand(f, () => body(f));
}
