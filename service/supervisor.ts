/**
 * The app-server supervisor: spawns `codex app-server`, learns its endpoint, holds one
 * initialized control connection, and restarts the child with exponential backoff when it
 * exits or stops answering. States are explicit and every change is an event the notifier
 * (STATUS=) and /status report.
 *
 * Transport: by default a unix socket in a private 0700 directory, because the app-server's
 * WebSocket listener has no auth of its own — a loopback TCP port would be reachable by every
 * local user, a socket in a 0700 dir only by us. `appServer.transport: "ws"` uses
 * ws://127.0.0.1:0 instead (the port is read from the child's stderr).
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { versionFromUserAgent } from '../src/codex.js';
import type { AppServerConfig } from '../src/config/schema.js';
import {
  appServerArgv,
  listeningUrl,
  parseChildLogLine,
  parseRemoteControlStatus,
  remoteControlAtLaunch,
  REMOTE_CONTROL_STATUS_METHOD,
  type LaunchSettings,
} from './app-server-launch.js';
import type { AppServerJson, AppServerState, RemoteControlJson } from './status-json.js';
// rpc.ts (and with it `ws`) is loaded when the first control connection is made, so that the
// app-server is already booting while those modules load.
import type { RpcClient, ServerRequest } from './rpc.js';
import type { IncomingMessage } from './protocol.js';
import {
  backoffDelay,
  onChildLines,
  privateSocketDir,
  spawnAppServer,
  terminate,
  waitForSocket,
} from './child-process.js';

export interface SupervisorOptions {
  codexBin: string;
  codexHome: string;
  appServer: AppServerConfig;
  clientVersion: string;
  logger: Logger;
  /** Environment for the child; codex-sm's own secrets and systemd variables are removed. */
  env?: NodeJS.ProcessEnv;
  /** Read at each spawn (codex-sm's managed settings), so a restart picks up a change. */
  launchSettings?: () => LaunchSettings;
}

/** A requested restart did not bring the app-server back (the supervisor goes on retrying). */
export class RestartFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestartFailedError';
  }
}

export interface SupervisorEvents {
  state: [snapshot: AppServerJson];
  /** The control connection is initialized; the app-server is usable. */
  ready: [client: RpcClient];
  /** The app-server went away (exit, hang, stop): clients of this instance must reconnect. */
  down: [reason: string];
  notification: [method: string, params: unknown, message: IncomingMessage];
  request: [request: ServerRequest];
  /** Still starting after a while: systemd's start timeout must be extended. */
  slowStart: [elapsedMs: number];
}

export class AppServerSupervisor extends EventEmitter<SupervisorEvents> {
  private stateValue: AppServerState = 'stopped';
  private child: ChildProcess | undefined;
  private control: RpcClient | undefined;
  private version: string | undefined;
  private endpoint: string | undefined;
  private restarts = 0;
  private attempt = 0;
  private readySince = 0;
  private lastExit: AppServerJson['lastExit'];
  private lastError: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private slowTimer: NodeJS.Timeout | undefined;
  private socketDir: string | undefined;
  private remoteControl: RemoteControlJson = { enabled: false, status: null, serverName: null };
  /** A requested restart not begun yet (later calls share it), and the one before it. */
  private queuedRestart: Promise<AppServerJson> | undefined;
  private lastRestart: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;
  private readonly childLog: Logger;

  constructor(private readonly opts: SupervisorOptions) {
    super();
    this.log = opts.logger.child({ component: 'supervisor' });
    this.childLog = opts.logger.child({ component: 'app-server' });
  }

  get state(): AppServerState {
    return this.stateValue;
  }

  /** The initialized control connection, when ready. */
  get client(): RpcClient | undefined {
    return this.stateValue === 'ready' ? this.control : undefined;
  }

  /** Where a new client connection for this instance goes (only while ready). */
  get upstreamEndpoint(): string | undefined {
    return this.stateValue === 'ready' ? this.endpoint : undefined;
  }

  snapshot(): AppServerJson {
    const s: AppServerJson = {
      state: this.stateValue,
      restarts: this.restarts,
      remoteControl: { ...this.remoteControl },
    };
    if (this.child?.pid && this.stateValue !== 'backoff') s.pid = this.child.pid;
    if (this.version) s.version = this.version;
    if (this.endpoint && this.stateValue === 'ready') s.endpoint = this.endpoint;
    if (this.lastExit) s.lastExit = this.lastExit;
    if (this.lastError) s.lastError = this.lastError;
    if (this.stateValue === 'backoff') s.nextRetryMs = Math.max(0, this.retryAt - Date.now());
    return s;
  }

  start(): void {
    if (this.stateValue !== 'stopped') return;
    this.spawnChild();
  }

  /** Stop the child: SIGTERM, then SIGKILL after graceMs. Resolves when it has exited. */
  async stop(graceMs: number): Promise<void> {
    this.clearTimers();
    const child = this.child;
    this.setState('stopping');
    this.control?.close(1001, 'codex-sm stopping');
    if (child) await terminate(child, graceMs);
    this.cleanupSocketDir();
    this.setState('stopped');
  }

