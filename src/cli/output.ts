/**
 * The one output rule for every command: exactly one JSON object on stdout when --json is given
 * or stdout is not a TTY (remote callers over SSH parse it); a short human summary on a TTY.
 * Errors: non-zero exit; `{"error":{code,message,hint}}` on stdout in JSON mode, otherwise the
 * message and hint on stderr.
 */
import { toCodexSmError } from '../errors.js';
import { clip, columns, minute, table } from '../table.js';

export { clip, columns, minute, table };

export interface OutputOptions {
  json?: boolean;
}

export interface CommandResult<T extends object = object> {
  /** The JSON object (camelCase keys). */
  json: T;
  /** What a person at a terminal sees. */
  human: string;
  /** Non-zero when the command ran but reports failure (e.g. doctor found problems). */
  exitCode?: number;
}

export interface OutputStreams {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown };
}

export function wantsJson(
  opts: OutputOptions,
  out: OutputStreams['stdout'] = process.stdout,
): boolean {
  return Boolean(opts.json) || !out.isTTY;
}

/** Run a command body and print its result by the rule; sets process.exitCode. */
export async function runCommand<T extends object>(
  opts: OutputOptions,
  body: () => Promise<CommandResult<T>> | CommandResult<T>,
  streams: OutputStreams = { stdout: process.stdout, stderr: process.stderr },
): Promise<void> {
  const json = wantsJson(opts, streams.stdout);
  try {
    const result = await body();
    streams.stdout.write(json ? JSON.stringify(result.json) + '\n' : ensureNewline(result.human));
    if (result.exitCode) process.exitCode = result.exitCode;
  } catch (e) {
    const err = toCodexSmError(e);
    if (json) streams.stdout.write(JSON.stringify(err.toJSON()) + '\n');
    else
      streams.stderr.write(`codex-sm: ${err.message}\n${err.hint ? `  hint: ${err.hint}\n` : ''}`);
    if (err.code === 'internal' && process.env.CODEX_SM_DEBUG)
      streams.stderr.write(`${(e as Error).stack}\n`);
    process.exitCode = err.exitCode;
  }
}

function ensureNewline(s: string): string {
  return s.endsWith('\n') ? s : s + '\n';
}
