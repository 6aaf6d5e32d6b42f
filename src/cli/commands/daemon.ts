/**
 * The Codex daemon's commands, the OS-native way: `bootstrap`, `enable-remote-control`,
 * `disable-remote-control`, `update`. Each prints one JSON object (--json or not a TTY), for
 * `ssh host codex-sm <command> --json`. The work is in src/lifecycle (daemon.ts, update.ts).
 */
import type { Command } from 'commander';
import { bootstrap, setRemoteControl } from '../../lifecycle/daemon.js';
import { humanRemoteControl, humanUpdate } from '../../lifecycle/outputs.js';
import { update } from '../../lifecycle/update.js';
import { serviceAccount } from '../../lifecycle/account.js';
import { execRunner } from '../../runner.js';
import { loadConfig } from '../common.js';
import { runCommand } from '../output.js';
import {
  addInstallFlags,
  installedEngine,
  installPlan,
  output,
  type InstallFlags,
  type LifecycleFlags,
} from './lifecycle.js';

interface BootstrapFlags extends InstallFlags {
  remoteControl?: boolean;
}

export function registerDaemon(program: Command): void {
  addInstallFlags(
    program
      .command('bootstrap')
      .description(
        'set up a machine in one idempotent step: install, enable and start the service and its updater',
      ),
  )
    .option('--remote-control', 'run the app-server with remote control (persisted)')
    .option('--no-updater', 'do not install the periodic updater')
    .action(async (_o: unknown, cmd: Command) => {
      const f = cmd.optsWithGlobals<BootstrapFlags>();
      await runCommand(f, async () => {
        const { engine, plan, warnings } = installPlan(f, { updater: f.updater !== false });
        return output(
          await bootstrap(engine, plan, {
            remoteControl: Boolean(f.remoteControl),
            enableLinger: Boolean(f.enableLinger),
            warnings,
          }),
        );
      });
    });

  for (const enabled of [true, false]) {
    program
      .command(enabled ? 'enable-remote-control' : 'disable-remote-control')
      .description(
        `${enabled ? 'enable' : 'disable'} remote control for future starts and, when the service runs, restart only its app-server`,
      )
      .option('--json', 'print one JSON object')
      .action(async (_o: unknown, cmd: Command) => {
        const f = cmd.optsWithGlobals<LifecycleFlags>();
        await runCommand(f, async () => {
          const r = await setRemoteControl(installedEngine(f), enabled);
          return { json: r, human: humanRemoteControl(r) };
        });
      });
  }

  program
    .command('update')
    .description(
      'run the update command; when codex changed, restart only the app-server (not while a turn runs, unless --force)',
    )
    .option('--check', 'say what would run, change nothing')
    .option('--force', 'restart the app-server even while a turn runs')
    .option('--json', 'print one JSON object')
    .action(async (_o: unknown, cmd: Command) => {
      const f = cmd.optsWithGlobals<LifecycleFlags & { check?: boolean; force?: boolean }>();
      await runCommand(f, async () => {
        const who = serviceAccount(f, process.env);
        const { config } = loadConfig(f, who.env);
        const r = await update(installedEngine(f), {
          check: Boolean(f.check),
          force: Boolean(f.force),
          config: config.update,
          runner: execRunner,
          env: who.env,
        });
        return {
          json: r,
          human: humanUpdate(r),
          ...(r.status === 'updateFailed' ? { exitCode: 1 } : {}),
        };
      });
    });
}
