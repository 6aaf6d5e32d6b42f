/**
 * The queue and group API as docs/queues.md promises it, for the integration and system tests:
 * the shapes (hand-kept from the contract on purpose: the tests check the service against the
 * doc, not against its own types), an HTTP client, an SSE reader that waits for typed events,
 * and the `codex-sm queue|group ... --json` CLI run against a service's config.
 */
import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { CLI } from '../../harness/service.js';
import { SseClient } from './sessions-sse.js';
import { serviceFetch } from './http.js';

export type PromptStatus =
  'pending' | 'waiting' | 'running' | 'completed' | 'failed' | 'interrupted' | 'cancelled';
export type QueueStatus = 'idle' | 'running' | 'paused' | 'completed' | 'stopped' | 'failed';
export const TERMINAL_PROMPT: readonly PromptStatus[] = [
  'completed',
  'failed',
  'interrupted',
  'cancelled',
];

export interface Usage {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningOutputTokens: number;
  totalTokens: number;
}

export interface Prompt {
  id: string;
  position: number;
  text: string;
  images: string[];
  mode: 'auto' | 'manual';
  status: PromptStatus;
  turnId: string | null;
  attempts: number;
  error: unknown;
  result: { message: string; usage?: Partial<Usage>; durationMs?: number } | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Approval {
  id: string;
  status: string;
  method: string;
}

export interface Queue {
  id: string;
  name: string;
  cwd: string | null;
  sessionId: string | null;
  status: QueueStatus;
  maxRetries: number;
  waitingFor: null | 'go-ahead' | 'approval';
  approvals: Approval[];
  counts: Record<PromptStatus, number>;
  prompts: Prompt[];
  createdAt: string;
  updatedAt: string;
}

export interface GroupSession {
  sessionId: string;
  status: string;
  turnId: string | null;
  attempts: number;
  result: { message: string } | null;
  error: unknown;
}

export interface Group {
  id: string;
  name: string;
  description: string | null;
  paused: boolean;
  sessionIds: string[];
  updatedAt: string;
  run: null | {
    id: string;
    prompt: string;
    maxConcurrent: number;
    status: 'running' | 'completed' | 'failed';
    sessions: GroupSession[];
    progress: { running: string[]; completed: string[]; failed: string[]; pending: string[] };
  };
}

export interface QueueEvent {
  type: string;
  queueId: string;
  at: string;
  queue: Queue;
  prompt?: Prompt;
}

export interface GroupEvent {
  type: string;
  groupId: string;
  at: string;
  group: Group;
  sessionId?: string;
}

export interface ApiError {
  error: { code: string; message: string; hint?: string };
}

export interface Res<T> {
  status: number;
  body: T;
}

/** An authenticated JSON client of one running service. */
export class ServiceApi {
  constructor(
    readonly endpoint: string,
    readonly token: string,
  ) {}

  get auth(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  async call<T = Record<string, unknown>>(
    method: string,
    p: string,
    body?: unknown,
  ): Promise<Res<T>> {
    const r = await serviceFetch(this.endpoint, this.token, method, p, body);
    const text = r.text;
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* kept as text: the assertion on it will say what came back */
    }
    // The caller names the shape it expects; the status assertions check it got that shape.
    return { status: r.status, body: parsed as T };
  }

  /** A call that must answer `status`; returns the body. */
  async ok<T = Record<string, unknown>>(
    method: string,
    p: string,
    body: unknown,
    status: number,
  ): Promise<T> {
    const r = await this.call<T>(method, p, body);
    expect(r.status, `${method} ${p}: ${JSON.stringify(r.body)}`).to.equal(status);
    return r.body;
  }

  /** A call that must fail with `status` and a JSON error; returns the error code. */
  async fails(method: string, p: string, body: unknown, status: number): Promise<string> {
    const r = await this.call<ApiError>(method, p, body);
    expect(r.status, `${method} ${p}: ${JSON.stringify(r.body)}`).to.equal(status);
    expect(r.body.error.code, JSON.stringify(r.body)).to.be.a('string');
    expect(r.body.error.message, JSON.stringify(r.body)).to.be.a('string');
    return r.body.error.code;
  }

