/**
 * The install record: what `install-service` installed (endpoint, paths, token file, scope, the
 * files it wrote), kept as JSON beside the unit like the Codex daemon's settings.json. status,
 * start, purge and the later commands read it instead of parsing values back out of unit text.
 * Written atomically after the files it names; removed with them.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { writeFileAtomic } from '../token.js';
import { endpointFor } from '../client.js';
import { CodexSmError } from '../errors.js';
import { packageInfo } from '../package-info.js';
import type { Backend } from '../platform/types.js';
import type { Scope, ServiceBackend } from './port.js';

export const RECORD_VERSION = 1;

export interface InstallRecord {
  version: typeof RECORD_VERSION;
  backend: Backend;
  scope: Scope;
  installedAt: string;
  cliVersion: string;
  /** Every unit/plist file the install wrote. */
  files: string[];
  endpoint: string;
  host: string;
  port: number;
  tokenFile: string;
  secretsFile: string;
  stateDir: string;
  codexHome: string;
  codexPath: string;
  socketActivation: boolean;
  /** The periodic updater was installed with the service. */
  updater: boolean;
  startTimeoutSec: number;
  stopTimeoutSec: number;
  /** Files the manager appends the service's output to (launchd); [] under journald. */
  logFiles: string[];
  /**
   * Digest of `files` as they were when the running job was last started from them; null when
   * not known. A reinstall that writes nothing new still restarts a job started from older files
   * (after `install-service --no-start`).
   */
  activeDigest: string | null;
  /**
   * The codex-sm version the running job was last started as (the CLI that started it runs from
   * the same package as the unit's ExecStart). An upgrade in place (`npm update -g`, a newer
   * .deb) keeps the unit byte for byte but changes the code under it: a reinstall then restarts.
   * Absent from records written before it existed (read as null: `cliVersion` stands in).
   */
  activeCliVersion?: string | null;
}

/** sha256 over the files' paths and contents as they are on disk now. */
export function filesDigest(files: readonly string[]): string {
  const h = createHash('sha256');
  for (const f of files) {
    h.update(f).update('\0');
    try {
      h.update(fs.readFileSync(f));
    } catch {
      h.update('(missing)');
    }
    h.update('\0');
  }
  return h.digest('hex');
}

const STRING_KEYS = [
  'installedAt',
  'cliVersion',
  'endpoint',
  'host',
  'tokenFile',
  'secretsFile',
  'stateDir',
  'codexHome',
  'codexPath',
] as const;
const NUMBER_KEYS = ['port', 'startTimeoutSec', 'stopTimeoutSec'] as const;

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** The record in `text`, or undefined when it is not one (a hand-edited or foreign file). */
export function parseInstallRecord(text: string): InstallRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const ok =
    o.version === RECORD_VERSION &&
    (o.backend === 'systemd' || o.backend === 'launchd') &&
    (o.scope === 'user' || o.scope === 'system') &&
    STRING_KEYS.every((k) => typeof o[k] === 'string') &&
    NUMBER_KEYS.every((k) => typeof o[k] === 'number') &&
    typeof o.socketActivation === 'boolean' &&
    typeof o.updater === 'boolean' &&
    isStringArray(o.files) &&
    isStringArray(o.logFiles) &&
    (o.activeDigest === null || typeof o.activeDigest === 'string') &&
    (o.activeCliVersion === undefined ||
      o.activeCliVersion === null ||
      typeof o.activeCliVersion === 'string');
  // Every key was checked just above; the object is the record.
  return ok ? (o as unknown as InstallRecord) : undefined;
}

/**
 * The codex-sm version the running job was started as, by what the record says: the explicit
 * marker, or for a record from before it existed the version that wrote the record.
 */
export function activeVersionOf(record: InstallRecord | undefined): string | null {
  if (!record) return null;
  return record.activeCliVersion === undefined ? record.cliVersion : record.activeCliVersion;
}

export function readInstallRecord(file: string): InstallRecord | undefined {
  try {
    return parseInstallRecord(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function writeInstallRecord(file: string, record: InstallRecord): void {
  writeFileAtomic(file, JSON.stringify(record, null, 2) + '\n', 0o644);
}

/** What the current config says, for a service installed without a record (or not at all). */
export type ConfigFallback = Pick<
  InstallRecord,
  'host' | 'port' | 'tokenFile' | 'secretsFile' | 'stateDir' | 'codexHome'
> & { codexPath?: string };

/** The install record of one backend, with the config standing in where there is none. */
export class InstallRecords {
  constructor(
    private readonly backend: ServiceBackend,
    private readonly fallback: ConfigFallback,
    /** The version of the codex-sm that runs this command (and starts the job). */
    private readonly cliVersion: string = packageInfo().version,
  ) {}

  read(): InstallRecord | undefined {
    return readInstallRecord(this.backend.recordPath);
  }

  /** The record, or for a unit installed without one (an older codex-sm) the config's values. */
  readOrFallback(warnings: string[]): InstallRecord | undefined {
    const record = this.read();
    if (record) return record;
    const present = this.backend.knownFiles.filter((p) => fs.existsSync(p));
    if (present.length === 0) return undefined;
    warnings.push(
      `no install record at ${this.backend.recordPath} (installed by an older codex-sm?): endpoint and paths come from the current config; run \`codex-sm install-service\` again to record them`,
    );
    return { ...this.fromConfig(), files: present };
  }

  /** A record of the current config's values (nothing installed from it). */
  fromConfig(): InstallRecord {
    const f = this.fallback;
    return {
      version: RECORD_VERSION,
      backend: this.backend.backend,
      scope: this.backend.scope,
      installedAt: '',
      cliVersion: this.cliVersion,
      files: [],
      endpoint: endpointFor(f.host, f.port),
      host: f.host,
      port: f.port,
      tokenFile: f.tokenFile,
      secretsFile: f.secretsFile,
      stateDir: f.stateDir,
      codexHome: f.codexHome,
      codexPath: f.codexPath ?? '',
      socketActivation: false,
      updater: false,
      startTimeoutSec: 90,
      stopTimeoutSec: 15,
      logFiles: this.backend.logFiles(),
      activeDigest: null,
      activeCliVersion: null,
    };
  }

  require(warnings: string[]): InstallRecord {
    const record = this.readOrFallback(warnings);
    if (record) return record;
    const system = this.backend.scope === 'system';
    throw new CodexSmError(
      'not_installed',
      `codex-sm is not installed as a ${this.backend.scope} service (${this.backend.unitPath} does not exist)`,
      { hint: `run \`codex-sm install-service${system ? ' --system' : ''}\`` },
    );
  }

  write(record: InstallRecord): void {
    writeInstallRecord(this.backend.recordPath, record);
  }

  remove(): void {
    fs.rmSync(this.backend.recordPath, { force: true });
  }

  /**
   * The job now runs from the record's files as they are, as this codex-sm version: remember
   * both (a recorded install only).
   */
  markActive(record: InstallRecord): void {
    if (!this.read()) return; // an install without a record (older codex-sm): not ours to write
    const digest = filesDigest(record.files);
    if (record.activeDigest === digest && record.activeCliVersion === this.cliVersion) return;
    record.activeDigest = digest;
    record.activeCliVersion = this.cliVersion;
    this.write(record);
  }
}
