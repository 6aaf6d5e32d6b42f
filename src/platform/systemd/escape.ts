/**
 * Quoting for systemd unit files, per systemd.syntax(7), systemd.service(5) "Command lines" and
 * systemd.exec(5) "Environment=". Pure functions.
 *
 * How systemd reads the values we write (v252 load-fragment.c):
 *  - ExecStart=: split into words with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE (so `"`/`'` quote and
 *    `\` escapes C-style, inside and outside quotes), then `%` specifiers are expanded per word,
 *    then at exec time `$VAR`/`${VAR}` are substituted (`$$` is a literal `$`).
 *  - Environment=: split the same way, then specifiers; no `$` expansion. An unquoted value with
 *    a space becomes two assignments (the silent-truncation bug in kardianos/service, pitfall 8),
 *    so we always quote the whole `KEY=value`.
 *  - Plain path settings (WorkingDirectory=, EnvironmentFile=): specifiers only. The `-` prefix
 *    of EnvironmentFile= must stay outside any quoting (jdx/mise#12683), so paths are not quoted.
 * Newlines and other control characters cannot be represented safely anywhere: we refuse them.
 */
import { CodexSmError, EXIT } from '../../errors.js';

// eslint-disable-next-line no-control-regex -- control characters are exactly what we refuse
const CONTROL = /[\u0000-\u001f\u007f]/;

function refuseControl(value: string, what: string): void {
  if (CONTROL.test(value)) {
    throw new CodexSmError(
      'unit_value_invalid',
      `${what} contains a control character (newline, tab, ...): ${JSON.stringify(value)}`,
      {
        hint: 'systemd unit files cannot carry such values safely; choose a path or value without them',
        exitCode: EXIT.config,
      },
    );
  }
}

/** `%` starts a specifier (%h, %u, ...) in almost every setting. */
export function escapeSpecifiers(s: string): string {
  return s.replace(/%/g, '%%');
}

/** C-style escapes for the inside of a double-quoted systemd word. */
function escapeInQuotes(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/** Characters that never need quoting in an ExecStart= word (besides `%` and `$`, escaped separately). */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One argv element of ExecStart=/ExecReload=, such that systemd passes it through unchanged. */
export function quoteExecArg(arg: string): string {
  refuseControl(arg, 'command-line argument');
  const escaped = escapeSpecifiers(arg).replace(/\$/g, '$$$$');
  // A lone ";" would be read as a command separator; an empty word would vanish.
  if (PLAIN_WORD.test(arg) && arg !== ';') return escaped;
  return `"${escapeInQuotes(escaped)}"`;
}

/**
 * The executable (first word) follows other rules than its arguments: systemd does no `$`
 * substitution on it (so `$` stays literal) and refuses quotes and backslashes in it outright
 * ("Executable name contains special characters").
 */
export function quoteExecutable(exe: string): string {
  refuseControl(exe, 'executable path');
  if (!exe.startsWith('/') || /["'\\]/.test(exe)) {
    throw new CodexSmError(
      'unit_value_invalid',
      `systemd cannot run ${JSON.stringify(exe)}: the executable must be an absolute path without quotes or backslashes`,
      {
        hint: 'install node (or codex-sm) under a plain path, e.g. /usr/local/bin or ~/.local',
        exitCode: EXIT.config,
      },
    );
  }
  const escaped = escapeSpecifiers(exe);
  return PLAIN_WORD.test(exe) ? escaped : `"${escaped}"`;
}

/** A whole ExecStart= value from argv; argv[0] must be absolute (no PATH lookup, no wrapper). */
export function execLine(argv: readonly string[]): string {
  const [exe, ...args] = argv;
  return [quoteExecutable(exe ?? ''), ...args.map(quoteExecArg)].join(' ');
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `"KEY=value"` for Environment=: always quoted, so spaces, quotes and `%` survive. */
export function environmentAssignment(key: string, value: string): string {
  if (!ENV_NAME.test(key)) {
    throw new CodexSmError(
      'unit_value_invalid',
      `invalid environment variable name ${JSON.stringify(key)}`,
      { exitCode: EXIT.config },
    );
  }
  refuseControl(value, `environment variable ${key}`);
  return `"${escapeInQuotes(escapeSpecifiers(`${key}=${value}`))}"`;
}

/** A path setting (WorkingDirectory=, EnvironmentFile=, ...): absolute, specifiers escaped, unquoted. */
export function pathValue(p: string): string {
  refuseControl(p, 'path');
  if (!p.startsWith('/')) {
    throw new CodexSmError(
      'unit_value_invalid',
      `path must be absolute, got ${JSON.stringify(p)}`,
      { exitCode: EXIT.config },
    );
  }
  return escapeSpecifiers(p);
}

/** One element of a space-separated path list (ReadWritePaths=): quoted when it has a space. */
export function pathListItem(p: string): string {
  const v = pathValue(p);
  return /[\s"'\\]/.test(p) ? `"${escapeInQuotes(v)}"` : v;
}

/** Free text (Description=): specifiers escaped, control characters refused. */
export function textValue(s: string): string {
  refuseControl(s, 'text');
  return escapeSpecifiers(s);
}

/**
 * The inverse of execLine for our own units (used by `status` to learn host/port/token file from
 * the installed unit): systemd's word splitting with C unescaping, then `%%`→`%` and `$$`→`$`.
 * Handles what execLine produces plus common hand edits; not a full specifier expander.
 */
export function splitExecLine(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  const n = line.length;
  const simpleEscapes: Record<string, string> = {
    n: '\n',
    t: '\t',
    r: '\r',
    '\\': '\\',
    '"': '"',
    "'": "'",
    ' ': ' ',
    s: ' ',
  };
  while (i < n) {
    while (i < n && /\s/.test(line[i] as string)) i++;
    if (i >= n) break;
    let word = '';
    let quote: string | undefined;
    for (; i < n; i++) {
      const c = line[i] as string;
      if (!quote && /\s/.test(c)) break;
      if (c === '\\' && i + 1 < n) {
        const next = line[++i] as string;
        word += simpleEscapes[next] ?? next;
      } else if (quote && c === quote) {
        quote = undefined;
      } else if (!quote && (c === '"' || c === "'")) {
        quote = c;
      } else {
        word += c;
      }
    }
    const unspecified = word.replace(/%%/g, '%');
    words.push(words.length === 0 ? unspecified : unspecified.replace(/\$\$/g, '$'));
  }
  return words;
}
