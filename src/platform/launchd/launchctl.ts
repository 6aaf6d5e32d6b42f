/**
 * launchctl through the CommandRunner seam, and what its exit codes mean. launchctl reports
 * errno-style codes ("Bootstrap failed: 5: Input/output error"); the same code means different
 * things for different verbs, so classification looks at the code and the text together, and the
 * caller decides what a kind means for its verb (a "not found" from bootout is success).
 */
import { CodexSmError, EXIT } from '../../errors.js';
import type { CommandRunner, RunResult } from '../../runner.js';

export type LaunchctlOutcome =
  | 'ok'
  /** 113 "Could not find service" (or older 3 "No such process" from bootout). */
  | 'notFound'
  /** 5 EIO: a rejected plist, an instance still draining, or (older macOS) already loaded. */
  | 'ioError'
  /** 36 EINPROGRESS: bootout accepted, still stopping (Homebrew loops on it). */
  | 'inProgress'
  /** 37 EALREADY: launchd is busy with this service. */
  | 'busy'
  /** 125: no such domain here, typically gui/<uid> without an Aqua login (SSH). */
  | 'noSession'
  /** "service already loaded" / "already exists in domain" / 17 EEXIST. */
  | 'alreadyLoaded'
  /** 119 "Service is disabled": an override from `launchctl disable` survives bootout. */
  | 'disabled'
  /** launchctl itself could not be run (not macOS). */
  | 'missing'
  | 'other';

export function classifyLaunchctl(r: RunResult): LaunchctlOutcome {
  if (r.spawnError) return 'missing';
  const text = `${r.stderr}\n${r.stdout}`.toLowerCase();
  if (r.code === 0) return 'ok';
  if (/already (loaded|exists|bootstrapped)/.test(text) || r.code === 17) return 'alreadyLoaded';
  if (
    r.code === 125 ||
    text.includes('domain does not support') ||
    text.includes('could not find domain')
  ) {
    return 'noSession';
  }
  if (
    r.code === 113 ||
    r.code === 3 ||
    text.includes('could not find service') ||
    text.includes('no such process')
  ) {
    return 'notFound';
  }
  if (r.code === 37 || text.includes('operation already in progress')) return 'busy';
  if (r.code === 36 || text.includes('operation now in progress')) return 'inProgress';
  if (r.code === 119 || text.includes('service is disabled')) return 'disabled';
  if (r.code === 5 || text.includes('input/output error')) return 'ioError';
  return 'other';
}

/** First non-empty line launchctl wrote, for messages. */
function firstLine(r: RunResult): string {
  const line = `${r.stderr}\n${r.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  return line ?? `exit ${r.code ?? r.signal ?? '?'}`;
}

/**
 * A CodexSmError with a message a person can act on, for an outcome the caller could not handle.
 * `target` is the service target (gui/501/label); `plistPath` the agent file.
 */
export function launchctlError(
  args: readonly string[],
  r: RunResult,
  ctx: { target: string; plistPath: string; uid: number },
): CodexSmError {
  const verb = args[0] ?? '?';
  const cmd = `launchctl ${args.join(' ')}`;
  const said = firstLine(r);
  const details = { command: ['launchctl', ...args], exitStatus: r.code, stderr: r.stderr.trim() };
  switch (classifyLaunchctl(r)) {
    case 'missing':
      return new CodexSmError(
        'launchctl_missing',
        `cannot run launchctl (${r.spawnError}): launchd exists only on macOS`,
        {
          hint: 'on Linux use the systemd backend; `install-service --dry-run --platform launchd` previews the plist anywhere',
          exitCode: EXIT.unavailable,
          details,
        },
      );
    case 'noSession':
      return new CodexSmError(
        'launchd_no_session',
        `launchd has no session for uid ${ctx.uid} to load ${ctx.target} into (${said})`,
        {
          hint:
            'this happens over SSH or sudo without a desktop login: log in once at the Mac (or via Screen Sharing), ' +
            'or run the command as the user itself, not through sudo',
          exitCode: EXIT.unavailable,
          details,
        },
      );
    case 'ioError':
      return new CodexSmError('launchd_io_error', `${cmd} failed: ${said}`, {
        hint:
          `launchd rejected the agent or an old instance is still stopping: check the file with \`plutil -lint ${ctx.plistPath}\`, ` +
          `look at \`launchctl print ${ctx.target}\`, then retry`,
        exitCode: EXIT.tempFail,
        details,
      });
    case 'busy':
    case 'inProgress':
      return new CodexSmError(
        'launchd_busy',
        `launchd is still working on ${ctx.target} (${said})`,
        {
          hint: `wait a few seconds and retry; \`launchctl print ${ctx.target}\` shows its state`,
          exitCode: EXIT.tempFail,
          details,
        },
      );
    case 'notFound':
      return new CodexSmError(
        'launchd_not_loaded',
        `${ctx.target} is not loaded in launchd (${said})`,
        {
          hint: 'run `codex-sm start` to load the installed agent, or `codex-sm install-service` to install it',
          details,
        },
      );
    case 'alreadyLoaded':
      return new CodexSmError(
        'launchd_already_loaded',
        `${ctx.target} is already loaded (${said})`,
        {
          hint: '`codex-sm restart` reloads it; `codex-sm stop` unloads it',
          details,
        },
      );
    case 'disabled':
      return new CodexSmError(
        'launchd_disabled',
        `${ctx.target} is disabled in launchd (${said})`,
        {
          hint: `run \`launchctl enable ${ctx.target}\`, then retry`,
          details,
        },
      );
    case 'ok':
    case 'other':
    default:
      return new CodexSmError(
        'launchctl_failed',
        `${cmd} failed (exit ${r.code ?? r.signal}): ${said}`,
        {
          hint:
            verb === 'bootstrap'
              ? `check the plist with \`plutil -lint ${ctx.plistPath}\``
              : `run \`${cmd}\` by hand to see more`,
          details,
        },
      );
  }
}

export interface Launchctl {
  run(args: readonly string[]): Promise<{ result: RunResult; outcome: LaunchctlOutcome }>;
}

/** launchctl via the runner; `bin` defaults to `launchctl` from PATH (tests put a fake first). */
export function launchctlVia(
  runner: CommandRunner,
  bin = 'launchctl',
  timeoutMs = 30_000,
): Launchctl {
  return {
    async run(args) {
      const result = await runner.run(bin, args, { timeoutMs });
      return { result, outcome: classifyLaunchctl(result) };
    },
  };
}
