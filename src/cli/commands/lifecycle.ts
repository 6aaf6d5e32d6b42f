/**
 * The lifecycle commands: install-service, uninstall-service, start, stop, restart, status, logs.
 * Each prints exactly one JSON object (docs/lifecycle.md) with --json or when stdout is not a
 * TTY; `logs` prints lines (JSON lines with --json). The work is done by a ServiceManager
 * (src/platform); this module only turns flags into a plan and results into output.
 */
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { resolveCodexBin } from '../../codex.js';
import { endpointFor } from '../../client.js';
import { configSchema, type Config } from '../../config/schema.js';
import { CodexSmError, EXIT, toCodexSmError } from '../../errors.js';
import { defaultTokenFile, stateDir, type Env } from '../../paths.js';
import { createServiceManager, selectBackend } from '../../platform/index.js';
import { lookupAccount } from '../../platform/systemd/install-steps.js';
import { parseSystemdVersion } from '../../platform/systemd/api.js';
import { buildServicePlan, DEFAULT_TIMINGS, type PlanTimings } from '../../platform/plan.js';
import type { Backend, LifecycleResult, ServiceManager } from '../../platform/types.js';
import { execRunner } from '../../runner.js';
import { addConfigFlags, loadConfig, type ConfigFlags } from '../common.js';
import { runCommand, table, wantsJson } from '../output.js';

interface LifecycleFlags extends ConfigFlags {
  json?: boolean;
  system?: boolean;
  runAs?: string;
}

interface InstallFlags extends LifecycleFlags {
  socketActivation?: boolean;
  enableLinger?: boolean;
  start?: boolean;
  dryRun?: boolean;
  platform?: string;
  watchdogSec?: string;
  restartSec?: string;
  startTimeoutSec?: string;
}

/** LSB: `status` exits 0 when running, 3 when not (like `systemctl is-active`'s callers expect). */
export const STATUS_NOT_RUNNING_EXIT = 3;

/** The environment of the account the service runs as: ours, or --run-as's for --system. */
function serviceEnv(f: LifecycleFlags, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!f.system) return env;
  const user = f.runAs ?? env.SUDO_USER;
  if (!user || user === 'root') {
    throw new CodexSmError('usage', '--system needs the account the service runs as', {
      hint: 'pass --run-as <user> (default: $SUDO_USER)',
      exitCode: EXIT.usage,
    });
  }
  const passwd = fs.readFileSync('/etc/passwd', 'utf8');
  const account = lookupAccount(user, passwd);
  const home = passwd
    .split('\n')
    .find((l) => l.startsWith(`${user}:`))
    ?.split(':')[5];
  if (!account || !home)
    throw new CodexSmError('usage', `no such user: ${user}`, { exitCode: EXIT.usage });
  return { PATH: env.PATH, HOME: home, USER: user, LOGNAME: user };
}

/**
 * Lifecycle commands other than install must work while the config is broken (that is when
 * `status` is needed most): fall back to the defaults and report the config error.
 */
function configOrDefaults(
  f: LifecycleFlags,
  env: Env,
): {
  config: Pick<Config, 'host' | 'port' | 'tokenFile' | 'stateDir' | 'codexBin'>;
  configError?: string;
} {
  try {
    return { config: loadConfig(f, env as NodeJS.ProcessEnv).config };
  } catch (e) {
    const p = configSchema.properties;
    return {
      config: {
        host: p.host.default,
        port: p.port.default,
        tokenFile: defaultTokenFile(env),
        stateDir: stateDir(env),
      },
      configError: toCodexSmError(e).message,
    };
  }
}

function managerFor(
  backend: Backend,
  f: LifecycleFlags & { enableLinger?: boolean },
  env: NodeJS.ProcessEnv,
  config: Pick<Config, 'host' | 'port' | 'tokenFile' | 'stateDir'>,
  codexPath?: string,
): ServiceManager {
  return createServiceManager(backend, {
    scope: f.system ? 'system' : 'user',
    env,
    host: config.host,
    port: config.port,
    tokenFile: config.tokenFile,
    stateDir: config.stateDir,
    ...(codexPath ? { codexPath } : {}),
    ...(f.enableLinger ? { enableLinger: true } : {}),
  });
}

