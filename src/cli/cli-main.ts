/**
 * Every command but `serve`: builds the command tree (./program.ts loads only the module of the
 * command being run) and runs it. `make build` bundles it into dist/bundle/cli.js, which main.ts
 * prefers: `codex-sm version` then starts ~90 ms sooner (docs/benchmarks.md).
 */
import { buildProgram } from './program.js';
import { runProgram } from './root.js';

await runProgram(await buildProgram());
