/**
 * Live updates for the index: one inotify watch (fs.watch) per directory of the sessions tree,
 * the archive and CODEX_HOME itself (for session_index.jsonl and the creation of the two dirs).
 * Events only name a path; the indexer decides what changed. Each directory is watched before it
 * is listed, so nothing created in it falls between the two. A periodic full scan is the safety
 * net for anything a watch missed (watch limits, network file systems).
 */
import fs from 'node:fs';
import path from 'node:path';
import { walkRollouts, type ScanStats, type SessionIndexer } from './indexer.js';

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
  private scanning: Promise<ScanStats> | undefined;
  private started = false;
  private closed = false;
  private readonly debounceMs: number;
  /** Why watches failed (ENOSPC, EACCES...), each said once: every rescan tries them again. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly indexer: SessionIndexer,
    private readonly opts: WatchOptions = {},
  ) {
    this.debounceMs = opts.debounceMs ?? 40;
  }

  /**
   * Watch CODEX_HOME, then run the first full scan, which watches each directory before listing it
   * (no gap: a rollout written while the scan runs is seen by the scan or by a watch, and the scan
   * keeps what a watch indexed meanwhile). Resolves with the scan's stats. Later scans, every
   * `rescanMs`, also watch what a failed watch left out.
   */
  start(): Promise<ScanStats> {
    if (this.started) throw new Error('the index watcher is already started');
    this.started = true;
    const every = this.opts.rescanMs ?? 30_000;
    if (every > 0) {
      this.rescanTimer = setInterval(() => {
        this.scan()?.catch((e: Error) => this.opts.onError?.(e));
      }, every);
      this.rescanTimer.unref();
    }
    return this.scan() ?? Promise.reject(new Error('the index watcher is closed'));
  }

  /** A full scan that adds the watches (CODEX_HOME's first); never two at once. */
  private scan(): Promise<ScanStats> | undefined {
    if (this.scanning || this.closed) return undefined;
    this.watchDir(path.dirname(this.indexer.sessionsDir), false);
    const scanning = this.indexer
      .fullScanAsync((dir) => this.watchDir(dir, true))
      .finally(() => (this.scanning = undefined));
    this.scanning = scanning;
    return scanning;
  }

  /** Resolves when no scan is running (whatever its outcome): what closing the index waits for. */
  async idle(): Promise<void> {
    await this.scanning?.catch(() => undefined);
  }

  get watchCount(): number {
    return this.watchers.size;
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
      // ENOENT: gone before its watch (the listing then finds nothing either).
      if (code !== 'ENOENT' && !this.reported.has(String(code))) {
        this.reported.add(String(code));
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
        files.push(...walkRollouts(p, [], (dir) => this.watchDir(dir, true)));
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
