/**
 * The Node releases codex-sm runs on (package.json `engines`), and why not the others.
 *
 * Node 24 is not among them, although users run it: better-sqlite3 12, the last major that
 * builds for Node 20, derives its objects from `node::ObjectWrap`, whose destructor on Node
 * ≥ 24.19 CHECKs that a JavaScript environment is entered. A statement collected by an idle
 * garbage collection then aborts the whole process (SIGABRT) at a random moment after some
 * database work: CI's Node 24 leg died so, and so do other projects (WiseLibs/better-sqlite3
 * #1515, closed without a fix in 12.x). better-sqlite3 13 fixes it and needs Node ≥ 22, so
 * Node 24 comes with dropping Node 20. Until then the service refuses to start on it rather
 * than crash-loop under systemd.
 */
import { CodexSmError } from './errors.js';

/** Oldest supported minor of each supported major: `engines` says the same. */
const SUPPORTED: Readonly<Record<number, number>> = { 20: 17, 22: 9 };

export type NodeSupport = { supported: true } | { supported: false; why: string; hint: string };

/** Whether codex-sm runs on this Node version (`process.versions.node`, e.g. "22.11.0"). */
export function nodeSupport(version: string): NodeSupport {
  const [major = NaN, minor = NaN] = version.split('.').map(Number);
  const oldestMinor = SUPPORTED[major];
  const hint = 'run codex-sm with Node 22 (or 20.17+), then `codex-sm install-service` again';
  if (oldestMinor !== undefined && minor >= oldestMinor) return { supported: true };
  if (oldestMinor !== undefined)
    return { supported: false, why: `Node ${version} is older than ${major}.${oldestMinor}`, hint };
  if (major >= 24)
    return {
      supported: false,
      why: `Node ${version} is not supported: its SQLite module (better-sqlite3 12) aborts the process on Node 24.19 and later`,
      hint,
    };
  return { supported: false, why: `Node ${version} is not a supported release (20 or 22)`, hint };
}

/** Throws `node_unsupported` (exit 78: systemd does not restart into it) off a supported Node. */
export function assertNodeSupported(version: string = process.versions.node): void {
  const s = nodeSupport(version);
  if (!s.supported) throw new CodexSmError('node_unsupported', s.why, { hint: s.hint });
}
