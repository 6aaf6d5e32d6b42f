/**
 * FAKE OpenAI Responses API (the one thing that cannot run here): a local SSE server the real
 * app-server is pointed at with `-c model_provider="mock"` overrides. Each POST /v1/responses
 * takes the next scripted reply; when the script runs out it asks `fallback` (default: a plain
 * text reply). Event sequence as observed from the real server (see
 * shared/reference/codex-app-server.md).
 *
 * For tests that must control when a turn ends (queues, groups, crashes) without sleeping:
 * a `held` reply opens the stream and waits for `release()`; every request is recorded as it
 * arrives (`waitForRequest`), with the prompt it is for; open responses are counted live
 * (`inFlight`, and the peak in `maxInFlight`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Recorder } from './recorder.js';

/**
 * A reply that completes the response (what a `held` reply sends once released). Any of them
 * may reason first: `reasoning` is the summary, one string per part, streamed as deltas the way
 * a reasoning model sends them.
 */
export type CompleteReply = (
  | { kind: 'text'; text: string; chunks?: number }
  | { kind: 'exec'; command: string[]; callId?: string }
  /**
   * A call of the freeform (custom) `apply_patch` tool with a patch in Codex's format (see
   * `addFilePatch`). Codex only offers that tool to models its catalog says take it: use
   * `codexArgs({ model: PATCH_MODEL })`.
   */
  | { kind: 'patch'; patch: string; callId?: string }
) & { reasoning?: string[] };

/**
 * A model of the app-server's bundled catalog with `apply_patch_tool_type: freeform` (checked
 * in the request's `tools` for 0.169): the default `gpt-5-codex` is not in the catalog, so it
 * gets no apply_patch tool at all.
 */
export const PATCH_MODEL = 'gpt-5.5';

/** A patch in Codex's apply_patch format that creates `file` (relative to the cwd) with `lines`. */
export function addFilePatch(file: string, lines: string[]): string {
  return [
    '*** Begin Patch',
    `*** Add File: ${file}`,
    ...lines.map((l) => `+${l}`),
    '*** End Patch',
  ].join('\n');
}

export type FakeReply =
  | CompleteReply
  | { kind: 'status'; status: number }
  /** Keep the stream open without completing (for interrupt tests); ends when the server closes. */
  | { kind: 'hang' }
  /** Open the stream, then wait until the test calls `release()` on the request; then send `then` (default a text reply). */
  | { kind: 'held'; then?: CompleteReply };

/** One POST /v1/responses as the fake saw it. */
export interface FakeRequest {
  /** 1-based arrival order. */
  seq: number;
  body: unknown;
  /**
   * The text of the LAST user message of `input`: each request carries the whole thread
   * history, so this is the prompt the request is for ('' when there is none).
   */
  prompt: string;
  reply: FakeReply;
  /** Whether the response is still open (a held reply not yet released, or a hung one). */
  readonly open: boolean;
  /** Sends the rest of a held reply; a no-op for other replies, or once released or closed. */
  release(): void;
}

export interface FakeResponsesServer {
  url: string;
  port: number;
  /** Request bodies received, in order. */
  requests: unknown[];
  /** Every request as it arrived, in order. */
  arrivals: readonly FakeRequest[];
  enqueue(...replies: FakeReply[]): void;
  /** The reply when nothing is enqueued (default: `{kind: 'text', text: 'ok'}`). */
  fallback: (req: { prompt: string; body: unknown }) => FakeReply;
  /** The first request (already arrived or coming) that matches. */
  waitForRequest(pred: (r: FakeRequest) => boolean, timeoutMs?: number): Promise<FakeRequest>;
  /** Responses open right now. */
  readonly inFlight: number;
  /** The largest `inFlight` seen since start or the last `resetMaxInFlight()`. */
  readonly maxInFlight: number;
  resetMaxInFlight(): void;
  /** `-c` overrides that point codex at this server. */
  codexArgs(opts?: { model?: string }): string[];
  close(): Promise<void>;
}

let seq = 0;
const sse = (type: string, data: object) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

function usage() {
  return {
    input_tokens: 10,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 5,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 15,
  };
}

/** A reasoning item with its summary parts, streamed part by part (what codex-api's SSE parser reads). */
function reasoningEvents(parts: string[], outputIndex: number): string {
  const id = `rs_${++seq}`;
  let out = sse('response.output_item.added', {
    output_index: outputIndex,
    item: { type: 'reasoning', id, summary: [] },
  });
  parts.forEach((text, i) => {
    const at = { item_id: id, output_index: outputIndex, summary_index: i };
    out += sse('response.reasoning_summary_part.added', {
      ...at,
      part: { type: 'summary_text', text: '' },
    });
    out += sse('response.reasoning_summary_text.delta', { ...at, delta: text });
  });
  out += sse('response.output_item.done', {
    output_index: outputIndex,
    item: {
      type: 'reasoning',
      id,
      summary: parts.map((text) => ({ type: 'summary_text', text })),
      encrypted_content: null,
    },
  });
  return out;
}

