/**
 * Settings codex-sm manages itself (not the user's config file). Like the Codex daemon's
 * settings.json: `enable-remote-control` and `disable-remote-control` write `remoteControl`, and
 * the service reads it each time it spawns the app-server, so a toggle applies by restarting only
 * the app-server; `update` notes a codex upgrade whose app-server restart it had to defer (a turn
 * was running), so the next run restarts it. Written atomically, 0600, in codex-sm's state dir.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './token.js';

export interface ManagedSettings {
  /** Launch the app-server with `--remote-control`. */
  remoteControl: boolean;
  /** A codex version installed by `update` that the running app-server does not run yet. */
  pendingUpdate: { version: string; since: string } | null;
}

export const DEFAULT_SETTINGS: ManagedSettings = { remoteControl: false, pendingUpdate: null };

function pendingUpdateOf(v: unknown): ManagedSettings['pendingUpdate'] {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  return typeof o.version === 'string' && typeof o.since === 'string'
    ? { version: o.version, since: o.since }
    : null;
}

export function settingsFile(stateDir: string): string {
  return path.join(stateDir, 'settings.json');
}

/** The settings in `text`; unknown keys are ignored, a wrong type falls back to the default. */
export function parseSettings(text: string): ManagedSettings {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
  const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  return {
    remoteControl:
      typeof o.remoteControl === 'boolean' ? o.remoteControl : DEFAULT_SETTINGS.remoteControl,
    pendingUpdate: pendingUpdateOf(o.pendingUpdate),
  };
}

export function readSettings(stateDir: string): ManagedSettings {
  try {
    return parseSettings(fs.readFileSync(settingsFile(stateDir), 'utf8'));
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

export function writeSettings(stateDir: string, settings: ManagedSettings): void {
  writeFileAtomic(settingsFile(stateDir), JSON.stringify(settings, null, 2) + '\n', 0o600);
}
