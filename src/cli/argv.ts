/**
 * What the command line asks for, read without commander: main.ts decides from it whether to
 * load the bundled `serve` entry or the whole CLI, before loading either.
 */

/** The subcommand named on the command line (skipping global options and their values). */
export function requestedCommand(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--config') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}
