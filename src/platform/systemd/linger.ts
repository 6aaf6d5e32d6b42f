/**
 * Linger (logind): whether a user's services outlive their last session and start at boot. Read
 * with loginctl (or logind's linger directory), enabled with `loginctl enable-linger` and, when
 * polkit refuses, `sudo -n` (never a prompt).
 */
import fs from 'node:fs';
import type { CommandRunner } from '../../runner.js';

/** `loginctl show-user USER -p Linger --value` → true/false; undefined when logind cannot say. */
export async function readLinger(
  runner: CommandRunner,
  env: NodeJS.ProcessEnv,
  userName: string,
): Promise<boolean | undefined> {
  const r = await runner.run('loginctl', ['show-user', userName, '-p', 'Linger', '--value'], {
    env,
    timeoutMs: 5000,
  });
  const v = r.stdout.trim();
  if (r.code === 0 && (v === 'yes' || v === 'no')) return v === 'yes';
  // A user without a session is unknown to logind, but linger may still be on (a file in /var/lib/systemd/linger).
  if (fs.existsSync('/var/lib/systemd/linger') && r.code !== null)
    return fs.existsSync(`/var/lib/systemd/linger/${userName}`);
  return undefined;
}

export function lingerWarning(linger: boolean | undefined, user: string): string | undefined {
  if (linger === true) return undefined;
  const fix = `\`codex-sm install-service --enable-linger\` or \`sudo loginctl enable-linger ${user}\``;
  return linger === false
    ? `linger is off for ${user}: the service stops when ${user}'s last session ends and does not start at boot; fix: ${fix}`
    : `could not tell whether linger is on for ${user} (logind not reachable); without it the service stops at logout; fix: ${fix}`;
}

/** `loginctl enable-linger USER`, retried through `sudo -n` (never prompts) when polkit refuses. */
export async function enableLinger(
  runner: CommandRunner,
  env: NodeJS.ProcessEnv,
  user: string,
  warnings: string[],
): Promise<boolean | undefined> {
  const direct = await runner.run('loginctl', ['enable-linger', user], { env, timeoutMs: 15_000 });
  if (direct.code === 0) return true;
  const viaSudo = await runner.run('sudo', ['-n', 'loginctl', 'enable-linger', user], {
    env,
    timeoutMs: 15_000,
  });
  if (viaSudo.code === 0) return true;
  const why = (viaSudo.stderr || direct.stderr || viaSudo.spawnError || '').trim().split('\n')[0];
  warnings.push(`could not enable linger (${why}); run: sudo loginctl enable-linger ${user}`);
  return undefined;
}
