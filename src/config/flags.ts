/**
 * The config-related command-line flags as plain values, and their mapping onto a config layer.
 * Shared by the CLI (which declares the flags with commander in src/cli/common.ts) and the
 * service (which re-resolves the same flags on reload), so neither imports the other.
 */
import { resolveConfig, type ResolvedConfig } from './load.js';
import type { ConfigLayer } from './schema.js';

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
