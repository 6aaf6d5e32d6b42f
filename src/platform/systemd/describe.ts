/**
 * Why a unit is not running, in words, from the manager's Result/ExecMainStatus. Pure (tested).
 */
import type { UnitState } from './api.js';

/** Why the unit is not running, in words, from Result/ExecMainStatus; undefined when nothing failed. */
export function explainState(st: UnitState): string | undefined {
  if (st.activeState === 'active' || st.activeState === 'reloading') return undefined;
  const failedOrRestarting = st.activeState === 'failed' || st.subState === 'auto-restart';
  if (!failedOrRestarting && st.result === 'success') return undefined;
  switch (st.result) {
    case 'exit-code':
      return st.execMainStatus === 78
        ? 'exited with status 78 (EX_CONFIG: configuration error); systemd does not restart it until the config is fixed — see `codex-sm logs`, then `codex-sm start`'
        : `exited with status ${st.execMainStatus}`;
    case 'signal':
    case 'core-dump':
      return `killed by signal ${st.execMainStatus}${st.result === 'core-dump' ? ' (core dumped)' : ''}`;
    case 'watchdog':
      return 'killed by the watchdog: no WATCHDOG=1 within WatchdogSec (event loop blocked or process stopped)';
    case 'timeout':
      return 'timed out (no READY=1 within TimeoutStartSec, or did not stop within TimeoutStopSec)';
    case 'start-limit-hit':
      return 'restarted too often in a short time (StartLimitBurst); `codex-sm start` resets the limit';
    case 'resources':
      return 'systemd could not set up the process (missing executable, working directory or file): see `codex-sm logs`';
    case 'protocol':
      return 'the process broke the notify protocol (exited or forked before READY=1)';
    case 'oom-kill':
      return 'killed by the out-of-memory killer';
    default:
      return st.result && st.result !== 'success' ? `result: ${st.result}` : undefined;
  }
}