export function humanResult(r: LifecycleResult): string {
  const rows: [string, unknown][] = [
    ['status', r.status],
    ['unit', `${r.unit} (${r.unitPath})`],
    ['state', `${r.activeState}/${r.subState}${r.mainPid ? `, pid ${r.mainPid}` : ''}`],
    ['restarts', r.nRestarts],
    ['says', r.statusText || undefined],
    ['endpoint', r.endpoint],
    [
      'codex',
      r.codexPath ? `${r.codexPath}${r.codexVersion ? ` (${r.codexVersion})` : ''}` : undefined,
    ],
  ];
  if (r.linger !== undefined) rows.push(['linger', r.linger ? 'on' : 'off']);
  if (typeof r.reason === 'string') rows.push(['why', r.reason]);
  const out = [table(rows)];
  for (const w of (r.warnings as string[] | undefined) ?? []) out.push(`warning: ${w}`);
  for (const l of (r.lastLogLines as string[] | undefined) ?? []) out.push(`  | ${l}`);
  if (typeof r.configError === 'string') out.push(`warning: config: ${r.configError}`);
  return out.join('\n');
}

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v))
    throw new CodexSmError('usage', `${name} must be a whole number of seconds, got "${v}"`, {
      exitCode: EXIT.usage,
    });
  return Number(v);
}

async function systemdVersionHere(backend: Backend): Promise<number | undefined> {
  if (backend !== 'systemd' || process.platform !== 'linux') return undefined;
  const r = await execRunner.run('systemctl', ['--version'], { timeoutMs: 5000 });
  return parseSystemdVersion(r.stdout);
}

async function installService(f: InstallFlags): Promise<{ json: object; human: string }> {
  const backend = selectBackend(f.platform, { dryRun: Boolean(f.dryRun) });
  const env = serviceEnv(f, process.env);
  const { config } = loadConfig(f, env); // install needs a valid config: it is baked into the unit
  const warnings: string[] = [];
  let codexPath: string;
  try {
    codexPath = resolveCodexBin({
      codexBin: config.codexBin,
      codexHome: config.codexHome,
      env,
    }).path;
  } catch (e) {
    if (!f.dryRun) throw e;
    codexPath = path.join(config.codexHome, 'packages', 'standalone', 'current', 'codex');
    warnings.push(`${toCodexSmError(e).message}; the preview assumes ${codexPath}`);
  }
  const timings: Partial<PlanTimings> = {};
  const w = intFlag('--watchdog-sec', f.watchdogSec);
  const r = intFlag('--restart-sec', f.restartSec);
  const s = intFlag('--start-timeout-sec', f.startTimeoutSec);
  if (w !== undefined) timings.watchdogSec = w;
  if (r !== undefined) timings.restartSec = r;
  if (s !== undefined) timings.startTimeoutSec = s;
  const explicitConfig = f.config ?? env.CODEX_SM_CONFIG;
  const plan = buildServicePlan(config, {
    backend,
    scope: f.system ? 'system' : 'user',
    env,
    codexPath,
    socketActivation: Boolean(f.socketActivation),
    systemdVersion: await systemdVersionHere(backend),
    ...(explicitConfig ? { configFile: path.resolve(explicitConfig) } : {}),
    ...(f.logLevel ? { extraArgs: ['--log-level', f.logLevel] } : {}),
    ...(f.system ? { user: env.USER as string } : {}),
    timings,
  });
  const manager = managerFor(backend, f, env, config, codexPath);
  if (f.dryRun) {
    const preview = manager.preview(plan);
    const json = {
      status: 'planned',
      backend,
      unit: backend === 'systemd' ? `${plan.name}.service` : plan.label,
      unitPath: preview.files[0]?.path ?? '',
      endpoint: endpointFor(plan.host, plan.port),
      codexPath,
      files: preview.files,
      commands: preview.commands,
      warnings,
    };
    const human = [
      ...preview.files.map((x) => `# ${x.path} (mode ${x.mode.toString(8)})\n${x.content}`),
      '# commands:',
      ...preview.commands.map((c) => c.join(' ')),
      ...warnings.map((x) => `warning: ${x}`),
    ].join('\n');
    return { json, human };
  }
  const result = await manager.install(plan, { start: f.start !== false });
  if (warnings.length)
    result.warnings = [...((result.warnings as string[] | undefined) ?? []), ...warnings];
  return { json: result, human: humanResult(result) };
}

function lifecycleAction(
  name: 'start' | 'stop' | 'restart' | 'status',
  f: LifecycleFlags,
): Promise<{ json: object; human: string; exitCode?: number }> {
  const backend = selectBackend(undefined, { dryRun: false });
  const env = serviceEnv(f, process.env);
  const { config, configError } = configOrDefaults(f, env);
  const manager = managerFor(backend, f, env, config, config.codexBin);
  return manager[name]().then((result) => {
    if (configError) result.configError = configError;
    const exitCode = name === 'status' && result.status !== 'running' ? STATUS_NOT_RUNNING_EXIT : 0;
    return { json: result, human: humanResult(result), exitCode };
  });
}

function addScopeFlags(cmd: Command): Command {
  return cmd
    .option('--system', 'the system unit (/etc/systemd/system, root) instead of the user unit')
    .option(
      '--run-as <user>',
      'with --system: the account the service runs as (default $SUDO_USER)',
    )
    .option('--json', 'print one JSON object');
}

