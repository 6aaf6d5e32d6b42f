/** `codex-sm doctor [--json]`: everything that must hold for the service to run, checked and reported. */
import type { Command } from 'commander';
import fs from 'node:fs';
import net from 'node:net';
import { codexCandidates, codexVersion, resolveCodexBin } from '../../codex.js';
import type { Config } from '../../config/schema.js';
import { nodeSupport } from '../../node-support.js';
import { toCodexSmError } from '../../errors.js';
import { execRunner, type CommandRunner } from '../../runner.js';
import { tokenFileTooOpen } from '../../token.js';
import { addConfigFlags, loadConfig, type ConfigFlags } from '../common.js';
import { runCommand } from '../output.js';
import { openSqlite } from '../../../service/sqlite.js';

export type CheckStatus = 'ok' | 'info' | 'warn' | 'fail';
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  hint?: string;
}

/** Whether codex-sm runs on this node at all (src/node-support.ts). */
export function nodeRelease(version: string): Check {
  const s = nodeSupport(version);
  return s.supported
    ? { name: 'node release', status: 'ok', detail: `node ${version} is supported` }
    : { name: 'node release', status: 'fail', detail: s.why, hint: s.hint };
}

/**
 * This Node's SQLite module loads and runs a statement: after a node upgrade under a global npm
 * install it may be missing or compiled for the old node, and the service would exit 78.
 */
export function sqliteCheck(): Check {
  try {
    const db = openSqlite(':memory:');
    const version = db.prepare<[], string>('select sqlite_version()').pluck().get();
    db.close();
    return {
      name: 'sqlite',
      status: 'ok',
      detail: `SQLite ${version} for node ${process.versions.node}`,
    };
  } catch (e) {
    const err = toCodexSmError(e);
    return { name: 'sqlite', status: 'fail', detail: err.message, hint: err.hint };
  }
}

/** Node installed by a version manager moves when the user switches versions: the unit then breaks. */
export function nodePathStability(execPath: string): Check {
  const volatile = [
    /\/\.nvm\//,
    /\/\.volta\//,
    /\/fnm\//,
    /\/\.asdf\//,
    /\/mise\//,
    /\/\.nodenv\//,
    /^\/tmp\//,
    /\/_npx\//,
  ];
  const hit = volatile.find((re) => re.test(execPath));
  return hit
    ? {
        name: 'node',
        status: 'warn',
        detail: `${execPath} (node ${process.versions.node}) is managed by a version manager`,
        hint: 'the service unit records this path; after switching node versions re-run `codex-sm install-service`',
      }
    : { name: 'node', status: 'ok', detail: `${execPath} (node ${process.versions.node})` };
}

export function portCheck(host: string, port: number): Promise<Check> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => {
      resolve({
        name: 'port',
        status: e.code === 'EADDRINUSE' ? 'warn' : 'fail',
        detail: `${host}:${port} ${e.code === 'EADDRINUSE' ? 'is in use (by a running codex-sm, or something else)' : `cannot be bound: ${e.code}`}`,
        hint: 'pick another with --port, or stop what holds it (`codex-sm status`)',
      });
    });
    srv.listen({ host, port, exclusive: true }, () => {
      srv.close(() => resolve({ name: 'port', status: 'ok', detail: `${host}:${port} is free` }));
    });
  });
}