/** The whole SSE body of a completing reply; `responseId` continues a held reply's stream. */
export function replyEvents(reply: CompleteReply, responseId?: string): string {
  const id = responseId ?? `resp_${++seq}`;
  let out = responseId ? '' : sse('response.created', { response: { id } });
  const at = reply.reasoning?.length ? 1 : 0; // the output index of the reply's own item
  if (reply.reasoning?.length) out += reasoningEvents(reply.reasoning, 0);
  if (reply.kind === 'text') {
    const itemId = `msg_${++seq}`;
    out += sse('response.output_item.added', {
      output_index: at,
      item: { type: 'message', role: 'assistant', id: itemId, content: [] },
    });
    const n = Math.max(1, reply.chunks ?? 1);
    const size = Math.ceil(reply.text.length / n);
    for (let i = 0; i < reply.text.length; i += size) {
      out += sse('response.output_text.delta', {
        item_id: itemId,
        output_index: at,
        content_index: 0,
        delta: reply.text.slice(i, i + size),
      });
    }
    out += sse('response.output_item.done', {
      output_index: at,
      item: {
        type: 'message',
        role: 'assistant',
        id: itemId,
        content: [{ type: 'output_text', text: reply.text, annotations: [] }],
      },
    });
  } else if (reply.kind === 'patch') {
    const n = ++seq;
    out += sse('response.output_item.done', {
      output_index: at,
      item: {
        type: 'custom_tool_call',
        id: `ctc_${n}`,
        status: 'completed',
        call_id: reply.callId ?? `call_${n}`,
        name: 'apply_patch',
        input: reply.patch,
      },
    });
  } else {
    const n = ++seq;
    const callId = reply.callId ?? `call_${n}`;
    out += sse('response.output_item.done', {
      output_index: at,
      item: {
        type: 'function_call',
        id: `fc_${n}`,
        call_id: callId,
        name: 'exec_command',
        arguments: JSON.stringify({ cmd: reply.command.join(' '), workdir: undefined }),
      },
    });
  }
  out += sse('response.completed', { response: { id, usage: usage() } });
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The text of the last `role: user` message in a Responses request's `input`. */
export function lastUserText(body: unknown): string {
  if (!isRecord(body) || !Array.isArray(body.input)) return '';
  for (let i = body.input.length - 1; i >= 0; i--) {
    const item: unknown = body.input[i];
    if (!isRecord(item) || item.role !== 'user') continue;
    if (typeof item.content === 'string') return item.content;
    if (!Array.isArray(item.content)) return '';
    return item.content
      .map((c: unknown) => (isRecord(c) && typeof c.text === 'string' ? c.text : ''))
      .join('');
  }
  return '';
}

export async function startFakeResponses(): Promise<FakeResponsesServer> {
  const queue: FakeReply[] = [];
  const requests: unknown[] = [];
  const arrivals = new Recorder<FakeRequest>();
  const open = new Set<http.ServerResponse>();
  let maxInFlight = 0;
  const state: Pick<FakeResponsesServer, 'fallback'> = {
    fallback: () => ({ kind: 'text', text: 'ok' }),
  };

  const handle = (res: http.ServerResponse, body: unknown, n: number): void => {
    const prompt = lastUserText(body);
    const reply = queue.shift() ?? state.fallback({ prompt, body });
    let release = (): void => {};
    const req: FakeRequest = {
      seq: n,
      body,
      prompt,
      reply,
      get open() {
        return open.has(res);
      },
      release: () => release(),
    };
    if (reply.kind === 'status') {
      res
        .writeHead(reply.status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'fake error' } }));
      arrivals.push(req);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    open.add(res);
    maxInFlight = Math.max(maxInFlight, open.size);
    // A client that goes away (an app-server killed mid-turn) ends the response too.
    res.once('close', () => open.delete(res));
    if (reply.kind === 'hang' || reply.kind === 'held') {
      const id = `resp_${++seq}`;
      res.write(sse('response.created', { response: { id } }));
      if (reply.kind === 'held')
        release = () => {
          release = () => {};
          if (!open.has(res)) return;
          open.delete(res);
          res.end(replyEvents(reply.then ?? { kind: 'text', text: 'ok' }, id));
        };
      arrivals.push(req);
      return;
    }
    open.delete(res);
    res.end(replyEvents(reply));
    arrivals.push(req);
  };

  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/responses')) {
        res.writeHead(404).end();
        return;
      }
      let parsed: unknown = body;
      try {
        parsed = JSON.parse(body);
      } catch {
        /* recorded as the raw text */
      }
      requests.push(parsed);
      handle(res, parsed, requests.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/v1`;
  return {
    url,
    port,
    requests,
    arrivals: arrivals.items,
    enqueue: (...r) => queue.push(...r),
    get fallback() {
      return state.fallback;
    },
    set fallback(f) {
      state.fallback = f;
    },
    waitForRequest: (pred, timeoutMs = 30_000) =>
      arrivals.waitFor(
        pred,
        timeoutMs,
        () =>
          `requests so far (prompt, open): ${arrivals.items
            .map((r) => `${JSON.stringify(r.prompt.slice(0, 40))}${r.open ? ' open' : ''}`)
            .join(', ')}`,
      ),
    get inFlight() {
      return open.size;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    resetMaxInFlight: () => {
      maxInFlight = open.size;
    },
    codexArgs: (opts = {}) => [
      '-c',
      'model_provider="mock"',
      '-c',
      `model_providers.mock={name="mock",base_url="${url}",wire_api="responses",stream_max_retries=0,request_max_retries=0}`,
      '-c',
      `model="${opts.model ?? 'gpt-5-codex'}"`,
    ],
    close: () =>
      new Promise<void>((r) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
