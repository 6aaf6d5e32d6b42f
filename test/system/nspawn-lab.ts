/**
 * NspawnLab: a throwaway Debian bookworm container with a REAL systemd as its PID 1 (system
 * manager, journald, dbus, logind), booted with systemd-nspawn on a host whose PID 1 is not
 * systemd. Modelled on shared/reference/systemd-nspawn-lab.sh; what the user-manager lab
 * (./lab.ts) cannot give: system units (`install-service --system`) and logind (linger).
 *
 * - The rootfs is built once by debootstrap (~50 s) and cached in CACHE_DIR; a recipe stamp
 *   rebuilds it when the recipe below changes. It is built in a temp dir and renamed into place,
 *   so an interrupted build is never mistaken for a cache.
 * - The container boots with --volatile=overlay: every write lands in a tmpfs overlay, so the
 *   cached rootfs stays pristine and each run starts from the same state.
 * - The host's node binary and this checkout are bind-mounted read-only, at the same absolute
 *   path (the unit's ExecStart names them; `up()` can leave either out, e.g. for a container that
 *   installs nodejs and codex-sm as .debs), and the host network namespace is shared, so the
 *   tests reach the service's port and the service reaches the tests' fake Responses API.
 * - Teardown powers the container off, then SIGKILLs whatever is left in its cgroups (a hung
 *   process can block shutdown) and removes them. A record per lab lets `up()` reap labs whose
 *   test process died.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { packageInfo } from '../../src/package-info.js';
import { execRunner, type RunResult } from '../../src/runner.js';
import { parseShow } from '../../src/platform/systemd/api.js';
import { cgroupHierarchies, checkoutUnreadable, pidAlive, waitFor, withJson } from './lab.js';

export const CACHE_DIR = process.env.NSPAWN_LAB_CACHE ?? '/var/cache/codex-sm-lab/nspawn';
const REGISTRY = '/tmp/codex-sm-labs';
const LAB_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The account `install-service --system` runs the service as. */
export const SYSTEM_USER = { name: 'cxsys', uid: 1001 };
/** A login user for the user unit and linger (linger off at first, sudo only for loginctl). */
export const LOGIN_USER = { name: 'cxuser', uid: 1000 };

const PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'dbus-user-session',
  'libpam-systemd',
  'libstdc++6',
  'procps',
  'sudo',
  'ca-certificates',
];
/**
 * In the rootfs: the two users; sudo for exactly `loginctl enable-linger` (there is no polkit,
 * as on many servers, so codex-sm's `sudo -n` fallback is the path that works); logind stops a
 * user manager as soon as the last session ends (not 10 s later), so logout is quick to observe.
 */
const SETUP = [
  `useradd -m -u ${LOGIN_USER.uid} -s /bin/bash ${LOGIN_USER.name}`,
  `useradd -m -u ${SYSTEM_USER.uid} -s /bin/bash ${SYSTEM_USER.name}`,
  `echo '${LOGIN_USER.name} ALL=(root) NOPASSWD: /usr/bin/loginctl enable-linger ${LOGIN_USER.name}' > /etc/sudoers.d/lab`,
  'chmod 440 /etc/sudoers.d/lab',
  'mkdir -p /etc/systemd/logind.conf.d /var/log/journal',
  'printf "[Login]\\nUserStopDelaySec=0\\n" > /etc/systemd/logind.conf.d/lab.conf',
  'echo codexlab > /etc/hostname',
  'systemctl mask console-getty.service systemd-networkd.service systemd-resolved.service',
];
const RECIPE = crypto
  .createHash('sha256')
  .update(JSON.stringify(['bookworm', PACKAGES, SETUP]))
  .digest('hex')
  .slice(0, 16);

/**
 * Where the checkout is seen in the container: at its own path (the unit's ExecStart names it),
 * except under /tmp, which the hardened system unit's PrivateTmp hides from the service (CI runs
 * from a copy in /tmp when the clone is not world-readable).
 */
