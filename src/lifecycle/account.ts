/**
 * Whose service a lifecycle command manages: the caller's own (user scope), or for `--system`
 * the account the system unit runs as (`--run-as`, default $SUDO_USER), with that account's
 * home as HOME so every path (token, state, CODEX_HOME) is the service's, not root's.
 */
import fs from 'node:fs';
import { CodexSmError } from '../errors.js';
import type { Account } from './files.js';
import type { Scope } from './port.js';

/** uid, gid and home of `name` in passwd(5) text (Node has no getpwnam). */
export function lookupAccount(name: string, passwd: string): Account | undefined {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 6)
      return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' };
  }
  return undefined;
}

export interface ServiceAccount {
  scope: Scope;
  /** The environment the service's paths are resolved in. */
  env: NodeJS.ProcessEnv;
  /** --system: the account the unit runs as (owner of its token and secrets). */
  user?: string;
  account?: Account;
}

export function serviceAccount(
  f: { system?: boolean; runAs?: string },
  env: NodeJS.ProcessEnv,
  readPasswd: () => string = () => fs.readFileSync('/etc/passwd', 'utf8'),
): ServiceAccount {
  if (!f.system) return { scope: 'user', env };
  const user = f.runAs ?? env.SUDO_USER;
  if (!user || user === 'root') {
    throw new CodexSmError('usage', '--system needs the account the service runs as', {
      hint: 'pass --run-as <user> (default: $SUDO_USER)',
    });
  }
  const account = lookupAccount(user, readPasswd());
  if (!account || !account.home) throw new CodexSmError('usage', `no such user: ${user}`);
  return {
    scope: 'system',
    env: { PATH: env.PATH, HOME: account.home, USER: user, LOGNAME: user },
    user,
    account,
  };
}
