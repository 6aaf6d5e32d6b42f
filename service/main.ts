/**
 * `codex-sm serve`: the process the OS manager owns. Owns the lifecycle — config, logger,
 * token, the app-server supervisor, sd_notify, the listener — and loads the front end
 * (./front.ts: Koa app, auth, relay, features) only after READY=1, or when the app-server is
 * slow to start: what arrives before waits in ./front-gate.ts (docs/serve.md, "Start-up").
 * READY=1 once the listener is bound and the app-server answered initialize; STATUS= on every
 * change; WATCHDOG=1 from the main loop; SIGHUP reload; graceful stop within the budget.
 */
import type http from 'node:http';
import { endpointFor } from '../src/client.js';
import { resolveCodexBin } from '../src/codex.js';
import { loadConfig, type ConfigFlags } from '../src/config/flags.js';
import { planReload } from '../src/config/reload.js';
import type { Config } from '../src/config/schema.js';
import { toCodexSmError } from '../src/errors.js';
import { createLogger, underJournal, type Logger } from '../src/logging.js';
import { packageInfo } from '../src/package-info.js';
import { readSettings } from '../src/settings.js';
import { assertTokenFilePrivate, loadOrCreateToken, type TokenInfo } from '../src/token.js';
import type { FrontEnd } from './front.js';
import { FrontGate } from './front-gate.js';
import {
  activationFd,
  boundAddress,
  checkExposure,
  clearActivationEnv,
  createServer,
  listen,
} from './listen.js';
import { closeUnfinishedUploads } from './limits.js';
import { logFilesFromEnv, startLogTruncation } from './logfile-truncate.js';
import { createNotifier, monotonicUsec, watchdogIntervalMs, type Notifier } from './notify.js';
import { serviceState, statusText } from './status.js';
import { appServerGraceMs } from './child-process.js';
import { AppServerSupervisor } from './supervisor.js';
import { assertNodeSupported } from '../src/node-support.js';

/** WebSocket close code for clients when the service stops. */
const GOING_AWAY = 1001;
/** The front end loads after READY=1, or after this long if the app-server is not ready yet. */
const FRONT_AT_LATEST_MS = 1000;

export interface RunningService {
  readonly server: http.Server;
  readonly notifier: Notifier;
  readonly logger: Logger;
  stop(reason: string): Promise<void>;
  reload(): Promise<void>;
}

export async function serve(flags: ConfigFlags): Promise<void> {
  const svc = await startService(flags);
  const stopOn = (signal: NodeJS.Signals) => {
    svc.logger.info({ signal }, 'stopping');
    void svc.stop(signal).then(() => process.exit(0));
  };
  process.once('SIGTERM', stopOn);
  process.once('SIGINT', stopOn);
  process.on('SIGHUP', () => void svc.reload());
}

