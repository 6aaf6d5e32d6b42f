#!/usr/bin/env node
/**
 * codex-sm CLI entry: `serve` (./serve-main.ts) or any other command (./cli-main.ts), each from
 * the bundle `make build` writes into dist/bundle/ (esbuild; see ./bundle.mjs) — no module graph
 * to resolve and read at start-up, which READY=1 and every CLI call wait for (issue 16,
 * docs/benchmarks.md). The plain modules serve when the bundle is missing or older than this
 * file (a `tsc` run after the last `make build` would leave it stale).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { requestedCommand } from './argv.js';
import { mapBundleStacks, printUncaughtAsStack } from './stack-maps.js';

const entry = requestedCommand(process.argv.slice(2)) === 'serve' ? 'serve' : 'cli';
const bundle = new URL(`../../bundle/${entry}.js`, import.meta.url);

function fresh(file: URL): boolean {
  try {
    return fs.statSync(file).mtimeMs >= fs.statSync(new URL(import.meta.url)).mtimeMs;
  } catch {
    return false; // not built (a bare tsc)
  }
}

if (fresh(bundle)) {
  // Stack traces name the TypeScript sources: the bundle's .map files, read when a stack is
  // printed (node's setSourceMapsEnabled would read every chunk's map as it loads).
  mapBundleStacks(fileURLToPath(new URL('../../bundle/', import.meta.url)));
  printUncaughtAsStack();
  await import(bundle.href);
} else if (entry === 'serve') await import('./serve-main.js');
else await import('./cli-main.js');
