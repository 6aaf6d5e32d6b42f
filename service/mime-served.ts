/**
 * The MIME types the service answers with, and the slice of `mime-db` the bundle carries.
 *
 * Koa resolves `ctx.type` through `mime-types`, which loads all of `mime-db` (2,500 types, a
 * 150 KB table, ~1.5 MiB of idle RSS once parsed and indexed) to answer a handful of lookups.
 * `make build` runs this module to write the entries below, copied unchanged from the installed
 * `mime-db`, to dist/bundle-inputs/mime-db.json, which esbuild puts in the bundle in place of
 * the whole table (issue 16, docs/benchmarks.md). A type missing here makes Koa send no
 * Content-Type at all for it: test/unit/mime-served.test.ts checks that every type Koa and the
 * service set is here and resolves as with the full table.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { runAsScript } from '../src/run-as-script.js';

export const SERVED_MIME_TYPES = [
  'application/json', // JSON answers (Koa's `json`), /openapi.json
  'text/plain', // Koa's `text`: bare status answers, /metrics
  'text/html', // Koa's `html` and `accepts('html')` (redirects), the dashboard's index.html
  'application/octet-stream', // Koa's `bin`
  'text/javascript', // the dashboard's assets (service/ui.ts)
  'text/css',
  'image/svg+xml',
  'image/png',
  'image/x-icon',
  'font/woff2',
  // text/event-stream (SSE) is not in mime-db: mime-types gives any text/* a UTF-8 charset.
] as const;

/** One `mime-db` entry, as mime-types reads it. */
export interface MimeEntry {
  source?: string;
  charset?: string;
  compressible?: boolean;
  extensions?: string[];
}

/** The entries of `types` from `db`, unchanged; a type `db` lacks is an error (a renamed type). */
export function mimeSubset(
  db: Record<string, MimeEntry>,
  types: readonly string[] = SERVED_MIME_TYPES,
): Record<string, MimeEntry> {
  const out: Record<string, MimeEntry> = {};
  for (const t of types) {
    const entry = db[t];
    if (!entry) throw new Error(`mime-db has no ${t}`);
    out[t] = entry;
  }
  return out;
}

/** `node dist/service/mime-served.js OUT`: write the subset of the installed mime-db to OUT. */
function main(out: string): void {
  const db = createRequire(import.meta.url)('mime-db') as Record<string, MimeEntry>;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(mimeSubset(db)) + '\n');
}

if (runAsScript(import.meta.url)) main(process.argv[2] ?? 'dist/bundle-inputs/mime-db.json');
