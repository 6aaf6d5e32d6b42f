/**
 * Where codex-sm keeps its files, following the XDG base directory spec on every OS (macOS
 * users of CLI tools expect ~/.config too). Pure functions of an environment, so tests pass
 * their own.
 */
import os from 'node:os';
import path from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

export const APP = 'codex-sm';

function home(env: Env): string {
  return env.HOME || os.homedir();
}

export function configDir(env: Env = process.env): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(home(env), '.config'), APP);
}

export function stateDir(env: Env = process.env): string {
  return path.join(env.XDG_STATE_HOME || path.join(home(env), '.local', 'state'), APP);
}

export function defaultConfigFile(env: Env = process.env): string {
  return path.join(configDir(env), 'config.json');
}

/** The bearer token (0600). Lives beside the config, like gh's hosts.yml. */
export function defaultTokenFile(env: Env = process.env): string {
  return path.join(configDir(env), 'token');
}

/** The 0600 environment file the unit reads with EnvironmentFile=- (secrets never in the unit). */
export function secretsEnvFile(env: Env = process.env): string {
  return path.join(configDir(env), 'secrets.env');
}

export function defaultCodexHome(env: Env = process.env): string {
  return env.CODEX_HOME || path.join(home(env), '.codex');
}

export function expandHome(p: string, env: Env = process.env): string {
  if (p === '~') return home(env);
  if (p.startsWith('~/')) return path.join(home(env), p.slice(2));
  return p;
}
