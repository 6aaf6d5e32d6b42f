/**
 * The `codex-sm serve` entry that `make build` bundles into dist/bundle/serve.js (esbuild; see
 * main.ts). Its flags are read with node's own parseArgs from the same declarations commander
 * gets (common.ts, commands/serve.ts), so READY=1 does not wait for commander to load (~125 KB
 * of it in the bundle). Anything parseArgs does not take as a plain serve command line (--help,
 * an unknown flag, a missing value) goes to commander, which answers it as for every command.
 */
import { parseArgs } from 'node:util';
import { CONFIG_FLAGS, type ConfigFlags } from './common.js';
import { runServe, SERVE_ONLY_FLAGS } from './commands/serve.js';
import { serve } from '../../service/main.js';

/** `--token-file` → `tokenFile`, as commander names it. */
const camel = (flag: string): string =>
  flag.slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

function plainServeFlags(args: string[]): ConfigFlags | undefined {
  const options: Record<string, { type: 'string' | 'boolean' }> = { config: { type: 'string' } };
  for (const f of [...CONFIG_FLAGS, ...SERVE_ONLY_FLAGS])
    options[f.flag.slice(2)] = { type: f.value ? 'string' : 'boolean' };
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true });
    if (positionals.length !== 1 || positionals[0] !== 'serve') return undefined;
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [camel(`--${k}`), v]));
  } catch {
    return undefined; // commander says what is wrong
  }
}

const flags = plainServeFlags(process.argv.slice(2));
if (flags) await runServe(flags, serve);
else {
  const [{ rootProgram, runProgram }, { registerServe }] = await Promise.all([
    import('./root.js'),
    import('./commands/serve.js'),
  ]);
  const program = rootProgram();
  registerServe(program);
  await runProgram(program);
}
