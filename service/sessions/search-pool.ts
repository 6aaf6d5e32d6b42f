/**
 * Full-text searches off the main thread: a few worker threads (search-worker.ts), each with its
 * own read-only connection to the index, and a bounded queue in front of them. A search that
 * finds every worker busy and the queue full is refused at once (SearchBusy) instead of piling
 * up; the service answers that with 503 + Retry-After. The main thread only posts the query and
 * receives the outcome, so `/healthz`, the watchdog and every other request stay on time however
 * many searches run.
 */
import { Worker } from 'node:worker_threads';
import { distFile } from '../../src/package-info.js';
import type { SearchOptions, SearchOutcome } from './search.js';

/** What the worker is started with. */
export interface SearchWorkerData {
  file: string;
}
/** One search, main thread → worker. */
export interface SearchJob {
  id: number;
  options: SearchOptions;
}
/** Its answer, worker → main thread. */
export type SearchReply = { id: number; outcome: SearchOutcome } | { id: number; error: string };

export interface SearchPoolOptions {
  /** The index file (WAL mode); each worker opens it read-only. */
  file: string;
  /** Searches that run at once, one worker thread each (started on demand, kept while idle). */
  workers: number;
  /** Searches that may wait for a worker; more are refused. */
  queue: number;
  /** A worker died (not by close()); its search was failed and the next one gets a new worker. */
  onWorkerLost?: (err: Error) => void;
}

/** Every worker is busy and the queue is full. */
export class SearchBusy extends Error {
  constructor(
    readonly running: number,
    readonly waiting: number,
  ) {
    super(`${running} searches running and ${waiting} waiting; try again shortly`);
  }
}

/** The pool was closed (the service is stopping) before the search ran or finished. */
export class SearchPoolClosed extends Error {
  constructor() {
    super('search pool closed');
  }
}

/** A queued search whose client went away before a worker was free. */
export class SearchAborted extends Error {
  constructor() {
    super('search abandoned by its client while queued');
  }
}

export type SearchRunner = Pick<SearchPool, 'run'>;

interface Job extends SearchJob {
  resolve(o: SearchOutcome): void;
  reject(e: Error): void;
  dropAbortListener?: () => void;
}

interface Slot {
  worker: Worker;
  job?: Job;
}

/** By its place in dist/: the serve bundle runs from dist/bundle, the worker stays a plain module. */
const workerFile = (): string => distFile('service', 'sessions', 'search-worker.js');

export class SearchPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: SearchPoolOptions) {}

  /** Searches running now and waiting for a worker. */
  get load(): { running: number; waiting: number } {
    return { running: this.slots.filter((s) => s.job).length, waiting: this.waiting.length };
  }

  /**
   * Run one search in a worker. Rejects at once with SearchBusy when no worker is free and the
   * queue is full; `signal` (the client went away) takes a still-queued search out of the queue.
   */
  run(options: SearchOptions, signal?: AbortSignal): Promise<SearchOutcome> {
    if (this.closed) return Promise.reject(new SearchPoolClosed());
    const slot = this.freeSlot();
    if (!slot && this.waiting.length >= this.opts.queue) {
      const { running, waiting } = this.load;
      return Promise.reject(new SearchBusy(running, waiting));
    }
    return new Promise<SearchOutcome>((resolve, reject) => {
      const job: Job = { id: this.nextId++, options, resolve, reject };
      if (slot) return this.dispatch(slot, job);
      if (signal?.aborted) return reject(new SearchAborted());
      if (signal) {
        const onAbort = () => {
          const i = this.waiting.indexOf(job);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new SearchAborted());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        job.dropAbortListener = () => signal.removeEventListener('abort', onAbort);
      }
      this.waiting.push(job);
    });
  }

  /** Fail what is queued and running, and stop the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.waiting.splice(0)) {
      job.dropAbortListener?.();
      job.reject(new SearchPoolClosed());
    }
    const slots = this.slots.splice(0);
    for (const s of slots) s.job?.reject(new SearchPoolClosed());
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private freeSlot(): Slot | undefined {
    return (
      this.slots.find((s) => !s.job) ??
      (this.slots.length < this.opts.workers ? this.spawn() : undefined)
    );
  }

  private spawn(): Slot {
    const data: SearchWorkerData = { file: this.opts.file };
    const slot: Slot = { worker: new Worker(workerFile(), { workerData: data }) };
    slot.worker.on('message', (reply: SearchReply) => this.finish(slot, reply));
    slot.worker.on('error', (e: unknown) => this.lose(slot, workerError(e)));
    slot.worker.on('exit', (code) => this.lose(slot, new Error(`search worker exited (${code})`)));
    this.slots.push(slot);
    return slot;
  }

  private dispatch(slot: Slot, job: Job): void {
    job.dropAbortListener?.();
    slot.job = job;
    slot.worker.ref(); // a search in flight keeps the process alive; an idle worker does not
    const msg: SearchJob = { id: job.id, options: job.options };
    slot.worker.postMessage(msg);
  }

  private finish(slot: Slot, reply: SearchReply): void {
    const job = slot.job;
    if (!job || job.id !== reply.id) return;
    slot.job = undefined;
    slot.worker.unref();
    if ('error' in reply) job.reject(new Error(`search failed: ${reply.error}`));
    else job.resolve(reply.outcome);
    this.next(slot);
  }

  /** A worker that errored or exited: fail its search, forget it, and let the queue go on. */
  private lose(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return; // 'error' is followed by 'exit'; close() already took it out
    this.slots.splice(i, 1);
    slot.job?.reject(err);
    if (this.closed) return;
    this.opts.onWorkerLost?.(err);
    const job = this.waiting.shift();
    if (job) this.dispatch(this.spawn(), job);
  }

  private next(slot: Slot): void {
    const job = this.waiting.shift();
    if (job) this.dispatch(slot, job);
  }
}

/** An error thrown in a worker arrives cloned: a native one (SqliteError) as a plain object. */
function workerError(e: unknown): Error {
  if (e instanceof Error) return e;
  const o = (typeof e === 'object' && e !== null ? e : {}) as { message?: unknown; code?: unknown };
  const what = [o.code, o.message].filter((x) => typeof x === 'string').join(': ');
  return new Error(`search worker failed: ${what || String(e)}`);
}
