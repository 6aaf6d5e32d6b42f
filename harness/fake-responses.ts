/**
 * FAKE OpenAI Responses API (the one thing that cannot run here): a local SSE server the real
 * app-server is pointed at with `-c model_provider="mock"` overrides. Each POST /v1/responses
 * takes the next scripted reply; when the script runs out it answers with a plain text reply.
 * Event sequence as observed from the real server (see shared/reference/codex-app-server.md).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeReply =
  | { kind: 'text'; text: string; chunks?: number }
  | { kind: 'exec'; command: string[]; callId?: string }
  | { kind: 'status'; status: number }
  /** Keep the stream open without completing (for interrupt tests); ends when the server closes. */
  | { kind: 'hang' };

export interface FakeResponsesServer {
  url: string;
  port: number;
  /** Request bodies received, in order. */
  requests: unknown[];
  enqueue(...replies: FakeReply[]): void;
  /** `-c` overrides that point codex at this server. */
  codexArgs(): string[];
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

export function replyEvents(
  reply: Exclude<FakeReply, { kind: 'status' } | { kind: 'hang' }>,
): string {
  const id = `resp_${++seq}`;
  let out = sse('response.created', { response: { id } });
  if (reply.kind === 'text') {
    const itemId = `msg_${seq}`;
    out += sse('response.output_item.added', {
      output_index: 0,
      item: { type: 'message', role: 'assistant', id: itemId, content: [] },
    });
    const n = Math.max(1, reply.chunks ?? 1);
    const size = Math.ceil(reply.text.length / n);
    for (let i = 0; i < reply.text.length; i += size) {
      out += sse('response.output_text.delta', {
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        delta: reply.text.slice(i, i + size),
      });
    }
    out += sse('response.output_item.done', {
      output_index: 0,
      item: {
        type: 'message',
        role: 'assistant',
        id: itemId,
        content: [{ type: 'output_text', text: reply.text, annotations: [] }],
      },
    });
  } else {
    const callId = reply.callId ?? `call_${seq}`;
    out += sse('response.output_item.done', {
      output_index: 0,
      item: {
        type: 'function_call',
        id: `fc_${seq}`,
        call_id: callId,
        name: 'exec_command',
        arguments: JSON.stringify({ cmd: reply.command.join(' '), workdir: undefined }),
      },
    });
  }
  out += sse('response.completed', { response: { id, usage: usage() } });
  return out;
}

export async function startFakeResponses(): Promise<FakeResponsesServer> {
  const queue: FakeReply[] = [];
  const requests: unknown[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/responses')) {
        res.writeHead(404).end();
        return;
      }
      try {
        requests.push(JSON.parse(body));
      } catch {
        requests.push(body);
      }
      const reply = queue.shift() ?? { kind: 'text', text: 'ok' };
      if (reply.kind === 'status') {
        res
          .writeHead(reply.status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message: 'fake error' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      if (reply.kind === 'hang') {
        hanging.add(res);
        res.write(sse('response.created', { response: { id: `resp_${++seq}` } }));
        return;
      }
      res.end(replyEvents(reply));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/v1`;
  return {
    url,
    port,
    requests,
    enqueue: (...r) => queue.push(...r),
    codexArgs: () => [
      '-c',
      'model_provider="mock"',
      '-c',
      `model_providers.mock={name="mock",base_url="${url}",wire_api="responses",stream_max_retries=0,request_max_retries=0}`,
      '-c',
      'model="gpt-5-codex"',
    ],
    close: () =>
      new Promise<void>((r) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
