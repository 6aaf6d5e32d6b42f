/**
 * The Node releases codex-sm runs on (package.json `engines`), and which SQLite module each uses.
 *
 * Two majors of better-sqlite3 (which to try, in order: sqlitePackagesFor):
 * - better-sqlite3 12 (dependency `better-sqlite3`) on Node 20. It is compiled for the node that
 *   installs it, so it must build on every supported major (12.6 does not on Node 26; 12.11 does).
 *   It derives its objects from `node::ObjectWrap`, whose destructor on Node ≥ 24.19 CHECKs
 *   that a JavaScript environment is entered: a statement collected by an idle garbage
 *   collection aborts the whole process (SIGABRT) at a random moment after some database work
 *   (WiseLibs/better-sqlite3 #1515, not fixed in 12.x). CI's Node 24 leg died so.
 * - better-sqlite3 13 (optional dependency `better-sqlite3-napi`, an npm alias) first on Node 22
 *   and later: Node-API objects, no such abort, and prebuilt binaries in the package (nothing is
 *   compiled). Its binary crashes Node 20 (segfault at the first statement), and npm skips it
 *   there (its `engines` says >= 22). Where it has no binary (armhf, ppc64le, ...), 12 is the
 *   fallback on Node 22 and on Node 24 before 24.19 — never after, where 12 aborts.
 */
import { CodexSmError } from './errors.js';

/** Oldest supported minor of each supported major: `engines` says the same. */
const SUPPORTED: Readonly<Record<number, number>> = { 20: 17, 22: 9, 24: 0, 26: 0 };

export type NodeSupport = { supported: true } | { supported: false; why: string; hint: string };

function majorMinor(version: string): [number, number] {
  const [major = NaN, minor = NaN] = version.split('.').map(Number);
  return [major, minor];
}

/** Whether codex-sm runs on this Node version (`process.versions.node`, e.g. "22.11.0"). */
export function nodeSupport(version: string): NodeSupport {
  const [major, minor] = majorMinor(version);
  const oldestMinor = SUPPORTED[major];
  const hint =
    'run codex-sm with Node 26, 24 or 22 (or 20.17+), then `codex-sm install-service` again';
  if (oldestMinor !== undefined && minor >= oldestMinor) return { supported: true };
  if (oldestMinor !== undefined)
    return { supported: false, why: `Node ${version} is older than ${major}.${oldestMinor}`, hint };
  return {
    supported: false,
    why: `Node ${version} is not a supported release (20, 22, 24 or 26)`,
    hint,
  };
}

type SqlitePackage = 'better-sqlite3' | 'better-sqlite3-napi';

/**
 * The packages holding the SQLite module for a Node version, to try in order (see the top of
 * this file): 13 from Node 22 on, 12 on Node 20. 13 has prebuilt binaries only for linux,
 * linuxmusl, darwin and win32 on x64 and arm64, and compiles nowhere else; on another platform
 * (armhf, ppc64le, …) Node 22 and Node 24 before 24.19 can still run 12, compiled by npm there.
 */
export function sqlitePackagesFor(version: string): SqlitePackage[] {
  const [major, minor] = majorMinor(version);
  if (major < 22) return ['better-sqlite3'];
  const abortsOn12 = major > 24 || (major === 24 && minor >= 19);
  return abortsOn12 ? ['better-sqlite3-napi'] : ['better-sqlite3-napi', 'better-sqlite3'];
}

/** Throws `node_unsupported` (exit 78: systemd does not restart into it) off a supported Node. */
export function assertNodeSupported(version: string = process.versions.node): void {
  const s = nodeSupport(version);
  if (!s.supported) throw new CodexSmError('node_unsupported', s.why, { hint: s.hint });
}
