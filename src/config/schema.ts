/**
 * The one JSON Schema for codex-sm's configuration. The config file, CODEX_SM_* env vars and CLI
 * flags are each validated against it (every key optional), then merged and validated again.
 * Secrets (the bearer token) are not config: they live in a 0600 file or CODEX_SM_TOKEN.
 */

export interface TlsConfig {
  cert: string;
  key: string;
}

export interface AppServerConfig {
  /** How codex-sm reaches its app-server child: a unix socket in a private 0700 dir, or loopback ws. */
  transport: 'unix' | 'ws';
  /** Extra arguments for `codex app-server` (e.g. `-c key=value` overrides). */
  args: string[];
  requestTimeoutMs: number;
  /** Give up waiting for `initialize` after this long and restart the child. */
  startTimeoutMs: number;
  /** Liveness probe period on the control connection; 0 disables. */
  pingIntervalMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A child that stayed ready this long resets the backoff. */
  stableAfterMs: number;
}

export interface ApprovalsConfig {
  timeoutMs: number;
  defaultDecision: 'decline' | 'cancel' | 'accept';
}

export interface UpdateConfig {
  /** argv of the update command; [] = chosen from how Codex is installed (`codex-sm update --check`). */
  command: string[];
  /** The update command's time limit. */
  timeoutMs: number;
  /** How long `update` waits for running turns to end before it defers the app-server restart. */
  waitIdleMs: number;
}

export interface SearchConfig {
  /** Searches that run at once, each in its own worker thread. */
  workers: number;
  /** Searches that may wait for a worker; beyond that a search is refused with 503. */
  queue: number;
}

/** Bounds on what one client can hold open (docs/serve.md, "Timeouts and connection caps"). */
export interface LimitsConfig {
  /** The request line and headers must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** A whole request, body included, must arrive within this (an authenticated upload). */
  requestTimeoutMs: number;
  /** A connection with no request in progress and no bytes for this long is closed. */
  idleTimeoutMs: number;
  /** Open connections (HTTP, SSE, WebSocket) in total; over it a new one gets a JSON 503. */
  maxConnections: number;
  /** Open connections from one peer address. */
  maxConnectionsPerPeer: number;
}

export interface ImagesConfig {
  /** Directories (absolute) whose image files any prompt may name, besides its session's cwd. */
  allowedDirs: string[];
}

/** What a webhook may be sent for (docs/notify.md). */
export const NOTIFY_EVENTS = [
  'approval.requested',
  'approval.timedOut',
  'turn.completed',
  'turn.failed',
  'queue.completed',
  'queue.failed',
  'group.completed',
  'appServer.restarted',
  'appServer.failed',
  'service.started',
] as const;
export type NotifyEventType = (typeof NOTIFY_EVENTS)[number];

export interface WebhookConfig {
  url: string;
  /** The events sent to this target; all of them when absent. */
  events?: NotifyEventType[];
  /** File holding the HMAC secret (read at each send, never logged); no signature without it. */
  secretFile?: string;
  format: 'json' | 'ntfy';
}

