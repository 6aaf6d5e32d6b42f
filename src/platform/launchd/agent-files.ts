/**
 * The files of one LaunchAgent and what they say: the plist on disk, the copy of the plist that
 * was last bootstrapped (launchd cannot hand back what it loaded), and the log files the plist
 * names.
 *
 * "Did the plist change since it was loaded?" — after each successful bootstrap the manager keeps
 * a byte copy of what it loaded (<stateDir>/launchd/<label>.loaded.plist). The plist on disk
 * differs from what launchd runs when that copy differs from it, when there is no copy (installed
 * by hand or by an older codex-sm), or when `launchctl print` shows another plist path or other
 * ProgramArguments (a copy that went stale behind our back). Any of these means restart must
 * bootout + bootstrap: kickstart -k would restart the old definition.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parsePlistText } from 'plist';
import type { LogSource } from './logs.js';
import type { LaunchdPrintInfo } from './parse.js';
import { launchdLogPaths } from './render.js';

export interface AgentFiles {
  plistPath: string;
  /** The copy of the plist launchd last loaded. */
  recordPath: string;
  /** Defaults for the log files when the plist does not name them. */
  logDir: string;
  name: string;
}

export function readPlistOnDisk(plistPath: string): Record<string, unknown> | undefined {
  try {
    const parsed = parsePlistText(fs.readFileSync(plistPath, 'utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The files named by the plist on disk (what launchd writes to), else the defaults. */
export function logSources(files: AgentFiles): LogSource[] {
  const defaults = launchdLogPaths(files.logDir, files.name);
  const onDisk = readPlistOnDisk(files.plistPath);
  return [
    {
      stream: 'stdout',
      path: typeof onDisk?.StandardOutPath === 'string' ? onDisk.StandardOutPath : defaults.stdout,
    },
    {
      stream: 'stderr',
      path:
        typeof onDisk?.StandardErrorPath === 'string' ? onDisk.StandardErrorPath : defaults.stderr,
    },
  ];
}

/** Call right after a successful bootstrap of files.plistPath. */
export function rememberLoadedDefinition(files: AgentFiles): void {
  fs.mkdirSync(path.dirname(files.recordPath), { recursive: true, mode: 0o700 });
  fs.copyFileSync(files.plistPath, files.recordPath);
}

function readOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** See the header. False when there is no plist on disk (nothing to reload from). */
export function definitionChanged(files: AgentFiles, loaded: LaunchdPrintInfo): boolean {
  const onDisk = readOrUndefined(files.plistPath);
  if (onDisk === undefined) return false;
  const copy = readOrUndefined(files.recordPath);
  if (copy === undefined || copy !== onDisk) return true;
  if (loaded.path !== undefined && path.resolve(loaded.path) !== path.resolve(files.plistPath))
    return true;
  const args = readPlistOnDisk(files.plistPath)?.ProgramArguments;
  return Boolean(
    loaded.arguments &&
    Array.isArray(args) &&
    JSON.stringify(loaded.arguments) !== JSON.stringify(args),
  );
}