export function repoRoot(): string {
  const root = packageInfo().root;
  return /^\/(var\/)?tmp\//.test(root) ? '/opt/codex-sm-checkout' : root;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sh = (cmd: string, args: string[], timeoutMs = 30_000) =>
  execRunner.run(cmd, args, { timeoutMs, cwd: '/' });

function which(cmd: string): string | undefined {
  for (const d of ['/usr/sbin', '/usr/bin', '/sbin', '/bin'])
    if (fs.existsSync(path.join(d, cmd))) return path.join(d, cmd);
  return undefined;
}

/** Why the lab cannot run here at all (tools, privileges), or undefined. */
export function unavailable(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0)
    return `needs root to boot a container (running as uid ${process.getuid?.()})`;
  for (const cmd of ['systemd-nspawn', 'debootstrap', 'unshare', 'nsenter'])
    if (!which(cmd))
      return `${cmd} is missing (apt-get install systemd-container debootstrap util-linux)`;
  if (cgroupHierarchies().length === 0) return 'no writable cgroup hierarchy under /sys/fs/cgroup';
  return checkoutUnreadable();
}

const rootfs = () => path.join(CACHE_DIR, 'rootfs');
const stamp = () => path.join(rootfs(), '.codex-sm-lab');

export function rootfsCached(): boolean {
  try {
    return fs.readFileSync(stamp(), 'utf8').trim() === RECIPE;
  } catch {
    return false;
  }
}

/** The Debian mirror the host's apt uses (debootstrap takes no apt config). */
function aptMirror(): string | undefined {
  const dir = '/etc/apt/sources.list.d';
  const texts = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.sources'))
        .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
    : [];
  for (const t of texts) {
    const m = /^URIs:\s*(\S+)/m.exec(t);
    if (m) return m[1];
  }
  const list = fs.existsSync('/etc/apt/sources.list')
    ? fs.readFileSync('/etc/apt/sources.list', 'utf8')
    : '';
  return /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/m.exec(list)?.[1];
}

/**
 * Why the rootfs cannot be built because the mirror cannot be reached, or undefined. Checked up
 * front with a short timeout: debootstrap itself would retry for many minutes.
 */
export async function mirrorUnreachable(): Promise<string | undefined> {
  const mirror = aptMirror();
  if (!mirror) return 'no Debian mirror in /etc/apt/sources.list{,.d}';
  if (process.env.http_proxy || process.env.HTTP_PROXY) return undefined; // debootstrap's wget uses it
  const url = `${mirror.replace(/\/$/, '')}/dists/bookworm/InRelease`;
  try {
    const r = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    return r.ok ? undefined : `${url} answered HTTP ${r.status}`;
  } catch (e) {
    return `${url} is unreachable (${(e as Error).cause ?? (e as Error).message})`;
  }
}

