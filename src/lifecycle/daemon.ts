/**
 * The Codex daemon's remote-management commands on top of the lifecycle engine, for
 * `ssh host codex-sm … --json`: `bootstrap` (install the service and its updater, enable and
 * start them, in one idempotent step) and `enable-remote-control` / `disable-remote-control`
 * (persist the setting, then restart only the app-server when the service runs). Each runs its
 * steps inside one engine session, under the one lifecycle lock.
 */
import { restartAppServer } from '../client.js';
import { CodexSmError, toCodexSmError } from '../errors.js';
import { packageInfo } from '../package-info.js';
import type { ServicePlan } from '../platform/types.js';
import { readSettings, settingsFile, writeSettings } from '../settings.js';
import { readTokenOrUndefined } from '../token.js';
import type { LifecycleEngine } from './engine.js';
import type { BootstrapOutput, RemoteControlOutput } from './outputs.js';
import { isRunning, serviceStatusVia } from './view.js';

/** Persist remote control; true when the file changed. */
function persistRemoteControl(stateDir: string, enabled: boolean): boolean {
  const settings = readSettings(stateDir);
  if (settings.remoteControl === enabled) return false;
  writeSettings(stateDir, { ...settings, remoteControl: enabled });
  return true;
}

export interface BootstrapOptions {
  /** --remote-control: enable it (without the flag the setting stays as it is). */
  remoteControl: boolean;
  enableLinger: boolean;
  warnings?: string[];
}

export function bootstrap(
  engine: LifecycleEngine,
  plan: ServicePlan,
  opts: BootstrapOptions,
): Promise<BootstrapOutput> {
  if (plan.scope !== 'user') {
    // Its settings, token and updater belong to the user whose Codex it serves.
    throw new CodexSmError('usage', 'bootstrap sets up a user service: not with --system', {
      hint: 'run it as that user over SSH; for a system unit use `install-service --system`',
    });
  }
  return engine.session(true, async (s) => {
    // The setting first: a service started below reads it when it spawns the app-server.
    const settingChanged = opts.remoteControl && persistRemoteControl(plan.stateDir, true);
    const installed = await engine.installIn(s, plan, {
      start: true,
      enableLinger: opts.enableLinger,
      ...(opts.warnings ? { warnings: opts.warnings } : {}),
    });
    const record = engine.records.require([]);
    const warnings = [...installed.warnings];
    const wanted = readSettings(plan.stateDir).remoteControl;
    const svc =
      installed.action === 'alreadyRunning'
        ? await serviceStatusVia(record.endpoint, record.tokenFile)
        : undefined;
    let appServerRestarted = false;
    // An untouched service whose app-server does not run with the setting (just changed, or a
    // run killed after persisting it): apply it to the app-server alone.
    if (svc && svc.appServer.remoteControl?.enabled !== wanted) {
      try {
        const r = await restartAppServer(record.endpoint, readTokenOrUndefined(record.tokenFile), {
          force: true,
          waitIdleMs: 0,
        });
        appServerRestarted = r.restarted;
      } catch (e) {
        warnings.push(
          `remote control is ${wanted ? 'enabled' : 'disabled'} for the next start, but the app-server restart failed: ${toCodexSmError(e).message}`,
        );
      }
    }
    const { view } = appServerRestarted
      ? await engine.view(s, record, warnings, installed.linger)
      : { view: { ...installed, warnings } };
    const changed =
      installed.action !== 'alreadyRunning' || installed.unitChanged || settingChanged;
    return {
      ...view,
      status: changed ? 'bootstrapped' : 'alreadyBootstrapped',
      action: installed.action,
      unitChanged: installed.unitChanged,
      cliVersion: packageInfo().version,
      remoteControlEnabled: wanted,
      appServerRestarted,
    };
  });
}

export function setRemoteControl(
  engine: LifecycleEngine,
  enabled: boolean,
): Promise<RemoteControlOutput> {
  return engine.session(true, async (s) => {
    const warnings: string[] = [];
    const record = engine.records.readOrFallback(warnings) ?? engine.records.fromConfig();
    const changed = persistRemoteControl(record.stateDir, enabled);
    const st = await s.state();
    let svc = isRunning(st) ? await serviceStatusVia(record.endpoint, record.tokenFile) : undefined;
    if (isRunning(st) && !svc)
      warnings.push(
        `the service runs but does not answer at ${record.endpoint}: the setting applies at its next start`,
      );
    let appServerRestarted = false;
    let appServerPid = svc?.appServer.pid ?? null;
    // Restart when the setting changed, or when the running app-server does not run with it yet.
    if (svc && (changed || svc.appServer.remoteControl?.enabled !== enabled)) {
      const r = await restartAppServer(record.endpoint, readTokenOrUndefined(record.tokenFile), {
        force: true,
        waitIdleMs: 0,
      });
      if (r.restarted) {
        appServerRestarted = true;
        appServerPid = r.appServer.pid ?? null;
        svc = await serviceStatusVia(record.endpoint, record.tokenFile);
      }
    }
    const status: RemoteControlOutput['status'] = changed
      ? enabled
        ? 'enabled'
        : 'disabled'
      : enabled
        ? 'alreadyEnabled'
        : 'alreadyDisabled';
    return {
      status,
      remoteControlEnabled: enabled,
      backend: engine.backend.backend,
      endpoint: record.endpoint,
      settingsFile: settingsFile(record.stateDir),
      mainPid: st.mainPid,
      appServerRestarted,
      appServerPid,
      remoteControl: svc?.appServer.remoteControl ?? null,
      warnings,
    };
  });
}
