/** A small SSE client for tests: parses `event/id/data` blocks and lets a test wait for one. */
import http from 'node:http';

export interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  private buf = '';
  private waiters: { pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
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
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => (w.pred(e) ? (w.resolve(e), false) : true));
    }
  }

  waitFor(pred: (e: SseEvent) => boolean, timeoutMs = 30_000): Promise<SseEvent> {
    const hit = this.events.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(
            new Error(
              `SSE event not seen in ${timeoutMs} ms; got ${this.events
                .map((e) => e.event + ':' + e.data.slice(0, 60))
                .join(' | ')
                .slice(-2000)}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
    });
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
