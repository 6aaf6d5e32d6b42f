/**
 * `codex-sm completion bash|zsh|fish|man`: the shell completion script, or the man page, made
 * from the whole command tree (src/cli/completion.ts). E.g.
 * `codex-sm completion bash > ~/.local/share/bash-completion/completions/codex-sm`.
 */
import { Argument, type Command } from 'commander';
import { packageInfo } from '../../package-info.js';
import {
  bashCompletion,
  commandTree,
  fishCompletion,
  manPage,
  zshCompletion,
  type CommandNode,
} from '../completion.js';

const RENDER: Record<string, (root: CommandNode) => string> = {
  bash: bashCompletion,
  zsh: zshCompletion,
  fish: fishCompletion,
  // SOURCE_DATE_EPOCH (reproducible package builds) when set, else today.
  man: (root) => manPage(root, packageInfo().version, buildDate(process.env.SOURCE_DATE_EPOCH)),
};

/** YYYY-MM-DD of a SOURCE_DATE_EPOCH (seconds), or of today. Pure but for the clock. */
export function buildDate(epoch: string | undefined, now = Date.now()): string {
  const s = Number(epoch);
  return new Date(epoch && Number.isFinite(s) ? s * 1000 : now).toISOString().slice(0, 10);
}

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print the shell completion script (bash, zsh, fish) or the man page (man)')
    .addArgument(new Argument('<shell>', 'bash, zsh, fish or man').choices(Object.keys(RENDER)))
    .action(async (shell: string) => {
      // The whole tree, whichever command module this process loaded.
      const { buildProgram } = await import('../program.js');
      const root = commandTree(await buildProgram([]));
      process.stdout.write((RENDER[shell] as (r: CommandNode) => string)(root));
    });
}
