/** `codex-sm version [--json]`: codex-sm, node, and the codex it would run. */
import type { Command } from 'commander';
import { codexVersion, resolveCodexBin } from '../../codex.js';
import { toCodexSmError } from '../../errors.js';
import { packageInfo } from '../../package-info.js';
import { addCodexFlags, loadConfig, type ConfigFlags } from '../common.js';
import { runCommand, table } from '../output.js';
import { serviceStatusVia } from '../../lifecycle/view.js';

export interface VersionJson {
  /** As the Codex daemon's `version`: this CLI, the codex it runs, the running app-server. */
  cliVersion: string;
  codexVersion: string | null;
  /** What the running service's app-server reported on initialize; null when not running. */
  appServerVersion: string | null;
  version: string;
  node: { version: string; path: string };
  codex:
    | { path: string; source: string; version: string }
    | { error: { code: string; message: string; hint?: string } };
}

export async function versionInfo(flags: ConfigFlags): Promise<VersionJson> {
  const out: VersionJson = {
    cliVersion: packageInfo().version,
    codexVersion: null,
    appServerVersion: null,
    version: packageInfo().version,
    node: { version: process.versions.node, path: process.execPath },
    codex: { error: { code: 'unknown', message: 'not resolved' } },
  };
  try {
    const { config } = loadConfig(flags);
    const bin = resolveCodexBin({ codexBin: config.codexBin, codexHome: config.codexHome });
    out.codex = { path: bin.path, source: bin.source, version: await codexVersion(bin.path) };
    out.codexVersion = out.codex.version;
  } catch (e) {
    out.codex = toCodexSmError(e).toJSON();
  }
  const installed = await installedService(flags);
  if (installed?.codexPath) {
    // The codex the installed service runs is the one that matters for remote clients.
    out.codexVersion = await codexVersion(installed.codexPath).catch(() => out.codexVersion);
  }
  out.appServerVersion = installed?.appServerVersion ?? null;
  return out;
}

/** The installed service's codex and its running app-server's version (the install record says where). */
async function installedService(
  flags: ConfigFlags,
): Promise<{ codexPath: string; appServerVersion: string | null } | undefined> {
  try {
    const { installedEngine } = await import('./lifecycle.js');
    const record = installedEngine(flags).records.readOrFallback([]);
    if (!record) return undefined;
    const svc = await serviceStatusVia(record.endpoint, record.tokenFile);
    return { codexPath: record.codexPath, appServerVersion: svc?.appServer.version ?? null };
  } catch {
    return undefined; // no service manager backend here: nothing is installed
  }
}

export function registerVersion(program: Command): void {
  addCodexFlags(program.command('version').description('print codex-sm, node and codex versions'))
    .option('--json', 'print one JSON object')
    .action(async (_o: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<ConfigFlags & { json?: boolean }>();
      await runCommand(flags, async () => {
        const v = await versionInfo(flags);
        const codex =
          'error' in v.codex
            ? `not found: ${v.codex.error.message}`
            : `${v.codex.version} (${v.codex.path}, from ${v.codex.source})`;
        return {
          json: v,
          human: table([
            ['codex-sm', v.version],
            ['node', `${v.node.version} (${v.node.path})`],
            ['codex', codex],
            ['app-server', v.appServerVersion ?? 'not running'],
          ]),
        };
      });
    });
}
