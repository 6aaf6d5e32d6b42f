/**
 * Errors are values with codes: every failure a user can cause carries a stable code, a
 * one-line message and a hint, and the process exit code the CLI should use.
 */

/** sysexits(3) codes we use. 78 = EX_CONFIG: systemd's RestartPreventExitStatus=78 stops a loop. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 64,
  unavailable: 69,
  software: 70,
  tempFail: 75,
  config: 78,
} as const;

/**
 * Every error code a user can meet, with its exit status and when it happens: the one union the
 * whole CLI and service throw from (a code not listed here does not compile). `area` says which
 * document lists it; docs/lifecycle.md's error table is generated from the lifecycle rows
 * (errorTableMarkdown, checked by a unit test).
 */
export const ERROR_CODES = {
  usage: {
    exit: EXIT.usage,
    area: 'any',
    when: 'bad flags or arguments (`--platform launchd` without `--dry-run` on Linux, …)',
  },
  internal: {
    exit: EXIT.software,
    area: 'any',
    when: 'a bug: rerun with CODEX_SM_DEBUG=1 for the stack',
  },
  config_invalid: {
    exit: EXIT.config,
    area: 'lifecycle',
    when: 'the config does not validate (install-service needs a valid config; other commands report `configError` and go on)',
  },
  home_unknown: { exit: EXIT.config, area: 'lifecycle', when: 'HOME is not an absolute path' },
  node_unsupported: {
    exit: EXIT.config,
    area: 'lifecycle',
    when: 'install-service or serve on a Node release codex-sm does not run on (26, 24, 22.9+ and 20.17+ do)',
  },
  codex_not_found: {
    exit: EXIT.config,
    area: 'lifecycle',
    when: 'no codex binary in any of the places `codex-sm doctor` lists',
  },
  plan_invalid: {
    exit: EXIT.usage,
    area: 'lifecycle',
    when: 'a flag value cannot go into a unit (relative path, socket activation on port 0, …)',
  },
  unit_value_invalid: {
    exit: EXIT.config,
    area: 'lifecycle',
    when: 'a path or value cannot be written into a unit safely (control characters, quotes in the executable)',
  },
  unit_template_invalid: {
    exit: EXIT.software,
    area: 'lifecycle',
    when: 'a template in `units/` and its renderer disagree (a bug, or an edited template)',
  },
  unit_template_missing: {
    exit: EXIT.software,
    area: 'lifecycle',
    when: 'the `units/` directory of the installed package is missing',
  },
  launchd_plan_invalid: {
    exit: EXIT.config,
    area: 'lifecycle',
    when: 'a value cannot go into the LaunchAgent plist (label, relative path, secret-looking variable)',
  },
  unsupported_platform: {
    exit: EXIT.unavailable,
    area: 'lifecycle',
    when: 'no service manager backend for this OS (only `--dry-run --platform …` works)',
  },
  needs_root: { exit: EXIT.failure, area: 'lifecycle', when: '`--system` without root' },
  launchd_root: {
    exit: EXIT.usage,
    area: 'lifecycle',
    when: 'installing a LaunchAgent as root (it runs as the logged-in user)',
  },
  not_installed: {
    exit: EXIT.failure,
    area: 'lifecycle',
    when: 'start/restart (and the commands built on them) without an installed service; hint: `codex-sm install-service`',
  },
  start_failed: {
    exit: EXIT.failure,
    area: 'lifecycle',
    when: 'start/restart/install: the service did not become ready (systemd: the job failed or the unit is not active; launchd: no `/readyz` 200 in time — exit 75 — or it exited 78 — exit 78). Extra fields: `lastLogLines`, `activeState`, `subState`, `logCommand`',
  },
  stop_failed: {
    exit: EXIT.failure,
    area: 'lifecycle',
    when: 'the stop did not finish (systemd: the stop job did not end `done`; launchd: still loaded after bootout — exit 75)',
  },
  lock_timeout: {
    exit: EXIT.tempFail,
    area: 'lifecycle',
    when: 'another lifecycle command held the per-user lock too long; hint names its pid and command',
  },
  lock_failed: {
    exit: EXIT.failure,
    area: 'lifecycle',
    when: 'the lock helper (`flock`/`lockf`) could not take the lock',
  },
  no_user_manager: {
    exit: EXIT.unavailable,
    area: 'lifecycle',
    when: 'no systemd user manager reachable (sudo/su/cron shell); hint explains `ssh`/`machinectl shell`/`loginctl enable-linger` + `XDG_RUNTIME_DIR`',
  },
  systemd_missing: { exit: EXIT.unavailable, area: 'lifecycle', when: 'no `systemctl` at all' },
  systemctl_failed: {
    exit: EXIT.unavailable,
    area: 'lifecycle',
    when: 'a `systemctl` call of the fallback path failed; the message has its stderr',
  },
  job_timeout: {
    exit: EXIT.tempFail,
    area: 'lifecycle',
    when: "systemd did not finish a job within the unit's timeouts + 15 s",
  },
  launchctl_missing: {
    exit: EXIT.unavailable,
    area: 'lifecycle',
    when: 'no `launchctl` (not macOS): use `--dry-run --platform launchd`',
  },
  launchctl_failed: {
    exit: EXIT.failure,
    area: 'lifecycle',
    when: 'launchctl failed in a way codex-sm does not know; the message has its output',
  },
  launchd_no_session: {
    exit: EXIT.unavailable,
    area: 'lifecycle',
    when: 'neither gui/<uid> nor user/<uid> accepted the agent (125: no login session)',
  },
  launchd_io_error: {
    exit: EXIT.tempFail,
    area: 'lifecycle',
    when: 'launchd error 5: the plist was rejected or an old instance is still stopping',
  },
  launchd_busy: {
    exit: EXIT.tempFail,
    area: 'lifecycle',
    when: 'launchd error 37/36: an operation on the job is still in progress',
  },
  launchd_not_loaded: {
    exit: EXIT.failure,
    area: 'lifecycle',
    when: 'the job vanished from launchd while a command worked on it',
  },
  launchd_already_loaded: {
    exit: EXIT.failure,
    area: 'lifecycle',
    when: 'bootstrap of a job that someone else loaded meanwhile',
  },
  launchd_disabled: {
    exit: EXIT.failure,
    area: 'lifecycle',
    when: 'a `launchctl disable` override blocks the job',
  },
  update_unsupported: {
    exit: EXIT.config,
    area: 'lifecycle',
    when: '`update`: codex-sm cannot tell how Codex was installed (or it is its own dev dependency); set `update.command`',
  },
  journal_unavailable: {
    exit: EXIT.unavailable,
    area: 'lifecycle',
    when: '`logs`: journalctl failed',
  },
  invalid_since: {
    exit: EXIT.usage,
    area: 'lifecycle',
    when: '`logs --since`: a time journalctl cannot parse',
  },
  token_unreadable: { exit: EXIT.config, area: 'client', when: 'the token file cannot be read' },
  token_invalid: {
    exit: EXIT.config,
    area: 'client',
    when: 'the token file does not hold a usable token',
  },
  service_unreachable: {
    exit: EXIT.unavailable,
    area: 'client',
    when: 'the service does not answer at its endpoint',
  },
  port_in_use: { exit: EXIT.unavailable, area: 'service', when: '`serve`: the address is in use' },
  token_file_open: {
    exit: EXIT.config,
    area: 'service',
    when: '`serve` and `install-service`: the token file is readable or writable by group or others (like ssh, it is refused); `chmod 600` it',
  },
  // Exit 78 for both: a restart cannot fix either, so systemd's RestartPreventExitStatus stops the loop.
  store_too_new: {
    exit: EXIT.config,
    area: 'service',
    when: '`serve`: the store (`<stateDir>/codex-sm.sqlite`) was written by a newer codex-sm; upgrade codex-sm (it is never downgraded in place)',
  },
  sqlite_unavailable: {
    exit: EXIT.config,
    area: 'service',
    when: '`serve`: no SQLite module opens on this Node (better-sqlite3 13 from Node 22 on, 12 on Node 20 and, where 13 has no binary, on Node 22 and 24 before 24.19): missing, was left out (`--omit=optional`) or was built for another Node; install codex-sm again with the node that runs it',
  },
  store_unreadable: {
    exit: EXIT.config,
    area: 'service',
    when: '`serve`: the store cannot be opened, or is not an intact SQLite database; it is never deleted (it holds queued work): restore a backup or move it aside',
  },
  // The HTTP API's codes (docs/api.md), relayed by the CLI's client commands as the service said them.
  service_error: {
    exit: EXIT.failure,
    area: 'api',
    when: 'the service answered with an error it did not name',
  },
  unauthorized: {
    exit: EXIT.failure,
    area: 'api',
    when: 'no bearer token, or not the right one (401)',
  },
  stopping: { exit: EXIT.failure, area: 'api', when: 'the service is stopping (503)' },
  ui_not_built: {
    exit: EXIT.failure,
    area: 'api',
    when: 'the dashboard at /ui/ was not built in this checkout (503; run `make build`)',
  },
  forbidden: {
    exit: EXIT.failure,
    area: 'api',
    when: 'the token lacks the scope the route needs (403; `missingScope` names it)',
  },
  origin_mismatch: {
    exit: EXIT.failure,
    area: 'api',
    when: "a request authenticated by the dashboard session cookie that may change something (or opens a WebSocket) has no Origin, or not the service's own (403; nothing changed)",
  },
  rate_limited: {
    exit: EXIT.tempFail,
    area: 'api',
    when: 'too many failed authentications from this address (429 with Retry-After)',
  },
  token_not_found: { exit: EXIT.failure, area: 'api', when: 'no such token (404)' },
  invalid_scope: {
    exit: EXIT.usage,
    area: 'api',
    when: 'a scope that does not exist (400); `codex-sm token create --help` lists them',
  },
  invalid_body: { exit: EXIT.failure, area: 'api', when: 'the body does not match its schema' },
  invalid_query: {
    exit: EXIT.failure,
    area: 'api',
    when: 'a query parameter does not match its schema',
  },
  app_server_error: {
    exit: EXIT.failure,
    area: 'api',
    when: 'the app-server answered the request with an error (502)',
  },
  app_server_timeout: {
    exit: EXIT.failure,
    area: 'api',
    when: 'the app-server did not answer in time (504)',
  },
  app_server_unavailable: {
    exit: EXIT.failure,
    area: 'api',
    when: 'the app-server connection is down, e.g. while it restarts (503)',
  },
  no_active_turn: {
    exit: EXIT.failure,
    area: 'api',
    when: 'steer or interrupt without a running turn',
  },
  turn_conflict: {
    exit: EXIT.failure,
    area: 'api',
    when: 'the turn named is not the one running (409)',
  },
  bad_request: { exit: EXIT.failure, area: 'api', when: 'the request does not match its schema' },
  invalid_json: { exit: EXIT.failure, area: 'api', when: 'the body is not JSON' },
  body_too_large: { exit: EXIT.failure, area: 'api', when: 'the body is over the limit' },
  unsupported_media_type: {
    exit: EXIT.failure,
    area: 'api',
    when: 'the body is not application/json',
  },
  host_not_allowed: {
    exit: EXIT.failure,
    area: 'api',
    when: 'the Host header is not one the service answers to',
  },
  not_found: { exit: EXIT.failure, area: 'api', when: 'no such route' },
  not_ready: { exit: EXIT.failure, area: 'api', when: 'the app-server is not ready yet' },
  invalid_session_id: { exit: EXIT.failure, area: 'api', when: 'a session id that is not one' },
  session_not_found: { exit: EXIT.failure, area: 'api', when: 'no such session' },
  search_busy: {
    exit: EXIT.tempFail,
    area: 'api',
    when: 'every search worker is busy and the search queue is full (503 with `Retry-After`)',
  },
  invalid_cursor: { exit: EXIT.failure, area: 'api', when: 'a paging cursor that is not one' },
  invalid_approval_id: { exit: EXIT.failure, area: 'api', when: 'an approval id that is not one' },
  approval_not_found: { exit: EXIT.failure, area: 'api', when: 'no such pending approval' },
  approval_already_answered: {
    exit: EXIT.failure,
    area: 'api',
    when: 'the approval was answered before',
  },
  turn_running: {
    exit: EXIT.tempFail,
    area: 'api',
    when: 'an app-server restart without `force` while turns are running (`runningTurns` says how many)',
  },
  app_server_restart_failed: {
    exit: EXIT.unavailable,
    area: 'api',
    when: 'the restarted app-server did not answer `initialize` (the supervisor keeps retrying)',
  },
  // Queues and groups (docs/queues.md). The CLI also answers the *_not_found codes itself when
  // an id prefix names no record, or more than one.
  queue_not_found: {
    exit: EXIT.failure,
    area: 'api',
    when: 'no such queue (404), or an id prefix that names none or several',
  },
  prompt_not_found: {
    exit: EXIT.failure,
    area: 'api',
    when: 'no such prompt in the queue (404), or an id prefix that names none or several',
  },
  group_not_found: {
    exit: EXIT.failure,
    area: 'api',
    when: 'no such group (404), or an id prefix that names none or several',
  },
  prompt_not_editable: {
    exit: EXIT.failure,
    area: 'api',
    when: 'editing, moving or removing a prompt that ran or is running (409)',
  },
  // Exit 75 (try again later) like turn_running: both end by themselves when the turns do.
  queue_running: {
    exit: EXIT.tempFail,
    area: 'api',
    when: 'deleting a queue while a turn of it runs (409)',
  },
  queue_not_running: {
    exit: EXIT.failure,
    area: 'api',
    when: 'pause or stop of a queue that is not running (409)',
  },
  queue_not_paused: {
    exit: EXIT.failure,
    area: 'api',
    when: 'resume of a queue that is not paused (409)',
  },
  group_busy: {
    exit: EXIT.tempFail,
    area: 'api',
    when: 'a group run, or deleting the group, while its run is unfinished (409)',
  },
  group_empty: { exit: EXIT.failure, area: 'api', when: 'running a group with no sessions (409)' },
  too_many_connections: {
    exit: EXIT.tempFail,
    area: 'api',
    when: 'a new connection over `limits.maxConnections` or `limits.maxConnectionsPerPeer` (503, then closed)',
  },
  request_timeout: {
    exit: EXIT.tempFail,
    area: 'api',
    when: 'the request headers or body did not arrive within `limits.headersTimeoutMs` / `limits.requestTimeoutMs` (408, then closed)',
  },
  headers_too_large: {
    exit: EXIT.failure,
    area: 'api',
    when: 'the request headers are over node’s limit (431, then closed)',
  },
  invalid_image: {
    exit: EXIT.failure,
    area: 'api',
    when: 'an image a prompt names that the service will not read: not an http(s) or data URL, nor an absolute path of an image file under the session’s cwd or `images.allowedDirs` (400)',
  },
  invalid_cwd: {
    exit: EXIT.failure,
    area: 'api',
    when: 'a queue `cwd` that is not an absolute path of an existing directory (400)',
  },
  // Hostile or malformed requests (docs/api.md, "Errors"): every status has the JSON shape.
  method_not_allowed: {
    exit: EXIT.failure,
    area: 'api',
    when: 'the route exists but not with this method (405, `Allow` lists the ones it has)',
  },
  not_implemented: {
    exit: EXIT.failure,
    area: 'api',
    when: 'an HTTP method no route uses (TRACE, CONNECT, an unknown name; 501)',
  },
  request_aborted: {
    exit: EXIT.failure,
    area: 'api',
    when: 'the client closed the connection before its request body ended (400; nobody reads it)',
  },
  too_many_clients: {
    exit: EXIT.tempFail,
    area: 'api',
    when: 'a WebSocket upgrade on `/` or `/app-server` while `maxGatewayClients` are connected (503)',
  },
  session_archived: {
    exit: EXIT.failure,
    area: 'api',
    when: 'archiving a session that is already archived (409)',
  },
  session_not_archived: {
    exit: EXIT.failure,
    area: 'api',
    when: 'unarchiving a session that is not archived (409)',
  },
} as const satisfies Record<string, { exit: number; area: string; when: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: string | undefined): code is ErrorCode {
  return code !== undefined && Object.hasOwn(ERROR_CODES, code);
}

