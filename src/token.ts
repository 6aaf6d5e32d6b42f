/**
 * The bearer token: CODEX_SM_TOKEN, else the token file (created 0600 on first use: 32 random
 * bytes, base64url). It never goes into argv, unit files or logs.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CodexSmError, EXIT } from './errors.js';
import type { Env } from './paths.js';

export interface TokenInfo {
  token: string;
  source: 'env' | 'file';
  file?: string;
  /** True when this call created the file. */
  created: boolean;
}

export function generateToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** Write a file atomically with the given mode (tmp in the same dir + rename). */
export function writeFileAtomic(file: string, data: string, mode: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`,
  );
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, mode); // umask may have narrowed or the caller wants wider (0644 plists)
  fs.renameSync(tmp, file);
}

export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CodexSmError(
      'token_unreadable',
      `cannot read token file ${file}: ${(e as NodeJS.ErrnoException).code}`,
      {
        hint: 'it is created when the service first starts (`codex-sm serve` or `codex-sm install-service`); or point --token-file or CODEX_SM_TOKEN at the token',
        exitCode: EXIT.config,
      },
    );
  }
  const token = text.trim();
  if (token.length < 16) {
    throw new CodexSmError(
      'token_invalid',
      `token file ${file} holds no usable token (need at least 16 characters)`,
      {
        hint: 'put a long random token in it, or delete it to have one generated',
        exitCode: EXIT.config,
      },
    );
  }
  return token;
}

/** The token a client should send: CODEX_SM_TOKEN, else the token file (never created here). */
/** The token in `file`, or undefined when it cannot be read (a request then goes without one). */
export function readTokenOrUndefined(file: string): string | undefined {
  try {
    return readTokenFile(file);
  } catch {
    return undefined;
  }
}

export function readToken(tokenFile: string, env: Env = process.env): string {
  return tokenFromEnv(env) ?? readTokenFile(tokenFile);
}

function tokenFromEnv(env: Env): string | undefined {
  const fromEnv = env.CODEX_SM_TOKEN?.trim();
  if (!fromEnv) return undefined;
  if (fromEnv.length < 16) {
    throw new CodexSmError(
      'token_invalid',
      'CODEX_SM_TOKEN is too short (need at least 16 characters)',
      {
        exitCode: EXIT.config,
      },
    );
  }
  return fromEnv;
}

/** Load the token, creating the file when neither env nor file provides one. */
export function loadOrCreateToken(tokenFile: string, env: Env = process.env): TokenInfo {
  const fromEnv = tokenFromEnv(env);
  if (fromEnv) {
    return { token: fromEnv, source: 'env', created: false };
  }
  if (!fs.existsSync(tokenFile)) {
    writeFileAtomic(tokenFile, generateToken() + '\n', 0o600);
    return { token: readTokenFile(tokenFile), source: 'file', file: tokenFile, created: true };
  }
  return { token: readTokenFile(tokenFile), source: 'file', file: tokenFile, created: false };
}

/** Constant-time comparison that does not leak the token length through early exit. */
export function tokensEqual(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/**
 * What `serve` does with the token file (ssh does the same with a private key): a file that
 * group or others may read or write is refused, exit 78, before the service accepts anything.
 */
export function assertTokenFilePrivate(file: string): void {
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
  } catch {
    return; // a missing file is created 0600; an unreadable one fails when it is read
  }
  if ((mode & 0o077) === 0) return;
  throw new CodexSmError(
    'token_file_open',
    `token file ${file} is accessible by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')})`,
    { hint: `chmod 600 ${file}`, exitCode: EXIT.config },
  );
}

/** Group/world-accessible token files are a leak waiting to happen. */
export function tokenFileTooOpen(file: string): boolean {
  try {
    return (fs.statSync(file).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}
