/**
 * Whether node was started on the module at `moduleUrl` (`import.meta.url`): the build steps that
 * are also importable modules (the config validator and MIME slice generators, the error table)
 * act only when run. Real paths: in a symlinked checkout `process.argv[1]` and the module's URL
 * name the same file by different paths.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export function runAsScript(moduleUrl: string): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return fs.realpathSync(argv1) === fs.realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
