/**
 * Completions and the man page come from the command tree: every command and every option of
 * the real CLI must be in each of them, and each must be valid for its shell (bash -n, zsh -n,
 * fish -n) or for groff, and complete what a person types.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../../harness/service.js';
import {
  allCommands,
  bashCompletion,
  commandTree,
  fishCompletion,
  manPage,
  zshCompletion,
  type CommandNode,
} from '../../src/cli/completion.js';
import { buildDate } from '../../src/cli/commands/completion.js';
import { buildProgram } from '../../src/cli/program.js';

const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

describe('shell completions and the man page (from the command tree)', () => {
  let root: CommandNode;
  let out: Record<string, string>;
  const dir = tempDir();

  before(async () => {
    root = commandTree(await buildProgram([]));
    out = {
      bash: bashCompletion(root),
      zsh: zshCompletion(root),
      fish: fishCompletion(root),
      man: manPage(root, '0.0.0', '2026-11-23'),
    };
    for (const [k, v] of Object.entries(out)) fs.writeFileSync(path.join(dir, k), v);
  });

  it('has every command and every option of the CLI in each of the four', () => {
    const nodes = allCommands(root);
    expect(nodes.map((n) => n.path.join(' '))).to.include.members([
      'serve',
      'queue add',
      'group run',
      'token create',
      'completion',
    ]);
    for (const n of nodes.slice(1)) {
      const word = n.path[n.path.length - 1] as string;
      for (const [k, text] of Object.entries(out)) {
        const want = k === 'man' ? n.path.join(' ').replace(/-/g, '\\-') : word;
        expect(text, `${k} lacks the command ${n.path.join(' ')}`).to.include(want);
      }
      for (const o of n.options) {
        const long = o.long.replace(/^--?/, '');
        for (const [k, text] of Object.entries(out)) {
          const want = k === 'man' ? long.replace(/-/g, '\\-') : long;
          expect(text, `${k} lacks ${o.long} of ${n.path.join(' ')}`).to.include(want);
        }
      }
    }
  });

  it('bash: valid, and completes subcommands and options', () => {
    execFileSync('bash', ['-n', path.join(dir, 'bash')]);
    const complete = (words: string[]) =>
      execFileSync(
        'bash',
        [
          '-c',
          `source ${path.join(dir, 'bash')}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _codex_sm; echo "\${COMPREPLY[*]}"`,
        ],
        { encoding: 'utf8' },
      ).trim();
    expect(complete(['codex-sm', 'qu'])).to.equal('queue');
    expect(complete(['codex-sm', 'queue', 'a']).split(' ')).to.include('add');
    expect(complete(['codex-sm', 'token', 'create', '--sc'])).to.equal('--scope');
  });

  it('zsh and fish: valid (and fish completes subcommands)', function () {
    const missing = ['zsh', 'fish'].filter((b) => !has(b));
    if (missing.length) {
      console.warn(`\n  NOT RUN: ${missing.join(', ')} not installed (.ci/run installs them)\n`);
      this.skip();
    }
    execFileSync('zsh', ['-n', path.join(dir, 'zsh')]);
    execFileSync('fish', ['-n', path.join(dir, 'fish')]);
    const got = execFileSync(
      'fish',
      ['-c', `source ${path.join(dir, 'fish')}; complete -C 'codex-sm group r'`],
      { encoding: 'utf8' },
    );
    expect(got.split('\n').map((l) => l.split('\t')[0])).to.include.members([
      'remove',
      'resume',
      'run',
    ]);
  });

  it('man: groff reads it without a warning, and the date is reproducible', () => {
    const r = spawnSync('groff', ['-man', '-ww', '-z', path.join(dir, 'man')], {
      encoding: 'utf8',
    });
    expect(r.status).to.equal(0);
    expect(r.stderr).to.equal('');
    expect(buildDate('1795392000')).to.equal('2026-11-23');
    expect(buildDate(undefined, Date.UTC(2027, 0, 2))).to.equal('2027-01-02');
  });
});
