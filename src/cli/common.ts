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
