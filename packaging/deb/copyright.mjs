// Appends one DEP-5 paragraph per bundled node module to the copyright header on stdin: its
// license name (package.json) and, as the license text, its own LICENSE file, so every
// license the .deb ships is stated in full. Usage: node copyright.mjs NODE_MODULES <copyright
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const root = process.argv[2];
if (!root) {
  process.stderr.write('usage: node copyright.mjs NODE_MODULES < copyright\n');
  process.exit(64);
}

function modules(dir) {
  return fs
    .readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? modules(path.join(dir, n)).map((m) => `${n}/${m}`) : [n]))
    .sort();
}

/** A DEP-5 multi-line value: each line indented, blank lines as " .". */
function block(text) {
  return text
    .trim()
    .split('\n')
    .map((l) => (l.trim() === '' ? ' .' : ` ${l.trimEnd()}`))
    .join('\n');
}

/** package.json's license: an SPDX string, or the old {type} object / array of them. */
function licenseName(l) {
  if (typeof l === 'string') return l;
  if (Array.isArray(l)) return l.map(licenseName).join(' or ');
  return l?.type ?? 'see-license-text';
}

// Debian ships the Apache 2.0 text itself; copyright files point to it instead of repeating it.
const APACHE_TEXT = /TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION/;
const APACHE_POINTER =
  'On Debian systems, the complete text of the Apache License 2.0 can be found in\n' +
  '/usr/share/common-licenses/Apache-2.0.';

const out = [fs.readFileSync(0, 'utf8').trimEnd()];
for (const name of modules(root).filter((n) => !n.startsWith('@') || n.includes('/'))) {
  const dir = path.join(root, name);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const file = fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.md|\.txt)?$/i.test(f));
  if (!pkg.license && !file)
    throw new Error(`copyright: ${name} states no license; add it here by hand`);
  const text = file
    ? fs.readFileSync(path.join(dir, file), 'utf8')
    : `${name} ships no license file; its package.json says "${pkg.license}".`;
  const license = licenseName(pkg.license);
  const holder = /^.*copyright.*\d{4}.*$/im.exec(text)?.[0].trim() ?? `the ${name} authors`;
  out.push(
    [
      `Files: usr/lib/codex-sm/node_modules/${name}/*`,
      `Copyright: ${holder.replace(/^copyright\s*(\(c\)|©)?\s*/i, '')}`,
      `License: ${license}`,
      block(APACHE_TEXT.test(text) ? APACHE_POINTER : text),
    ].join('\n'),
  );
}
process.stdout.write(out.join('\n\n') + '\n');
