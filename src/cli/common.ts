/**
 * The commander declaration of the flags shared by the commands that resolve a config. Their
 * mapping onto a config layer lives in src/config/flags.ts (the service uses it too); it is
 * re-exported here so the commands take everything about these flags from one place.
 */
import type { Command } from 'commander';

export { flagsToLayer, loadConfig, type ConfigFlags } from '../config/flags.js';

/**
 * The config flags of the commands that act as (or for) the service itself — `serve`, and
 * `install-service`, which bakes them into the unit — and of `doctor` and `config show`, which
 * check or print that same configuration.
 */
export function addConfigFlags(cmd: Command): Command {
  cmd
    .option('--host <addr>', 'address to bind (default 127.0.0.1)')
    .option('--port <n>', 'port to bind (default 3100; 0 = any free port)');
  return addCodexFlags(cmd)
    .option('--token-file <file>', 'file holding the bearer token (created 0600 if missing)')
    .option('--log-level <level>', 'trace|debug|info|warn|error|fatal|silent');
}

/** Which codex: for the commands that run it or report on it (`serve`, `version`). */
export function addCodexFlags(cmd: Command): Command {
  return cmd
    .option('--codex-home <dir>', 'CODEX_HOME for the app-server (default $CODEX_HOME or ~/.codex)')
    .option(
      '--codex-bin <path>',
      'codex binary to run (default: discovered, see `codex-sm doctor`)',
    );
}

/**
 * The flags of a client of a running service (`session ...`): which service to talk to and how
 * to authenticate. They override the same config keys serve reads, so a client with no flags
 * finds the service the config describes.
 */
export function addClientFlags(cmd: Command): Command {
  return cmd
    .option('--host <addr>', 'host of the service to talk to (default: from config, 127.0.0.1)')
    .option('--port <n>', 'port of the service to talk to (default: from config, 3100)')
    .option(
      '--token-file <file>',
      'the token to authenticate with (default: from config; CODEX_SM_TOKEN takes precedence)',
    );
}
