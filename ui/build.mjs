// @ts-check
/**
 * Builds the dashboard (ui/src, Preact + signals) into dist/ui/: one hashed JS bundle, one hashed
 * CSS file and index.html naming them, nothing else (the service serves that folder flat at
 * /ui/). Fails when the JS is over its gzip budget, so a heavy dependency cannot sneak in.
 * Run by `make build` after tsc: `node ui/build.mjs`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import console from 'node:console';
import process from 'node:process';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'dist', 'ui');
/** The budget of issue 14: the JS a phone downloads, gzipped. */
export const JS_BUDGET_GZIP_BYTES = 100 * 1024;

const result = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: ['ui/src/main.tsx'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020', // Safari 14, Chrome and Firefox of 2020 on
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  outdir: OUT,
  write: false,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

// Old hashed files would otherwise pile up (and be served) after each build. Only the bundle's
// own files go: tsc writes the dashboard's pure modules under dist/ui/src for the unit tier
// (test/unit/ui-*.test.ts), and the service never serves a subfolder.
fs.mkdirSync(OUT, { recursive: true });
for (const name of fs.readdirSync(OUT))
  if (name === 'index.html' || /^main-[A-Z0-9]+\.(js|css)$/.test(name))
    fs.rmSync(path.join(OUT, name));
/** @type {{js?: string, css?: string}} */
const names = {};
for (const file of result.outputFiles) {
  const name = path.basename(file.path);
  if (name.endsWith('.js')) names.js = name;
  else if (name.endsWith('.css')) names.css = name;
  else throw new Error(`ui build: unexpected output ${name}`);
  fs.writeFileSync(file.path, file.contents);
}
if (!names.js || !names.css) throw new Error('ui build: expected one .js and one .css output');

const template = fs.readFileSync(path.join(ROOT, 'ui', 'index.html'), 'utf8');
const html = template.replace('{{js}}', names.js).replace('{{css}}', names.css);
fs.writeFileSync(path.join(OUT, 'index.html'), html);

const js = fs.readFileSync(path.join(OUT, names.js));
const gz = zlib.gzipSync(js, { level: 9 }).length;
const kb = (/** @type {number} */ n) => `${(n / 1024).toFixed(1)} KB`;
console.log(
  `ui: dist/ui/${names.js} ${kb(js.length)} (${kb(gz)} gzipped, budget ${kb(JS_BUDGET_GZIP_BYTES)}), ${names.css}`,
);
if (gz > JS_BUDGET_GZIP_BYTES) {
  console.error(
    `ui: the JS bundle is over its gzip budget (${kb(gz)} > ${kb(JS_BUDGET_GZIP_BYTES)})`,
  );
  process.exit(1);
}
