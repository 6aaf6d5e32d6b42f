/**
 * Stack traces that name the TypeScript sources of the bundle (dist/bundle/), with each
 * `.map` file read when a stack that passes through its chunk is first formatted — not when the
 * chunk loads. node's own `process.setSourceMapsEnabled(true)` reads and parses the map of every
 * module as it is loaded: measured at ~6 ms of CPU before READY=1 and ~1.6 MiB of RSS held in an
 * idle service that may never print a stack (issue 16, docs/benchmarks.md). Frames outside the
 * bundle, and frames its maps do not cover, are printed as V8 prints them.
 */
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A frame's location as V8 gives it: a file URL (ESM) or a path, 1-based line and column. */
export interface FrameLocation {
  file: string;
  line: number;
  column: number;
}

/** Where `at` came from in the sources, as `file:line:column` (undefined: not mapped). */
export type Locate = (at: FrameLocation) => string | undefined;

/** A locator over the `.map` files next to the chunks in `bundleDir`, each read once, lazily. */
export function bundleLocator(bundleDir: string): Locate {
  const root = path.resolve(bundleDir) + path.sep;
  const maps = new Map<string, SourceMap | null>();
  const mapOf = (file: string): SourceMap | null => {
    let map = maps.get(file);
    if (map !== undefined) return map;
    try {
      map = new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = null; // no map (or a broken one): the frame stays as V8 printed it
    }
    maps.set(file, map);
    return map;
  };
  return ({ file, line, column }) => {
    const local = file.startsWith('file://') ? fileURLToPath(file) : file;
    if (!local.startsWith(root)) return undefined;
    const map = mapOf(local);
    const origin = map?.findOrigin(line, column);
    if (!origin || !('fileName' in origin)) return undefined;
    const source = path.resolve(path.dirname(local), origin.fileName);
    return `${source}:${origin.lineNumber}:${origin.columnNumber}`;
  };
}

/** One frame as V8 prints it, its location swapped for the mapped one when there is one. */
function formatFrame(frame: NodeJS.CallSite, locate: Locate): string {
  const printed = String(frame);
  const file = frame.getFileName() ?? frame.getScriptNameOrSourceURL();
  const line = frame.getLineNumber();
  const column = frame.getColumnNumber();
  if (!file || line === null || column === null) return printed;
  const mapped = locate({ file, line, column });
  const at = `${file}:${line}:${column}`;
  // A function replacer: `$&` or `$'` in a path must not be read as a replacement pattern.
  return mapped && printed.includes(at) ? printed.replace(at, () => mapped) : printed;
}

/** The `.stack` V8 would build (`Error.prototype.toString`, then `    at …`), frames mapped. */
export function formatStack(err: unknown, frames: NodeJS.CallSite[], locate: Locate): string {
  let head: string;
  try {
    head = Error.prototype.toString.call(err);
  } catch {
    head = '<error>';
  }
  return head + frames.map((f) => `\n    at ${formatFrame(f, locate)}`).join('');
}

/** From now on, stacks through the bundle in `bundleDir` name the TypeScript sources. */
export function mapBundleStacks(bundleDir: string): void {
  const locate = bundleLocator(bundleDir);
  const unmapped: Locate = () => undefined;
  Error.prepareStackTrace = (err, frames) => {
    try {
      return formatStack(err, frames, locate);
    } catch {
      return formatStack(err, frames, unmapped); // a broken map: the stack as V8 prints it
    }
  };
}

/**
 * An uncaught exception (or unhandled rejection) printed as its stack alone, then exit 1, as
 * node does by default — minus the offending source line node prints above the stack when its
 * own source maps are off: from a whitespace-minified bundle that line is the whole chunk,
 * tens of KB into the journal.
 */
export function printUncaughtAsStack(): void {
  process.on('uncaughtException', (err: unknown, origin) => {
    let text: string;
    try {
      text = err instanceof Error ? (err.stack ?? String(err)) : String(err);
    } catch {
      text = '(an error that cannot be printed)';
    }
    const what = origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception';
    try {
      fs.writeSync(2, `codex-sm: ${what}: ${text}\n`);
    } finally {
      process.exit(1);
    }
  });
}
