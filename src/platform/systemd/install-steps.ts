/**
 * The file-level steps of install/uninstall, kept apart from the manager's state machine:
 * writing units atomically (with a rollback for a failed daemon-reload/enable), the token and the
 * secrets file, linger, and --purge. Only codex-sm's own files are touched.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommandRunner } from '../../runner.js';
import { defaultConfigFile, secretsEnvFile, type Env } from '../../paths.js';
import { loadOrCreateToken, tokenFileTooOpen, writeFileAtomic } from '../../token.js';
import type { ServicePlan } from '../types.js';
import type { SystemdContext } from './connect.js';
import { renderUnits, socketUnitName, unitDir } from './render.js';

/** Fill in what only the running manager knows (its version decides Type=notify-reload). */
export async function preparePlan(plan: ServicePlan, ctx: SystemdContext): Promise<ServicePlan> {
  if (plan.systemdVersion !== undefined) return plan;
  const v = await ctx.api.version().catch(() => undefined);
  return v === undefined ? plan : { ...plan, systemdVersion: v };
}

export interface InstalledFiles {
  changed: boolean;
  written: string[];
  tokenFile: string;
  tokenCreated: boolean;
  /** Put back the unit files as they were before (after a failed reload/enable). */
  rollback(): void;
}

function readOrUndefined(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/** For --system: uid/gid of the account from /etc/passwd (no getpwnam in Node). */
export function lookupAccount(
  name: string,
  passwd = readOrUndefined('/etc/passwd') ?? '',
): { uid: number; gid: number } | undefined {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}

const SECRETS_HEADER = `# codex-sm secrets (mode 0600), read by the service manager (EnvironmentFile=-).
# KEY=value per line, e.g. OPENAI_API_KEY=... ; never put secrets in the unit file itself.
`;

export function installFiles(plan: ServicePlan, env: Env, warnings: string[]): InstalledFiles {
  const dir = unitDir(plan.scope, env);
  const previous = new Map<string, string | undefined>();
  const written: string[] = [];
  for (const u of renderUnits(plan)) {
    const p = path.join(dir, u.name);
    const old = readOrUndefined(p);
    if (old === u.content) continue;
    previous.set(p, old);
    writeFileAtomic(p, u.content, 0o644);
    written.push(p);
  }
  const staleSocket = path.join(dir, socketUnitName(plan));
  if (!plan.socketActivation && fs.existsSync(staleSocket)) {
    previous.set(staleSocket, readOrUndefined(staleSocket));
    fs.rmSync(staleSocket, { force: true });
    written.push(staleSocket);
  }

  const account = plan.scope === 'system' && plan.user ? lookupAccount(plan.user) : undefined;
  const own = (p: string) => account && fs.chownSync(p, account.uid, account.gid);
  /** Create missing directories owned by the service account (root installs for --system). */
  const ownedDir = (dir: string) => {
    const missing: string[] = [];
    for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
    for (const d of missing) {
      fs.mkdirSync(d, { mode: 0o700 });
      own(d);
    }
  };

  const i = plan.args.indexOf('--token-file');
  const tokenFile =
    i >= 0 ? (plan.args[i + 1] as string) : path.join(path.dirname(plan.secretsEnvFile), 'token');
  ownedDir(path.dirname(tokenFile));
  ownedDir(path.dirname(plan.secretsEnvFile));
  // The empty env: the service reads the file, so a CODEX_SM_TOKEN in this shell must not stand in for it.
  const token = loadOrCreateToken(tokenFile, {});
  if (token.created) own(tokenFile);
  if (tokenFileTooOpen(tokenFile))
    warnings.push(`${tokenFile} is readable by other users: chmod 600 ${tokenFile}`);

  if (!fs.existsSync(plan.secretsEnvFile)) {
    writeFileAtomic(plan.secretsEnvFile, SECRETS_HEADER, 0o600);
    own(plan.secretsEnvFile);
  } else if (tokenFileTooOpen(plan.secretsEnvFile)) {
    warnings.push(
      `${plan.secretsEnvFile} is readable by other users: chmod 600 ${plan.secretsEnvFile}`,
    );
  }

  return {
    changed: written.length > 0,
    written,
    tokenFile,
    tokenCreated: token.created,
    rollback() {
      for (const [p, old] of previous) {
        if (old === undefined) fs.rmSync(p, { force: true });
        else writeFileAtomic(p, old, 0o644);
      }
    },
  };
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

export interface PurgeResult {
  removed: string[];
  leftBehind: { path: string; why: string }[];
}

/** --purge removes the token, the secrets file and codex-sm's state; reports what stays either way. */
export function purgeFiles(
  purge: boolean,
  f: { tokenFile: string; stateDir: string; codexHome?: string; env: Env },
): PurgeResult {
  const removed: string[] = [];
  const leftBehind: PurgeResult['leftBehind'] = [];
  const ours = [
    { path: f.tokenFile, why: 'the bearer token (remove with --purge)' },
    { path: secretsEnvFile(f.env), why: 'the secrets file (remove with --purge)' },
  ];
  for (const o of ours) {
    if (!fs.existsSync(o.path)) continue;
    if (purge) {
      fs.rmSync(o.path, { force: true });
      removed.push(o.path);
    } else leftBehind.push(o);
  }
  if (fs.existsSync(f.stateDir)) {
    // The lifecycle lock lives here and is held right now: keep it, remove everything else.
    const entries = fs.readdirSync(f.stateDir).filter((e) => !e.startsWith('lifecycle.lock'));
    if (purge) {
      for (const e of entries)
        fs.rmSync(path.join(f.stateDir, e), { recursive: true, force: true });
      if (entries.length) removed.push(f.stateDir);
    } else if (entries.length)
      leftBehind.push({
        path: f.stateDir,
        why: 'codex-sm state: queues, groups, index (remove with --purge)',
      });
  }
  const config = defaultConfigFile(f.env);
  if (fs.existsSync(config))
    leftBehind.push({ path: config, why: 'your configuration (never removed)' });
  if (f.codexHome && fs.existsSync(f.codexHome))
    leftBehind.push({
      path: f.codexHome,
      why: "CODEX_HOME: Codex's own sessions and settings (never removed)",
    });
  leftBehind.push({ path: 'journal', why: 'log lines stay in the journal until it rotates them' });
  return { removed, leftBehind };
}