  /**
   * Restart the app-server now, not codex-sm: SIGTERM (the app-server saves its loaded threads),
   * SIGKILL after graceMs, then a new child at once — with the launch settings read again.
   * Clients of the old one are told (`down`). Resolves once the new child answered
   * `initialize`; rejects with RestartFailedError when it fails to come up (the usual backoff
   * goes on). Restarts never overlap: a call made while one is running gets the next one, and
   * calls made while that next one waits share it.
   */
  restart(graceMs: number, reason: string): Promise<AppServerJson> {
    if (this.queuedRestart) return this.queuedRestart;
    const next = this.lastRestart.then(() => {
      this.queuedRestart = undefined;
      return this.restartNow(graceMs, reason);
    });
    this.queuedRestart = next;
    this.lastRestart = next.catch(() => undefined);
    return next;
  }

  private async restartNow(graceMs: number, reason: string): Promise<AppServerJson> {
    const stoppingError = () => new RestartFailedError('codex-sm is stopping');
    if (this.stateValue === 'stopping' || this.stateValue === 'stopped') throw stoppingError();
    this.clearTimers();
    const old = this.child;
    this.log.info({ reason, childPid: old?.pid }, 'restarting app-server');
    this.setState('restarting'); // first: the exit and the control close below are expected
    this.emit('down', reason);
    this.control?.close(1012, 'app-server restarting');
    if (old) await terminate(old, graceMs);
    if (this.stateValue !== 'restarting') throw stoppingError(); // stop() came in meanwhile
    this.attempt = 0;
    this.restarts++;
    const outcome = new Promise<AppServerJson>((resolve, reject) => {
      const onState = (s: AppServerJson) => {
        if (s.state === 'starting' || s.state === 'restarting') return;
        this.off('state', onState);
        if (s.state === 'ready') resolve(s);
        else if (s.state === 'stopping' || s.state === 'stopped') reject(stoppingError());
        else reject(new RestartFailedError(s.lastError ?? `app-server ${s.state}`));
      };
      this.on('state', onState);
    });
    this.spawnChild();
    return outcome;
  }

  /** Restart now (used for a hung child and by tests): kill it, the exit path schedules the restart. */
  kill(reason: string): void {
    const child = this.child;
    if (!child || this.killing.has(child)) return; // the first reason is the real one
    this.killing.add(child);
    this.lastError = reason;
    child.kill('SIGKILL');
  }

  private readonly killing = new WeakSet<ChildProcess>();

  private setState(state: AppServerState): void {
    this.stateValue = state;
    this.emit('state', this.snapshot());
  }

  private listenUrl(): string {
    if (this.opts.appServer.transport === 'ws') return 'ws://127.0.0.1:0';
    this.socketDir ??= privateSocketDir(this.opts.env ?? process.env);
    return `unix://${path.join(this.socketDir, 'app-server.sock')}`;
  }

