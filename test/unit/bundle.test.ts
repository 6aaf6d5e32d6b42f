/**
 * The CLI bundle `make build` writes (src/cli/bundle.mjs): node's built-in modules are loaded
 * with `require`, never with `import`, which on Node 26 costs ~35 ms more at every start (an ES
 * module facade per built-in; node:http's loads undici); and only the names the code imports are
 * read from them (Node 24 warns when `fs.F_OK` is read). Read from the real build output, and run
 * on the node that runs the tests (CI: 20, 22, 24 and 26).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { REPO_ROOT } from '../../harness/service.js';

const BANNER_IMPORT = 'import { createRequire as __bundleRequire } from "node:module";';

function bundleFiles(): string[] {
  const dir = path.join(REPO_ROOT, 'dist', 'bundle');
  const chunks = fs.readdirSync(path.join(dir, 'chunks')).map((f) => path.join('chunks', f));
  return [...fs.readdirSync(dir), ...chunks]
    .filter((f) => f.endsWith('.js'))
    .map((f) => path.join(dir, f))
    .concat(path.join(REPO_ROOT, 'dist', 'bench', 'anchors', 'ready-libs.bundle.js'));
}

/** The specifiers of a minified ES module's static and dynamic imports. */
function importedSpecifiers(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/(?:^|[;}\n])import\s*(?:[\w$*{][^;]*?from\s*)?"([^"]+)"/g))
    found.push(m[1] as string);
  for (const m of source.matchAll(/\bimport\("([^"]+)"\)/g)) found.push(m[1] as string);
  return found;
}

const isBuiltin = (s: string) => builtinModules.includes(s.replace(/^node:/, ''));

describe('the CLI bundle (real make build output)', () => {
  const files = bundleFiles();

  it('has the serve and cli entries, their chunks and the ready-libs anchor', () => {
    const names = files.map((f) => path.basename(f));
    expect(names).to.include.members(['serve.js', 'cli.js', 'ready-libs.bundle.js']);
    expect(names.filter((n) => n.startsWith('front-')).length).to.be.greaterThan(0);
    // main.js runs a bundle only when it is not older than itself: else the tests below would
    // run the plain modules, not the bundle.
    const mtime = (...p: string[]) => fs.statSync(path.join(REPO_ROOT, 'dist', ...p)).mtimeMs;
    for (const entry of ['serve.js', 'cli.js'])
      expect(mtime('bundle', entry), entry).to.be.at.least(mtime('src', 'cli', 'main.js'));
  });

  it('imports no built-in module but the banner’s node:module: each is required', () => {
    const imported: string[] = [];
    let required = 0;
    for (const f of files) {
      const source = fs.readFileSync(f, 'utf8');
      expect(source.startsWith(BANNER_IMPORT), path.basename(f)).to.equal(true);
      const body = source.slice(BANNER_IMPORT.length);
      for (const s of importedSpecifiers(body).filter(isBuiltin))
        imported.push(`${path.basename(f)}: ${s}`);
      required += [...body.matchAll(/__require\("node:[a-z_/]+"\)/g)].length;
    }
    expect(imported).to.deep.equal([]);
    expect(required, 'built-ins required through the banner’s require').to.be.greaterThan(10);
  });

  for (const args of [['version'], ['serve', '--help']])
    it(`\`codex-sm ${args.join(' ')}\` through the bundle writes nothing to stderr (no warning from a built-in)`, async () => {
      const cli = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
      });
      expect(stderr).to.equal('');
      expect(stdout).to.not.equal('');
    });

  it('the import scanner finds the forms esbuild writes (checked on a sample)', () => {
    const sample =
      'import{a as b}from"node:fs";import http from"http";import*as os from"node:os";' +
      'import"./chunks/x.js";var y=await import("node:url");';
    expect(importedSpecifiers(sample)).to.deep.equal([
      'node:fs',
      'http',
      'node:os',
      './chunks/x.js',
      'node:url',
    ]);
  });
});
