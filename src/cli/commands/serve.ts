/** `codex-sm serve`: the long-running service process (what the unit runs; `make run` in the foreground). */
import type { Command } from 'commander';
import { toCodexSmError } from '../../errors.js';
import { addConfigFlags, type ConfigFlags, type FlagSpec } from '../common.js';

/** serve's own flags beyond the config flags (serve-main.ts reads them without commander). */
export const SERVE_ONLY_FLAGS: readonly FlagSpec[] = [
  {
    flag: '--insecure-bind',
    description: 'allow a non-loopback address without TLS (the token then travels in clear text)',
  },
];

export function registerServe(program: Command): void {
  const cmd = addConfigFlags(
    program
      .command('serve')
      .description('run the service in the foreground (what the systemd unit / LaunchAgent runs)'),
  );
  for (const f of SERVE_ONLY_FLAGS) cmd.option(f.flag, f.description);
  cmd.action((_o: unknown, c: Command) => runServe(c.optsWithGlobals<ConfigFlags>()));
}

type Serve = (flags: ConfigFlags) => Promise<void>;

/**
 * Run the service; a start-up failure is one line on stderr and its exit code (78 for config).
 * `serve` is imported lazily unless given (serve-main.ts imports it statically: the bundled
 * entry then holds everything up to READY=1 in one file; the other commands never load it).
 */
export async function runServe(flags: ConfigFlags, serve?: Serve): Promise<void> {
  serve ??= (await import('../../../service/main.js')).serve;
  try {
    await serve(flags);
  } catch (e) {
    const err = toCodexSmError(e);
    process.stderr.write(
      `codex-sm serve: ${err.message}\n${err.hint ? `  hint: ${err.hint}\n` : ''}`,
    );
    process.exit(err.exitCode);
  }
}
