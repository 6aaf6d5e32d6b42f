/**
 * Stack traces through the bundle name the TypeScript sources, the map being read only when a
 * stack is formatted (src/cli/stack-maps.ts). A real esbuild bundle of a small TypeScript file,
 * loaded by node, throwing for real.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { build } from 'esbuild';
import { bundleLocator, formatStack, mapBundleStacks } from '../../src/cli/stack-maps.js';

const STACK_MAPS = new URL('../../src/cli/stack-maps.js', import.meta.url).href;

const SOURCE = [
  '// line 1',
  'export function boom(): Error {',
  '  return deeper();',
  '}',
  '',
  'function deeper(): Error {',
  "  return new Error('from the bundle');", // line 7, column 10
  '}',
  '',
  'export function crash(): never {',
  '  throw deeper();', // line 11
  '}',
  '',
].join('\n');

/** Capture `err`'s frames as V8 hands them to Error.prepareStackTrace. */
function framesOf(make: () => Error): { err: Error; frames: NodeJS.CallSite[] } {
  const saved = Error.prepareStackTrace;
  let frames: NodeJS.CallSite[] = [];
  Error.prepareStackTrace = (_e, f) => {
    frames = f;
    return '';
  };
  try {
    const err = make();
    void err.stack; // formats now, with the frames above
    return { err, frames };
  } finally {
    Error.prepareStackTrace = saved;
  }
}

describe('stack traces through the bundle (real esbuild output, maps read lazily)', () => {
  let dir: string;
  let bundleDir: string;
  let chunk: string;
  let map: string;
  let boom: () => Error;

  before(async () => {
    // Real path: V8 names frames by it (a symlinked tmpdir, as on macOS, would not match).
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'codex-sm-stack-')));
    fs.mkdirSync(path.join(dir, 'src'));
    fs.writeFileSync(path.join(dir, 'src', 'thrower.ts'), SOURCE);
    bundleDir = path.join(dir, 'bundle');
    const out = await build({
      entryPoints: [path.join(dir, 'src', 'thrower.ts')],
      bundle: true,
      format: 'esm',
      platform: 'node',
      sourcemap: true,
      sourcesContent: false,
      minifyWhitespace: true, // as the real bundle: one long line, useless without the map
      outdir: bundleDir,
      write: false,
      logLevel: 'silent',
    });
    fs.mkdirSync(bundleDir);
    for (const f of out.outputFiles)
      if (f.path.endsWith('.js')) fs.writeFileSync((chunk = f.path), f.contents);
      else map = f.text;
    // The map is not there yet when the chunk loads: only formatting a stack may need it.
    ({ boom } = (await import(pathToFileURL(chunk).href)) as { boom: () => Error });
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names the TypeScript file, line and column of each bundled frame, read at format time', () => {
    const { err, frames } = framesOf(boom);
    const locate = bundleLocator(bundleDir);
    const before = formatStack(err, frames, locate);
    expect(before, 'no map on disk yet: printed as V8 prints it').to.include(`${chunk}:1:`);

    const { err: again, frames: frames2 } = framesOf(boom);
    fs.writeFileSync(`${chunk}.map`, map);
    const fresh = bundleLocator(bundleDir);
    const stack = formatStack(again, frames2, fresh).split('\n');
    const source = path.join(dir, 'src', 'thrower.ts');
    expect(stack[0]).to.equal('Error: from the bundle');
    expect(stack[1]).to.equal(`    at deeper (${source}:7:10)`);
    expect(stack[2]).to.equal(`    at boom (${source}:3:10)`);
    expect(stack[3], 'the test itself: not in the bundle, untouched').to.include('stack-maps.test');
  });

  it('leaves frames outside the bundle directory and unmapped columns as they are', () => {
    const locate = bundleLocator(bundleDir);
    expect(locate({ file: __filenameOf(), line: 1, column: 1 })).to.equal(undefined);
    expect(locate({ file: path.join(dir, 'elsewhere.js'), line: 1, column: 1 })).to.equal(
      undefined,
    );
    expect(locate({ file: path.join(bundleDir, 'missing.js'), line: 1, column: 1 })).to.equal(
      undefined,
    );
  });

  for (const how of ['uncaught exception', 'unhandled rejection'] as const)
    it(`prints an ${how} as its mapped stack alone and exits 1 (no minified source line)`, () => {
      fs.writeFileSync(`${chunk}.map`, map);
      const script = [
        `import { mapBundleStacks, printUncaughtAsStack } from ${JSON.stringify(STACK_MAPS)};`,
        `mapBundleStacks(${JSON.stringify(bundleDir)});`,
        'printUncaughtAsStack();',
        `const { crash } = await import(${JSON.stringify(pathToFileURL(chunk).href)});`,
        how === 'uncaught exception'
          ? 'setImmediate(() => crash());'
          : 'setImmediate(() => Promise.resolve().then(() => crash()));',
      ].join('\n');
      // spawnSync blocks mocha's own timeout: a hung child is killed by this one.
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      const source = path.join(dir, 'src', 'thrower.ts');
      expect(r.status, r.stderr).to.equal(1);
      expect(r.stderr).to.include(`codex-sm: ${how}: Error: from the bundle`);
      expect(r.stderr).to.include(`at deeper (${source}:7:10)`);
      expect(r.stderr).to.include(`at crash (${source}:11:9)`);
      expect(r.stderr, 'no line of the bundle').not.to.include('function deeper');
    });

  it('prints the stack as V8 does when a map is broken, instead of throwing from .stack', () => {
    const broken = JSON.parse(map) as { sources: unknown[] };
    broken.sources = broken.sources.map(() => null);
    fs.writeFileSync(`${chunk}.map`, JSON.stringify(broken));
    const saved = Error.prepareStackTrace;
    try {
      mapBundleStacks(bundleDir);
      const stack = boom().stack ?? '';
      expect(stack).to.match(/^Error: from the bundle\n {4}at deeper \(/);
      expect(stack).to.include(`${pathToFileURL(chunk).href}:1:`);
    } finally {
      Error.prepareStackTrace = saved;
      fs.writeFileSync(`${chunk}.map`, map);
    }
  });

  it('prints an error whose name throws without throwing itself', () => {
    const hostile = {
      get name(): string {
        throw new Error('no');
      },
    };
    expect(formatStack(hostile, [], bundleLocator(bundleDir))).to.equal('<error>');
  });
});

function __filenameOf(): string {
  return new URL(import.meta.url).href;
}
