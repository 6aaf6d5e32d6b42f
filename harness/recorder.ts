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

  /** Resolves with the first matching item; rejects after timeoutMs with `describe()` in the message. */
  waitFor(pred: (item: T) => boolean, timeoutMs: number, describe: () => string): Promise<T> {
    const hit = this.items.find(pred);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (item: T) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`not seen in ${timeoutMs} ms; ${describe()}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}
