/**
 * Log rotation launchd will not do. launchd opens StandardOutPath/StandardErrorPath once, in
 * append mode, and holds the descriptors for the life of the job; it never rotates them, and
 * renaming a file (newsyslog, logrotate's default) leaves launchd writing into the renamed file
 * for ever (reference/service-managers.md §2 pitfall 7: 5 GB and 18 GB logs in the field).
 *
 * So the service shrinks the files itself, in place: copy the newest `keepBytes` (from a line
 * boundary) to the start of the same file and cut it there. Because launchd's descriptor is
 * O_APPEND, its next write lands at the new end — no hole, no lost descriptor. Anything appended
 * while the tail is being moved is picked up and moved too; only a write in the instant between
 * the last check and the truncate can be lost (the same trade as logrotate's copytruncate).
 *
 * Usage from the service (macOS only; on Linux the journal rotates):
 *   const files = logFilesFromEnv(process.env);           // CODEX_SM_LOG_FILES from the plist
 *   const trunc = startLogTruncation({ files, maxBytes: 10 << 20, intervalMs: 60_000 });
 *   ... on shutdown: trunc.stop();
 */
import fs from 'node:fs/promises';

export interface LogTruncationOptions {
  files: string[];
  /** Truncate a file once it is larger than this. */
  maxBytes: number;
  /** How often to check the sizes. */
  intervalMs: number;
  /** How much of the newest output to keep (default a quarter of maxBytes). */
  keepBytes?: number;
  /** Told after each truncation (e.g. to log it); errors are reported here too. */
  onTruncate?: (info: TruncationInfo) => void;
  onError?: (file: string, err: unknown) => void;
}

export interface TruncationInfo {
  file: string;
  sizeBefore: number;
  sizeAfter: number;
}

/** The files named by the plist's CODEX_SM_LOG_FILES (':'-separated, like PATH). */
export function logFilesFromEnv(env: Readonly<Record<string, string | undefined>>): string[] {
  return (env.CODEX_SM_LOG_FILES ?? '')
    .split(':')
    .map((f) => f.trim())
    .filter((f) => f !== '');
}

/** Number of extra rounds to chase a writer that keeps appending while we move the tail. */
const MAX_CHASE_ROUNDS = 8;

/**
 * Shrink `file` to its newest ≤ keepBytes (starting at a line boundary) when it is larger than
 * maxBytes. Returns what happened, or undefined when the file was small enough or missing.
 */
export async function truncateInPlace(
  file: string,
  maxBytes: number,
  keepBytes: number,
): Promise<TruncationInfo | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const sizeBefore = (await handle.stat()).size;
    if (sizeBefore <= maxBytes) return undefined;
    const keep = Math.max(0, Math.min(keepBytes, maxBytes));
    let tail = await readRange(handle, sizeBefore - keep, sizeBefore);
    // Drop the partial first line unless it starts exactly on a boundary.
    const startsOnBoundary =
      sizeBefore - keep === 0 ||
      (await readRange(handle, sizeBefore - keep - 1, sizeBefore - keep))[0] === 0x0a;
    if (!startsOnBoundary) {
      const nl = tail.indexOf(0x0a);
      tail = nl >= 0 ? tail.subarray(nl + 1) : Buffer.alloc(0);
    }
    await handle.write(tail, 0, tail.length, 0);
    let written = tail.length;
    let readUpTo = sizeBefore;
    for (let round = 0; round < MAX_CHASE_ROUNDS; round++) {
      const size = (await handle.stat()).size;
      if (size <= readUpTo) break;
      const more = await readRange(handle, readUpTo, size);
      await handle.write(more, 0, more.length, written);
      written += more.length;
      readUpTo = size;
    }
    await handle.truncate(written);
    return { file, sizeBefore, sizeAfter: written };
  } finally {
    await handle.close();
  }
}

async function readRange(handle: fs.FileHandle, start: number, end: number): Promise<Buffer> {
  const buf = Buffer.alloc(Math.max(0, end - start));
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await handle.read(buf, got, buf.length - got, start + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** Check the files now and every intervalMs; the timer does not keep the process alive. */
export function startLogTruncation(opts: LogTruncationOptions): { stop(): void } {
  const keepBytes = opts.keepBytes ?? Math.floor(opts.maxBytes / 4);
  let running = false;
  let stopped = false;
  const check = async (): Promise<void> => {
    if (running || stopped) return; // a slow disk must not stack checks up
    running = true;
    try {
      for (const file of opts.files) {
        try {
          const info = await truncateInPlace(file, opts.maxBytes, keepBytes);
          if (info) opts.onTruncate?.(info);
        } catch (e) {
          opts.onError?.(file, e);
        }
      }
    } finally {
      running = false;
    }
  };
  void check();
  const timer = setInterval(() => void check(), opts.intervalMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
