/**
 * The client side of the queues and groups API (docs/queues.md): the pure mapping from
 * command-line arguments to request bodies. The answers' types are the service's own, imported
 * from service/queues/queue-json.ts and service/groups/group-json.ts (import-free modules the
 * dashboard reads too).
 */
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { PromptMode } from '../../service/store/enums.js';
import { CodexSmError } from '../errors.js';
import type { TurnSettingFlags } from './service-client.js';

export interface DeletedJson {
  deleted: true;
  id: string;
}

export interface PromptInput {
  text: string;
  images?: string[];
  mode?: PromptMode;
}

/** Only the keys that have a value: the service's schemas tell "not given" from a value. */
function given<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * An image as the service takes it: a URL (`https:`, `data:`) as it is, a file path made
 * absolute against `base` (the shell's directory), as a user typing a relative path means it.
 */
export function imageRef(value: string, base: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(value) ? value : path.resolve(base, value);
}

export interface PromptFlags {
  manual?: boolean;
  image?: string[];
}

export function promptInput(text: string, f: PromptFlags, base: string): PromptInput {
  return {
    text,
    ...(f.image?.length ? { images: f.image.map((i) => imageRef(i, base)) } : {}),
    ...(f.manual ? { mode: 'manual' as const } : {}),
  };
}

export interface QueueCreateFlags extends TurnSettingFlags {
  cwd?: string;
  session?: string;
  maxRetries?: number;
}

/** `POST /api/queues`: a new thread in `--cwd` (made absolute here), or `--session`. */
export function queueCreateBody(
  name: string,
  prompts: readonly string[],
  f: QueueCreateFlags,
  base: string,
) {
  if ((f.cwd === undefined) === (f.session === undefined))
    throw new CodexSmError('usage', 'give exactly one of --cwd DIR and --session ID', {
      hint: '--cwd starts a new thread in DIR; --session runs the prompts in an existing session',
    });
  return given({
    name,
    cwd: f.cwd === undefined ? undefined : path.resolve(base, f.cwd),
    sessionId: f.session,
    model: f.model,
    sandbox: f.sandbox,
    approvalPolicy: f.approvalPolicy,
    maxRetries: f.maxRetries,
    prompts: prompts.length ? prompts.map((text) => ({ text })) : undefined,
  });
}

export interface GroupRunFlags extends TurnSettingFlags {
  maxConcurrent?: number;
  image?: string[];
}

/** `POST /api/groups/:id/run`. */
export function groupRunBody(prompt: string, f: GroupRunFlags, base: string) {
  return given({
    prompt,
    images: f.image?.length ? f.image.map((i) => imageRef(i, base)) : undefined,
    maxConcurrent: f.maxConcurrent,
    model: f.model,
    sandbox: f.sandbox,
    approvalPolicy: f.approvalPolicy,
  });
}

/** `POST /api/groups`. */
export function groupCreateBody(name: string, sessionIds: readonly string[], description?: string) {
  return given({
    name,
    description,
    sessionIds: sessionIds.length ? [...sessionIds] : undefined,
  });
}

/**
 * A prompt argument's text: `-` reads it from stdin (its trailing newline dropped, as `echo`
 * and heredocs add one). An empty prompt is a usage error: no turn is started for nothing.
 */
export async function promptText(arg: string, readStdin: () => Promise<string>): Promise<string> {
  const text = arg === '-' ? (await readStdin()).replace(/\s+$/, '') : arg;
  if (!text.trim())
    throw new CodexSmError('usage', arg === '-' ? 'stdin held no prompt' : 'the prompt is empty', {
      hint: 'give the prompt as an argument, or `-` and the prompt on stdin',
    });
  return text;
}

/** A commander value parser: a whole number in [min, max], else a usage error that says so. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `not a whole number ≥ ${min}.`
          : `not a whole number from ${min} to ${max}.`,
      );
    return n;
  };
}

/** A commander collector: a flag given again adds a value (`--image a --image b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
