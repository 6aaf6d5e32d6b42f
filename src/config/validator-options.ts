/** Shared by the runtime fallback (load.ts) and the build-time generator (validator-gen.ts). */
import crypto from 'node:crypto';
import type { Options } from 'ajv';
import { reloadKeyword } from './reload.js';
import { configSchema } from './schema.js';

export const AJV_OPTIONS: Options = {
  useDefaults: true,
  strict: true,
  allowUnionTypes: true,
  keywords: [reloadKeyword], // the schema's x-reload annotation (no validation code)
};
export const GENERATED_VALIDATOR = 'config-validator.generated.cjs';

/** Identifies the schema a generated validator was built from (a stale one is not used). */
export function schemaHash(): string {
  return crypto
    .createHash('sha256')
    .update(JSON.stringify([configSchema, AJV_OPTIONS]))
    .digest('hex');
}
