#!/usr/bin/env node
/**
 * codex-sm CLI entry. Each command lives in its own module under ./commands and registers
 * itself here; output follows the one rule in ./output.ts.
 */
import { Command, CommanderError } from 'commander';
import { packageInfo } from '../package-info.js';
import { registerConfig } from './commands/config.js';
import { registerDoctor } from './commands/doctor.js';
import { registerLifecycle } from './commands/lifecycle.js';
import { registerServe } from './commands/serve.js';
import { registerSession } from './commands/session.js';
import { registerVersion } from './commands/version.js';
import { EXIT } from '../errors.js';

export function buildProgram(): Command {
  const program = new Command('codex-sm')
    .description('Session manager and supervisor for the Codex coding agent')
    .version(packageInfo().version, '-V, --cli-version', 'print the codex-sm version')
    .option('--config <file>', 'config file (default $XDG_CONFIG_HOME/codex-sm/config.json; env CODEX_SM_CONFIG)')
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions(false);
  registerServe(program);
  registerVersion(program);
  registerDoctor(program);
  registerConfig(program);
  registerLifecycle(program);
  registerSession(program);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help / --version exit 0; usage errors exit 64 (EX_USAGE) after commander printed them.
      process.exitCode = e.exitCode === 0 ? 0 : EXIT.usage;
      return;
    }
    throw e;
  }
}

await main();
