/**
 * `codex-sm update`: run the update command (argv, no shell string of ours), compare
 * `codex --version` before and after, and when codex changed and the service runs, restart only
 * the app-server — never while a turn runs unless --force: it waits for idle up to
 * `update.waitIdleMs`, then defers (the next run, e.g. the updater timer's, tries again).
 * What the updater timer runs (`codex-sm update --json`, one JSON object in the journal).
 */
import fs from 'node:fs';
import path from 'node:path';
import { codexVersion } from '../codex.js';
import { restartAppServer } from '../client.js';
import type { UpdateConfig } from '../config/schema.js';
import { CodexSmError } from '../errors.js';
import { packageInfo } from '../package-info.js';
import type { CommandRunner } from '../runner.js';
import { readSettings, writeSettings } from '../settings.js';
import { readTokenOrUndefined } from '../token.js';
import { acquireLifecycleLock } from '../platform/lock.js';
import type { BackendSession } from './port.js';
import type { LifecycleEngine } from './engine.js';
import type { UpdateOutput } from './outputs.js';
import { isRunning, serviceStatusVia } from './view.js';

/** The standalone installer, as the Codex daemon's updater runs it. */
export const STANDALONE_UPDATE = [
  'sh',
  '-c',
  'curl -fsSL https://chatgpt.com/codex/install.sh | sh',
];
export const NPM_UPDATE = ['npm', 'install', '-g', '@openai/codex'];

function inside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** The update command for how this codex is installed; a refusal with a hint when it cannot tell. */
export function updateCommandFor(
  codexPath: string,
  codexHome: string,
  configured: readonly string[],
  packageRoot = packageInfo().root,
): { argv: string[]; source: UpdateOutput['commandSource'] } {
  if (configured.length) return { argv: [...configured], source: 'config' };
  let real = codexPath;
  try {
    real = fs.realpathSync(codexPath);
  } catch {
    /* judged by the path as given */
  }
  const standalone = path.join(codexHome, 'packages', 'standalone');
  if (inside(standalone, codexPath) || inside(standalone, real))
    return { argv: [...STANDALONE_UPDATE], source: 'standalone' };
  const hint = 'set update.command in the config to the argv that updates it';
  if (inside(path.join(packageRoot, 'node_modules'), real)) {
    throw new CodexSmError(
      'update_unsupported',
      `${codexPath} is codex-sm's own pinned dev dependency: it is not updated in place`,
      {
        hint: `install Codex for real (npm i -g @openai/codex, or install.sh) and reinstall the service, or ${hint}`,
      },
    );
  }
  if (real.split(path.sep).join('/').includes('/node_modules/@openai/'))
    return { argv: [...NPM_UPDATE], source: 'npm' };
  throw new CodexSmError('update_unsupported', `cannot tell how ${codexPath} was installed`, {
    hint,
  });
}

/**
 * What the update command may see of our environment: enough to find its tools, reach the
 * network and install (PATH, HOME, locale, proxies, npm's own settings) — never codex-sm's
 * config or a secret. Installers are downloaded code.
 */
export function updateEnvironment(env: NodeJS.ProcessEnv, codexHome: string): NodeJS.ProcessEnv {
  const keep =
    /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LC_[A-Z]+|TZ|TMPDIR|XDG_[A-Z_]+|(HTTPS?|NO|ALL)_PROXY|npm_config_[a-z_]+|NPM_CONFIG_[A-Z_]+)$/i;
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (keep.test(k) && v !== undefined) out[k] = v;
  return { ...out, CODEX_HOME: codexHome };
}

function lastLines(text: string, n: number): string[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-n);
}

export interface UpdateOptions {
  check: boolean;
  force: boolean;
  config: UpdateConfig;
  runner: CommandRunner;
  env: NodeJS.ProcessEnv;
}

/**
 * Runs without the lifecycle lock (an update can take many minutes: `stop` or `bootstrap` over
 * SSH must not wait for it) but under its own lock, so the timer's run and a manual one never
 * install at once. The app-server restart is serialized by the service itself.
 */
