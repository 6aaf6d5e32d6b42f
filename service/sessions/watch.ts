/**
 * Live updates for the index: one inotify watch (fs.watch) per directory of the sessions tree,
 * the archive and CODEX_HOME itself (for session_index.jsonl and the creation of the two dirs).
 * Events only name a path; the indexer decides what changed. A periodic full scan is the safety
 * net for anything a watch missed (watch limits, network file systems, a dir created between a
 * readdir and its watch).
 */
import fs from 'node:fs';
import path from 'node:path';
import { walkRollouts, type SessionIndexer } from './indexer.js';

export interface WatchOptions {
  /** Coalesce bursts of events (Codex writes a line at a time). */
  debounceMs?: number;
  /** Full rescan period; 0 disables. */
  rescanMs?: number;
  onError?: (err: Error) => void;
}

export class IndexWatcher {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly debounceMs: number;
  /** Set when a watch could not be added: the periodic rescan is then the only source. */
  degraded = false;

  constructor(
    private readonly indexer: SessionIndexer,
    private readonly opts: WatchOptions = {},
  ) {
    this.debounceMs = opts.debounceMs ?? 40;
  }

  start(): void {
    const home = path.dirname(this.indexer.sessionsDir);
    this.watchDir(home, false);
    this.watchTree(this.indexer.sessionsDir);
    this.watchTree(this.indexer.archivedDir);
    const every = this.opts.rescanMs ?? 30_000;
    if (every > 0) {
      // Async (yields between batches) so a big home never stalls the event loop; never two at once.
      let scanning = false;
      this.rescanTimer = setInterval(() => {
        if (scanning || this.closed) return;
        scanning = true;
        this.indexer
          .fullScanAsync()
          .catch((e: Error) => this.opts.onError?.(e))
          .finally(() => (scanning = false));
      }, every);
      this.rescanTimer.unref();
    }
  }

  get watchCount(): number {
    return this.watchers.size;
  }

  private watchTree(root: string): void {
    const dirs: string[] = [];
    walkRollouts(root, [], dirs);
    for (const d of dirs) this.watchDir(d, true);
  }

  private watchDir(dir: string, tree: boolean): void {
    if (this.closed || this.watchers.has(dir)) return;
    let w: fs.FSWatcher;
    try {
      w = fs.watch(dir, { persistent: false }, (_event, name) => {
        if (name) this.mark(path.join(dir, name.toString()), tree);
        else this.mark(dir, tree);
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') {
        this.degraded = true;
        this.opts.onError?.(e as Error);
      }
      return;
    }
    w.on('error', () => {
      w.close();
      this.watchers.delete(dir);
    });
    this.watchers.set(dir, w);
  }

  private mark(p: string, inTree: boolean): void {
    // CODEX_HOME itself: only the two directories and the name file matter.
    if (
      !inTree &&
      p !== this.indexer.sessionsDir &&
      p !== this.indexer.archivedDir &&
      p !== this.indexer.nameFile
    )
      return;
    this.dirty.add(p);
    if (!this.timer) this.timer = setTimeout(() => this.flush(), this.debounceMs);
  }

  /** Process what the watches reported. Public so tests and `follow` can force it. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed) return;
    const paths = [...this.dirty];
    this.dirty.clear();
    const files: string[] = [];
    for (const p of paths) {
      let st: fs.Stats | undefined;
      try {
        st = fs.statSync(p);
      } catch {
        st = undefined;
      }
      if (st?.isDirectory()) {
        // A new directory (a new day, or sessions/ itself): watch it and everything below.
        const dirs: string[] = [];
        files.push(...walkRollouts(p, [], dirs));
        for (const d of dirs) this.watchDir(d, true);
      } else if (!st && this.watchers.has(p)) {
        this.watchers.get(p)?.close();
        this.watchers.delete(p);
      } else files.push(p);
    }
    this.safely(() => this.indexer.processPaths(files));
  }

  private safely(fn: () => unknown): void {
    try {
      fn();
    } catch (e) {
      this.opts.onError?.(e as Error);
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.rescanTimer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}
