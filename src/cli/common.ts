/**
 * The commander declaration of the flags shared by the commands that resolve a config. Their
 * mapping onto a config layer lives in src/config/flags.ts (the service uses it too); it is
 * re-exported here so the commands take everything about these flags from one place.
 */
import type { Command } from 'commander';

export { flagsToLayer, loadConfig, type ConfigFlags } from '../config/flags.js';

/** A flag as data: commander declares it here; `serve` also reads it without commander. */
export interface FlagSpec {
  /** `--host`; its value's placeholder (`<addr>`) when it takes one. */
  flag: `--${string}`;
  value?: `<${string}>`;
  description: string;
}

/** Which codex: for the commands that run it or report on it (`serve`, `version`). */
export const CODEX_FLAGS: readonly FlagSpec[] = [
  {
    flag: '--codex-home',
    value: '<dir>',
    description: 'CODEX_HOME for the app-server (default $CODEX_HOME or ~/.codex)',
  },
  {
    flag: '--codex-bin',
    value: '<path>',
    description: 'codex binary to run (default: discovered, see `codex-sm doctor`)',
  },
];

/**
 * The config flags of the commands that act as (or for) the service itself — `serve`, and
 * `install-service`, which bakes them into the unit — and of `doctor` and `config show`, which
 * check or print that same configuration.
 */
export const CONFIG_FLAGS: readonly FlagSpec[] = [
  { flag: '--host', value: '<addr>', description: 'address to bind (default 127.0.0.1)' },
  { flag: '--port', value: '<n>', description: 'port to bind (default 3100; 0 = any free port)' },
  ...CODEX_FLAGS,
  {
    flag: '--token-file',
    value: '<file>',
    description: 'file holding the bearer token (created 0600 if missing)',
  },
  {
    flag: '--log-level',
    value: '<level>',
    description: 'trace|debug|info|warn|error|fatal|silent',
  },
];

function addFlags(cmd: Command, flags: readonly FlagSpec[]): Command {
  for (const f of flags) cmd.option(f.value ? `${f.flag} ${f.value}` : f.flag, f.description);
  return cmd;
}

export function addConfigFlags(cmd: Command): Command {
  return addFlags(cmd, CONFIG_FLAGS);
}

export function addCodexFlags(cmd: Command): Command {
  return addFlags(cmd, CODEX_FLAGS);
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
