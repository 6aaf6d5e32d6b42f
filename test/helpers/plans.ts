/** Plans for render and lifecycle tests. */
import type { ServicePlan } from '../../src/platform/types.js';

/** A realistic macOS plan (what the plan builder produces for alice with Homebrew node). */
export function basePlan(overrides: Partial<ServicePlan> = {}): ServicePlan {
  return {
    backend: 'launchd',
    scope: 'user',
    name: 'codex-sm',
    label: 'dev.codex-sm.service',
    description: 'codex-sm: Codex app-server session manager',
    nodePath: '/opt/homebrew/Cellar/node/22.11.0/bin/node',
    cliScript: '/opt/homebrew/lib/node_modules/codex-sm/dist/src/cli/main.js',
    args: ['serve'],
    workingDirectory: '/Users/alice',
    environment: {
      PATH: '/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
      HOME: '/Users/alice',
      CODEX_HOME: '/Users/alice/.codex',
    },
    secretsEnvFile: '/Users/alice/.config/codex-sm/secrets.env',
    host: '127.0.0.1',
    port: 3100,
    tokenFile: '/Users/alice/.config/codex-sm/token',
    codexHome: '/Users/alice/.codex',
    stateDir: '/Users/alice/.local/state/codex-sm',
    socketActivation: false,
    updater: false,
    stopTimeoutSec: 30,
    startTimeoutSec: 90,
    watchdogSec: 0,
    restartSec: 5,
    startLimitBurst: 5,
    startLimitIntervalSec: 60,
    logDir: '/Users/alice/Library/Logs/codex-sm',
    codexPath: '/opt/homebrew/bin/codex',
    ...overrides,
  };
}
