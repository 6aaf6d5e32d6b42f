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

/** @type {{js?: esbuild.OutputFile, css?: esbuild.OutputFile}} */
const out = {};
for (const file of result.outputFiles) {
  const name = path.basename(file.path);
  if (name.endsWith('.js')) out.js = file;
  else if (name.endsWith('.css')) out.css = file;
  else throw new Error(`ui build: unexpected output ${name}`);
}
if (!out.js || !out.css) throw new Error('ui build: expected one .js and one .css output');
const names = { js: path.basename(out.js.path), css: path.basename(out.css.path) };

// The budget before anything is written: a bundle over it never replaces a good one.
const gz = zlib.gzipSync(out.js.contents, { level: 9 }).length;
const kb = (/** @type {number} */ n) => `${(n / 1024).toFixed(1)} KB`;
console.log(
  `ui: dist/ui/${names.js} ${kb(out.js.contents.length)} (${kb(gz)} gzipped, budget ${kb(JS_BUDGET_GZIP_BYTES)}), ${names.css}`,
);
if (gz > JS_BUDGET_GZIP_BYTES) {
  console.error(
    `ui: the JS bundle is over its gzip budget (${kb(gz)} > ${kb(JS_BUDGET_GZIP_BYTES)})`,
  );
  process.exit(1);
}

// A service may be serving dist/ui while this runs: at no moment may it miss a file the shell
// names. The hashed files are new names (content-addressed), written first, each through a
// temporary name and renamed into place; then index.html is swapped for the new one the same
// way (a rename is atomic); only then do the old hashed files go (they would otherwise pile up
// and be served). Nothing else in the folder is touched: tsc writes the dashboard's pure
// modules under dist/ui/src for the unit tier, and the service never serves a subfolder.
fs.mkdirSync(OUT, { recursive: true });
/** Write `data` to `dist/ui/<name>` atomically. */
const put = (/** @type {string} */ name, /** @type {string | Uint8Array} */ data) => {
  const tmp = path.join(OUT, `.${name}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, path.join(OUT, name));
};
put(names.js, out.js.contents);
put(names.css, out.css.contents);
const template = fs.readFileSync(path.join(ROOT, 'ui', 'index.html'), 'utf8');
put('index.html', template.replace('{{js}}', names.js).replace('{{css}}', names.css));
for (const name of fs.readdirSync(OUT))
  if (/^main-[A-Z0-9]+\.(js|css)$/.test(name) && name !== names.js && name !== names.css)
    fs.rmSync(path.join(OUT, name));