export async function startService(
  flags: ConfigFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningService> {
  assertNodeSupported(); // before the store: its SQLite module aborts on an unsupported Node
  let config = loadConfig(flags, env).config;
  const logger = createLogger({ level: config.logLevel, env });
  const activation = activationFd(env);
  clearActivationEnv(env); // before any child is spawned
  checkExposure(config);
  let token = loadServiceToken(config.tokenFile, env);
  const codex = resolveCodexBin({ codexBin: config.codexBin, codexHome: config.codexHome, env });
  const version = packageInfo().version;
  const notifier = createNotifier(env, logger);
  const startedAt = Date.now();
  let stopping = false;
  let readySent = false;
  let endpoint: string | undefined = undefined; // set once the listener is bound
  let startingSince = Date.now();
  let front: FrontEnd | undefined = undefined; // loaded after READY=1 (loadFront)
  /** Restart-only keys whose configured value differs from the running one (set by reload). */
  let pendingRestart: readonly string[] = [];

  const supervisor = new AppServerSupervisor({
    codexBin: codex.path,
    codexHome: config.codexHome,
    appServer: config.appServer,
    clientVersion: version,
    logger,
    env,
    // The settings file, not the config: `enable-remote-control` writes it, then restarts only the app-server.
    launchSettings: () => ({ remoteControl: readSettings(config.stateDir).remoteControl }),
  });

  const describe = () => {
    const app = supervisor.snapshot();
    return {
      app,
      state: serviceState(app, stopping),
      text: statusText(app, {
        clients: front?.gateway.clientCount ?? 0,
        endpoint,
        stopping,
        startingForMs: Date.now() - startingSince,
        pendingRestart,
      }),
    };
  };

  // --- sd_notify: STATUS on every change, READY once, watchdog, start-timeout extension
  let lastStatus = '';
  const publish = () => {
    const { text } = describe();
    if (text !== lastStatus) {
      lastStatus = text;
      notifier.send({ STATUS: text });
    }
    if (!readySent && endpoint && supervisor.state === 'ready') {
      readySent = true;
      notifier.send({ READY: 1, STATUS: text });
      logger.info({ endpoint, appServerVersion: supervisor.snapshot().version }, 'ready');
      loadFront();
    }
  };
  supervisor.on('state', (s) => {
    if (s.state === 'starting') startingSince = Date.now();
    publish();
  });
  supervisor.on('slowStart', (ms) => {
    // Only before the first READY: a first start on a big CODEX_HOME backfills SQLite for minutes.
    if (!readySent) notifier.send({ EXTEND_TIMEOUT_USEC: 30_000_000, STATUS: describe().text });
    logger.info({ elapsedMs: ms }, 'app-server still starting');
  });
  const watchdogMs = watchdogIntervalMs(env);
  const watchdog = watchdogMs
    ? setInterval(() => notifier.send({ WATCHDOG: 1 }), watchdogMs)
    : undefined;
  const statusTicker = setInterval(publish, 1000); // backoff countdown and client counts stay fresh

  // Under launchd our stdout/stderr are plain files nobody rotates: keep them bounded, in place.
  const logFiles = logFilesFromEnv(env);
  const truncation = logFiles.length
    ? startLogTruncation({
        files: logFiles,
        maxBytes: 10 * 1024 * 1024,
        intervalMs: 60_000,
        onTruncate: (info) => logger.info(info, 'log file truncated'),
        onError: (file, err) => logger.warn({ file, err: String(err) }, 'log truncation failed'),
      })
    : undefined;

  supervisor.start();
  const gate = new FrontGate();
  let server: http.Server;
  try {
    // Timeouts and connection caps (limits.*) hold from the first connection, read at each one.
    server = createServer(config, gate.request, () => config.limits);
    gate.attach(server);
    await listen(server, activation ?? { host: config.host, port: config.port });
  } catch (e) {
    await supervisor.stop(1000);
    clearInterval(statusTicker);
    if (watchdog) clearInterval(watchdog);
    truncation?.stop();
    throw e;
  }

  // The front end: not needed for READY=1, so loaded after it (its modules, the store, the
  // features cost more CPU than everything before READY=1) — or once the app-server has been
  // starting for a while, so /status answers during a slow first start.
  let frontLoading: Promise<FrontEnd | undefined> | undefined;
  const loadFront = (): void => {
    frontLoading ??= import('./front.js')
      .then(({ createFrontEnd }) => {
        if (stopping) return undefined;
        front = createFrontEnd({
          config: () => config,
          token: () => token.token,
          logger,
          supervisor,
          version,
          stopping: () => stopping,
          routes: {
            version,
            startedAt,
            ready: () => supervisor.state === 'ready' && endpoint !== undefined && !stopping,
            describe,
            pendingRestart: () => pendingRestart,
          },
        });
        gate.openWith(front.handlers);
        logger.debug({ ms: Date.now() - startedAt }, 'front end loaded');
        return front;
      })
      .catch((e: unknown) => {
        // Before issue 16 this failed the start (e.g. a state dir that cannot be written).
        const err = toCodexSmError(e);
        logger.fatal({ err: err.message, hint: err.hint }, 'cannot start the front end');
        void stop('front end failed').then(() => process.exit(err.exitCode));
        return undefined;
      });
  };
  const frontAtLatest = setTimeout(loadFront, FRONT_AT_LATEST_MS);
  frontAtLatest.unref();

  const bound = boundAddress(server);
  endpoint = endpointFor(
    bound?.host ?? config.host,
    bound?.port ?? config.port,
    Boolean(config.tls),
  );
  logger.info(
    { endpoint, activation: activation ?? null, codex: codex.path, codexSource: codex.source },
    'listening',
  );
  announce(config, endpoint, token, env);
  publish();

  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const t0 = Date.now();
    notifier.send({ STOPPING: 1, STATUS: 'stopping' });
    const budget = config.stopTimeoutMs;
    const hardStop = setTimeout(() => {
      logger.error({ budgetMs: budget }, 'graceful stop budget exceeded; exiting');
      process.exit(0);
    }, budget);
    hardStop.unref();
    clearInterval(statusTicker);
    clearTimeout(frontAtLatest);
    if (watchdog) clearInterval(watchdog);
    truncation?.stop();
    const frontEnd = await frontLoading;
    const closed = new Promise<void>((r) => server.close(() => r())); // stop accepting; in-flight requests finish
    // Uploads still arriving were not acted on yet: close them rather than wait for a slow client.
    const cut = closeUnfinishedUploads(server);
    if (cut) logger.info({ connections: cut }, 'closed unfinished uploads');
    server.closeIdleConnections();
    await frontEnd?.shutdown(GOING_AWAY, 'codex-sm stopping');
    await supervisor.stop(appServerGraceMs(budget));
    server.closeIdleConnections();
    await Promise.race([
      closed,
      new Promise((r) => setTimeout(r, Math.max(0, budget - (Date.now() - t0) - 500))),
    ]);
    server.closeAllConnections();
    clearTimeout(hardStop);
    logger.info({ reason, ms: Date.now() - t0 }, 'stopped');
    notifier.close();
  };

  const reload = async (): Promise<void> => {
    notifier.send({
      RELOADING: 1,
      MONOTONIC_USEC: monotonicUsec(),
      STATUS: 'reloading configuration',
    });
    try {
      // Live keys are read through `config` wherever they are used (ctx.config, the getters the
      // front end and features were given); the logger level and the token are held here.
      const plan = planReload(config, loadConfig(flags, env).config);
      token = loadServiceToken(plan.effective.tokenFile, env); // first: if it throws, nothing changed
      logger.level = plan.effective.logLevel;
      config = plan.effective;
      pendingRestart = plan.needsRestart;
      logger.info(
        { applied: plan.applied, needsRestart: plan.needsRestart },
        plan.needsRestart.length ? 'reloaded; some changes need `codex-sm restart`' : 'reloaded',
      );
    } catch (e) {
      logger.error(
        { err: toCodexSmError(e).message },
        'reload failed; keeping the running configuration',
      );
    }
    notifier.send({ READY: 1, STATUS: describe().text });
  };

  return { server, notifier, logger, stop, reload };
}

