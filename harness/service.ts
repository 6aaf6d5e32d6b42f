/**
 * Harness for the real thing (tests and benchmarks): `node dist/src/cli/main.js serve` as a child process with its
 * own config dir, CODEX_HOME and token, using the real app-server from the dev dependency.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { Recorder } from './recorder.js';

// This file runs as dist/harness/service.js: the repository is two levels up.
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

const tempDirs: string[] = [];
let cleanupRegistered = false;

/** A fresh temp dir, removed when the test process exits (KEEP_TEST_DIRS=1 keeps them). */
export function tempDir(prefix = 'codex-sm-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  if (!cleanupRegistered && !process.env.KEEP_TEST_DIRS) {
    cleanupRegistered = true;
    process.on('exit', () => {
      for (const d of tempDirs) {
        try {
          fs.rmSync(d, { recursive: true, force: true });
        } catch {
          /* a child still writing into it: leave it, never fail the run over cleanup */
        }
      }
    });
  }
  return dir;
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface ServiceProcess {
  child: ChildProcess;
  dir: string;
  codexHome: string;
  tokenFile: string;
  token: string;
  endpoint: string;
  wsUrl: string;
  logs: LogLine[];
  stderr: string[];
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  config?: Record<string, unknown>;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Prefix the command (e.g. a wrapper that sets LISTEN_PID); receives [node, cli, ...args]. */
  wrap?: (argv: string[]) => string[];
  stdio?: (number | 'pipe' | 'ignore')[];
  /** Called right after spawning (e.g. to close the parent's copy of a passed fd). */
  afterSpawn?: () => void;
  /** Don't wait for the "listening" line. */
  noWait?: boolean;
  dir?: string;
}

export async function startService(opts: StartOptions = {}): Promise<ServiceProcess> {
  const dir = opts.dir ?? tempDir();
  const codexHome = path.join(dir, 'codex-home');
  const tokenFile = path.join(dir, 'token');
  const configFile = path.join(dir, 'config.json');
  fs.mkdirSync(codexHome, { recursive: true });
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      host: '127.0.0.1',
      port: 0,
      codexHome,
      tokenFile,
      stateDir: path.join(dir, 'state'),
      logLevel: 'debug',
      ...opts.config,
    }),
  );
  const argv = [process.execPath, CLI, 'serve', '--config', configFile, ...(opts.args ?? [])];
  const full = opts.wrap ? opts.wrap(argv) : argv;
  const child = spawn(full[0] as string, full.slice(1), {
    env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'xdg'), ...opts.env },
    stdio: (opts.stdio ?? ['ignore', 'pipe', 'pipe']) as ('pipe' | 'ignore' | number)[],
  });
  opts.afterSpawn?.();
  const stderr: string[] = [];
  const logRecorder = new Recorder<LogLine>();
  const logs = logRecorder.items;
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = /^(?:<\d>)?(\{.*)$/.exec(line);
    if (!m) return;
    try {
      const l = JSON.parse(m[1] as string) as LogLine;
      logRecorder.push(l);
    } catch {
      /* partial line */
    }
  });
  readline.createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> => {
    const tail = () =>
      `stderr: ${stderr.join('\n').slice(-2000)}; last logs: ${JSON.stringify(logs.slice(-5))}`;
    const seen = logRecorder.waitFor(pred, timeoutMs, tail);
    const died = exited.then((e) => {
      throw new Error(`service exited (${e.code ?? e.signal}) before the log line; ${tail()}`);
    });
    // Whichever loses the race settles later; nobody else listens to it.
    seen.catch(() => {});
    died.catch(() => {});
    return Promise.race([seen, died]);
  };
  const svc: ServiceProcess = {
    child,
    dir,
    codexHome,
    tokenFile,
    token: '',
    endpoint: '',
    wsUrl: '',
    logs,
    stderr,
    waitForLog,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  if (!opts.noWait) {
    const l = await waitForLog((x) => x.msg === 'listening');
    svc.endpoint = l.endpoint as string;
    svc.wsUrl = svc.endpoint.replace(/^http/, 'ws');
    svc.token = opts.env?.CODEX_SM_TOKEN ?? fs.readFileSync(tokenFile, 'utf8').trim();
  }
  return svc;
}

export async function waitReady(svc: ServiceProcess, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const r = await fetch(`${svc.endpoint}/readyz`);
      if (r.status === 200) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('service not ready in time');
}

/** A JSON-RPC test client on a raw WebSocket, recording everything it receives. */
export class TestClient {
  private readonly received = new Recorder<Record<string, unknown>>();
  readonly messages: Record<string, unknown>[] = this.received.items;
  private nextId = 1;
  closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(d.toString()) as Record<string, unknown>;
      } catch {
        return;
      }
      this.received.push(m);
    });
    this.closed = new Promise((r) =>
      ws.on('close', (code, reason) => r({ code, reason: reason.toString() })),
    );
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => resolve(new TestClient(ws)));
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
      );
      ws.once('error', reject);
    });
  }

  waitFor(
    pred: (m: Record<string, unknown>) => boolean,
    timeoutMs = 30_000,
  ): Promise<Record<string, unknown>> {
    return this.received.waitFor(
      pred,
      timeoutMs,
      () => `messages so far: ${this.messages.map((m) => m.method ?? m.id).join(', ')}`,
    );
  }

  async request(
    method: string,
    params?: unknown,
    timeoutMs = 30_000,
  ): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, method, params }));
    const res = await this.waitFor((m) => m.id === id && m.method === undefined, timeoutMs);
    if (res.error) throw new Error(`${method}: ${JSON.stringify(res.error)}`);
    return res.result as Record<string, unknown>;
  }

  notify(method: string, params?: unknown): void {
    this.ws.send(JSON.stringify(params === undefined ? { method } : { method, params }));
  }

  async initialize(name = 'codex-sm-test'): Promise<Record<string, unknown>> {
    const r = await this.request('initialize', {
      clientInfo: { name, title: null, version: '0.0.0' },
      capabilities: { experimentalApi: true },
    });
    this.notify('initialized');
    return r;
  }

  close(): void {
    this.ws.close();
  }
}