export async function serviceManagerCheck(
  runner: CommandRunner,
  env = process.env,
): Promise<Check> {
  if (process.platform === 'darwin') {
    const r = await runner.run('launchctl', ['version'], { timeoutMs: 5000 });
    return r.spawnError
      ? { name: 'serviceManager', status: 'fail', detail: 'launchctl not found' }
      : { name: 'serviceManager', status: 'ok', detail: 'launchd (launchctl present)' };
  }
  if (!env.XDG_RUNTIME_DIR) {
    return {
      name: 'serviceManager',
      status: 'warn',
      detail: 'XDG_RUNTIME_DIR is not set: no systemd user manager reachable from this shell',
      hint: 'log in directly (ssh/machinectl shell) rather than via sudo/su, or export XDG_RUNTIME_DIR=/run/user/$(id -u)',
    };
  }
  const r = await runner.run('systemctl', ['--user', 'is-system-running'], { timeoutMs: 5000 });
  const state = r.stdout.trim();
  if (r.spawnError)
    return {
      name: 'serviceManager',
      status: 'warn',
      detail: 'systemctl not found: systemd is not available',
    };
  return ['running', 'degraded', 'starting'].includes(state)
    ? { name: 'serviceManager', status: 'ok', detail: `systemd user manager: ${state}` }
    : {
        name: 'serviceManager',
        status: 'warn',
        detail: `systemd user manager not reachable (${state || r.stderr.trim().split('\n')[0]})`,
        hint: 'is `systemctl --user` usable? on WSL enable systemd in /etc/wsl.conf',
      };
}

export async function runDoctor(
  flags: ConfigFlags,
  runner: CommandRunner = execRunner,
): Promise<Check[]> {
  const checks: Check[] = [
    nodeRelease(process.versions.node),
    nodePathStability(process.execPath),
    sqliteCheck(),
  ];
  let config: Config | undefined;
  try {
    config = loadConfig(flags).config;
    checks.push({ name: 'config', status: 'ok', detail: 'valid' });
  } catch (e) {
    const err = toCodexSmError(e);
    checks.push({ name: 'config', status: 'fail', detail: err.message, hint: err.hint });
  }
  if (config) {
    try {
      const bin = resolveCodexBin({ codexBin: config.codexBin, codexHome: config.codexHome });
      const version = await codexVersion(bin.path);
      checks.push({
        name: 'codex',
        status: 'ok',
        detail: `${bin.path} (${version}, from ${bin.source})`,
      });
    } catch (e) {
      const err = toCodexSmError(e);
      checks.push({ name: 'codex', status: 'fail', detail: err.message, hint: err.hint });
    }
    for (const c of codexCandidates({ codexBin: config.codexBin, codexHome: config.codexHome })) {
      checks.push({
        name: `codex.${c.source}`,
        status: c.ok ? 'ok' : 'info',
        detail: `${c.path ?? '-'}${c.ok ? '' : ` (${c.reason})`}`,
      });
    }
    checks.push(
      fs.existsSync(config.codexHome)
        ? { name: 'codexHome', status: 'ok', detail: `${config.codexHome} exists` }
        : {
            name: 'codexHome',
            status: 'warn',
            detail: `${config.codexHome} does not exist yet`,
            hint: 'codex-sm serve creates it on start',
          },
    );
    checks.push(
      tokenFileTooOpen(config.tokenFile)
        ? {
            name: 'token',
            status: 'fail',
            detail: `${config.tokenFile} is readable by others`,
            hint: `chmod 600 ${config.tokenFile}`,
          }
        : {
            name: 'token',
            status: 'ok',
            detail: fs.existsSync(config.tokenFile)
              ? `${config.tokenFile} (0600)`
              : `${config.tokenFile} (created on first start)`,
          },
    );
    checks.push(await portCheck(config.host, config.port));
  }
  checks.push(await serviceManagerCheck(runner));
  return checks;
}

export function registerDoctor(program: Command): void {
  addConfigFlags(
    program
      .command('doctor')
      .description(
        'check node, its SQLite module, codex, CODEX_HOME, config, port and the service manager',
      ),
  )
    .option('--json', 'print one JSON object')
    .action(async (_o: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<ConfigFlags & { json?: boolean }>();
      await runCommand(flags, async () => {
        const checks = await runDoctor(flags);
        const ok = !checks.some((c) => c.status === 'fail');
        const mark = { ok: '✓', info: '·', warn: '!', fail: '✗' } as const;
        const human = checks
          .map(
            (c) =>
              `${mark[c.status]} ${c.name.padEnd(20)} ${c.detail}${c.hint ? `\n    hint: ${c.hint}` : ''}`,
          )
          .join('\n');
        return { json: { ok, checks }, human, exitCode: ok ? 0 : 1 };
      });
    });
}
