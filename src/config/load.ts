/**
 * Config resolution: defaults < config file < CODEX_SM_* env < CLI flags. Each layer is
 * validated on its own (so an error names where the bad value came from), then the merge is
 * validated with defaults applied. Any problem is a one-line CodexSmError with exit code 78.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { AJV_OPTIONS, GENERATED_VALIDATOR, schemaHash } from './validator-options.js';
import { configError } from '../errors.js';
import { distFile } from '../package-info.js';
import { configSchema, type Config, type ConfigLayer } from './schema.js';
import {
  defaultCodexHome,
  defaultConfigFile,
  defaultTokenFile,
  expandHome,
  stateDir,
  type Env,
} from '../paths.js';

const ENV_PREFIX = 'CODEX_SM_';

/** Env vars that are not config keys (secrets and the config path itself). */
// CODEX_SM_LOG_FILES: set by the launchd plist so the service can truncate its own log files.
export const NON_CONFIG_ENV = new Set([
  'CODEX_SM_TOKEN',
  'CODEX_SM_CONFIG',
  'CODEX_SM_DEBUG',
  'CODEX_SM_LOG_FILES',
]);

/**
 * One validator. Normally the standalone code `make build` generated from the schema
 * (validator-gen.ts): no ajv import and no compile at start-up. Without it (a bare `tsc`), ajv
 * compiles the schema on first use. It fills defaults, so layers are validated on a copy.
 */
let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  if (compiled) return compiled;
  const require = createRequire(import.meta.url);
  try {
    // By its place in dist/, not relative to this module: the serve bundle runs from dist/bundle.
    const generated = require(
      distFile('src', 'config', GENERATED_VALIDATOR),
    ) as ValidateFunction & {
      schemaHash?: string;
    };
    if (generated.schemaHash === schemaHash()) compiled = generated;
  } catch {
    /* not generated: compile below */
  }
  if (!compiled) {
    const { Ajv } = require('ajv') as typeof import('ajv');
    compiled = new Ajv(AJV_OPTIONS).compile(configSchema);
  }
  return compiled;
}

type SchemaNode = {
  type?: string;
  enum?: readonly string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
};

/** camelCase key path → CODEX_SM_SNAKE name; nested objects use a double underscore. */
export function envNameFor(keyPath: string[]): string {
  return (
    ENV_PREFIX +
    keyPath.map((k) => k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('__')
  );
}

/** Every env var the schema understands, with its key path. */
export function envVariables(): { name: string; keyPath: string[]; node: SchemaNode }[] {
  const out: { name: string; keyPath: string[]; node: SchemaNode }[] = [];
  const walk = (props: Record<string, SchemaNode>, prefix: string[]) => {
    for (const [key, node] of Object.entries(props)) {
      if (key === '$schema') continue;
      if (node.type === 'object' && node.properties) walk(node.properties, [...prefix, key]);
      else out.push({ name: envNameFor([...prefix, key]), keyPath: [...prefix, key], node });
    }
  };
  walk(configSchema.properties as unknown as Record<string, SchemaNode>, []);
  return out;
}

function coerce(raw: string, node: SchemaNode): unknown {
  switch (node.type) {
    case 'integer': {
      const n = Number(raw.trim());
      return raw.trim() !== '' && Number.isFinite(n) ? n : raw; // leave bad input for the validator to name
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      return raw;
    case 'array':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}

function setPath(target: Record<string, unknown>, keyPath: string[], value: unknown): void {
  let obj = target;
  for (const k of keyPath.slice(0, -1)) obj = (obj[k] ??= {}) as Record<string, unknown>;
  obj[keyPath[keyPath.length - 1] as string] = value;
}

/** The env layer: only CODEX_SM_* names the schema knows; an unknown CODEX_SM_* name is an error. */
export function envLayer(env: Env): { layer: ConfigLayer; names: string[] } {
  const known = new Map(envVariables().map((v) => [v.name, v]));
  const layer: Record<string, unknown> = {};
  const names: string[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined || NON_CONFIG_ENV.has(name)) continue;
    const v = known.get(name);
    if (!v) {
      throw configError(
        `unknown environment variable ${name}`,
        `known: ${[...known.keys(), ...NON_CONFIG_ENV].join(', ')}`,
      );
    }
    setPath(layer, v.keyPath, coerce(raw, v.node));
    names.push(name);
  }
  return { layer: layer as ConfigLayer, names };
}

function valueAt(obj: unknown, pointer: string): unknown {
  let cur: unknown = obj;
  for (const part of pointer.split('/').filter(Boolean)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function schemaAt(pointer: string): SchemaNode | undefined {
  let node: SchemaNode | undefined = configSchema as unknown as SchemaNode;
  for (const part of pointer.split('/').filter(Boolean)) {
    node = node?.properties?.[part] ?? (/^\d+$/.test(part) ? node?.items : undefined);
  }
  return node;
}

/** One line naming the key, the bad value and what is allowed. */
export function describeAjvError(err: ErrorObject, data: unknown, origin: string): string {
  const key = err.instancePath.split('/').filter(Boolean).join('.') || '(top level)';
  const bad = JSON.stringify(valueAt(data, err.instancePath));
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties': {
      const parent = schemaAt(err.instancePath);
      const allowed = Object.keys(parent?.properties ?? {}).filter((k) => k !== '$schema');
      const full = [key === '(top level)' ? '' : key, String(p.additionalProperty)]
        .filter(Boolean)
        .join('.');
      return `${origin}: unknown key "${full}"; allowed keys: ${allowed.join(', ')}`;
    }
    case 'enum':
      return `${origin}: ${key} = ${bad} is not allowed; allowed values: ${(p.allowedValues as string[]).join(', ')}`;
    case 'type':
      return `${origin}: ${key} = ${bad} has the wrong type; expected ${String(p.type)}`;
    case 'minimum':
    case 'maximum':
      return `${origin}: ${key} = ${bad} is out of range; allowed: ${describeRange(schemaAt(err.instancePath))}`;
    case 'required':
      return `${origin}: ${key === '(top level)' ? '' : key + '.'}${String(p.missingProperty)} is required`;
    case 'minLength':
      return `${origin}: ${key} must not be empty`;
    default:
      return `${origin}: ${key} = ${bad} ${err.message ?? 'is invalid'}`;
  }
}

function describeRange(node: SchemaNode | undefined): string {
  const n = node as { minimum?: number; maximum?: number } | undefined;
  return `integer ${n?.minimum ?? '-∞'}..${n?.maximum ?? '∞'}`;
}

export function validateLayer(layer: unknown, origin: string): asserts layer is ConfigLayer {
  const validate = validator();
  if (!validate(structuredClone(layer))) {
    const err = validate.errors?.[0];
    throw configError(
      err ? describeAjvError(err, layer, origin) : `${origin}: invalid`,
      'fix the value, then check with `codex-sm config validate`',
    );
  }
}

/** Read and parse a config file. Missing is fine only when the path was not asked for explicitly. */
export function readConfigFile(file: string, explicit: boolean): ConfigLayer | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return undefined;
    throw configError(
      `cannot read config file ${file}: ${code ?? (e as Error).message}`,
      code === 'ENOENT'
        ? 'check the path given to --config / CODEX_SM_CONFIG'
        : 'check the file permissions',
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw configError(
      `config file ${file} is not valid JSON: ${(e as Error).message}`,
      'fix the JSON syntax',
    );
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw configError(
      `config file ${file} must hold a JSON object, got ${JSON.stringify(data)?.slice(0, 40)}`,
    );
  }
  validateLayer(data, file);
  return data as ConfigLayer;
}

function merge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] =
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      b &&
      typeof b === 'object' &&
      !Array.isArray(b)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export interface ResolveOptions {
  env?: Env;
  /** --config FILE (explicit: a missing file is an error). */
  configFile?: string;
  flags?: ConfigLayer;
}

