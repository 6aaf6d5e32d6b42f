/**
 * The commander declaration of the flags shared by the commands that resolve a config. Their
 * mapping onto a config layer lives in src/config/flags.ts (the service uses it too); it is
 * re-exported here so the commands take everything about these flags from one place.
 */
import type { Command } from 'commander';

export { flagsToLayer, loadConfig, type ConfigFlags } from '../config/flags.js';

export function addConfigFlags(cmd: Command): Command {
  return cmd
    .option('--host <addr>', 'address to bind (default 127.0.0.1)')
    .option('--port <n>', 'port to bind (default 3100; 0 = any free port)')
    .option('--codex-home <dir>', 'CODEX_HOME for the app-server (default $CODEX_HOME or ~/.codex)')
    .option(
      '--codex-bin <path>',
      'codex binary to run (default: discovered, see `codex-sm doctor`)',
    )
    .option('--token-file <file>', 'file holding the bearer token (created 0600 if missing)')
    .option('--log-level <level>', 'trace|debug|info|warn|error|fatal|silent');
}