  createQueue(body: Record<string, unknown>): Promise<Queue> {
    return this.ok<Queue>('POST', '/api/queues', body, 201);
  }

  queue(id: string): Promise<Queue> {
    return this.ok<Queue>('GET', `/api/queues/${id}`, undefined, 200);
  }

  group(id: string): Promise<Group> {
    return this.ok<Group>('GET', `/api/groups/${id}`, undefined, 200);
  }

  async queueEvents(id: string, headers: Record<string, string> = {}): Promise<EventStream> {
    const sse = await SseClient.open(`${this.endpoint}/api/queues/${id}/events`, {
      ...this.auth,
      ...headers,
    });
    expect(sse.status, 'queue events stream').to.equal(200);
    return new EventStream(sse);
  }

  async groupEvents(id: string): Promise<EventStream> {
    const sse = await SseClient.open(`${this.endpoint}/api/groups/${id}/events`, this.auth);
    expect(sse.status, 'group events stream').to.equal(200);
    return new EventStream(sse);
  }
}

/** A queue's or group's SSE stream; waits for events by type and content. */
export class EventStream {
  constructor(readonly sse: SseClient) {}

  /** The `data` of every change event so far (all but `snapshot`), in order. */
  get all(): (QueueEvent & GroupEvent)[] {
    return this.sse.events
      .filter((e) => e.event !== 'snapshot')
      .map((e) => this.sse.json<QueueEvent & GroupEvent>(e));
  }

  types(): string[] {
    return this.all.map((e) => e.type);
  }

  /** The first event's object: the whole Queue or Group (bare, or under `queue`/`group`). */
  async snapshot<T extends Queue | Group>(): Promise<T> {
    const e = await this.sse.waitFor((x) => x.event === 'snapshot');
    const d = this.sse.json<Record<string, unknown>>(e);
    // The contract says "the whole Queue / Group" without naming a wrapper: accept both.
    const inner = d.queue ?? d.group ?? d;
    return inner as T;
  }

  async next(
    type: string,
    pred: (d: QueueEvent & GroupEvent) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<QueueEvent & GroupEvent> {
    const e = await this.sse.waitFor(
      (x) => x.event === type && pred(this.sse.json<QueueEvent & GroupEvent>(x)),
      timeoutMs,
    );
    return this.sse.json<QueueEvent & GroupEvent>(e);
  }

  /** The event `type` about prompt `promptId`. */
  prompt(type: string, promptId: string, timeoutMs?: number): Promise<QueueEvent> {
    return this.next(type, (d) => d.prompt?.id === promptId, timeoutMs);
  }

  close(): void {
    this.sse.close();
  }
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `codex-sm <args> --json` against the service whose config file is `configFile` (`env`: more
 * variables, e.g. NODE_EXTRA_CA_CERTS for a service on TLS).
 */
export function runCli(
  configFile: string,
  port: string,
  home: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [CLI, ...args, '--json', '--config', configFile, '--port', port],
      { env: { PATH: process.env.PATH, HOME: home, ...env } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The one JSON object a successful CLI run printed. */
export function cliJson<T>(r: CliRun): T {
  expect(r.code, r.stdout + r.stderr).to.equal(0);
  expect(r.stdout.trim().split('\n'), r.stderr).to.have.length(1);
  return JSON.parse(r.stdout) as T;
}

/**
 * The error code of a failed CLI run: non-zero exit, one JSON error object on stdout — the
 * project's one output rule (src/cli/output.ts), which docs/queues.md misstates as stderr.
 */
export function cliError(r: CliRun): string {
  expect(r.code, r.stdout + r.stderr).to.not.equal(0);
  expect(r.stdout.trim().split('\n'), r.stderr).to.have.length(1);
  const parsed = JSON.parse(r.stdout) as ApiError;
  expect(parsed.error.message).to.be.a('string');
  return parsed.error.code;
}

/** The prompt of `queue` whose text is `text`. */
export function byText(queue: Queue, text: string): Prompt {
  const p = queue.prompts.find((x) => x.text === text);
  if (!p) throw new Error(`no prompt ${JSON.stringify(text)} in ${JSON.stringify(queue.prompts)}`);
  return p;
}
