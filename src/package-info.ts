/** codex-sm's own version and install location, read from its package.json. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageInfo {
  name: string;
  version: string;
  /** The package root (where package.json is). */
  root: string;
  /** Absolute path of the CLI script that `serve` runs under (what a unit's ExecStart names). */
  cliScript: string;
}

let cached: PackageInfo | undefined;

export function packageInfo(): PackageInfo {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name: string; version: string };
      if (pkg.name === 'codex-sm') {
        cached = {
          name: pkg.name,
          version: pkg.version,
          root: dir,
          cliScript: path.join(dir, 'dist', 'src', 'cli', 'main.js'),
        };
        return cached;
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('codex-sm package.json not found');
    dir = up;
  }
}

/**
 * A file of the built tree, by its path under `dist/` (e.g. 'service/sessions/search-worker.js').
 * Found from the package root rather than from `import.meta.url`, which is the bundle's own
 * location when the code runs from dist/bundle/serve.js (make build's `serve` entry).
 */
export function distFile(...parts: string[]): string {
  return path.join(packageInfo().root, 'dist', ...parts);
}
