/**
 * What a reload may change in a running service, read from the schema's `x-reload` markers:
 * `live` keys take the new value at once, `restart` keys are only read at start and keep their
 * running value until `codex-sm restart`. Pure; no hand-kept list of keys.
 */
import type { KeywordDefinition } from 'ajv';
import { configSchema, type Config } from './schema.js';

export const RELOAD_MODES = ['live', 'restart'] as const;
export type ReloadMode = (typeof RELOAD_MODES)[number];

/** The schema annotation, declared to ajv so strict mode (and the standalone build) accept it. */
export const RELOAD_KEYWORD = 'x-reload';
export const reloadKeyword: KeywordDefinition = {
  keyword: RELOAD_KEYWORD,
  schemaType: 'string',
  metaSchema: { enum: [...RELOAD_MODES] }, // a misspelt marker fails the schema compile
};

export interface SchemaKey {
  /** Dotted key path, e.g. `approvals.timeoutMs`. */
  key: string;
  keyPath: string[];
  /** Undefined when the schema lacks the marker (a unit test keeps that from happening). */
  reload: ReloadMode | undefined;
  /** True for an object whose keys are listed on their own. */
  nested: boolean;
}

interface Node {
  properties?: Record<string, Node>;
  [RELOAD_KEYWORD]?: ReloadMode;
}

/** Every key of the schema, parents before their children ($schema is not a config key). */
export function schemaKeys(): SchemaKey[] {
  const out: SchemaKey[] = [];
  const walk = (props: Record<string, Node>, prefix: string[]) => {
    for (const [name, node] of Object.entries(props)) {
      if (name === '$schema') continue;
      const keyPath = [...prefix, name];
      out.push({
        key: keyPath.join('.'),
        keyPath,
        reload: node[RELOAD_KEYWORD],
        nested: node.properties !== undefined,
      });
      if (node.properties) walk(node.properties, keyPath);
    }
  };
  walk(configSchema.properties as unknown as Record<string, Node>, []);
  return out;
}

export interface ReloadPlan {
  /** What the service runs with from now on: `next`, except restart keys keep running values. */
  effective: Config;
  /** Live keys (leaf paths) whose value changed and now apply. */
  applied: string[];
  /** Restart keys (leaf paths) whose configured value differs from the running one. */
  needsRestart: string[];
}

function valueAt(obj: unknown, keyPath: string[]): unknown {
  let cur = obj;
  for (const k of keyPath) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/**
 * Compare a freshly resolved config with the one running. Because `running` already holds the
 * running values of restart keys, a restart key stays in `needsRestart` on every later reload
 * until the process restarts, and leaves it only if the file goes back to the running value.
 * A key without a marker counts as `restart` (never claim a change applied when it did not).
 */
export function planReload(running: Config, next: Config): ReloadPlan {
  const keys = schemaKeys();
  const applied: string[] = [];
  const needsRestart: string[] = [];
  for (const k of keys) {
    if (k.nested) continue;
    const before = JSON.stringify(valueAt(running, k.keyPath));
    const after = JSON.stringify(valueAt(next, k.keyPath));
    if (before === after) continue;
    (k.reload === 'live' ? applied : needsRestart).push(k.key);
  }
  // Whole top-level values are kept or replaced: an object's children share its marker.
  const effective: Record<string, unknown> = { ...next };
  for (const k of keys) {
    if (k.keyPath.length !== 1 || k.reload === 'live') continue;
    const name = k.key as keyof Config;
    if (running[name] === undefined) delete effective[name];
    else effective[name] = running[name];
  }
  return { effective: effective as unknown as Config, applied, needsRestart };
}
