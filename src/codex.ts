/**
 * Finding the codex binary, in a documented order (each step reported by `codex-sm doctor`):
 *   1. --codex-bin / CODEX_SM_CODEX_BIN / config `codexBin`
 *   2. $CODEX_HOME/packages/standalone/current/codex   (the install.sh layout)
 *   3. `codex` on PATH   (an npm wrapper script is resolved to the native binary beside it)
 *   4. the @openai/codex dev dependency's native binary (development and tests)
 * The native binary is spawned directly: the npm wrapper adds a node process and ~44 MB.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CodexSmError, EXIT } from './errors.js';
import type { Env } from './paths.js';

const execFileP = promisify(execFile);

export type CodexSource = 'config' | 'standalone' | 'path' | 'devDependency';

export interface CodexCandidate {
  source: CodexSource;
  path: string | null;
  ok: boolean;
  reason?: string;
}

export interface CodexResolution {
  path: string;
  source: CodexSource;
  candidates: CodexCandidate[];
}

/** Rust target triple and platform package, as @openai/codex's own launcher maps them. */
export function codexTarget(
  platform = process.platform,
  arch = process.arch,
): { triple: string; pkg: string } | null {
  const table: Record<string, { triple: string; pkg: string }> = {
    'linux-x64': { triple: 'x86_64-unknown-linux-musl', pkg: '@openai/codex-linux-x64' },
    'linux-arm64': { triple: 'aarch64-unknown-linux-musl', pkg: '@openai/codex-linux-arm64' },
    'darwin-x64': { triple: 'x86_64-apple-darwin', pkg: '@openai/codex-darwin-x64' },
    'darwin-arm64': { triple: 'aarch64-apple-darwin', pkg: '@openai/codex-darwin-arm64' },
  };
  return table[`${platform}-${arch}`] ?? null;
}

function whyNotExecutable(p: string): string | undefined {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return 'not a regular file';
    fs.accessSync(p, fs.constants.X_OK);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? 'does not exist'
      : code === 'EACCES'
        ? 'not executable'
        : String(code);
  }
}

/** If `p` is @openai/codex's bin/codex.js wrapper, the native binary it would launch. */
export function nativeBehindWrapper(p: string): string | undefined {
  let real: string;
  try {
    real = fs.realpathSync(p);
  } catch {
    return undefined;
  }
  if (!real.endsWith(path.join('@openai', 'codex', 'bin', 'codex.js'))) return undefined;
  const target = codexTarget();
  if (!target) return undefined;
  const pkgDir = path.dirname(path.dirname(real)); // .../@openai/codex
  const tail = path.join(
    target.pkg.split('/')[1] as string,
    'vendor',
    target.triple,
    'bin',
    'codex',
  );
  for (const dir of [path.join(pkgDir, 'node_modules', '@openai'), path.dirname(pkgDir)]) {
    const candidate = path.join(dir, tail);
    if (!whyNotExecutable(candidate)) return candidate;
  }
  return undefined;
}

function devDependencyBinary(): string | null {
  const target = codexTarget();
  if (!target) return null;
  try {
    const require = createRequire(import.meta.url);
    const pkgJson = require.resolve(`${target.pkg}/package.json`);
    return path.join(path.dirname(pkgJson), 'vendor', target.triple, 'bin', 'codex');
  } catch {
    return null;
  }
}

export function codexCandidates(opts: {
  codexBin?: string;
  codexHome: string;
  env?: Env;
}): CodexCandidate[] {
  const env = opts.env ?? process.env;
  const out: CodexCandidate[] = [];
  const check = (source: CodexSource, p: string | null, missing = 'not set'): CodexCandidate => {
    if (!p) return { source, path: null, ok: false, reason: missing };
    const reason = whyNotExecutable(p);
    return reason ? { source, path: p, ok: false, reason } : { source, path: p, ok: true };
  };
  out.push(
    check(
      'config',
      opts.codexBin ?? null,
      'not set (--codex-bin, CODEX_SM_CODEX_BIN, config codexBin)',
    ),
  );
  out.push(
    check('standalone', path.join(opts.codexHome, 'packages', 'standalone', 'current', 'codex')),
  );
  let onPath: string | null = null;
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const p = path.join(dir, 'codex');
    if (!whyNotExecutable(p)) {
      onPath = nativeBehindWrapper(p) ?? p;
      break;
    }
  }
  out.push(check('path', onPath, 'no `codex` on PATH'));
  out.push(
    check('devDependency', devDependencyBinary(), '@openai/codex is not installed beside codex-sm'),
  );
  return out;
}

export function resolveCodexBin(opts: {
  codexBin?: string;
  codexHome: string;
  env?: Env;
}): CodexResolution {
  const candidates = codexCandidates(opts);
  // An explicitly configured binary that is broken is an error, not a reason to pick another one.
  const explicit = candidates[0] as CodexCandidate;
  if (explicit.path && !explicit.ok) {
    throw new CodexSmError(
      'codex_not_found',
      `configured codex binary ${explicit.path} ${explicit.reason}`,
      {
        hint: 'fix --codex-bin / CODEX_SM_CODEX_BIN / codexBin, or unset it to search the usual places',
        exitCode: EXIT.config,
      },
    );
  }
  const hit = candidates.find((c) => c.ok);
  if (!hit || !hit.path) {
    const looked = candidates.map((c) => `${c.source}: ${c.path ?? '-'} (${c.reason})`).join('; ');
    throw new CodexSmError('codex_not_found', `no codex binary found; looked at ${looked}`, {
      hint: 'install Codex (npm i -g @openai/codex, or the standalone install.sh) or pass --codex-bin',
      exitCode: EXIT.config,
    });
  }
  return { path: hit.path, source: hit.source, candidates };
}

/** `codex --version` → "0.169.0" (the whole line if it does not look like "codex-cli X"). */
export async function codexVersion(bin: string, timeoutMs = 10_000): Promise<string> {
  const { stdout } = await execFileP(bin, ['--version'], {
    timeout: timeoutMs,
    env: { ...process.env, NO_COLOR: '1' },
  });
  const line = stdout.trim().split('\n')[0] ?? '';
  const m = /(\d+\.\d+\.\d+[\w.+-]*)/.exec(line);
  return m ? (m[1] as string) : line;
}

/** The app-server version from the `userAgent` it returns on initialize: "originator/0.169.0 (...)". */
export function versionFromUserAgent(userAgent: string): string | undefined {
  const m = /^[^/\s]+\/(\d+\.\d+\.\d+[\w.+-]*)/.exec(userAgent);
  return m?.[1];
}
