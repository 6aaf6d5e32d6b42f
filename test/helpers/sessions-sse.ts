/** A small SSE client for tests: parses `event/id/data` blocks and lets a test wait for one. */
import http from 'node:http';
import { Recorder } from '../../harness/recorder.js';

export interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

export class SseClient {
  private readonly received = new Recorder<SseEvent>();
  readonly events: SseEvent[] = this.received.items;
  status = 0;
  private buf = '';
  private req: http.ClientRequest | undefined;
  ended: Promise<void>;
  private endResolve!: () => void;

  constructor() {
    this.ended = new Promise((r) => (this.endResolve = r));
  }

  static open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const c = new SseClient();
    return new Promise((resolve, reject) => {
      c.req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        c.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (d: string) => c.feed(d));
        res.on('end', () => c.endResolve());
        res.on('close', () => c.endResolve());
        resolve(c);
      });
      c.req.on('error', (e) => (c.status ? c.endResolve() : reject(e)));
    });
  }

  private feed(d: string): void {
    this.buf += d;
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const e: SseEvent = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const [k, ...rest] = line.split(':');
        const v = rest.join(':').replace(/^ /, '');
        if (k === 'event') e.event = v;
        else if (k === 'id') e.id = v;
        else if (k === 'data') data.push(v);
      }
      if (!data.length) continue;
      e.data = data.join('\n');
      this.received.push(e);
    }
  }

  waitFor(pred: (e: SseEvent) => boolean, timeoutMs = 30_000): Promise<SseEvent> {
    return this.received.waitFor(
      pred,
      timeoutMs,
      () =>
        `SSE events so far: ${this.events
          .map((e) => e.event + ':' + e.data.slice(0, 60))
          .join(' | ')
          .slice(-2000)}`,
    );
  }

  json<T = Record<string, unknown>>(e: SseEvent): T {
    return JSON.parse(e.data) as T;
  }

  close(): void {
    this.req?.destroy();
  }
}

/** The notification's method, for `event: notification` events. */
export function methodOf(e: SseEvent): string | undefined {
  if (e.event !== 'notification') return undefined;
  return (JSON.parse(e.data) as { method?: string }).method;
}
