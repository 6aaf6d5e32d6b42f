#!/usr/bin/env node
/** codex-sm CLI entry: builds the command tree (./program.ts) and runs it on process.argv. */
import { CommanderError } from 'commander';
import { EXIT } from '../errors.js';
import { buildProgram } from './program.js';

async function main(): Promise<void> {
  const program = await buildProgram();
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
