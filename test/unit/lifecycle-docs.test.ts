/** docs/lifecycle.md's error table is the ErrorCode union, not a copy that can drift. */
import fs from 'node:fs';
import { expect } from 'chai';
import { ERROR_CODES } from '../../src/errors.js';
import { withErrorTable } from '../../src/lifecycle/error-doc.js';

describe('docs/lifecycle.md error codes', () => {
  const doc = fs.readFileSync(new URL('../../../docs/lifecycle.md', import.meta.url), 'utf8');

  it('the table is the one generated from ERROR_CODES (run `make docs` after changing the union)', () => {
    expect(doc).to.equal(withErrorTable(doc));
  });

  it('lists every lifecycle code with its exit status', () => {
    for (const [code, e] of Object.entries(ERROR_CODES)) {
      if (e.area !== 'lifecycle') continue;
      expect(doc, code).to.include(`| \`${code}\` | ${e.exit} |`);
    }
  });
});
