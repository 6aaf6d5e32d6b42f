/**
 * The lifecycle commands: install-service, uninstall-service, start, stop, restart, status, logs.
 * Each prints exactly one JSON object (docs/lifecycle.md) with --json or when stdout is not a
 * TTY; `logs` prints lines (JSON lines with --json). The work is done by the lifecycle engine
 * (src/lifecycle); this module only turns flags into a plan and outputs into text.
 */
import type { Command } from 'commander';
import path from 'node:path';
import { resolveCodexBin } from '../../codex.js';
import { configSchema, type Config } from '../../config/schema.js';
import { CodexSmError, toCodexSmError } from '../../errors.js';
import { serviceAccount, type ServiceAccount } from '../../lifecycle/account.js';
import type { LifecycleEngine } from '../../lifecycle/engine.js';
import { createEngine } from '../../lifecycle/index.js';
import { humanOutput, type LifecycleOutput } from '../../lifecycle/outputs.js';
import { defaultTokenFile, stateDir } from '../../paths.js';
import { nodeSupport } from '../../node-support.js';
import { selectBackend } from '../../platform/index.js';
import { buildServicePlan, DEFAULT_TIMINGS, type PlanTimings } from '../../platform/plan.js';
import type { ServicePlan } from '../../platform/types.js';
import { addConfigFlags, loadConfig, type ConfigFlags } from '../common.js';
import { runCommand, wantsJson, type CommandResult } from '../output.js';

export interface LifecycleFlags extends ConfigFlags {
  json?: boolean;
  system?: boolean;
  runAs?: string;
}

export interface InstallFlags extends LifecycleFlags {
  socketActivation?: boolean;
  updater?: boolean;
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

/**
 * Lifecycle commands other than install must work while the config is broken (that is when
 * `status` is needed most): fall back to the defaults and report the config error.
 */
function configOrDefaults(
  f: LifecycleFlags,
  env: NodeJS.ProcessEnv,
): {
  config: Pick<Config, 'host' | 'port' | 'tokenFile' | 'stateDir'> &
    Partial<Pick<Config, 'codexHome' | 'codexBin'>>;
  configError?: string;
} {
  try {
    return { config: loadConfig(f, env).config };
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

/** The engine for an installed service, whatever the config says now. */
export function installedEngine(f: LifecycleFlags): LifecycleEngine {
  const who = serviceAccount(f, process.env);
  const { config, configError } = configOrDefaults(f, who.env);
  return createEngine({
    backend: selectBackend(undefined, { dryRun: false }),
    who,
    config,
    ...(configError ? { configError } : {}),
  });
}

export function output(r: LifecycleOutput, exitCode?: number): CommandResult<LifecycleOutput> {
  return { json: r, human: humanOutput(r), ...(exitCode ? { exitCode } : {}) };
}

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v))
    throw new CodexSmError('usage', `${name} must be a whole number of seconds, got "${v}"`);
  return Number(v);
}

function timingsFrom(f: InstallFlags): Partial<PlanTimings> {
  const timings: Partial<PlanTimings> = {};
  const w = intFlag('--watchdog-sec', f.watchdogSec);
  const r = intFlag('--restart-sec', f.restartSec);
  const s = intFlag('--start-timeout-sec', f.startTimeoutSec);
  if (w !== undefined) timings.watchdogSec = w;
  if (r !== undefined) timings.restartSec = r;
  if (s !== undefined) timings.startTimeoutSec = s;
  return timings;
}

/** The codex binary the unit will run; a dry run may go on without one (and says so). */
function codexFor(
  config: Config,
  who: ServiceAccount,
  dryRun: boolean,
  warnings: string[],
): string {
  try {
    return resolveCodexBin({ codexBin: config.codexBin, codexHome: config.codexHome, env: who.env })
      .path;
  } catch (e) {
    if (!dryRun) throw e;
    const assumed = path.join(config.codexHome, 'packages', 'standalone', 'current', 'codex');
    warnings.push(`${toCodexSmError(e).message}; the preview assumes ${assumed}`);
    return assumed;
  }
}

