// @ts-check
/**
 * Bundles the CLI with esbuild (run by `make build` after tsc): dist/bundle/serve.js holds what
 * READY=1 needs, dist/bundle/cli.js every other command; what is imported dynamically (the
 * front end, loaded after READY=1; each command's module) goes to chunks/. Two builds, so that
 * no chunk shared with the other commands splits what READY=1 loads into more files. Also the
 * benchmark's ready-libs anchor (bench/anchors/), bundled as the service is. Why a bundle:
 * issue 16, docs/benchmarks.md.
 *
 * - Native addons stay external; the banner gives bundled CommonJS a `require`.
 * - Node's built-in modules are loaded with that `require`, not with `import` (see
 *   builtinsByRequire below).
 * - Whitespace and syntax are minified, names are not (stack traces keep them; the maps give
 *   file and line): the idle service holds its sources in memory, 3.4 MiB less so.
 * - mime-db is the slice of it the service answers with (service/mime-served.ts writes it into
 *   dist/bundle-inputs/, before this runs), not the 2,500 types of koa's two copies: 1.5 MiB less
 *   idle RSS.
 */
import { builtinModules, createRequire } from 'node:module';
import console from 'node:console';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const requireHere = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const BANNER =
  'import { createRequire as __bundleRequire } from "node:module"; ' +
  'const require = __bundleRequire(import.meta.url);';

/**
 * `import http from 'node:http'` in an ES module makes node build an ES module facade of
 * node:http, which reads every export, lazy getters included; on Node 26 node:http's
 * `WebSocket` getter loads undici: importing node:http costs ~59 ms there against ~10 ms for
 * `require('node:http')`, and the builtins the service imports ~62 against ~28 ms (~21 against
 * ~13 on Node 20). So every import of a built-in module (`node:fs`, or `http` as @koa/router
 * writes it) is served by a small ES module of the bundle that `require`s it and exports the
 * names the bundle imports from it: no facade, and nothing read that is not used (Node 24's
 * `fs.F_OK` warns when read). Measured: docs/benchmarks.md (issue 16, fifth pass). (Not a
 * CommonJS `module.exports = require(…)`: esbuild would then copy every export of the module at
 * each of its ~150 import sites, which costs more than the facades.)
 */
const BUILTIN = new RegExp(`^(node:)?(${builtinModules.join('|')})$`);

/** The names imported from each built-in (`parseArgs` from `node:util`), learnt by bundle(). */
const importedNames = new Map();

const builtinsByRequire = {
  name: 'builtins-by-require',
  /** @param {esbuild.PluginBuild} build */
  setup(build) {
    build.onResolve({ filter: BUILTIN }, (args) =>
      args.kind === 'import-statement' || args.kind === 'dynamic-import'
        ? { path: args.path, namespace: 'node-builtin' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({
      contents: builtinModuleSource(args.path, importedNames.get(args.path) ?? []),
      loader: 'js',
    }));
  },
};

/** `const m = require('node:util'); export default m; export const { parseArgs } = m;` */
function builtinModuleSource(/** @type {string} */ specifier, /** @type {string[]} */ names) {
  return (
    `const m = require(${JSON.stringify(specifier)});\nexport default m;\n` +
    (names.length ? `export const { ${names.join(', ')} } = m;\n` : '')
  );
}

/**
 * esbuild.build, built again while it fails only on names imported from built-ins that their
 * modules export no name for yet ("No matching export in "node-builtin:node:util" for import
 * "parseArgs""): each such name, when the build's node has it, is added. Any other failure, or
 * one that adds nothing, is printed and thrown; warnings are printed.
 */
async function bundle(/** @type {esbuild.BuildOptions} */ options) {
  for (;;) {
    const result = await esbuild.build({ ...options, logLevel: 'silent' }).catch((e) => e);
    if (!(result instanceof Error)) {
      await print(result.warnings, 'warning');
      return result;
    }
    /** @type {esbuild.Message[]} */
    const errors = 'errors' in result && Array.isArray(result.errors) ? result.errors : [];
    let added = 0;
    const explained = errors.map((m) => {
      const [, specifier, name] =
        /^No matching export in "node-builtin:([^"]+)" for import "([^"]+)"$/.exec(m.text) ?? [];
      if (!specifier || !name || !isBindingName(name)) return false;
      if (!Object.hasOwn(requireHere(specifier), name)) return false; // not in this node
      const names = importedNames.get(specifier) ?? [];
      if (names.includes(name)) return true; // imported again elsewhere in this round
      importedNames.set(specifier, [...names, name]);
      added++;
      return true;
    });
    if (!added || explained.includes(false)) {
      await print(errors, 'error');
      throw result;
    }
  }
}

async function print(
  /** @type {esbuild.Message[]} */ messages,
  /** @type {'error' | 'warning'} */ kind,
) {
  for (const line of await esbuild.formatMessages(messages, { kind })) console.error(line);
}

/** Whether `name` can be declared in an ES module (strict mode; `await` is reserved there). */
function isBindingName(/** @type {string} */ name) {
  if (name === 'default' || name === 'await' || !/^[A-Za-z_$][\w$]*$/.test(name)) return false;
  try {
    new Function(`"use strict"; let ${name};`);
    return true;
  } catch {
    return false; // a reserved word
  }
}

/** @type {esbuild.BuildOptions} */
const COMMON = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  banner: { js: BANNER },
  plugins: [builtinsByRequire],
};

/** @type {esbuild.BuildOptions} */
const CLI = {
  ...COMMON,
  splitting: true,
  sourcemap: true,
  sourcesContent: false,
  outdir: 'dist/bundle',
  chunkNames: 'chunks/[name]-[hash]',
  external: ['better-sqlite3', 'better-sqlite3-napi', 'unix-dgram', 'dbus-next', 'usocket'],
  alias: { 'mime-db': './dist/bundle-inputs/mime-db.json' },
};

await bundle({ ...CLI, entryPoints: { serve: 'src/cli/serve-main.ts' } });
await bundle({ ...CLI, entryPoints: { cli: 'src/cli/cli-main.ts' } });
await bundle({
  ...COMMON,
  entryPoints: ['bench/anchors/ready-libs.ts'],
  outfile: 'dist/bench/anchors/ready-libs.bundle.js',
  external: ['unix-dgram'],
});