export interface NotifyConfig {
  webhooks: WebhookConfig[];
  /** One delivery attempt's time limit. */
  requestTimeoutMs: number;
  /** An event still undelivered this long after it happened is marked failed. */
  retryForMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

export interface Config {
  host: string;
  port: number;
  codexHome: string;
  codexBin?: string;
  tokenFile: string;
  /** Where codex-sm keeps its own state (SQLite index and queues). */
  stateDir: string;
  allowedHosts: string[];
  insecureBind: boolean;
  tls?: TlsConfig;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Whole graceful-stop budget; the unit's TimeoutStopSec is derived from it. */
  stopTimeoutMs: number;
  /** Bytes a WebSocket client may leave unread before it is disconnected. */
  maxClientBufferBytes: number;
  /** Largest WebSocket message a gateway client may send (the app-server's own limit caps it). */
  maxFrameBytes: number;
  /** WebSocket clients of the gateway (`/`, `/app-server`) at once; each costs app-server memory. */
  maxGatewayClients: number;
  limits: LimitsConfig;
  images: ImagesConfig;
  appServer: AppServerConfig;
  approvals: ApprovalsConfig;
  update: UpdateConfig;
  search: SearchConfig;
  notify: NotifyConfig;
}

/** Deep-partial shape of one layer (file, env, flags). */
export type ConfigLayer = {
  [K in keyof Config]?: Config[K] extends object
    ? Config[K] extends unknown[]
      ? Config[K]
      : Partial<Config[K]>
    : Config[K];
};

/**
 * `x-reload` (RELOAD_KEYWORD in reload.ts) on every key says what a SIGHUP reload does with a
 * change: `live` = applied at once everywhere the key is used; `restart` = read only at start, so
 * the change is reported as needing `codex-sm restart`. An object's children share its marker.
 */
const LIVE = { 'x-reload': 'live' } as const;
const RESTART = { 'x-reload': 'restart' } as const;

const ms = (minimum: number, maximum: number, def: number) => ({
  type: 'integer',
  minimum,
  maximum,
  default: def,
});

export const configSchema = {
  $id: 'https://codex-sm.dev/schemas/config.json',
  title: 'codex-sm configuration',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    host: {
      type: 'string',
      minLength: 1,
      default: '127.0.0.1',
      description: 'Address to bind.',
      ...RESTART,
    },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 3100, ...RESTART },
    codexHome: {
      type: 'string',
      minLength: 1,
      description: 'CODEX_HOME for the app-server.',
      ...RESTART,
    },
    codexBin: {
      type: 'string',
      minLength: 1,
      description: 'Absolute path of the codex binary.',
      ...RESTART,
    },
    tokenFile: {
      type: 'string',
      minLength: 1,
      description: 'File holding the bearer token.',
      ...LIVE,
    },
    stateDir: {
      type: 'string',
      minLength: 1,
      description: 'codex-sm state (SQLite), default $XDG_STATE_HOME/codex-sm.',
      ...RESTART,
    },
    allowedHosts: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      default: [],
      description: 'Host header names accepted besides the loopback names.',
      ...LIVE,
    },
    insecureBind: { type: 'boolean', default: false, ...RESTART },
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['cert', 'key'],
      properties: {
        cert: { type: 'string', minLength: 1, ...RESTART },
        key: { type: 'string', minLength: 1, ...RESTART },
      },
      ...RESTART,
    },
    logLevel: {
      enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
      default: 'info',
      ...LIVE,
    },
    stopTimeoutMs: { ...ms(1000, 600_000, 10_000), ...LIVE },
    maxClientBufferBytes: { ...ms(65_536, 1 << 30, 16 * 1024 * 1024), ...LIVE },
    // At most 64 MiB: the app-server drops a connection whose message is bigger.
    maxFrameBytes: { ...ms(1024, 64 * 1024 * 1024, 64 * 1024 * 1024), ...RESTART },
    maxGatewayClients: { ...ms(1, 100_000, 256), ...LIVE },
    // Read at each new connection (service/listen.ts). maxConnections stays far below the units'
    // LimitNOFILE=65536: a gateway client costs two fds (its socket and its app-server link).
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        headersTimeoutMs: { ...ms(100, 600_000, 30_000), ...LIVE },
        requestTimeoutMs: { ...ms(100, 3_600_000, 120_000), ...LIVE },
        idleTimeoutMs: { ...ms(100, 3_600_000, 60_000), ...LIVE },
        maxConnections: { ...ms(1, 16_384, 1024), ...LIVE },
        maxConnectionsPerPeer: { ...ms(1, 16_384, 256), ...LIVE },
      },
      ...LIVE,
    },
    // Which local files a prompt may hand to the model (service/sessions/images.ts).
    images: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        allowedDirs: {
          type: 'array',
          items: { type: 'string', pattern: '^/' },
          default: [],
          ...LIVE,
        },
      },
      ...LIVE,
    },
    appServer: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        transport: { enum: ['unix', 'ws'], default: 'unix', ...RESTART },
        args: { type: 'array', items: { type: 'string' }, default: [], ...RESTART },
        requestTimeoutMs: { ...ms(100, 3_600_000, 30_000), ...RESTART },
        startTimeoutMs: { ...ms(1000, 3_600_000, 600_000), ...RESTART },
        pingIntervalMs: { ...ms(0, 3_600_000, 15_000), ...RESTART },
        backoffInitialMs: { ...ms(10, 600_000, 500), ...RESTART },
        backoffMaxMs: { ...ms(10, 3_600_000, 30_000), ...RESTART },
        stableAfterMs: { ...ms(0, 3_600_000, 60_000), ...RESTART },
      },
      ...RESTART,
    },
    approvals: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        timeoutMs: { ...ms(1000, 86_400_000, 600_000), ...LIVE },
        defaultDecision: { enum: ['decline', 'cancel', 'accept'], default: 'decline', ...LIVE },
      },
      ...LIVE,
    },
    // Read by each `codex-sm update` run (the updater timer's), not by the service.
    update: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        command: {
          type: 'array',
          items: { type: 'string', minLength: 1 },
          default: [],
          ...LIVE,
        },
        // Both bounded so that a whole run fits the updater unit's TimeoutStartSec=30min.
        timeoutMs: { ...ms(1000, 840_000, 600_000), ...LIVE },
        waitIdleMs: { ...ms(0, 840_000, 600_000), ...LIVE },
      },
      ...LIVE,
    },
    search: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        workers: { type: 'integer', minimum: 1, maximum: 64, default: 2, ...RESTART },
        queue: { type: 'integer', minimum: 0, maximum: 10_000, default: 16, ...RESTART },
      },
      ...RESTART,
    },
    // Webhooks (service/notify): the targets are read at start (a worker each); the secret files
    // at each send, so a rotated secret needs no restart.
    notify: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        webhooks: {
          type: 'array',
          default: [],
          maxItems: 32,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['url'],
            properties: {
              url: { type: 'string', pattern: '^https?://', ...RESTART },
              events: {
                type: 'array',
                items: { enum: NOTIFY_EVENTS },
                minItems: 1,
                uniqueItems: true,
                ...RESTART,
              },
              secretFile: { type: 'string', minLength: 1, ...RESTART },
              format: { enum: ['json', 'ntfy'], default: 'json', ...RESTART },
            },
            ...RESTART,
          },
          ...RESTART,
        },
        requestTimeoutMs: { ...ms(100, 120_000, 10_000), ...RESTART },
        retryForMs: { ...ms(1000, 7 * 86_400_000, 86_400_000), ...RESTART },
        backoffInitialMs: { ...ms(10, 600_000, 1000), ...RESTART },
        backoffMaxMs: { ...ms(10, 3_600_000, 300_000), ...RESTART },
      },
      ...RESTART,
    },
  },
} as const;
