/**
 * The slice of mime-db in the bundle (service/mime-served.ts): every type Koa and the service
 * set resolves through mime-types exactly as with the whole table, and the file `make build`
 * wrote is that slice. mime-types is the real module (Koa's 3.x and accepts' 2.x), evaluated
 * once over the whole table and once over the slice.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { expect } from 'chai';
import { REPO_ROOT } from '../../harness/service.js';
import { mimeSubset, SERVED_MIME_TYPES, type MimeEntry } from '../../service/mime-served.js';
import { UI_CONTENT_TYPES } from '../../service/ui.js';

const require = createRequire(import.meta.url);
const FULL = require('mime-db') as Record<string, MimeEntry>;

interface MimeTypes {
  contentType(type: string): string | false;
  lookup(ext: string): string | false;
}

/** A fresh instance of the mime-types module at `file`, reading `db` as its mime-db. */
function mimeTypesOver(file: string, db: Record<string, MimeEntry>): MimeTypes {
  const source = fs.readFileSync(file, 'utf8');
  const mod = { exports: {} as MimeTypes };
  const local = createRequire(file);
  const req = (id: string): unknown => (id === 'mime-db' ? db : local(id));
  new Function('exports', 'require', 'module', source)(mod.exports, req, mod);
  return mod.exports;
}

const KOA_MIME_TYPES = path.join(REPO_ROOT, 'node_modules', 'mime-types', 'index.js');
const ACCEPTS_MIME_TYPES = path.join(
  REPO_ROOT,
  'node_modules',
  'accepts',
  'node_modules',
  'mime-types',
  'index.js',
);

/** What Koa (`ctx.type = …`: json, text, html, bin) and the service set as a type. */
const SET = [
  'json',
  'text',
  'html',
  'bin',
  ...SERVED_MIME_TYPES,
  ...Object.values(UI_CONTENT_TYPES),
  'text/plain; version=0.0.4; charset=utf-8', // prom-client's
  'text/event-stream', // SSE: in no mime-db, text/* all the same
];

describe('the slice of mime-db in the bundle', () => {
  const slice = mimeSubset(FULL);

  it('is the listed entries of the installed mime-db, unchanged, and what make build wrote', () => {
    expect(Object.keys(slice)).to.deep.equal([...SERVED_MIME_TYPES]);
    for (const t of SERVED_MIME_TYPES) expect(slice[t]).to.deep.equal(FULL[t]);
    const built = path.join(REPO_ROOT, 'dist', 'bundle-inputs', 'mime-db.json');
    expect(JSON.parse(fs.readFileSync(built, 'utf8'))).to.deep.equal(slice);
    expect(() => mimeSubset(FULL, ['application/x-not-a-type'])).to.throw(/no application\/x-not/);
  });

  for (const [name, file] of [
    ['koa (mime-types 3)', KOA_MIME_TYPES],
    ['accepts (mime-types 2)', ACCEPTS_MIME_TYPES],
  ] as const)
    it(`resolves every type Koa and the service set as the whole table does: ${name}`, () => {
      const whole = mimeTypesOver(file, FULL);
      const part = mimeTypesOver(file, slice);
      for (const t of SET) {
        expect(part.contentType(t), t).to.equal(whole.contentType(t));
        expect(part.contentType(t), t).to.be.a('string');
      }
      for (const ext of ['json', 'html', 'text', 'bin'])
        expect(part.lookup(ext), ext).to.equal(whole.lookup(ext));
    });

  it("lists the dashboard's asset types", () => {
    for (const t of Object.values(UI_CONTENT_TYPES))
      expect(SERVED_MIME_TYPES as readonly string[]).to.include(t.split(';')[0]);
  });
});
