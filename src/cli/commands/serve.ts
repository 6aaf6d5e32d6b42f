/** `codex-sm serve`: the long-running service process (what the unit runs; `make run` in the foreground). */
import type { Command } from 'commander';
import { toCodexSmError } from '../../errors.js';
import { addConfigFlags, type ConfigFlags } from '../common.js';

export function registerServe(program: Command): void {
  addConfigFlags(
    program
      .command('serve')
      .description('run the service in the foreground (what the systemd unit / LaunchAgent runs)'),
  )
    .option(
      '--insecure-bind',
      'allow a non-loopback address without TLS (the token then travels in clear text)',
    )
    .action(async (_o: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<ConfigFlags>();
      // Imported lazily: the other commands should not pay for loading the service.
      const { serve } = await import('../../../service/main.js');
      try {
        await serve(flags);
      } catch (e) {
        const err = toCodexSmError(e);
        process.stderr.write(
          `codex-sm serve: ${err.message}\n${err.hint ? `  hint: ${err.hint}\n` : ''}`,
        );
        process.exit(err.exitCode);
      }
    });
}