/** The service's token; a token file others may read is refused (exit 78), as ssh refuses a key. */
function loadServiceToken(tokenFile: string, env: NodeJS.ProcessEnv): TokenInfo {
  const token = loadOrCreateToken(tokenFile, env);
  if (token.source === 'file') assertTokenFilePrivate(tokenFile);
  return token;
}

/** Tell a person running `codex-sm serve` in a terminal how to connect. Never into the journal. */
function announce(
  config: Config,
  endpoint: string,
  token: TokenInfo,
  env: NodeJS.ProcessEnv,
): void {
  if (underJournal(env) || config.logLevel === 'silent') return;
  const ws = endpoint.replace(/^http/, 'ws');
  const tokenLine =
    token.source === 'env'
      ? 'token:    from CODEX_SM_TOKEN'
      : token.created && process.stderr.isTTY // a person at a terminal; never a log file (launchd)
        ? `token:    ${token.token}\n          (generated and saved to ${token.file}; shown this once)`
        : `token:    in ${token.file}${token.created ? ' (generated now)' : ''}`;
  const fetchToken = token.source === 'env' ? '' : `CODEX_SM_TOKEN=$(cat ${token.file}) `;
  process.stderr.write(
    `\ncodex-sm ${packageInfo().version} serving on ${endpoint}\n${tokenLine}\n` +
      `connect:  ${fetchToken}codex --remote ${ws} --remote-auth-token-env CODEX_SM_TOKEN\n` +
      `status:   curl -H "Authorization: Bearer $TOKEN" ${endpoint}/status\n\n`,
  );
}

export type { Logger };
