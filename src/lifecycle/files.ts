/**
 * The file steps of install and uninstall, the same for every backend: writing the rendered
 * files atomically (with a rollback when the manager refuses them), the token and the secrets
 * file, and --purge. Only codex-sm's own files are touched.
 */
import fs from 'node:fs';
import path from 'node:path';
import { defaultConfigFile, type Env } from '../paths.js';
import {
  assertTokenFilePrivate,
  loadOrCreateToken,
  tokenFileTooOpen,
  writeFileAtomic,
} from '../token.js';
import type { LeftBehind } from './outputs.js';
import type { InstalledFile } from './port.js';

export interface Account {
  uid: number;
  gid: number;
  home: string;
}

function readOrUndefined(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

function modeOf(p: string): number | undefined {
  try {
    return fs.statSync(p).mode & 0o7777;
  } catch {
    return undefined;
  }
}

export interface WrittenFiles {
  /** Paths written or removed (unchanged files are left alone). */
  changed: string[];
  /** Put every file back as it was (after the manager refused the new ones). */
  rollback(): void;
}

/** Write `files` and remove `stale` (files an earlier install wrote that this one does not). */
export function writeFiles(
  files: readonly InstalledFile[],
  stale: readonly string[],
): WrittenFiles {
  const previous = new Map<string, { content: string | undefined; mode: number }>();
  const changed: string[] = [];
  for (const f of files) {
    const old = readOrUndefined(f.path);
    if (old === f.content) continue;
    previous.set(f.path, { content: old, mode: modeOf(f.path) ?? f.mode });
    writeFileAtomic(f.path, f.content, f.mode);
    changed.push(f.path);
  }
  for (const p of stale) {
    const old = readOrUndefined(p);
    if (old === undefined) continue;
    previous.set(p, { content: old, mode: modeOf(p) ?? 0o644 });
    fs.rmSync(p, { force: true });
    changed.push(p);
  }
  return {
    changed,
    rollback() {
      for (const [p, old] of previous) {
        if (old.content === undefined) fs.rmSync(p, { force: true });
        else writeFileAtomic(p, old.content, old.mode);
      }
    },
  };
}

const SECRETS_HEADER = `# codex-sm secrets (mode 0600), read by the service manager (EnvironmentFile=-).
# KEY=value per line, e.g. OPENAI_API_KEY=... ; never put secrets in the unit file itself.
`;

/**
 * The token and the secrets file the service reads, created 0600 when missing (owned by the
 * service account for a root install of a system unit). A token file others can read is refused
 * (`token_file_open`); a secrets file others can read is warned about.
 */
export function ensureSecrets(
  f: { tokenFile: string; secretsFile: string; account?: Account },
  warnings: string[],
): { tokenCreated: boolean } {
  const own = (p: string) => f.account && fs.chownSync(p, f.account.uid, f.account.gid);
  /** Missing directories are created owned by the service account. */
  const ownedDir = (dir: string) => {
    const missing: string[] = [];
    for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
    for (const d of missing) {
      fs.mkdirSync(d, { mode: 0o700 });
      own(d);
    }
  };
  // `serve` refuses a token file others can read (exit 78): installing a unit over one would
  // leave a service that cannot start, so refuse here, first, with the same error and hint.
  assertTokenFilePrivate(f.tokenFile);
  ownedDir(path.dirname(f.tokenFile));
  ownedDir(path.dirname(f.secretsFile));
  // The empty env: the service reads the file, so a CODEX_SM_TOKEN in this shell must not stand in for it.
  const token = loadOrCreateToken(f.tokenFile, {});
  if (token.created) own(f.tokenFile);
  if (!fs.existsSync(f.secretsFile)) {
    writeFileAtomic(f.secretsFile, SECRETS_HEADER, 0o600);
    own(f.secretsFile);
  } else if (tokenFileTooOpen(f.secretsFile)) {
    warnings.push(`${f.secretsFile} is readable by other users: chmod 600 ${f.secretsFile}`);
  }
  return { tokenCreated: token.created };
}

export interface PurgeInput {
  purge: boolean;
  tokenFile: string;
  secretsFile: string;
  stateDir: string;
  /** Files the manager appended the service's output to (launchd). */
  logFiles: readonly string[];
  codexHome?: string;
  /** Where the journal keeps the lines, when it does. */
  journal: boolean;
  env: Env;
}

/** --purge removes the token, the secrets file, codex-sm's state and log files; reports what stays. */
export function purgeFiles(f: PurgeInput): { removed: string[]; leftBehind: LeftBehind[] } {
  const removed: string[] = [];
  const leftBehind: LeftBehind[] = [];
  const ours: LeftBehind[] = [
    { path: f.tokenFile, why: 'the bearer token (remove with --purge)' },
    { path: f.secretsFile, why: 'the secrets file (remove with --purge)' },
    ...f.logFiles.map((p) => ({ path: p, why: 'the service log (remove with --purge)' })),
  ];
  for (const o of ours) {
    if (!fs.existsSync(o.path)) continue;
    if (f.purge) {
      fs.rmSync(o.path, { force: true });
      removed.push(o.path);
    } else leftBehind.push(o);
  }
  if (f.purge) {
    // Only when empty: someone may keep other files there.
    for (const dir of new Set(f.logFiles.map((p) => path.dirname(p)))) {
      try {
        fs.rmdirSync(dir);
      } catch {
        /* not empty or missing */
      }
    }
  }
  if (fs.existsSync(f.stateDir)) {
    // The lifecycle lock lives here and is held right now: keep it, remove everything else.
    const entries = fs.readdirSync(f.stateDir).filter((e) => !e.startsWith('lifecycle.lock'));
    if (f.purge) {
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
  if (f.journal)
    leftBehind.push({
      path: 'journal',
      why: 'log lines stay in the journal until it rotates them',
    });
  return { removed, leftBehind };
}