export interface ResolvedConfig {
  config: Config;
  sources: { file: string; fileLoaded: boolean; env: string[]; flags: string[] };
}

export function configFilePath(opts: Pick<ResolveOptions, 'env' | 'configFile'> = {}): {
  file: string;
  explicit: boolean;
} {
  const env = opts.env ?? process.env;
  const explicit = opts.configFile ?? env.CODEX_SM_CONFIG;
  return explicit
    ? { file: path.resolve(expandHome(explicit, env)), explicit: true }
    : { file: defaultConfigFile(env), explicit: false };
}

export function resolveConfig(opts: ResolveOptions = {}): ResolvedConfig {
  const env = opts.env ?? process.env;
  const { file, explicit } = configFilePath(opts);
  const fileLayer = readConfigFile(file, explicit);
  const { layer: envL, names } = envLayer(env);
  validateLayer(envL, 'environment');
  const flags = Object.fromEntries(
    Object.entries(opts.flags ?? {}).filter(([, v]) => v !== undefined),
  );
  validateLayer(flags, 'command line');

  const merged = merge(merge(merge({}, fileLayer ?? {}), envL), flags) as Record<string, unknown>;
  delete merged.$schema;
  const validate = validator();
  if (!validate(merged)) {
    const err = validate.errors?.[0];
    throw configError(err ? describeAjvError(err, merged, 'config') : 'config: invalid');
  }
  const config = merged as unknown as Config;
  // Defaults that depend on the environment, and ~ expansion for paths.
  config.codexHome = path.resolve(expandHome(config.codexHome ?? defaultCodexHome(env), env));
  config.tokenFile = path.resolve(expandHome(config.tokenFile ?? defaultTokenFile(env), env));
  config.stateDir = path.resolve(expandHome(config.stateDir ?? stateDir(env), env));
  if (config.codexBin) config.codexBin = path.resolve(expandHome(config.codexBin, env));
  if (config.tls) {
    config.tls = {
      cert: path.resolve(expandHome(config.tls.cert, env)),
      key: path.resolve(expandHome(config.tls.key, env)),
    };
  }
  return {
    config,
    sources: { file, fileLoaded: fileLayer !== undefined, env: names, flags: Object.keys(flags) },
  };
}
