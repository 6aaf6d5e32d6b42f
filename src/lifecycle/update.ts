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
import { readTokenFile } from '../token.js';
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
  if (inside(path.join(codexHome, 'packages', 'standalone'), codexPath))
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

export function update(engine: LifecycleEngine, opts: UpdateOptions): Promise<UpdateOutput> {
  return engine.session(true, async (s) => {
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
    const running = isRunning(await s.state());
    const svc = running ? await serviceStatusVia(record.endpoint, record.tokenFile) : undefined;
    base.appServerVersion = svc?.appServer.version ?? null;
    if (opts.check) return base;

    const [bin, ...args] = cmd.argv;
    const r = await opts.runner.run(bin as string, args, {
      env: { ...opts.env, CODEX_HOME: record.codexHome },
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
    const settings = readSettings(record.stateDir);
    const changed = versionAfter !== versionBefore;
    // A restart deferred by an earlier run is still owed to the binary on disk.
    const owed = changed || settings.pendingUpdate !== null;
    const out: UpdateOutput = { ...base, versionAfter, status: changed ? 'updated' : 'upToDate' };
    if (!owed) return out;
    if (!svc) {
      // Not running (or not answering): its next start runs the new binary.
      if (settings.pendingUpdate)
        writeSettings(record.stateDir, { ...settings, pendingUpdate: null });
      return out;
    }
    let token: string | undefined;
    try {
      token = readTokenFile(record.tokenFile);
    } catch {
      token = undefined;
    }
    const restart = await restartAppServer(record.endpoint, token, {
      force: opts.force,
      waitIdleMs: opts.force ? 0 : opts.config.waitIdleMs,
    });
    if (!restart.restarted) {
      writeSettings(record.stateDir, {
        ...settings,
        pendingUpdate: { version: versionAfter ?? '?', since: new Date().toISOString() },
      });
      warnings.push(
        `${restart.message}: codex is updated on disk; the app-server restarts on the next \`codex-sm update\` (or use --force)`,
      );
      return { ...out, status: 'deferred', runningTurns: restart.runningTurns };
    }
    if (settings.pendingUpdate)
      writeSettings(record.stateDir, { ...settings, pendingUpdate: null });
    return {
      ...out,
      status: 'updated',
      appServerRestarted: true,
      appServerVersion: restart.appServer.version ?? out.appServerVersion,
    };
  });
}
