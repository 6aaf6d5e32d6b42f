/**
 * Everything a test client receives, in order, and a way to wait for the first item that
 * matches — whether it already arrived or comes later. Shared by the WebSocket, SSE and log
 * readers in harness/ and test/helpers.
 */
export class Recorder<T> {
  readonly items: T[] = [];
  private waiters: { pred: (item: T) => boolean; resolve: (item: T) => void }[] = [];

  push(item: T): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(item)) return true;
      w.resolve(item);
      return false;
    });
  }

  /**
   * Resolves with the first matching item; rejects after timeoutMs with `describe()` in the
   * message, or at once with the signal's reason when it aborts (a process that exited cannot
   * send what is waited for: no need to sit out the timeout).
   */
  waitFor(
    pred: (item: T) => boolean,
    timeoutMs: number,
    describe: () => string,
    signal?: AbortSignal,
  ): Promise<T> {
    const hit = this.items.find(pred);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      const waiter = {
        pred,
        resolve: (item: T) => {
          settle();
          resolve(item);
        },
      };
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`not seen in ${timeoutMs} ms; ${describe()}`));
      }, timeoutMs);
      const aborted = () => {
        settle();
        reject(
          signal?.reason instanceof Error ? signal.reason : new Error(`aborted; ${describe()}`),
        );
      };
      if (signal?.aborted) return aborted();
      signal?.addEventListener('abort', aborted, { once: true });
      this.waiters.push(waiter);
    });
  }
}
