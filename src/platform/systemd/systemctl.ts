/**
 * SystemdApi over `systemctl [--user]` through the CommandRunner: the fallback when no D-Bus
 * connection can be made (e.g. dbus-next cannot authenticate), and the shape of the commands
 * `--dry-run` prints. `systemctl start|stop|restart` already block until the job finishes and
 * exit non-zero when it failed, which is all the job result we need here.
 */
import { CodexSmError, EXIT } from '../../errors.js';
import type { CommandRunner, RunResult } from '../../runner.js';
import {
  parseShow,
  parseSystemdVersion,
  unitStateFrom,
  UNIT_PROPERTIES,
  type JobResult,
  type SystemdApi,
  type UnitState,
} from './api.js';

export class SystemctlSystemd implements SystemdApi {
  readonly via = 'systemctl' as const;

  constructor(
    private readonly runner: CommandRunner,
    private readonly scope: 'user' | 'system',
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  private scopeArgs(): string[] {
    return this.scope === 'user' ? ['--user'] : [];
  }

  private run(args: string[], timeoutMs = 30_000): Promise<RunResult> {
    return this.runner.run('systemctl', [...this.scopeArgs(), ...args], {
      env: this.env,
      timeoutMs,
    });
  }

  private async must(args: string[]): Promise<RunResult> {
    const r = await this.run(args);
    if (r.code !== 0) {
      throw new CodexSmError(
        'systemctl_failed',
        `systemctl ${[...this.scopeArgs(), ...args].join(' ')} failed: ${(r.stderr || r.stdout || r.spawnError || '').trim()}`,
        {
          exitCode: EXIT.unavailable,
        },
      );
    }
    return r;
  }

  async version(): Promise<number | undefined> {
    const r = await this.runner.run('systemctl', ['--version'], { env: this.env, timeoutMs: 5000 });
    return parseSystemdVersion(r.stdout);
  }

  async reload(): Promise<void> {
    await this.must(['daemon-reload']);
  }

  async enable(units: string[]): Promise<void> {
    await this.must(['enable', ...units]);
  }

  async disable(units: string[]): Promise<void> {
    await this.must(['disable', ...units]);
  }

  private async job(verb: string, unit: string, timeoutMs: number): Promise<JobResult> {
    const r = await this.run([verb, unit], timeoutMs);
    if (r.code === 0) return 'done';
    if (r.code === null) return 'timeout';
    return 'failed';
  }

  start(unit: string, timeoutMs: number): Promise<JobResult> {
    return this.job('start', unit, timeoutMs);
  }

  stop(unit: string, timeoutMs: number): Promise<JobResult> {
    return this.job('stop', unit, timeoutMs);
  }

  restart(unit: string, timeoutMs: number): Promise<JobResult> {
    return this.job('restart', unit, timeoutMs);
  }

  async resetFailed(unit: string): Promise<void> {
    await this.run(['reset-failed', unit]); // exit 1 when the unit is not loaded: nothing to reset
  }

  async state(unit: string): Promise<UnitState> {
    const props = Object.values(UNIT_PROPERTIES).flatMap((p) => ['-p', p]);
    const r = await this.must(['show', '--timestamp=unix', unit, ...props]);
    const m = parseShow(r.stdout);
    return unitStateFrom((p) => m.get(p));
  }

  close(): void {}
}
