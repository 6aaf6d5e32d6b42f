/**
 * The root of the command tree (global options, exit-code handling) without any command: shared
 * by the whole CLI (./program.ts) and the bundled `serve` entry (./serve-main.ts), which must not
 * pull the other commands' modules into its bundle.
 */
import { Command, CommanderError } from 'commander';
import { EXIT } from '../errors.js';
import { packageInfo } from '../package-info.js';

export function rootProgram(): Command {
  return (
    new Command('codex-sm')
      .description('Session manager and supervisor for the Codex coding agent')
      .version(packageInfo().version, '-V, --cli-version', 'print the codex-sm version')
      .option(
        '--config <file>',
        'config file (default $XDG_CONFIG_HOME/codex-sm/config.json; env CODEX_SM_CONFIG)',
      )
      .showHelpAfterError('(run with --help for usage)')
      .enablePositionalOptions(false)
      // Before the subcommands exist: they copy it, so their usage errors reach main's exit 64 too.
      .exitOverride()
  );
}

/** Parse argv and run the command; --help / --version exit 0, usage errors 64 (EX_USAGE). */
export async function runProgram(program: Command, argv = process.argv): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has printed the usage error already.
      process.exitCode = e.exitCode === 0 ? 0 : EXIT.usage;
      return;
    }
    throw e;
  }
}
