/**
 * A tolerant reader of `launchctl print <domain>/<label>` output. Apple documents the format as
 * "not API" and it changes between macOS releases, so the reader:
 * - reads only the service's own (top-level) keys: nested blocks such as `resource coalition`,
 *   `jetsam coalition`, `environment` or `semaphores` carry their own `state =`/`pid =` lines;
 *   depth is counted by braces, not by tabs (some tools re-indent with spaces);
 * - ignores every line it does not understand;
 * - accepts the variants seen in the field: `last exit code = 0`, `= 78: EX_CONFIG`,
 *   `= (never exited)`, the older `last exit status = 1`, `last terminating signal = Killed: 9`
 *   (which replaces the exit code line), `last exit reason = ...`.
 */

export interface LaunchdPrintInfo {
  /** The `gui/501/dev.codex-sm.service` header, when present. */
  target?: string;
  /** Raw launchd state: running, waiting, not running, spawn scheduled, xpcproxy, SIGTERMed, ... */
  state?: string;
  /** `job state = ...`, printed separately by newer releases. */
  jobState?: string;
  pid?: number;
  runs?: number;
  /** Plain exit status of the last run; undefined when it never exited or died from a signal. */
  lastExitCode?: number;
  /** The text launchd prints beside the code (`EX_CONFIG`), or `never exited`. */
  lastExitDescription?: string;
  /** `last exit reason = ...` (e.g. a jetsam or codesigning reason). */
  lastExitReason?: string;
  /** Signal number of the last termination, when it died from a signal. */
  lastSignal?: number;
  /** `Killed: 9` as printed. */
  lastSignalDescription?: string;
  /** The plist launchd loaded the job from (`path = ...`). */
  path?: string;
  program?: string;
  /** ProgramArguments as launchd holds them (the `arguments = { ... }` block). */
  arguments?: string[];
  /** `domain = gui/501 [100005]` → gui/501. */
  domain?: string;
  type?: string;
  exitTimeout?: number;
  /** `properties = keepalive | runatload | ...` split on `|`. */
  properties?: string[];
  stdoutPath?: string;
  stderrPath?: string;
}

function toInt(text: string): number | undefined {
  const m = /^-?\d+/.exec(text.trim());
  if (!m) return undefined;
  // "123abc" is not a number we trust; "78: EX_CONFIG" is (the annotation follows a colon).
  const rest = text.trim().slice(m[0].length);
  if (rest !== '' && !/^[:\s]/.test(rest)) return undefined;
  return Number(m[0]);
}

/** `78: EX_CONFIG` → [78, "EX_CONFIG"]; `(never exited)` → [undefined, "never exited"]. */
function parseExitValue(value: string): { code?: number; description?: string } {
  const v = value.trim();
  const paren = /^\((.*)\)$/.exec(v);
  if (paren) return { description: paren[1] };
  const code = toInt(v);
  const colon = v.indexOf(':');
  const description = colon >= 0 ? v.slice(colon + 1).trim() || undefined : undefined;
  return code === undefined
    ? { description: v }
    : { code, ...(description ? { description } : {}) };
}

/** `Killed: 9` → 9 (the number is the last colon-separated part). */
function parseSignal(value: string): { signal?: number; description: string } {
  const m = /(\d+)\s*$/.exec(value.trim());
  return { ...(m ? { signal: Number(m[1]) } : {}), description: value.trim() };
}

export function parseLaunchctlPrint(output: string): LaunchdPrintInfo {
  const info: LaunchdPrintInfo = {};
  let depth = 0;
  // The one nested block we read: the argv launchd holds, to compare with the plist on disk.
  let inArguments = false;
  const args: string[] = [];
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('}')) {
      if (inArguments && depth === 2) inArguments = false;
      depth = Math.max(0, depth - 1);
      continue;
    }
    const opensBlock = line.endsWith('{');
    const eq = line.indexOf(' = ');
    const key = eq >= 0 ? line.slice(0, eq).trim() : '';
    const value = eq >= 0 ? line.slice(eq + 3).trim() : '';
    if (depth === 0 && opensBlock) {
      if (eq >= 0) info.target = key;
      depth = 1;
      continue;
    }
    if (depth === 1) readTopLevel(info, key, value, line);
    if (inArguments && depth === 2 && !opensBlock) args.push(line);
    if (opensBlock) {
      depth++;
      if (depth === 2 && key === 'arguments') inArguments = true;
    }
  }
  if (args.length > 0) info.arguments = args;
  return info;
}

