/**
 * SystemdUserLab: a real `systemd --user` manager (v252 here) with a real journald, for a
 * throwaway user, in a private PID + mount namespace — on a machine whose PID 1 is not systemd.
 * Modelled on shared/reference/systemd-user-lab.sh; what this adds for tests:
 *  - a fresh user per lab (`cxsm` + random), so parallel or crashed runs never collide,
 *  - a registry of labs under /tmp/codex-sm-labs: `up()` first reaps labs whose holder died
 *    (a killed test run), so a crash never leaves a user or cgroups behind for long,
 *  - typed helpers (run as the user inside the namespace, `systemctl --user show` as a map,
 *    the codex-sm CLI with its JSON parsed, polling with a deadline).
 * Needs root (user creation, cgroup delegation, namespaces); `unavailable()` says why not.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { packageInfo } from '../../src/package-info.js';
import { parseShow } from '../../src/platform/systemd/api.js';
import { execRunner, type RunResult } from '../../src/runner.js';

const REGISTRY = '/tmp/codex-sm-labs';
const CGROOT = '/sys/fs/cgroup';
const LAB_PATH = '/usr/local/bin:/usr/bin:/bin';

/** Why the lab cannot run here, or undefined when it can. */
export function unavailable(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0)
    return `needs root to create a user, delegate cgroups and enter namespaces (running as uid ${process.getuid?.()})`;
  for (const f of [
    '/usr/lib/systemd/systemd',
    '/usr/lib/systemd/systemd-journald',
    '/usr/bin/unshare',
    '/usr/bin/nsenter',
    '/usr/bin/setpriv',
    '/usr/sbin/useradd',
  ]) {
    if (!fs.existsSync(f))
      return `${f} is missing (apt-get install systemd dbus-user-session util-linux passwd)`;
  }
  if (cgroupHierarchies().length === 0) return `no writable cgroup hierarchy under ${CGROOT}`;
  return checkoutUnreadable();
}

/** The service runs as a throwaway user straight from this checkout: others must be able to read it. */
export function checkoutUnreadable(): string | undefined {
  const script = packageInfo().cliScript;
  for (let d = path.dirname(script); d !== '/'; d = path.dirname(d)) {
    if ((fs.statSync(d).mode & 0o001) === 0)
      return `needs a checkout other users can read: ${d} is not world-searchable (chmod o+x, or clone elsewhere)`;
  }
  if ((fs.statSync(script).mode & 0o004) === 0)
    return `needs a checkout other users can read: ${script} is not world-readable`;
  return undefined;
}

/** Hierarchies systemd tracks processes in: cgroup2 alone, or (hybrid) `unified` and `name=systemd`. */
export function cgroupHierarchies(): string[] {
  try {
    if (fs.statfsSync(CGROOT).type === 0x63677270 /* CGROUP2_SUPER_MAGIC */) return [CGROOT];
  } catch {
    return [];
  }
  return ['unified', 'systemd'].map((h) => path.join(CGROOT, h)).filter((h) => fs.existsSync(h));
}

function sh(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return execRunner.run(cmd, args, { timeoutMs: opts.timeoutMs ?? 30_000, cwd: '/' });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LabRecord {
  user: string;
  uid: number;
  dir: string;
  holderPid?: number;
}

async function teardown(rec: LabRecord, keepDir: boolean): Promise<void> {
  if (pidAlive(rec.holderPid)) {
    process.kill(rec.holderPid as number, 'SIGTERM');
    for (let i = 0; i < 200 && pidAlive(rec.holderPid); i++) await sleep(25);
    if (pidAlive(rec.holderPid)) process.kill(rec.holderPid as number, 'SIGKILL');
    for (let i = 0; i < 40 && pidAlive(rec.holderPid); i++) await sleep(25);
  }
  for (const h of cgroupHierarchies()) {
    const top = path.join(h, 'user.slice', `user-${rec.uid}.slice`);
    for (let attempt = 0; attempt < 20 && fs.existsSync(top); attempt++) {
      // Depth-first rmdir; cgroups empty out a moment after their last process died.
      const dirs: string[] = [];
      const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true }))
          if (e.isDirectory()) walk(path.join(d, e.name));
        dirs.push(d);
      };
      try {
        walk(top);
        for (const d of dirs) fs.rmdirSync(d);
      } catch {
        await sleep(100);
      }
    }
    try {
      fs.rmdirSync(path.join(h, 'user.slice')); // fails while another lab still uses it: fine
    } catch {
      /* in use or already gone */
    }
  }
  await sh('userdel', ['-r', '-f', rec.user]);
  if (!keepDir) fs.rmSync(rec.dir, { recursive: true, force: true });
  fs.rmSync(path.join(REGISTRY, `${rec.user}.json`), { force: true });
}

