/**
 * Every file codex-sm installs is a template in the package's `units/` directory: data a reader
 * can diff against what landed in ~/.config/systemd/user or ~/Library/LaunchAgents, filled by the
 * pure renderers in ./systemd/render.ts and ./launchd/render.ts, which escape each value for its
 * format (systemd quoting in ./systemd/escape.ts, XML text in ./launchd/render.ts).
 *
 * The syntax (units/README.md says the same for template authors):
 * - `@NAME@` (capitals, digits, `_`) is a placeholder. Its value is a string, already escaped by
 *   the caller, or a list of strings: a line with a list placeholder is written once per element
 *   and not at all for an empty list, the way a unit repeats a directive (Environment=) and a
 *   plist an array element. One list placeholder per line at most.
 * - `#@if FLAG` … `#@end` wraps lines written only when the caller sets FLAG (lower-case, `-`).
 *   Blocks do not nest.
 * - A line starting with `#@ ` (or just `#@`) is a template comment and is dropped.
 * Strict both ways, because a silent mismatch would install a broken unit: a placeholder or flag
 * the template uses that the caller did not fill, and a value the caller gives that the template
 * does not have, are errors. Placeholders inside a block that is left out need no value.
 *
 * Loaded at run time from `<package root>/units` (found like src/package-info.ts finds
 * package.json), not embedded at build time: the build is plain tsc, the folder already ships in
 * the npm package ("files"), and so the file on disk is the one and only copy of each template.
 * Each file is read once per process; rendering is then a pure function of the plan.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CodexSmError, EXIT } from '../errors.js';
import { packageInfo } from '../package-info.js';

export type TemplateValue = string | number | readonly string[];

export interface TemplateFill {
  /** Placeholder name → value, escaped for the template's format by the caller. */
  values: Readonly<Record<string, TemplateValue>>;
  /** `#@if` flag → whether its block is written. */
  flags?: Readonly<Record<string, boolean>>;
}

const PLACEHOLDER = /@([A-Z][A-Z0-9_]*)@/g;
const DIRECTIVE = /^#@(\S*)\s*(.*)$/;
const FLAG = /^[a-z][a-z0-9-]*$/;

function templateError(template: string, message: string): CodexSmError {
  return new CodexSmError('unit_template_invalid', `units/${template}: ${message}`, {
    hint: 'the templates in units/ and the renderers in src/platform disagree: a codex-sm bug, please report it',
    exitCode: EXIT.software,
  });
}

/** What a template refers to outside its comments, wherever it appears (inside blocks too). */
function templateNames(lines: readonly string[]): {
  placeholders: Set<string>;
  flags: Set<string>;
} {
  const placeholders = new Set<string>();
  const flags = new Set<string>();
  for (const line of lines) {
    const directive = DIRECTIVE.exec(line);
    if (directive?.[1] === 'if') flags.add((directive[2] ?? '').trim());
    else if (!directive) for (const m of line.matchAll(PLACEHOLDER)) placeholders.add(m[1] ?? '');
  }
  return { placeholders, flags };
}

function fillLine(template: string, line: string, fill: TemplateFill): string[] {
  const resolved = new Map<string, string | readonly string[]>();
  let list: readonly string[] | undefined;
  for (const m of line.matchAll(PLACEHOLDER)) {
    const name = m[1] ?? '';
    const value = fill.values[name];
    if (value === undefined) throw templateError(template, `placeholder @${name}@ is not filled`);
    if (typeof value === 'number' && !Number.isFinite(value))
      throw templateError(template, `placeholder @${name}@ is filled with ${value}`);
    if (typeof value !== 'string' && typeof value !== 'number') {
      if (list && list !== value)
        throw templateError(template, `more than one list placeholder on the line "${line}"`);
      list = value;
    }
    resolved.set(name, typeof value === 'number' ? String(value) : value);
  }
  // One pass over the template's own text: a value that happens to contain @X@ stays as it is.
  const substitute = (element: string): string =>
    line.replace(PLACEHOLDER, (_, name: string) => {
      const value = resolved.get(name) ?? '';
      return typeof value === 'string' ? value : element;
    });
  return list ? list.map(substitute) : [substitute('')];
}

/** Fills `text` (the template named `template`, for error messages). Pure. */
export function fillTemplate(template: string, text: string, fill: TemplateFill): string {
  const flags = fill.flags ?? {};
  const lines = text.split('\n');
  const { placeholders, flags: templateFlags } = templateNames(lines);
  for (const name of Object.keys(fill.values)) {
    if (!placeholders.has(name))
      throw templateError(template, `has no placeholder @${name}@ (given a value for it)`);
  }
  for (const name of Object.keys(flags)) {
    if (!templateFlags.has(name))
      throw templateError(template, `has no block "#@if ${name}" (given a flag for it)`);
  }

  const out: string[] = [];
  let block: { flag: string; on: boolean } | undefined;
  lines.forEach((line, i) => {
    const directive = DIRECTIVE.exec(line);
    if (directive) {
      const [, word, rest] = directive;
      if (word === 'if') {
        const flag = (rest ?? '').trim();
        if (block)
          throw templateError(template, `line ${i + 1}: "#@if" inside "#@if ${block.flag}"`);
        if (!FLAG.test(flag)) throw templateError(template, `line ${i + 1}: bad flag "${flag}"`);
        const on = flags[flag];
        if (on === undefined) throw templateError(template, `flag "${flag}" is not set`);
        block = { flag, on };
      } else if (word === 'end') {
        if (!block) throw templateError(template, `line ${i + 1}: "#@end" without "#@if"`);
        block = undefined;
      } else if (word !== '') {
        throw templateError(template, `line ${i + 1}: unknown directive "#@${word}"`);
      }
      return;
    }
    if (!block || block.on) out.push(...fillLine(template, line, fill));
  });
  if (block) throw templateError(template, `"#@if ${block.flag}" is never closed`);
  return out.join('\n');
}

/** `<package root>/units`. */
export function unitsDir(): string {
  return path.join(packageInfo().root, 'units');
}

const loaded = new Map<string, string>();

/** The text of units/<name> (e.g. "systemd/codex-sm.service"), read once per process. */
export function loadTemplate(name: string): string {
  let text = loaded.get(name);
  if (text === undefined) {
    const file = path.join(unitsDir(), name);
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new CodexSmError('unit_template_missing', `cannot read the template ${file}`, {
        hint: 'the codex-sm package is incomplete (units/ ships with it): reinstall codex-sm',
        exitCode: EXIT.software,
        cause: e,
      });
    }
    loaded.set(name, text);
  }
  return text;
}

/** Loads units/<name> and fills it. */
export function renderTemplate(name: string, fill: TemplateFill): string {
  return fillTemplate(name, loadTemplate(name), fill);
}
