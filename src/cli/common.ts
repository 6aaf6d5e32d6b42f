/** Flags shared by the commands that resolve a config, and their mapping onto a config layer. */
import type { Command } from 'commander';
import { resolveConfig, type ResolvedConfig } from '../config/load.js';
import type { ConfigLayer } from '../config/schema.js';

export interface ConfigFlags {
  config?: string;
  host?: string;
  port?: string;
  codexHome?: string;
  codexBin?: string;
  tokenFile?: string;
  logLevel?: string;
  insecureBind?: boolean;
}

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

/** Integers stay strings when they are not integers, so the validator can name the bad value. */
function intOrRaw(v: string | undefined): number | string | undefined {
  if (v === undefined) return undefined;
  return /^-?\d+$/.test(v.trim()) ? Number(v) : v;
}

export function flagsToLayer(f: ConfigFlags): ConfigLayer {
  const layer: Record<string, unknown> = {
    host: f.host,
    port: intOrRaw(f.port),
    codexHome: f.codexHome,
    codexBin: f.codexBin,
    tokenFile: f.tokenFile,
    logLevel: f.logLevel,
    insecureBind: f.insecureBind,
  };
  return Object.fromEntries(
    Object.entries(layer).filter(([, v]) => v !== undefined),
  ) as ConfigLayer;
}

export function loadConfig(f: ConfigFlags, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  return resolveConfig({ env, configFile: f.config, flags: flagsToLayer(f) });
}
