/**
 * The `codex-sm serve` entry that `make build` bundles into dist/bundle/serve.js (esbuild: one
 * file, so start-up resolves and reads no module graph; native modules stay external). main.ts
 * imports it when the command is `serve`. It registers `serve` alone: the other commands are
 * not in the bundle, and parsing their code would cost start-up time READY=1 waits for.
 */
import { registerServe } from './commands/serve.js';
import { rootProgram, runProgram } from './root.js';

const program = rootProgram();
registerServe(program);
await runProgram(program);
