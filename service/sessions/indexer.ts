/**
 * Keeps the SQLite index in step with the rollout files under CODEX_HOME.
 *
 * Incremental by construction: per file we remember size, mtime, inode and the byte offset up to
 * which complete lines were read. An unchanged file costs one stat; an appended file costs a read
 * of the new bytes; a file moved by `thread/archive` (a rename: same inode) costs nothing but a
 * row update; only a replaced or truncated file is read again from the start.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { IndexDb } from './db.js';
import {
  classifyLineBytes,
  parseNameLine,
  sessionIdFromFileName,
  splitLines,
  type LineInfo,
  type MessageRole,
  type SessionMeta,
} from './rollout.js';

export interface IndexChange {
  kind: 'new' | 'append' | 'moved' | 'removed' | 'name';
  sessionId: string;
  path: string;
  /** For new/append: the byte range of complete lines added. */
  from?: number;
  to?: number;
}

export interface ScanStats {
  files: number;
  read: number;
  bytes: number;
  removed: number;
  ms: number;
}

export interface IndexerOptions {
  codexHome: string;
  /** Longer messages are cut for the search index (bounded storage and scan time). */
  maxMessageChars?: number;
}

const CHUNK = 1 << 20;
const NAME_FILE = 'session_index.jsonl';

export function isRolloutName(name: string): boolean {
  return name.startsWith('rollout-') && name.endsWith('.jsonl');
}

/**
 * Every rollout file under `dir` (any depth; Codex uses YYYY/MM/DD, archives are flat).
 * `beforeRead` sees each directory before it is listed: a watch added there misses nothing, since
 * an entry created after the listing is an event and one created before is in the listing.
 */
export function walkRollouts(
  dir: string,
  out: string[] = [],
  beforeRead?: (dir: string) => void,
): string[] {
  beforeRead?.(dir);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walkRollouts(p, out, beforeRead);
    else if (e.isFile() && isRolloutName(e.name)) out.push(p);
  }
  return out;
}

export class SessionIndexer extends EventEmitter<{ change: [changes: IndexChange[]] }> {
  readonly sessionsDir: string;
  readonly archivedDir: string;
  readonly nameFile: string;
  private readonly maxChars: number;
  private buf = Buffer.alloc(0);
  /** When the last completed full scan began (ms since the epoch): the index is at least that current. */
  lastScanStartedAt: number | undefined;

  constructor(
    readonly db: IndexDb,
    opts: IndexerOptions,
  ) {
    super();
    this.sessionsDir = path.join(opts.codexHome, 'sessions');
    this.archivedDir = path.join(opts.codexHome, 'archived_sessions');
    this.nameFile = path.join(opts.codexHome, NAME_FILE);
    this.maxChars = opts.maxMessageChars ?? 16_384;
  }

