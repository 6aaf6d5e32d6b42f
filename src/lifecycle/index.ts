/**
 * The lifecycle engine for one backend, scope and account: where its lock lives and what the
 * config says when there is no install record. The CLI calls this and nothing below it.
 */
import os from 'node:os';
import type { Config } from '../config/schema.js';
import { defaultCodexHome, secretsEnvFile } from '../paths.js';
import { createBackend } from '../platform/index.js';
import { lifecycleLockFile, SYSTEM_LIFECYCLE_LOCK } from '../platform/lock.js';
import type { Backend } from '../platform/types.js';
import type { CommandRunner } from '../runner.js';
import type { ServiceAccount } from './account.js';
import { LifecycleEngine } from './engine.js';

export interface EngineContext {
  backend: Backend;
  who: ServiceAccount;
  config: Pick<Config, 'host' | 'port' | 'tokenFile' | 'stateDir'> &
    Partial<Pick<Config, 'codexHome' | 'codexBin'>>;
  configError?: string;
  runner?: CommandRunner;
}

export function createEngine(ctx: EngineContext): LifecycleEngine {
  const { who, config } = ctx;
  const backend = createBackend(ctx.backend, {
    scope: who.scope,
    env: who.env,
    stateDir: config.stateDir,
    ...(ctx.runner ? { runner: ctx.runner } : {}),
  });
  return new LifecycleEngine({
    backend,
    env: who.env,
    lockFile: who.scope === 'system' ? SYSTEM_LIFECYCLE_LOCK : lifecycleLockFile(who.env),
    isRoot: os.userInfo().uid === 0,
    ...(who.account ? { account: who.account } : {}),
    fallback: {
      host: config.host,
      port: config.port,
      tokenFile: config.tokenFile,
      secretsFile: secretsEnvFile(who.env),
      stateDir: config.stateDir,
      codexHome: config.codexHome ?? defaultCodexHome(who.env),
      ...(config.codexBin ? { codexPath: config.codexBin } : {}),
    },
    ...(ctx.configError ? { configError: ctx.configError } : {}),
  });
}