export function update(engine: LifecycleEngine, opts: UpdateOptions): Promise<UpdateOutput> {
  return engine.session(false, async (s) => {
    const lock = opts.check
      ? undefined
      : await acquireLifecycleLock(
          path.join((engine.records.read() ?? engine.records.fromConfig()).stateDir, 'update.lock'),
          { timeoutMs: opts.config.timeoutMs + opts.config.waitIdleMs + 120_000 },
        );
    try {
      return await updateIn(s, engine, opts);
    } finally {
      await lock?.release();
    }
  });
}

async function updateIn(
  s: BackendSession,
  engine: LifecycleEngine,
  opts: UpdateOptions,
): Promise<UpdateOutput> {
  const warnings: string[] = [];
  const record = engine.records.readOrFallback(warnings) ?? engine.records.fromConfig();
  if (!record.codexPath)
    throw new CodexSmError('codex_not_found', 'no codex binary recorded or configured', {
      hint: 'run `codex-sm install-service` (or bootstrap) first, or pass --codex-bin',
    });
  const cmd = updateCommandFor(record.codexPath, record.codexHome, opts.config.command);
  const version = () => codexVersion(record.codexPath).catch(() => null);
  const versionBefore = await version();
  const base: UpdateOutput = {
    status: 'planned',
    command: cmd.argv,
    commandSource: cmd.source,
    codexPath: record.codexPath,
    versionBefore,
    versionAfter: versionBefore,
    appServerVersion: null,
    appServerRestarted: false,
    exitCode: null,
    lastOutputLines: [],
    runningTurns: 0,
    warnings,
  };
  /** Whether the service runs and what it says, read when it is needed (the command is slow). */
  const service = async () => {
    const running = isRunning(await s.state());
    const svc = running ? await serviceStatusVia(record.endpoint, record.tokenFile) : undefined;
    return { running, svc };
  };
  if (opts.check)
    return { ...base, appServerVersion: (await service()).svc?.appServer.version ?? null };

  const [bin, ...args] = cmd.argv;
  if (bin === undefined) throw new CodexSmError('usage', 'update.command is empty');
  const r = await opts.runner.run(bin, args, {
    env: updateEnvironment(opts.env, record.codexHome),
    timeoutMs: opts.config.timeoutMs,
  });
  if (r.code !== 0) {
    return {
      ...base,
      status: 'updateFailed',
      exitCode: r.code,
      lastOutputLines: lastLines(`${r.stdout}\n${r.stderr}\n${r.spawnError ?? ''}`, 20),
    };
  }
  const versionAfter = await version();
  if (versionAfter === null) {
    return {
      ...base,
      status: 'updateFailed',
      exitCode: r.code,
      lastOutputLines: [
        ...lastLines(`${r.stdout}\n${r.stderr}`, 19),
        `${record.codexPath} --version fails after the update: the app-server was left running as it is`,
      ],
    };
  }
  let settings = readSettings(record.stateDir);
  const changed = versionAfter !== versionBefore;
  if (changed) {
    // Owed before it is attempted: a run killed from here on leaves it for the next run.
    settings = {
      ...settings,
      pendingUpdate: { version: versionAfter, since: new Date().toISOString() },
    };
    writeSettings(record.stateDir, settings);
  }
  const { running, svc } = await service();
  const out: UpdateOutput = {
    ...base,
    versionAfter,
    appServerVersion: svc?.appServer.version ?? null,
    status: changed ? 'updated' : 'upToDate',
  };
  if (settings.pendingUpdate === null) return out;
  const clearPending = () => writeSettings(record.stateDir, { ...settings, pendingUpdate: null });
  if (!running) {
    clearPending(); // its next start runs the binary on disk
    return out;
  }
  if (!svc) {
    warnings.push(
      `the service runs but does not answer at ${record.endpoint}: the app-server restart stays owed to the next run`,
    );
    return { ...out, status: 'deferred' };
  }
  const restart = await restartAppServer(record.endpoint, readTokenOrUndefined(record.tokenFile), {
    force: opts.force,
    waitIdleMs: opts.force ? 0 : opts.config.waitIdleMs,
  });
  if (!restart.restarted) {
    warnings.push(
      `${restart.message}: codex is updated on disk; the app-server restarts on the next \`codex-sm update\` (or use --force)`,
    );
    return { ...out, status: 'deferred', runningTurns: restart.runningTurns };
  }
  clearPending();
  return {
    ...out,
    status: 'updated',
    appServerRestarted: true,
    appServerVersion: restart.appServer.version ?? out.appServerVersion,
  };
}
