/**
 * Errors are values with codes: every failure a user can cause carries a stable code, a
 * one-line message and a hint, and the process exit code the CLI should use.
 */

/** sysexits(3) codes we use. 78 = EX_CONFIG: systemd's RestartPreventExitStatus=78 stops a loop. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 64,
  unavailable: 69,
  software: 70,
  tempFail: 75,
  config: 78,
} as const;

export interface ErrorJson {
  error: { code: string; message: string; hint?: string };
}

export class CodexSmError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;
  /** Extra fields for the JSON form (e.g. journal lines after a failed start). */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    opts: {
      hint?: string;
      exitCode?: number;
      details?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CodexSmError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? EXIT.failure;
    this.details = opts.details;
  }

  toJSON(): ErrorJson {
    const error: ErrorJson['error'] & Record<string, unknown> = {
      code: this.code,
      message: this.message,
    };
    if (this.hint) error.hint = this.hint;
    if (this.details) Object.assign(error, this.details);
    return { error };
  }
}

/** A config problem: exit 78, never retried by systemd. */
export function configError(message: string, hint?: string): CodexSmError {
  return new CodexSmError('config_invalid', message, { hint, exitCode: EXIT.config });
}

export function toCodexSmError(err: unknown): CodexSmError {
  if (err instanceof CodexSmError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CodexSmError('internal', message, { exitCode: EXIT.software, cause: err });
}