  /**
   * fullScan that yields to the event loop between batches (the service's first scan of a big
   * home). `beforeRead` sees each directory before it is listed (the watcher adds its watches).
   */
  async fullScanAsync(beforeRead?: (dir: string) => void): Promise<ScanStats> {
    const it = this.scanSteps(beforeRead);
    for (let r = it.next(); ; r = it.next()) {
      if (r.done) return r.value;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Stat everything, read what changed, forget what vanished. Cheap when nothing changed. */
  fullScan(): ScanStats {
    const it = this.scanSteps();
    for (let r = it.next(); ; r = it.next()) if (r.done) return r.value;
  }

  /** The scan as a generator: it pauses after each batch so a caller can yield in between. */
  private *scanSteps(beforeRead?: (dir: string) => void): Generator<void, ScanStats> {
    const t0 = performance.now();
    const startedAt = Date.now();
    const files = walkRollouts(this.sessionsDir, [], beforeRead);
    walkRollouts(this.archivedDir, files, beforeRead);
    const seen = new Set(files);
    const stats: ScanStats = { files: files.length, read: 0, bytes: 0, removed: 0, ms: 0 };
    const changes: IndexChange[] = [];
    // Transactions in batches: one per file would fsync-bound a cold index; one for all would
    // hold the write lock (and the event loop) too long on a huge home.
    for (let i = 0; i < files.length; i += 500) {
      this.db.transaction(() => {
        for (const p of files.slice(i, i + 500)) {
          const c = this.processFile(p);
          if (c) {
            changes.push(c);
            stats.read++;
            stats.bytes += (c.to ?? 0) - (c.from ?? 0);
          }
        }
      });
      yield;
    }
    this.db.transaction(() => {
      for (const p of this.db.allFilePaths()) {
        // existsSync: a file created after the walk may have been indexed meanwhile (by the watcher).
        if (p === this.nameFile || seen.has(p) || fs.existsSync(p)) continue;
        const sid = this.db.getFile(p)?.sessionId;
        this.db.deleteFile(p);
        stats.removed++;
        if (sid) changes.push({ kind: 'removed', sessionId: sid, path: p });
      }
      changes.push(...this.processNames());
    });
    stats.ms = performance.now() - t0;
    this.lastScanStartedAt = startedAt;
    if (changes.length) this.emit('change', changes);
    return stats;
  }

  /** Re-examine some paths (from the watcher): files that exist first, so a rename is seen as a move. */
  processPaths(paths: Iterable<string>): IndexChange[] {
    const changes: IndexChange[] = [];
    const gone: string[] = [];
    this.db.transaction(() => {
      for (const p of paths) {
        if (p === this.nameFile) {
          changes.push(...this.processNames());
          continue;
        }
        if (!isRolloutName(path.basename(p))) continue;
        const c = this.processFile(p);
        if (c) changes.push(c);
        else if (!fs.existsSync(p) && this.db.getFile(p)) gone.push(p);
      }
      for (const p of gone) {
        if (!this.db.getFile(p)) continue; // claimed by a move above
        const sid = this.db.getFile(p)?.sessionId;
        this.db.deleteFile(p);
        if (sid) changes.push({ kind: 'removed', sessionId: sid, path: p });
      }
    });
    if (changes.length) this.emit('change', changes);
    return changes;
  }

  private archivedAt(p: string, st: fs.Stats): number | null {
    // Codex archives by rename, which keeps mtime; the rename itself is the ctime.
    return p.startsWith(this.archivedDir + path.sep) ? Math.round(st.ctimeMs) : null;
  }

  /** Bring one rollout file up to date; undefined when nothing changed (or it does not exist). */
  processFile(p: string): IndexChange | undefined {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      return undefined;
    }
    if (!st.isFile()) return undefined;
    const rec = this.db.getFile(p);
    if (rec && rec.size === st.size && rec.mtimeMs === st.mtimeMs && rec.ino === st.ino)
      return undefined;
    let offset = 0;
    let sessionId = rec?.sessionId ?? null;
    let kind: IndexChange['kind'] = 'new';
    if (rec && rec.ino === st.ino && st.size >= rec.offset) {
      offset = rec.offset;
      kind = 'append';
    } else if (rec) {
      if (sessionId) this.db.resetSession(sessionId); // replaced or truncated: read again
    } else {
      const moved = this.db
        .filesByIno(st.ino)
        .find((f) => f.path !== p && f.size <= st.size && !fs.existsSync(f.path));
      if (moved) {
        offset = moved.offset;
        sessionId = moved.sessionId;
        kind = 'moved';
        this.db.putFile({ ...moved, path: p });
        this.db.deleteFile(moved.path);
      }
    }
    if (!sessionId) sessionId = sessionIdFromFileName(path.basename(p)) ?? null;
    const { infos, end } = this.readLines(p, offset, st.size);
    if (!sessionId) {
      const first = infos.find((i) => i.info.kind === 'meta')?.info;
      if (first?.kind === 'meta') sessionId = first.meta.id;
    }
    const from = offset;
    if (!sessionId) {
      // Not a session we can name (no uuid in the name, no session_meta yet): remember the file
      // so it is not read again until it changes.
      this.db.putFile({
        path: p,
        sessionId: null,
        size: st.size,
        mtimeMs: st.mtimeMs,
        ino: st.ino,
        offset: 0,
      });
      return undefined;
    }
    let maxTs = 0;
    let maxRaw = '';
    let meta: SessionMeta | null = null;
    const msgs: { role: MessageRole; ts: number | null; offset: number; text: string }[] = [];
    for (const { info, at } of infos) {
      if (info.kind === 'malformed') continue;
      if (info.ts !== null && info.ts > maxTs) maxTs = info.ts;
      else if (info.kind === 'other' && info.tsRaw !== undefined && info.tsRaw > maxRaw)
        maxRaw = info.tsRaw;
      if (info.kind === 'meta') meta ??= info.meta;
      else if (info.kind === 'message') {
        const m = info.message;
        msgs.push({
          role: m.role,
          ts: m.ts,
          offset: at,
          text: m.text.length > this.maxChars ? m.text.slice(0, this.maxChars) : m.text,
        });
      }
    }
    const raw = maxRaw ? Date.parse(maxRaw) : NaN;
    if (Number.isFinite(raw) && raw > maxTs) maxTs = raw;
    const firstUser = msgs.find((m) => m.role === 'user')?.text.slice(0, 2000) ?? null;
    this.db.upsert({
      id: sessionId,
      path: p,
      createdAt: Math.round(st.birthtimeMs || st.mtimeMs),
      updatedAt: maxTs || Math.round(st.mtimeMs),
      meta,
      firstUser,
      archivedAt: this.archivedAt(p, st),
      messages: msgs.length,
      size: st.size,
    });
    this.db.addMessages(sessionId, msgs);
    this.db.putFile({
      path: p,
      sessionId,
      size: st.size,
      mtimeMs: st.mtimeMs,
      ino: st.ino,
      offset: end,
    });
    return { kind, sessionId, path: p, from, to: end };
  }

  /** Classify the complete lines in [offset, size); `end` is where the next read starts. */
  private readLines(
    p: string,
    offset: number,
    size: number,
  ): { infos: { info: LineInfo; at: number }[]; end: number } {
    const infos: { info: LineInfo; at: number }[] = [];
    if (size <= offset) return { infos, end: offset };
    let fd: number;
    try {
      fd = fs.openSync(p, 'r');
    } catch {
      return { infos, end: offset };
    }
    try {
      // One reusable buffer: a fresh one per file is most of a cold index's garbage.
      if (this.buf.length < CHUNK) this.buf = Buffer.allocUnsafe(CHUNK);
      let buf = this.buf;
      let base = offset; // file offset of buf[0]
      let filled = 0;
      while (base + filled < size) {
        if (filled === buf.length) {
          // One line longer than the buffer: grow it.
          const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, 1024));
          buf.copy(bigger, 0, 0, filled);
          buf = bigger;
        }
        const n = fs.readSync(
          fd,
          buf,
          filled,
          Math.min(buf.length - filled, size - base - filled),
          base + filled,
        );
        if (n <= 0) break;
        filled += n;
        const { lines, consumed } = splitLines(buf, filled);
        for (const l of lines)
          infos.push({ info: classifyLineBytes(buf, l.start, l.end), at: base + l.start });
        if (consumed > 0) {
          buf.copy(buf, 0, consumed, filled);
          filled -= consumed;
          base += consumed;
        }
      }
      return { infos, end: base };
    } finally {
      fs.closeSync(fd);
    }
  }

  /** `session_index.jsonl`: thread names, appended by Codex on thread/name/set. */
  processNames(): IndexChange[] {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.nameFile);
    } catch {
      return [];
    }
    const rec = this.db.getFile(this.nameFile);
    if (rec && rec.size === st.size && rec.mtimeMs === st.mtimeMs && rec.ino === st.ino) return [];
    const offset = rec && rec.ino === st.ino && st.size >= rec.offset ? rec.offset : 0;
    const changes: IndexChange[] = [];
    const fd = fs.openSync(this.nameFile, 'r');
    try {
      const buf = Buffer.allocUnsafe(st.size - offset);
      const n = fs.readSync(fd, buf, 0, buf.length, offset);
      const { lines, consumed } = splitLines(buf, n);
      for (const l of lines) {
        const e = parseNameLine(buf.toString('utf8', l.start, l.end));
        if (!e) continue;
        this.db.putName(e.id, e.name, e.updatedAt);
        changes.push({ kind: 'name', sessionId: e.id, path: this.nameFile });
      }
      this.db.putFile({
        path: this.nameFile,
        sessionId: null,
        size: st.size,
        mtimeMs: st.mtimeMs,
        ino: st.ino,
        offset: offset + consumed,
      });
    } finally {
      fs.closeSync(fd);
    }
    return changes;
  }
}
