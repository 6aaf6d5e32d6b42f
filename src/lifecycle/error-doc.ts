/**
 * `node dist/src/lifecycle/error-doc.js [--write]`: the error table of docs/lifecycle.md is
 * generated from ERROR_CODES (src/errors.ts). Prints the doc with the table replaced, or with
 * --write rewrites it in place; a unit test fails when the doc and the union differ.
 */
import fs from 'node:fs';
import { errorTableMarkdown } from '../errors.js';
import { runAsScript } from '../run-as-script.js';

export const BEGIN = '<!-- error-codes: generated from src/errors.ts by `make docs` -->';
export const END = '<!-- /error-codes -->';

/** `doc` with the text between the markers replaced by the current table. */
export function withErrorTable(doc: string): string {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`the error-code markers are missing: ${BEGIN} … ${END}`);
  return `${doc.slice(0, a + BEGIN.length)}\n${errorTableMarkdown()}\n${doc.slice(b)}`;
}

if (runAsScript(import.meta.url)) {
  const file = new URL('../../../docs/lifecycle.md', import.meta.url);
  const next = withErrorTable(fs.readFileSync(file, 'utf8'));
  if (process.argv.includes('--write')) fs.writeFileSync(file, next);
  else process.stdout.write(next);
}