/** Labs left behind by crashed runs (holder gone): tear them down. */
async function reapStaleLabs(): Promise<void> {
  if (!fs.existsSync(REGISTRY)) return;
  for (const f of fs.readdirSync(REGISTRY).filter((x) => x.endsWith('.json'))) {
    try {
      const rec = JSON.parse(fs.readFileSync(path.join(REGISTRY, f), 'utf8')) as LabRecord;
      if (!pidAlive(rec.holderPid)) await teardown(rec, false);
    } catch {
      fs.rmSync(path.join(REGISTRY, f), { force: true });
    }
  }
}

export class SystemdUserLab {
  private constructor(
    readonly user: string,
    readonly uid: number,
    readonly gid: number,
    readonly home: string,
    readonly dir: string,
    private readonly holderPid: number,
  ) {}

  get runtimeDir(): string {
    return `/run/user/${this.uid}`;
  }

  static async up(): Promise<SystemdUserLab> {
    await reapStaleLabs();
    const user = `cxsm${crypto.randomBytes(3).toString('hex')}`;
    fs.mkdirSync(REGISTRY, { recursive: true, mode: 0o755 });
    const dir = fs.mkdtempSync(path.join(REGISTRY, `${user}-`));
    fs.chmodSync(dir, 0o755);
    const add = await sh('useradd', ['-m', '-s', '/bin/bash', user]);
    if (add.code !== 0) throw new Error(`useradd ${user}: ${add.stderr}`);
    const uid = Number((await sh('id', ['-u', user])).stdout.trim());
    const gid = Number((await sh('id', ['-g', user])).stdout.trim());
    const home = (await sh('getent', ['passwd', user])).stdout.split(':')[5] as string;
    const rec: LabRecord = { user, uid, dir };
    const save = () => fs.writeFileSync(path.join(REGISTRY, `${user}.json`), JSON.stringify(rec));
    save();
    try {
      const journal = path.join(dir, 'journal');
      fs.mkdirSync(journal);
      await sh('chgrp', ['systemd-journal', journal]);
      fs.chmodSync(journal, 0o2755);
      fs.writeFileSync(
        path.join(dir, 'journald.conf'),
        '[Journal]\nStorage=persistent\nReadKMsg=no\nRateLimitBurst=0\n',
      );
      const procs: string[] = [];
      for (const h of cgroupHierarchies()) {
        const cg = path.join(h, 'user.slice', `user-${uid}.slice`, `user@${uid}.service`);
        fs.mkdirSync(cg, { recursive: true });
        await sh('chown', ['-R', `${uid}:${gid}`, cg]); // delegation, like user@.service's Delegate=yes
        procs.push(path.join(cg, 'cgroup.procs'));
      }
      const init = path.join(packageInfo().root, 'test', 'system', 'lab-init.sh');
      const child = spawn(
        'unshare',
        ['--pid', '--fork', '--mount-proc', '--mount', '--propagation', 'private', 'bash', init],
        {
          detached: true,
          stdio: [
            'ignore',
            fs.openSync(path.join(dir, 'init.log'), 'a'),
            fs.openSync(path.join(dir, 'init.log'), 'a'),
          ],
          env: {
            PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
            LAB_DIR: dir,
            LAB_UID: String(uid),
            LAB_GID: String(gid),
            LAB_USER: user,
            LAB_HOME: home,
            LAB_CGROUP_PROCS: procs.join(' '),
          },
        },
      );
      child.unref();
      for (let i = 0; i < 200 && !fs.existsSync(path.join(dir, 'ready')); i++) await sleep(25);
      if (!fs.existsSync(path.join(dir, 'ready')))
        throw new Error(`lab init failed: ${fs.readFileSync(path.join(dir, 'init.log'), 'utf8')}`);
      // The namespace's init is unshare's only child.
      const holder = Number(
        (await sh('pgrep', ['-P', String(child.pid)])).stdout.trim().split('\n')[0],
      );
      rec.holderPid = holder;
      save();
      const lab = new SystemdUserLab(user, uid, gid, home, dir, holder);
      let state = '';
      for (let i = 0; i < 100; i++) {
        state = (await lab.run(['systemctl', '--user', 'is-system-running'])).stdout.trim();
        if (state === 'running' || state === 'degraded') return lab;
        await sleep(50);
      }
      throw new Error(`user manager not up (${state}): ${lab.debugLogs()}`);
    } catch (e) {
      await teardown(rec, true);
      throw e;
    }
  }

