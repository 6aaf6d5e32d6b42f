/** A real store for one test. */
import { tempDir } from '../../harness/service.js';
import { Store } from '../../service/store/store.js';

/**
 * Runs fn on a fresh store in a temp dir, with a clock that moves 1 ms per reading (so every
 * transition has its own time and "unchanged" can be told by updatedAt), and closes it after.
 */
export function withStore<T>(fn: (store: Store, now: () => number) => T): T {
  const store = Store.open(tempDir());
  let t = 1_000;
  try {
    return fn(store, () => ++t);
  } finally {
    store.close();
  }
}
