/**
 * The Codex daemon's remote-management commands on top of the lifecycle engine, for
 * `ssh host codex-sm … --json`: `bootstrap` (install the service and its updater, enable and
 * start them, in one idempotent step) and `enable-remote-control` / `disable-remote-control`
 * (persist the setting, then restart only the app-server when the service runs). Each runs its
 * steps inside one engine session, under the one lifecycle lock.
 */
import { restartAppServer } from '../client.js';
import type { ServiceStatusJson } from '../../service/status-json.js';
import { CodexSmError, toCodexSmError } from '../errors.js';
import type { ServicePlan } from '../platform/types.js';
import { readSettings, settingsFile, writeSettings } from '../settings.js';
import { readTokenOrUndefined } from '../token.js';
import type { LifecycleEngine } from './engine.js';
import type { BootstrapOutput, RemoteControlOutput } from './outputs.js';
import type { InstallRecord } from './record.js';
import { isRunning, serviceStatusVia } from './view.js';

/** Persist remote control; true when the file changed. */
function persistRemoteControl(stateDir: string, enabled: boolean): boolean {
  const settings = readSettings(stateDir);
  if (settings.remoteControl === enabled) return false;
  writeSettings(stateDir, { ...settings, remoteControl: enabled });
  return true;
}

/**
 * Make a running app-server run with the remote-control setting: restart only it (force: the
 * toggle is the user's explicit request) when it does not run with `wanted` yet — just changed,
 * or persisted by a run that was killed before it restarted anything. A failed restart is a
 * warning: the setting is saved and applies at the next start.
 */
async function applyRemoteControl(
  record: InstallRecord,
  svc: ServiceStatusJson | undefined,
  wanted: boolean,
  warnings: string[],
): Promise<{ restarted: boolean; svc: ServiceStatusJson | undefined }> {
  if (!svc || svc.appServer.remoteControl?.enabled === wanted) return { restarted: false, svc };
  try {
    const r = await restartAppServer(record.endpoint, readTokenOrUndefined(record.tokenFile), {
      force: true,
      waitIdleMs: 0,
    });
    if (!r.restarted) return { restarted: false, svc };
    return { restarted: true, svc: await serviceStatusVia(record.endpoint, record.tokenFile) };
  } catch (e) {
    warnings.push(
      `remote control is ${wanted ? 'enabled' : 'disabled'} for the next start, but the app-server restart failed: ${toCodexSmError(e).message}`,
    );
    return { restarted: false, svc };
  }
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
    // A service (re)started just now read the setting at spawn; an untouched one may not run with it.
    const applied =
      installed.action === 'alreadyRunning'
        ? await applyRemoteControl(
            record,
            await serviceStatusVia(record.endpoint, record.tokenFile),
            wanted,
            warnings,
          )
        : { restarted: false };
    const appServerRestarted = applied.restarted;
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
      cliVersion: installed.cliVersion,
      upgradedFrom: installed.upgradedFrom,
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
    const before = isRunning(st)
      ? await serviceStatusVia(record.endpoint, record.tokenFile)
      : undefined;
    if (isRunning(st) && !before)
      warnings.push(
        `the service runs but does not answer at ${record.endpoint}: the setting applies at its next start`,
      );
    const applied = await applyRemoteControl(record, before, enabled, warnings);
    const svc = applied.svc;
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
      appServerRestarted: applied.restarted,
      appServerPid: svc?.appServer.pid ?? null,
      remoteControl: svc?.appServer.remoteControl ?? null,
      warnings,
    };
  });
}
