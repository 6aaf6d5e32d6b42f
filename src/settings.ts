/**
 * Settings codex-sm manages itself (not the user's config file): today whether the app-server
 * runs with remote control. Like the Codex daemon's settings.json, `enable-remote-control` and
 * `disable-remote-control` write it and the service reads it each time it spawns the
 * app-server, so a toggle applies by restarting only the app-server. Written atomically, 0600,
 * in codex-sm's state directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './token.js';

export interface ManagedSettings {
  /** Launch the app-server with `--remote-control`. */
  remoteControl: boolean;
}

export const DEFAULT_SETTINGS: ManagedSettings = { remoteControl: false };

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