  /** Run argv as the lab user inside the namespace (a login-like environment), or as root. */
  run(
    argv: string[],
    opts: { root?: boolean; env?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<RunResult> {
    const enter = ['-t', String(this.holderPid), '-m', '-p', '--'];
    if (opts.root)
      return execRunner.run('nsenter', [...enter, ...argv], {
        timeoutMs: opts.timeoutMs ?? 60_000,
        cwd: '/',
      });
    const env = {
      HOME: this.home,
      USER: this.user,
      LOGNAME: this.user,
      SHELL: '/bin/bash',
      PATH: LAB_PATH,
      XDG_RUNTIME_DIR: this.runtimeDir,
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${this.runtimeDir}/bus`,
      ...opts.env,
    };
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    return execRunner.run(
      'nsenter',
      [
        ...enter,
        'setpriv',
        `--reuid=${this.uid}`,
        `--regid=${this.gid}`,
        '--init-groups',
        'env',
        '-i',
        ...envArgs,
        ...argv,
      ],
      { timeoutMs: opts.timeoutMs ?? 60_000, cwd: '/' },
    );
  }

  systemctl(...args: string[]): Promise<RunResult> {
    return this.run(['systemctl', '--user', ...args]);
  }

  /** `systemctl --user show UNIT -p ...` as a map. */
  async show(unit: string, props: string[]): Promise<Record<string, string>> {
    const r = await this.systemctl('show', unit, ...props.flatMap((p) => ['-p', p]));
    return Object.fromEntries(parseShow(r.stdout));
  }

  /** The codex-sm CLI of this checkout, as the lab user; JSON output parsed when it is JSON. */
  async cli(
    args: string[],
    opts: { env?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<RunResult & { json: Record<string, unknown> }> {
    return withJson(await this.run([process.execPath, packageInfo().cliScript, ...args], opts));
  }

  /** Write a file as the lab user (owner and mode set). */
  writeUserFile(rel: string, content: string, mode = 0o644): string {
    const file = path.join(this.home, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
    for (let d = path.dirname(file); d.startsWith(this.home); d = path.dirname(d))
      fs.chownSync(d, this.uid, this.gid);
    fs.chownSync(file, this.uid, this.gid);
    return file;
  }

  /** Host PIDs in the unit's cgroup (ControlGroup is relative to the hierarchy root). */
  async unitPids(unit: string): Promise<number[]> {
    const cg = (await this.show(unit, ['ControlGroup'])).ControlGroup;
    if (!cg) return [];
    const [h] = cgroupHierarchies().filter((x) => !x.endsWith('/systemd'));
    const pids: number[] = [];
    const walk = (d: string) => {
      if (!fs.existsSync(d)) return;
      pids.push(
        ...fs
          .readFileSync(path.join(d, 'cgroup.procs'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map(Number),
      );
      for (const e of fs.readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory()) walk(path.join(d, e.name));
    };
    walk(path.join(h as string, cg));
    return pids;
  }

  debugLogs(): string {
    return ['init.log', 'manager.log', 'journald.log']
      .map((f) => {
        try {
          return `--- ${f}\n${fs.readFileSync(path.join(this.dir, f), 'utf8').slice(-4000)}`;
        } catch {
          return `--- ${f}: missing`;
        }
      })
      .join('\n');
  }

  async down(opts: { keepDir?: boolean } = {}): Promise<void> {
    await teardown(
      { user: this.user, uid: this.uid, dir: this.dir, holderPid: this.holderPid },
      Boolean(opts.keepDir),
    );
  }
}

export { waitFor } from '../helpers/wait.js';

// ---- small helpers shared by the lab harnesses and the system tests

export function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A port nothing listens on right now (for the service under test). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** The HTTP status of a GET, or 0 when nothing answers within a second. */
export async function httpStatus(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).status;
  } catch {
    return 0;
  }
}

/** A CLI run's result with stdout parsed when it is one JSON object ({} for human output). */
export function withJson(r: RunResult): RunResult & { json: Record<string, unknown> } {
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    /* not JSON (human or logs output) */
  }
  return { ...r, json };
}

/** `codex-sm status --json` of a running service says what `systemctl show` says. */
export function expectStatusMatchesShow(
  json: Record<string, unknown>,
  show: Record<string, string>,
  endpoint: string,
): void {
  expect(json).to.include({
    status: 'running',
    activeState: show.ActiveState,
    subState: show.SubState,
    mainPid: Number(show.MainPID),
    nRestarts: Number(show.NRestarts),
    statusText: show.StatusText,
    endpoint,
  });
  expect(json.native).to.include({
    loadState: show.LoadState,
    unitFileState: show.UnitFileState,
  });
}

/**
 * Skip the suite, loudly, when the lab cannot run here (not root, no systemd). CI runs as root
 * on purpose: there, not running the system tier is a failure, not a skip.
 */
export function skipUnlessLab(ctx: Mocha.Context): void {
  const why = unavailable();
  if (!why) return;
  if (process.env.CI === 'true' && process.getuid?.() === 0)
    throw new Error(`CI=true as root but the systemd lab cannot run: ${why}`);
  console.log(
    `\n    !!! SYSTEM TESTS DID NOT RUN: the systemd --user lab ${why}.\n    !!! Run them as root: sudo make test-system\n`,
  );
  ctx.skip();
}

/** What labSuiteHooks takes down: the user-manager lab or the nspawn container. */
export interface SuiteLab {
  readonly dir: string;
  debugLogs(): string;
  down(opts: { keepDir?: boolean }): Promise<void>;
}

/**
 * The hooks every system suite needs; call it in the `describe`. Each test's time is noted.
 * After the suite, `first` runs (closing what the suite opened), then the lab is taken down:
 * when a test failed, its debug logs and the journal's last lines are printed and its
 * directory is kept. With a `title`, the timings are printed under it; the suite's `before`
 * adds its own steps to `timings`.
 */
export function labSuiteHooks(o: {
  lab: () => SuiteLab | undefined;
  journal: () => Promise<string>;
  title?: string;
  first?: () => Promise<void>;
}): { timings: string[]; started: number } {
  const started = Date.now();
  const timings: string[] = [];
  let failed = false;
  let t = started;
  beforeEach(() => {
    t = Date.now();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
    timings.push(`${this.currentTest?.title}: ${Date.now() - t} ms`);
  });
  after(async () => {
    await o.first?.();
    const lab = o.lab();
    if (!lab) return;
    if (failed) {
      console.log(lab.debugLogs());
      console.log(await o.journal());
      console.log(`    lab kept in ${lab.dir}`);
    }
    await lab.down({ keepDir: failed });
    if (o.title)
      console.log(
        `    ${o.title}:\n      ${[...timings, `total ${Date.now() - started} ms`].join('\n      ')}`,
      );
  });
  return { timings, started };
}