/** Build the cached rootfs when missing or built from another recipe. */
export async function ensureRootfs(): Promise<void> {
  if (rootfsCached()) return;
  const mirror = aptMirror() as string;
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(CACHE_DIR, 'build-'));
  const target = path.join(tmp, 'rootfs');
  const log = path.join(CACHE_DIR, 'debootstrap.log');
  try {
    const r = await sh(
      'debootstrap',
      ['--variant=minbase', `--include=${PACKAGES.join(',')}`, 'bookworm', target, mirror],
      600_000,
    );
    fs.writeFileSync(log, r.stdout + r.stderr);
    if (r.code !== 0)
      throw new Error(`debootstrap failed (log: ${log}):\n${r.stdout.slice(-2000)}`);
    for (const step of SETUP) {
      const s = await sh('chroot', [target, 'sh', '-c', step]);
      if (s.code !== 0) throw new Error(`rootfs setup "${step}": ${s.stderr}`);
    }
    fs.writeFileSync(path.join(target, '.codex-sm-lab'), RECIPE + '\n');
    fs.rmSync(rootfs(), { recursive: true, force: true });
    fs.renameSync(target, rootfs());
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

interface LabRecord {
  name: string;
  dir: string;
  ownerPid: number;
  nspawnPid?: number;
}

/** PIDs in a cgroup subtree (host PIDs). */
function cgroupPids(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string) => {
    try {
      out.push(
        ...fs
          .readFileSync(path.join(d, 'cgroup.procs'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map(Number),
      );
      for (const e of fs.readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory()) walk(path.join(d, e.name));
    } catch {
      /* gone meanwhile */
    }
  };
  walk(dir);
  return out;
}

async function teardown(rec: LabRecord, keepDir: boolean): Promise<void> {
  const leader = rec.nspawnPid ? await leaderOf(rec.nspawnPid) : undefined;
  // SIGRTMIN+4 asks systemd for a clean poweroff; nspawn exits when the container is down.
  // 38 = SIGRTMIN+4 with glibc's SIGRTMIN (34), as systemd and bash count it; node has no name for it.
  if (leader) process.kill(leader, 38);
  else if (pidAlive(rec.nspawnPid)) process.kill(rec.nspawnPid as number, 'SIGTERM');
  for (let i = 0; i < 100 && pidAlive(rec.nspawnPid); i++) await sleep(100);
  for (const h of cgroupHierarchies()) {
    const top = path.join(h, rec.name);
    for (let attempt = 0; attempt < 30 && fs.existsSync(top); attempt++) {
      // Whatever shutdown left (a hung process blocks it): killed, then the empty cgroups removed.
      for (const pid of cgroupPids(top)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await sleep(100);
      await sh('find', [top, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']);
    }
    if (fs.existsSync(top)) console.log(`    !!! nspawn lab: could not remove cgroup ${top}`);
  }
  if (!keepDir) fs.rmSync(rec.dir, { recursive: true, force: true });
  fs.rmSync(path.join(REGISTRY, `${rec.name}.json`), { force: true });
}

/** Labs whose test process died (a killed mocha): torn down before a new one boots. */
async function reapStaleLabs(): Promise<void> {
  if (!fs.existsSync(REGISTRY)) return;
  for (const f of fs.readdirSync(REGISTRY).filter((x) => /^cxnspawn.*\.json$/.test(x))) {
    try {
      const rec = JSON.parse(fs.readFileSync(path.join(REGISTRY, f), 'utf8')) as LabRecord;
      if (!pidAlive(rec.ownerPid)) await teardown(rec, false);
    } catch {
      fs.rmSync(path.join(REGISTRY, f), { force: true });
    }
  }
}

function consoleLog(dir: string): string {
  try {
    return `--- console.log\n${fs.readFileSync(path.join(dir, 'console.log'), 'utf8').slice(-4000)}`;
  } catch {
    return '--- console.log: missing';
  }
}

/** The container's PID 1 (a host PID): nspawn's child. */
async function leaderOf(nspawnPid: number): Promise<number | undefined> {
  const r = await sh('pgrep', ['-P', String(nspawnPid)]);
  const pid = Number(r.stdout.trim().split('\n')[0]);
  return pid > 0 ? pid : undefined;
}

export class NspawnLab {
  private constructor(
    private readonly rec: LabRecord,
    readonly leader: number,
  ) {}

  get dir(): string {
    return this.rec.dir;
  }

  /**
   * `hostNode: false` leaves the container's /usr/bin/node to its own packages (the .deb test
   * installs nodejs there; a bind mount over it would make dpkg fail), `checkout: false` keeps this
   * checkout out; `binds` adds `--bind-ro=` mounts (`src` or `src:dst`).
   */
  static async up(
    opts: { hostNode?: boolean; checkout?: boolean; binds?: string[] } = {},
  ): Promise<NspawnLab> {
    await reapStaleLabs();
    await ensureRootfs();
    const name = `cxnspawn${crypto.randomBytes(3).toString('hex')}`;
    fs.mkdirSync(REGISTRY, { recursive: true, mode: 0o755 });
    const dir = fs.mkdtempSync(path.join(REGISTRY, `${name}-`));
    const rec: LabRecord = { name, dir, ownerPid: process.pid };
    const save = () => fs.writeFileSync(path.join(REGISTRY, `${name}.json`), JSON.stringify(rec));
    save();
    try {
      const procs: string[] = [];
      for (const h of cgroupHierarchies()) {
        fs.mkdirSync(path.join(h, name));
        procs.push(path.join(h, name, 'cgroup.procs'));
      }
      const binds = [
        ...(opts.hostNode === false ? [] : [process.execPath]),
        ...(opts.checkout === false ? [] : [`${packageInfo().root}:${repoRoot()}`]),
        ...(opts.binds ?? []),
      ].map((b) => `--bind-ro=${b}`);
      // In a private mount namespace (tmpfs on /run/systemd keeps nspawn's state off the host's
      // /run), in the lab's own cgroup (--keep-unit: there is no host systemd to ask for a scope).
      const script =
        'for f in $LAB_PROCS; do echo $$ > "$f"; done; ' +
        'mount -t tmpfs -o mode=755 lab-nspawn-run /run/systemd && exec systemd-nspawn "$@"';
      const console = fs.openSync(path.join(dir, 'console.log'), 'a');
      const child = spawn(
        'unshare',
        ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh'].concat(
          ['-q', '-D', rootfs(), '-M', name, '--register=no', '--keep-unit', '-b'],
          ['--console=read-only', '--volatile=overlay', ...binds],
        ),
        {
          detached: true,
          stdio: ['ignore', console, console],
          env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LAB_PROCS: procs.join(' ') },
        },
      );
      child.unref();
      fs.closeSync(console);
      rec.nspawnPid = child.pid as number;
      save();
      // Poll through whichever process is nspawn's child right now: at first that is nspawn's
      // short-lived outer child, later the container's systemd.
      let state = '';
      let lab: NspawnLab | undefined;
      await waitFor(
        'the container to boot',
        async () => {
          if (!pidAlive(rec.nspawnPid)) throw new Error(`nspawn exited: ${consoleLog(dir)}`);
          const leader = await leaderOf(rec.nspawnPid as number);
          if (!leader) return false;
          lab = new NspawnLab(rec, leader);
          state = (await lab.exec(['systemctl', 'is-system-running'])).stdout.trim();
          return state === 'running' || state === 'degraded';
        },
        30_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message} (last state "${state}"): ${consoleLog(dir)}`);
      });
      if (!lab) throw new Error('no container');
      return lab;
    } catch (e) {
      await teardown(rec, true);
      throw e;
    }
  }

  /** argv in the container, as root or as a user (with the user's bus and runtime dir). */
  exec(
    argv: string[],
    opts: { user?: { name: string; uid: number }; timeoutMs?: number; input?: string } = {},
  ): Promise<RunResult> {
    const u = opts.user;
    const env = u
      ? [
          `HOME=/home/${u.name}`,
          `USER=${u.name}`,
          `LOGNAME=${u.name}`,
          `XDG_RUNTIME_DIR=/run/user/${u.uid}`,
        ].concat([`DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/${u.uid}/bus`])
      : ['HOME=/root', 'USER=root', 'LOGNAME=root'];
    const as = u ? ['runuser', '-u', u.name, '--'] : [];
    return execRunner.run(
      'nsenter',
      [
        '-t',
        String(this.leader),
        '-a',
        '--',
        ...as,
        'env',
        '-i',
        `PATH=${LAB_PATH}`,
        ...env,
        ...argv,
      ],
      {
        timeoutMs: opts.timeoutMs ?? 60_000,
        cwd: '/',
        ...(opts.input !== undefined ? { input: opts.input } : {}),
      },
    );
  }

  /** `systemctl [--user] show UNIT -p ...` as a map. */
  async show(
    unit: string,
    props: string[],
    user?: { name: string; uid: number },
  ): Promise<Record<string, string>> {
    const argv = ['systemctl', ...(user ? ['--user'] : []), 'show', unit];
    const r = await this.exec([...argv, ...props.flatMap((p) => ['-p', p])], user ? { user } : {});
    return Object.fromEntries(parseShow(r.stdout));
  }

  /** The codex-sm CLI of this checkout in the container; JSON output parsed when it is JSON. */
  async cli(
    args: string[],
    opts: { user?: { name: string; uid: number }; timeoutMs?: number } = {},
  ): Promise<RunResult & { json: Record<string, unknown> }> {
    const script = path.join(
      repoRoot(),
      path.relative(packageInfo().root, packageInfo().cliScript),
    );
    return withJson(await this.exec([process.execPath, script, ...args], opts));
  }

  /** A path in the container's file system, as seen from the host (through its PID 1's root). */
  hostPath(p: string): string {
    return `/proc/${this.leader}/root${p}`;
  }

  /** Write a file in the container owned by `owner` (parents created and owned too). */
  writeFile(p: string, content: string, owner: { uid: number }, mode = 0o644): void {
    const missing: string[] = [];
    for (let d = path.dirname(p); !fs.existsSync(this.hostPath(d)); d = path.dirname(d))
      missing.unshift(d);
    for (const d of missing) {
      fs.mkdirSync(this.hostPath(d));
      fs.chownSync(this.hostPath(d), owner.uid, owner.uid);
    }
    fs.writeFileSync(this.hostPath(p), content, { mode });
    fs.chownSync(this.hostPath(p), owner.uid, owner.uid);
  }

  debugLogs(): string {
    return consoleLog(this.rec.dir);
  }

  async down(opts: { keepDir?: boolean } = {}): Promise<void> {
    await teardown(this.rec, Boolean(opts.keepDir));
  }
}
