/**
 * The periodic updater as both backends install it (systemd timer, launchd StartInterval agent):
 * what it runs and what its files are called. The files themselves are templates in units/.
 */
import type { ServicePlan } from './types.js';

/** The updater's command after node and the CLI script: one JSON object per run, in the logs. */
export const UPDATER_ARGS: readonly string[] = ['update', '--json'];

/** Base name of the updater's files: codex-sm-update(.service/.timer, .out.log/.err.log). */
export function updaterName(plan: Pick<ServicePlan, 'name'>): string {
  return `${plan.name}-update`;
}
