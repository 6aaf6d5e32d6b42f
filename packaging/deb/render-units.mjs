// The static user units the .deb ships in /usr/lib/systemd/user, rendered by the app's own
// renderers (dist/src/platform/systemd/render.js) from units/, so the package never carries a
// hand-kept copy of the unit text. Usage: node packaging/deb/render-units.mjs OUT_DIR
//
// install-service bakes one user's absolute paths into the unit; a packaged unit serves every
// user, so the plan is built for a placeholder home that is then turned into systemd's `%h`
// specifier (the renderers escape `%` in values, as they must for real paths). ExecStart is
// node itself running the packaged CLI with plain `serve`: node stays the main PID (sd_notify),
// and the service reads each user's own config file and defaults, as `codex-sm serve` does.
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { resolveConfig } from '../../dist/src/config/load.js';
import { buildServicePlan } from '../../dist/src/platform/plan.js';
import { renderServiceUnit, renderUpdaterUnits } from '../../dist/src/platform/systemd/render.js';

const NODE = '/usr/bin/node'; // every `nodejs` package (Debian's, NodeSource's) installs it here
const CLI = '/usr/lib/codex-sm/dist/src/cli/main.js';
// Never a real path; unique so that every occurrence is the home directory.
const HOME = '/codex-sm-deb-placeholder-home';

const WRITTEN_BY = 'written by `codex-sm install-service`; re-run it to change this file.';
const WRITTEN_BY_UPDATER =
  'written by `codex-sm install-service --updater` or `codex-sm bootstrap`; re-run it to change this file.';
const PACKAGED = 'installed by the codex-sm package; upgrades replace it.';

/** Placeholder home → `%h`, and the install-service header → the package's own. */
function forPackage(text) {
  const out = text
    .replaceAll(HOME, '%h')
    .replace(WRITTEN_BY_UPDATER, PACKAGED)
    .replace(WRITTEN_BY, PACKAGED);
  if (!out.includes(PACKAGED) || out.includes('install-service')) {
    throw new Error(
      'render-units: the unit header changed in units/; update packaging/deb/render-units.mjs',
    );
  }
  return out;
}

const outDir = process.argv[2];
if (!outDir) {
  process.stderr.write('usage: node packaging/deb/render-units.mjs OUT_DIR\n');
  process.exit(64);
}
// Defaults only: the placeholder home has no config file, and no CODEX_SM_* of whoever builds
// the package gets in.
const env = { HOME, PATH: '/usr/bin:/bin' };
const { config } = resolveConfig({ env });
const plan = {
  ...buildServicePlan(config, {
    backend: 'systemd',
    scope: 'user',
    env,
    codexPath: '/usr/bin/codex',
    nodePath: NODE,
    cliScript: CLI,
  }),
  args: ['serve'],
  // The user manager sets HOME; PATH adds the places a user's own codex usually is.
  environment: { PATH: `${HOME}/.local/bin:/usr/local/bin:/usr/bin:/bin` },
};
const units = [
  { name: 'codex-sm.service', content: renderServiceUnit(plan) },
  ...renderUpdaterUnits(plan),
];
fs.mkdirSync(outDir, { recursive: true });
for (const unit of units) {
  fs.writeFileSync(path.join(outDir, unit.name), forPackage(unit.content), { mode: 0o644 });
  process.stdout.write(`${path.join(outDir, unit.name)}\n`);
}