  private spawnChild(): void {
    this.clearTimers();
    this.version = undefined;
    this.endpoint = undefined;
    let listen: string;
    try {
      fs.accessSync(this.opts.codexBin, fs.constants.X_OK);
    } catch (e) {
      this.failAttempt(
        `cannot run ${this.opts.codexBin}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
      return;
    }
    try {
      fs.mkdirSync(this.opts.codexHome, { recursive: true }); // the app-server requires CODEX_HOME to exist
      listen = this.listenUrl();
      if (listen.startsWith('unix://')) fs.rmSync(listen.slice(7), { force: true });
    } catch (e) {
      this.failAttempt(`cannot prepare the app-server: ${(e as Error).message}`);
      return;
    }
    const launch = this.opts.launchSettings?.() ?? { remoteControl: false };
    const args = appServerArgv(this.opts.appServer.args, listen, launch);
    this.remoteControl = remoteControlAtLaunch(args);
    this.log.info({ bin: this.opts.codexBin, args }, 'starting app-server');
    const startedAt = Date.now();
    const env = this.opts.env ?? process.env;
    const child = spawnAppServer(this.opts.codexBin, args, env, this.opts.codexHome);
    this.child = child;
    this.setState('starting');

    this.slowTimer = setInterval(() => this.emit('slowStart', Date.now() - startedAt), 5000);
    const startDeadline = setTimeout(
      () => this.kill(`no initialize answer within ${this.opts.appServer.startTimeoutMs} ms`),
      this.opts.appServer.startTimeoutMs,
    );

    let resolveWsUrl: ((url: string) => void) | undefined;
    const wsUrl = new Promise<string>((r) => (resolveWsUrl = r));
    const onLine = (line: string) => {
      const url = listeningUrl(line);
      if (url) resolveWsUrl?.(url);
      if (!line.trim()) return;
      const { level, msg } = parseChildLogLine(line);
      this.childLog[level]({ childPid: child.pid }, msg);
    };
    onChildLines(child, onLine);

    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(startDeadline);
      this.lastError = `cannot run ${this.opts.codexBin}: ${e.code ?? e.message}`;
      this.log.error({ err: e.message }, this.lastError);
      if (child.pid === undefined) this.onChildExit(child, null, null); // never started: no 'exit' follows
    });
    child.once('exit', (code, signal) => {
      clearTimeout(startDeadline);
      this.onChildExit(child, code, signal);
    });

    const gone = () => this.child !== child || child.exitCode !== null || child.signalCode !== null;
    const endpoint = listen.startsWith('unix://')
      ? waitForSocket(listen.slice('unix://'.length), gone).then(() => listen)
      : wsUrl;
    endpoint
      .then((ep) => this.connectControl(child, ep))
      .catch((e: Error) => {
        if (this.child === child && child.exitCode === null)
          this.kill(`control connection failed: ${e.message}`);
      })
      .finally(() => clearTimeout(startDeadline));
  }

  private async connectControl(child: ChildProcess, endpoint: string): Promise<void> {
    const { RpcClient } = await import('./rpc.js');
    const client = await RpcClient.connect(endpoint, {
      requestTimeoutMs: this.opts.appServer.requestTimeoutMs,
    });
    if (this.child !== child) {
      client.close();
      return;
    }
    this.control = client;
    client.on('notification', (m, p, msg) => {
      if (m === REMOTE_CONTROL_STATUS_METHOD) this.onRemoteControlStatus(child, p);
      this.emit('notification', m, p, msg);
    });
    client.on('request', (r) => this.emit('request', r));
    client.on('close', (_code, reason) => {
      if (this.control === client && this.child === child && this.stateValue === 'ready')
        this.kill(`control connection lost: ${reason}`);
    });
    const init = await client.initialize(
      {
        clientInfo: {
          name: 'codex-sm',
          title: 'codex-sm supervisor',
          version: this.opts.clientVersion,
        },
        capabilities: { experimentalApi: true },
      },
      this.opts.appServer.startTimeoutMs,
    );
    if (this.child !== child) return;
    this.version = versionFromUserAgent(init.userAgent);
    this.endpoint = endpoint;
    this.readySince = Date.now();
    this.lastError = undefined;
    if (this.slowTimer) clearInterval(this.slowTimer);
    this.log.info({ childPid: child.pid, version: this.version, endpoint }, 'app-server ready');
    this.setState('ready');
    this.emit('ready', client);
    this.startPing(child, client);
  }

  private onRemoteControlStatus(child: ChildProcess, params: unknown): void {
    const rc = parseRemoteControlStatus(params);
    if (!rc || this.child !== child) return;
    this.remoteControl = { ...this.remoteControl, ...rc };
    this.log.info({ childPid: child.pid, remoteControl: this.remoteControl }, 'remote control');
    this.setState(this.stateValue); // /status and its waiters see the change
  }

  /** A child that is alive but never answers is as good as dead: probe it and kill on silence. */
  private startPing(child: ChildProcess, client: RpcClient): void {
    const every = this.opts.appServer.pingIntervalMs;
    if (!every) return;
    this.pingTimer = setInterval(() => {
      client
        .request('thread/loaded/list', {}, { timeoutMs: Math.max(every, 1000) })
        .catch((e: Error) => {
          if (this.child === child && this.stateValue === 'ready' && e.name === 'RpcTimeoutError')
            this.kill(`app-server stopped answering (${e.message})`);
        });
    }, every);
  }

  private readonly exited = new WeakSet<ChildProcess>();

  private onChildExit(
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (this.child !== child || this.exited.has(child)) return;
    this.exited.add(child);
    const wasReady = this.stateValue === 'ready';
    this.lastExit = { code, signal, at: new Date().toISOString() };
    this.control?.terminate();
    this.control = undefined;
    if (['stopping', 'stopped', 'restarting'].includes(this.stateValue)) return; // asked for
    this.log.warn({ code, signal, reason: this.lastError }, 'app-server exited');
    this.emit('down', this.lastError ?? `app-server exited (${signal ?? `code ${code}`})`);
    if (wasReady && Date.now() - this.readySince >= this.opts.appServer.stableAfterMs)
      this.attempt = 0;
    this.failAttempt(this.lastError ?? `app-server exited (${signal ?? `code ${code}`})`);
  }

  private failAttempt(reason: string): void {
    this.clearTimers();
    this.lastError = reason;
    const delay = backoffDelay(
      this.attempt++,
      this.opts.appServer.backoffInitialMs,
      this.opts.appServer.backoffMaxMs,
    );
    this.restarts++;
    this.retryAt = Date.now() + delay;
    // A binary that cannot even be run is "failed" (we keep retrying so a fix is picked up).
    this.setState(/cannot (run|prepare)/.test(reason) ? 'failed' : 'backoff');
    this.retryTimer = setTimeout(() => this.spawnChild(), delay);
  }

  private clearTimers(): void {
    for (const t of [this.retryTimer, this.pingTimer, this.slowTimer]) if (t) clearTimeout(t);
    this.retryTimer = this.pingTimer = this.slowTimer = undefined;
  }

  private cleanupSocketDir(): void {
    if (this.socketDir) fs.rmSync(this.socketDir, { recursive: true, force: true });
    this.socketDir = undefined;
  }
}