function readTopLevel(info: LaunchdPrintInfo, key: string, value: string, line: string): void {
  if (line.endsWith('{')) return;
  switch (key) {
    case 'state':
      info.state = value;
      break;
    case 'job state':
      info.jobState = value;
      break;
    case 'pid': {
      const pid = toInt(value);
      if (pid !== undefined && pid > 0) info.pid = pid;
      break;
    }
    case 'runs': {
      const runs = toInt(value);
      if (runs !== undefined) info.runs = runs;
      break;
    }
    case 'last exit code':
    case 'last exit status': {
      const { code, description } = parseExitValue(value);
      if (code !== undefined) info.lastExitCode = code;
      if (description !== undefined) info.lastExitDescription = description;
      break;
    }
    case 'last exit reason':
      if (value) info.lastExitReason = value;
      break;
    case 'last terminating signal': {
      const { signal, description } = parseSignal(value);
      if (signal !== undefined) info.lastSignal = signal;
      info.lastSignalDescription = description;
      break;
    }
    case 'path':
      info.path = value;
      break;
    case 'program':
      info.program = value;
      break;
    case 'type':
      info.type = value;
      break;
    case 'domain':
      // "gui/501 [100005]": the bracket is the audit session id.
      info.domain = value.split(/\s+/)[0];
      break;
    case 'exit timeout': {
      const t = toInt(value);
      if (t !== undefined) info.exitTimeout = t;
      break;
    }
    case 'stdout path':
      info.stdoutPath = value;
      break;
    case 'stderr path':
      info.stderrPath = value;
      break;
    case 'properties':
      info.properties = value
        .split('|')
        .map((p) => p.trim())
        .filter(Boolean);
      break;
    default:
      break; // unknown keys are expected: the format is not stable
  }
}

/** Lifecycle vocabulary shared with systemd, so `status` means the same on both systems. */
export type LaunchdActivity = 'active' | 'activating' | 'deactivating' | 'inactive' | 'failed';

/**
 * What the printed state means. Running with a pid is active; a spawn that is scheduled or
 * trampolining through xpcproxy is activating; SIGTERMed is deactivating; a job that is not
 * running after a non-zero exit or a signal is failed (KeepAlive will try again after
 * ThrottleInterval, but right now nothing serves); anything else is inactive.
 */
export function launchdActivity(info: LaunchdPrintInfo): LaunchdActivity {
  const state = (info.state ?? info.jobState ?? '').toLowerCase();
  if (state === 'running' && info.pid !== undefined) return 'active';
  if (state === 'running' || state === 'xpcproxy' || state.startsWith('spawn')) {
    return crashedLastTime(info) && state.startsWith('spawn') ? 'failed' : 'activating';
  }
  if (state.includes('sigterm') || state === 'stopping' || state === 'exiting')
    return 'deactivating';
  return crashedLastTime(info) ? 'failed' : 'inactive';
}

/** True when the last run ended with a non-zero status or a signal (not a clean or no exit). */
export function crashedLastTime(info: LaunchdPrintInfo): boolean {
  return (
    (info.lastExitCode !== undefined && info.lastExitCode !== 0) || info.lastSignal !== undefined
  );
}

/** "exited 78 (EX_CONFIG)", "killed by signal 9 (Killed: 9)", or undefined when nothing to say. */
export function describeLastExit(info: LaunchdPrintInfo): string | undefined {
  if (info.lastSignalDescription !== undefined) {
    return `killed by signal ${info.lastSignal ?? '?'} (${info.lastSignalDescription})`;
  }
  if (info.lastExitCode !== undefined) {
    return `exited ${info.lastExitCode}${info.lastExitDescription ? ` (${info.lastExitDescription})` : ''}`;
  }
  return undefined;
}
