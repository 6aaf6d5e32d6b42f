/**
 * How many turns are running on the app-server, as the features that watch them count them
 * (sessions: threads whose last status is `active`). An app-server restart asks this before it
 * kills turns, and can wait for the count to reach zero: each feature calls changed() when its
 * count may have moved, so waiting is event-driven.
 */
import { EventEmitter } from 'node:events';

export class TurnActivity extends EventEmitter<{ change: []; close: [] }> {
  private readonly sources: (() => number)[] = [];
  private closed = false;

  constructor() {
    super();
    this.setMaxListeners(0); // one listener per waiting restart request
  }

  addSource(count: () => number): void {
    this.sources.push(count);
  }

  changed(): void {
    this.emit('change');
  }

  /** codex-sm is stopping: waiters answer now with what is running, so requests do not hold the stop. */
  close(): void {
    this.closed = true;
    this.emit('close');
  }

  get running(): number {
    return this.sources.reduce((n, count) => n + count(), 0);
  }

  /** Resolves with the running count once it is 0, or with what is still running after timeoutMs. */
  waitIdle(timeoutMs: number): Promise<number> {
    const now = this.running;
    if (now === 0 || timeoutMs <= 0 || this.closed) return Promise.resolve(now);
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.off('change', onChange);
        this.off('close', finish);
        resolve(this.running);
      };
      const onChange = () => {
        if (this.running === 0) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.on('change', onChange);
      this.once('close', finish);
    });
  }
}