/** The lifecycle rows of ERROR_CODES as the Markdown table docs/lifecycle.md shows. */
export function errorTableMarkdown(): string {
  const rows = Object.entries(ERROR_CODES)
    .filter(([, e]) => e.area === 'lifecycle' || e.area === 'any')
    .map(([code, e]) => `| \`${code}\` | ${e.exit} | ${e.when} |`);
  return ['| code | exit | when |', '|---|---|---|', ...rows].join('\n');
}

export interface ErrorJson {
  error: { code: ErrorCode; message: string; hint?: string };
}

export class CodexSmError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: number;
  /** Extra fields for the JSON form (e.g. journal lines after a failed start). */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: {
      hint?: string;
      exitCode?: number;
      details?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CodexSmError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? ERROR_CODES[code].exit;
    this.details = opts.details;
  }

  toJSON(): ErrorJson {
    const error: ErrorJson['error'] & Record<string, unknown> = {
      code: this.code,
      message: this.message,
    };
    if (this.hint) error.hint = this.hint;
    if (this.details) Object.assign(error, this.details);
    return { error };
  }
}

/** A config problem: exit 78, never retried by systemd. */
export function configError(message: string, hint?: string): CodexSmError {
  return new CodexSmError('config_invalid', message, { hint, exitCode: EXIT.config });
}

export function toCodexSmError(err: unknown): CodexSmError {
  if (err instanceof CodexSmError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CodexSmError('internal', message, { exitCode: EXIT.software, cause: err });
}
