/**
 * What an installed codex-sm.service says about the running service: its endpoint, token file,
 * codex binary and timeouts. The unit is the source of truth after install (a later config edit
 * does not move a running service), so status/start/restart read it rather than re-resolving
 * config. Pure: text in, facts out.
 */
import { splitExecLine } from './escape.js';

export interface InstalledUnit {
  execStart: string[];
  host?: string;
  port?: number;
  tokenFile?: string;
  codexBin?: string;
  codexHome?: string;
  timeoutStartSec?: number;
  timeoutStopSec?: number;
  socketActivation: boolean;
}

/** The last value of `key=` in the file (later assignments win, as in systemd), ignoring comments. */
export function unitSetting(text: string, key: string): string | undefined {
  let value: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith(`${key}=`)) value = line.slice(key.length + 1);
  }
  return value;
}

function seconds(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\s*(s|sec)?$/.exec(v.trim());
  return m ? Number(m[1]) : undefined;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.lastIndexOf(name);
  if (i >= 0 && i + 1 < args.length) return args[i + 1];
  const eq = args.filter((a) => a.startsWith(`${name}=`)).pop();
  return eq?.slice(name.length + 1);
}

export function parseInstalledUnit(text: string): InstalledUnit {
  const execStart = splitExecLine(unitSetting(text, 'ExecStart') ?? '');
  const port = flag(execStart, '--port');
  const out: InstalledUnit = {
    execStart,
    socketActivation: /^Requires=.*\.socket\b/m.test(text),
  };
  const host = flag(execStart, '--host');
  if (host) out.host = host;
  if (port !== undefined && /^\d+$/.test(port)) out.port = Number(port);
  const tokenFile = flag(execStart, '--token-file');
  if (tokenFile) out.tokenFile = tokenFile;
  const codexBin = flag(execStart, '--codex-bin');
  if (codexBin) out.codexBin = codexBin;
  const codexHome = flag(execStart, '--codex-home');
  if (codexHome) out.codexHome = codexHome;
  const start = seconds(unitSetting(text, 'TimeoutStartSec'));
  if (start !== undefined) out.timeoutStartSec = start;
  const stop = seconds(unitSetting(text, 'TimeoutStopSec'));
  if (stop !== undefined) out.timeoutStopSec = stop;
  return out;
}