/** The engine and the plan an install (or bootstrap) of these flags would carry out. */
export function installPlan(
  f: InstallFlags,
  opts: { updater: boolean },
): { engine: LifecycleEngine; plan: ServicePlan; warnings: string[]; config: Config } {
  const backend = selectBackend(f.platform, { dryRun: Boolean(f.dryRun) });
  const who = serviceAccount(f, process.env);
  const { config } = loadConfig(f, who.env); // install needs a valid config: it is baked into the unit
  const warnings: string[] = [];
  // The unit runs this very node (process.execPath): refuse one the service would refuse.
  const node = nodeSupport(process.versions.node);
  if (!node.supported) {
    if (!f.dryRun) throw new CodexSmError('node_unsupported', node.why, { hint: node.hint });
    warnings.push(`${node.why}; the service would refuse to start`);
  }
  const codexPath = codexFor(config, who, Boolean(f.dryRun), warnings);
  const explicitConfig = f.config ?? who.env.CODEX_SM_CONFIG;
  const plan = buildServicePlan(config, {
    backend,
    scope: who.scope,
    env: who.env,
    codexPath,
    socketActivation: Boolean(f.socketActivation),
    updater: opts.updater,
    ...(explicitConfig ? { configFile: path.resolve(explicitConfig) } : {}),
    ...(f.logLevel ? { extraArgs: ['--log-level', f.logLevel] } : {}),
    ...(who.user ? { user: who.user } : {}),
    timings: timingsFrom(f),
  });
  if (opts.updater && who.scope === 'system')
    throw new CodexSmError('usage', 'the updater is a user service: not with --system', {
      hint: 'drop --updater, or install the user service',
    });
  return { engine: createEngine({ backend, who, config }), plan, warnings, config };
}

async function installService(f: InstallFlags): Promise<CommandResult<LifecycleOutput>> {
  const { engine, plan, warnings } = installPlan(f, { updater: Boolean(f.updater) });
  if (f.dryRun) return output(await engine.plan(plan, warnings));
  return output(
    await engine.install(plan, {
      start: f.start !== false,
      enableLinger: Boolean(f.enableLinger),
      warnings,
    }),
  );
}

async function lifecycleAction(
  name: 'start' | 'stop' | 'restart' | 'status',
  f: LifecycleFlags,
): Promise<CommandResult<LifecycleOutput>> {
  const result = await installedEngine(f)[name]();
  const notRunning = name === 'status' && result.status !== 'running';
  return output(result, notRunning ? STATUS_NOT_RUNNING_EXIT : undefined);
}

/** install-service's flags (bootstrap takes them too). */
export function addInstallFlags(cmd: Command): Command {
  return addScopeFlags(addConfigFlags(cmd))
    .option('--socket-activation', 'let systemd own the listening socket (codex-sm.socket)')
    .option(
      '--enable-linger',
      'keep the user service running after logout and start it at boot (loginctl enable-linger)',
    )
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
    );
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
  addInstallFlags(
    program
      .command('install-service')
      .description(
        'install codex-sm as a systemd user service (LaunchAgent on macOS), enable and start it',
      ),
  )
    .option(
      '--updater',
      'also install the periodic updater (codex-sm-update.timer / its LaunchAgent)',
    )
    .option('--no-start', 'write and enable the unit, but do not start it')
    .option('--dry-run', 'print the files and commands, change nothing (any OS, with --platform)')
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
      await runCommand(f, async () =>
        output(await installedEngine(f).uninstall({ purge: Boolean(f.purge) })),
      );
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
        // commander's default '50' means --lines always has a value.
        const lines = intFlag('--lines', f.lines) ?? 50;
        const engine = installedEngine(f);
        let written = 0;
        await engine.logs(
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