export function registerLifecycle(program: Command): void {
  addScopeFlags(
    addConfigFlags(
      program
        .command('install-service')
        .description(
          'install codex-sm as a systemd user service (LaunchAgent on macOS), enable and start it',
        ),
    ),
  )
    .option('--socket-activation', 'let systemd own the listening socket (codex-sm.socket)')
    .option(
      '--enable-linger',
      'keep the user service running after logout and start it at boot (loginctl enable-linger)',
    )
    .option('--no-start', 'write and enable the unit, but do not start it')
    .option('--dry-run', 'print the files and commands, change nothing (any OS, with --platform)')
    .option(
      '--platform <backend>',
      'systemd|launchd (default: this OS; a foreign one only with --dry-run)',
    )
    .option(
      '--watchdog-sec <n>',
      `WatchdogSec: kill and restart a hung service after n s (default ${DEFAULT_TIMINGS.watchdogSec}; 0 = off)`,
    )
    .option('--restart-sec <n>', `RestartSec (default ${DEFAULT_TIMINGS.restartSec})`)
    .option(
      '--start-timeout-sec <n>',
      `TimeoutStartSec: time to become ready (default ${DEFAULT_TIMINGS.startTimeoutSec})`,
    )
    .action(async (_o: unknown, cmd: Command) => {
      const f = cmd.optsWithGlobals<InstallFlags>();
      await runCommand(f, () => installService(f));
    });

  addScopeFlags(
    program.command('uninstall-service').description('stop, disable and remove the service unit'),
  )
    .option('--purge', 'also remove the token, the secrets file and codex-sm state')
    .action(async (_o: unknown, cmd: Command) => {
      const f = cmd.optsWithGlobals<LifecycleFlags & { purge?: boolean }>();
      await runCommand(f, async () => {
        const env = serviceEnv(f, process.env);
        const { config } = configOrDefaults(f, env);
        const result = await managerFor(
          selectBackend(undefined, { dryRun: false }),
          f,
          env,
          config,
        ).uninstall({ purge: Boolean(f.purge) });
        const left = (result.leftBehind as { path: string; why: string }[]).map(
          (l) => `left: ${l.path} — ${l.why}`,
        );
        return {
          json: result,
          human: [
            `status  ${result.status}`,
            ...(result.removed as string[]).map((p) => `removed: ${p}`),
            ...left,
          ].join('\n'),
        };
      });
    });

  for (const [name, what] of [
    ['start', 'start the installed service (waits until it is ready)'],
    ['stop', 'stop the service (it stays installed and enabled)'],
    ['restart', 'restart the service (concurrent restarts coalesce into one)'],
    [
      'status',
      "the manager's view of the service merged with the service's own /status (exit 3 when not running)",
    ],
  ] as const) {
    addScopeFlags(program.command(name).description(what)).action(
      async (_o: unknown, cmd: Command) => {
        const f = cmd.optsWithGlobals<LifecycleFlags>();
        await runCommand(f, () => lifecycleAction(name, f));
      },
    );
  }

  addScopeFlags(
    program
      .command('logs')
      .description("the service's log lines from the journal (log files on macOS)"),
  )
    .option('-f, --follow', 'keep printing new lines')
    .option('-n, --lines <n>', 'how many lines (default 50)', '50')
    .option('--since <time>', 'only lines since, e.g. "10 min ago", today, "2025-01-31 12:00"')
    .action(async (_o: unknown, cmd: Command) => {
      const f = cmd.optsWithGlobals<
        LifecycleFlags & { follow?: boolean; lines: string; since?: string }
      >();
      // A stream, not one result: readable lines unless --json, so `codex-sm logs | grep` works.
      const json = Boolean(f.json);
      try {
        const lines = intFlag('--lines', f.lines) as number;
        const env = serviceEnv(f, process.env);
        const { config } = configOrDefaults(f, env);
        const manager = managerFor(selectBackend(undefined, { dryRun: false }), f, env, config);
        let written = 0;
        await manager.logs(
          { follow: Boolean(f.follow), lines, json, ...(f.since ? { since: f.since } : {}) },
          (line) => {
            written++;
            process.stdout.write(line + '\n');
          },
        );
        // Like journalctl's "-- No entries --": silence would look like a hang or a bug.
        if (!written && !json)
          process.stderr.write('codex-sm: no log lines (yet) for the service\n');
      } catch (e) {
        const err = toCodexSmError(e);
        if (wantsJson(f)) process.stdout.write(JSON.stringify(err.toJSON()) + '\n');
        else
          process.stderr.write(
            `codex-sm: ${err.message}\n${err.hint ? `  hint: ${err.hint}\n` : ''}`,
          );
        process.exitCode = err.exitCode;
      }
    });
}
