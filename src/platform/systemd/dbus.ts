/**
 * SystemdApi over D-Bus (dbus-next), talking to org.freedesktop.systemd1 on the user bus (or the
 * system bus for --system).
 *
 * - The bus address is always explicit (`unix:path=$XDG_RUNTIME_DIR/bus`): dbus-next's
 *   sessionBus() does not fall back to it, and sudo/su shells often have no
 *   DBUS_SESSION_BUS_ADDRESS (pitfall 6).
 * - We use raw method calls rather than proxy objects: no Introspect round trip per object, and
 *   we control the order of AddMatch / Subscribe / StartUnit exactly. JobRemoved is only
 *   broadcast to subscribed clients, and a job can finish before StartUnit's reply reaches us,
 *   so the match rule and Subscribe are in place (awaited) before any job is queued, and results
 *   are buffered by job path until someone waits for them.
 */
import dbus from 'dbus-next';
import { CodexSmError, EXIT } from '../../errors.js';
import { unitStateFrom, type JobResult, type SystemdApi, type UnitState } from './api.js';

const DEST = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER_IFACE = 'org.freedesktop.systemd1.Manager';

/** `codex-sm.service` → `/org/freedesktop/systemd1/unit/codex_2dsm_2eservice`. */
export function unitObjectPath(unit: string): string {
  const escaped = [...Buffer.from(unit, 'utf8')]
    .map((b, i) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9]/.test(c) && !(i === 0 && /[0-9]/.test(c))
        ? c
        : `_${b.toString(16).padStart(2, '0')}`;
    })
    .join('');
  return `${MANAGER_PATH}/unit/${escaped}`;
}

/** dbus-next values: Variants carry `.value`; u64/t come as bigint. */
function plain(v: unknown): unknown {
  return v instanceof dbus.Variant ? (v.value as unknown) : v;
}

class DbusSystemd implements SystemdApi {
  readonly via = 'dbus' as const;
  private readonly finished = new Map<string, JobResult>();
  private readonly waiters = new Map<string, (r: JobResult) => void>();

  constructor(private readonly bus: dbus.MessageBus) {
    bus.on('message', (msg: dbus.Message) => {
      if (
        msg.type !== dbus.MessageType.SIGNAL ||
        msg.interface !== MANAGER_IFACE ||
        msg.member !== 'JobRemoved'
      )
        return;
      const [, job, , result] = msg.body as [number, string, string, JobResult];
      const waiter = this.waiters.get(job);
      if (waiter) {
        this.waiters.delete(job);
        waiter(result);
      } else this.finished.set(job, result);
    });
  }

  async call(
    member: string,
    signature = '',
    body: unknown[] = [],
    path = MANAGER_PATH,
    iface = MANAGER_IFACE,
  ): Promise<unknown[]> {
    const reply = await this.bus.call(
      new dbus.Message({ destination: DEST, path, interface: iface, member, signature, body }),
    );
    return (reply?.body ?? []) as unknown[];
  }

  /** Install the JobRemoved match rule and Subscribe; both awaited, before any job is queued. */
  async init(): Promise<void> {
    await this.bus.call(
      new dbus.Message({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'AddMatch',
        signature: 's',
        body: [
          `type='signal',sender='${DEST}',path='${MANAGER_PATH}',interface='${MANAGER_IFACE}',member='JobRemoved'`,
        ],
      }),
    );
    await this.call('Subscribe');
  }

  async version(): Promise<number | undefined> {
    const [v] = await this.call(
      'Get',
      'ss',
      [MANAGER_IFACE, 'Version'],
      MANAGER_PATH,
      'org.freedesktop.DBus.Properties',
    );
    const m = /^(\d+)/.exec(String(plain(v)));
    return m ? Number(m[1]) : undefined;
  }

  async reload(): Promise<void> {
    await this.call('Reload');
  }

  async enable(units: string[]): Promise<void> {
    await this.call('EnableUnitFiles', 'asbb', [units, false, true]);
  }

  async disable(units: string[]): Promise<void> {
    await this.call('DisableUnitFiles', 'asb', [units, false]);
  }

  private waitJob(job: string, timeoutMs: number): Promise<JobResult> {
    const done = this.finished.get(job);
    if (done) {
      this.finished.delete(job);
      return Promise.resolve(done);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(job);
        reject(
          new CodexSmError(
            'job_timeout',
            `systemd job ${job} did not finish within ${Math.round(timeoutMs / 1000)} s`,
            { exitCode: EXIT.tempFail },
          ),
        );
      }, timeoutMs);
      this.waiters.set(job, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }

  private async job(
    member: 'StartUnit' | 'StopUnit' | 'RestartUnit',
    unit: string,
    timeoutMs: number,
  ): Promise<JobResult> {
    const [job] = await this.call(member, 'ss', [unit, 'replace']);
    return this.waitJob(String(job), timeoutMs);
  }

  start(unit: string, timeoutMs: number): Promise<JobResult> {
    return this.job('StartUnit', unit, timeoutMs);
  }

  stop(unit: string, timeoutMs: number): Promise<JobResult> {
    return this.job('StopUnit', unit, timeoutMs);
  }

  restart(unit: string, timeoutMs: number): Promise<JobResult> {
    return this.job('RestartUnit', unit, timeoutMs);
  }

  async resetFailed(unit: string): Promise<void> {
    try {
      await this.call('ResetFailedUnit', 's', [unit]);
    } catch (e) {
      // NoSuchUnit: nothing loaded, nothing to reset.
      if (!/NoSuchUnit/.test(String((e as { type?: string }).type ?? (e as Error).message)))
        throw e;
    }
  }

  async state(unit: string): Promise<UnitState> {
    // LoadUnit (not GetUnit): also answers for units that are installed but not loaded yet.
    const [path] = await this.call('LoadUnit', 's', [unit]);
    const props = new Map<string, unknown>();
    for (const iface of [
      'org.freedesktop.systemd1.Unit',
      'org.freedesktop.systemd1.Service',
      'org.freedesktop.systemd1.Timer',
    ]) {
      try {
        const [all] = await this.call(
          'GetAll',
          's',
          [iface],
          String(path),
          'org.freedesktop.DBus.Properties',
        );
        for (const [k, v] of Object.entries((all ?? {}) as Record<string, unknown>))
          props.set(k, plain(v));
      } catch {
        /* each unit has only its own type's interface (and a not-found unit none) */
      }
    }
    return unitStateFrom((p) => props.get(p));
  }

  close(): void {
    this.bus.disconnect();
  }
}

/**
 * Connect to systemd over D-Bus at `address`; undefined (with the reason) when the bus is not
 * reachable, so the caller can fall back to systemctl.
 */
export async function connectSystemdBus(
  address: string,
  timeoutMs = 3000,
): Promise<{ api?: SystemdApi; reason?: string }> {
  let bus: dbus.MessageBus;
  try {
    bus = dbus.sessionBus({ busAddress: address });
  } catch (e) {
    return { reason: (e as Error).message };
  }
  let failure: string | undefined;
  // dbus-next reports connection problems as 'error' events; unhandled, they would crash us.
  bus.on('error', (e: Error) => {
    failure ??= (e as NodeJS.ErrnoException).code ?? e.message;
  });
  const api = new DbusSystemd(bus);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      api.init(),
      new Promise((_, reject) => {
        bus.once('error', (e: Error) => reject(e));
        timer = setTimeout(
          () => reject(new Error(failure ?? `no answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
    return { api };
  } catch (e) {
    bus.disconnect();
    return { reason: failure ?? (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
