/**
 * System tests in a container with a REAL systemd PID 1, journald, dbus and logind
 * (./nspawn-lab.ts): what the user-manager lab cannot show.
 *  1. `install-service --system`: the hardened system unit, run as its User=, with the Codex
 *     sandbox (bubblewrap) really running a command under that hardening.
 *  2. Linger with a real logind: the warning when it is off (and the service really stops at
 *     logout), `--enable-linger` really enabling it (and the service surviving logout).
 *
 * Needs root, systemd-nspawn and debootstrap (and, for the first run, the Debian mirror).
 * Without them the suite says loudly that it did not run; on CI as root only an unreachable
 * mirror is an excuse.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import { TestClient } from '../../harness/service.js';
import { expectStatusMatchesShow, freePort, httpStatus, labSuiteHooks, waitFor } from './lab.js';
import {
  LOGIN_USER,
  mirrorUnreachable,
  NspawnLab,
  rootfsCached,
  SYSTEM_USER,
  unavailable,
} from './nspawn-lab.js';

const UNIT = 'codex-sm.service';
const SHOW = ['LoadState', 'ActiveState', 'SubState', 'MainPID', 'NRestarts', 'StatusText'];
const SHOW_ALL = [...SHOW, 'UnitFileState', 'User', 'FragmentPath'];

const userText = (text: string) => [{ type: 'text', text, text_elements: [] }];

describe('systemd system unit and linger (real systemd PID 1 + logind in systemd-nspawn)', function () {
  this.timeout(90_000);
  let lab: NspawnLab | undefined;
  let fake: FakeResponsesServer;
  const { timings, started } = labSuiteHooks({
    lab: () => lab,
    journal: async () => (await lab?.exec(['journalctl', '-n', '100', '--no-pager']))?.stdout ?? '',
    title: 'nspawn system test timings',
    first: async () => fake?.close(),
  });

  before(async function () {
    this.timeout(600_000); // the first run builds the rootfs (debootstrap, ~1 min)
    const notHere = unavailable();
    const ciRoot = process.env.CI === 'true' && process.getuid?.() === 0;
    if (notHere && ciRoot)
      throw new Error(`CI=true as root but the nspawn lab cannot run: ${notHere}`);
    // Only the network is an excuse on CI: debootstrap needs the Debian mirror once.
    const why = notHere ?? (rootfsCached() ? undefined : await mirrorUnreachable());
    if (why) {
      console.log(
        `\n    !!! SYSTEM-UNIT AND LINGER TESTS DID NOT RUN: the nspawn lab ${why}.\n    !!! Run them as root with the Debian mirror reachable: sudo make test-system\n`,
      );
      this.skip();
    }
    const cached = rootfsCached();
    lab = await NspawnLab.up();
    timings.push(
      `container up ${Date.now() - started} ms (${cached ? 'cached rootfs' : 'debootstrap'})`,
    );
    fake = await startFakeResponses();
  });

  const L = () => lab as NspawnLab;
  /** Whether a path exists in the container (a symlink counts: its target is a container path). */
  const exists = (p: string) => {
    try {
      fs.lstatSync(L().hostPath(p));
      return true;
    } catch {
      return false;
    }
  };

  describe('install-service --system (root install, hardened system unit)', () => {
    const home = `/home/${SYSTEM_USER.name}`;
    const work = `${home}/work`;
    let port: number;
    let token = '';
    const scope = ['--system', '--run-as', SYSTEM_USER.name, '--json'];
    const show = () => L().show(UNIT, SHOW_ALL);
    const readyz = () => httpStatus(`http://127.0.0.1:${port}/readyz`);

    before(async () => {
      port = await freePort();
      // The service account's config (read by the service at run time): the fake model, short budgets.
      L().writeFile(
        `${home}/.config/codex-sm/config.json`,
        JSON.stringify({ stopTimeoutMs: 1000, appServer: { args: fake.codexArgs() } }),
        SYSTEM_USER,
      );
      fs.mkdirSync(L().hostPath(work));
      fs.chownSync(L().hostPath(work), SYSTEM_USER.uid, SYSTEM_USER.uid);
    });

    it('install as root: "active" only after READY=1, the unit runs as its User=', async () => {
      const seen: { state: string; ready: number }[] = [];
      let done = false;
      const install = L()
        .cli(['install-service', ...scope, '--port', String(port), '--watchdog-sec', '5'])
        .finally(() => (done = true));
      while (!done) {
        const state = (await L().exec(['systemctl', 'is-active', UNIT])).stdout.trim();
        seen.push({ state, ready: state === 'active' ? await readyz() : -1 });
      }
      const r = await install;
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.json).to.include({ status: 'installed', backend: 'systemd', activeState: 'active' });
      expect(r.json.unitPath).to.equal(`/etc/systemd/system/${UNIT}`);
      // Read first: the sandbox tests below need it even if a later check here fails.
      const tokenFile = L().hostPath(`${home}/.config/codex-sm/token`);
      expect(fs.statSync(tokenFile).uid).to.equal(SYSTEM_USER.uid);
      expect(fs.statSync(tokenFile).mode & 0o777).to.equal(0o600);
      token = fs.readFileSync(tokenFile, 'utf8').trim();
      expect(seen.map((s) => s.state)).to.include('activating');
      for (const s of seen.filter((x) => x.state === 'active'))
        expect(s.ready, 'active implies ready').to.equal(200);
      const s = await show();
      expect(s).to.include({
        ActiveState: 'active',
        User: SYSTEM_USER.name,
        UnitFileState: 'enabled',
      });
      expect(exists(`/etc/systemd/system/multi-user.target.wants/${UNIT}`)).to.equal(true);
      // Every process of the unit (node and the app-server) runs as the service account.
      const ps = await L().exec([
        'ps',
        '-o',
        'user=,comm=',
        '--ppid',
        s.MainPID as string,
        '-p',
        s.MainPID as string,
      ]);
      const users = ps.stdout
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/)[0]);
      expect(users.length, ps.stdout).to.be.greaterThan(1);
      expect(new Set(users), ps.stdout).to.deep.equal(new Set([SYSTEM_USER.name]));
      expect(await readyz(), 'reachable from the host').to.equal(200);
    });

    it('the unit is clean under systemd-analyze verify in the container', async () => {
      const r = await L().exec(['systemd-analyze', 'verify', `/etc/systemd/system/${UNIT}`]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr.trim(), 'no warnings').to.equal('');
    });

    it('status --system --json agrees with systemctl show', async () => {
      const r = await L().cli(['status', ...scope]);
      const s = await show();
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expectStatusMatchesShow(r.json, s, `http://127.0.0.1:${port}`);
      expect((r.json.service as { pid: number }).pid).to.be.a('number');
    });

    for (const mode of ['workspace-write', 'read-only'] as const) {
      it(`the Codex sandbox (${mode}) runs commands under the hardened unit`, async () => {
        const marker = `${work}/marker-${mode}`;
        fake.enqueue(
          { kind: 'exec', command: [`echo sandboxed-${mode}; touch ${marker}`] }, // one shell line
          { kind: 'text', text: 'done' },
        );
        const c = await TestClient.connect(`ws://127.0.0.1:${port}/`, {
          authorization: `Bearer ${token}`,
        });
        try {
          await c.initialize();
          const started = await c.request('thread/start', {
            cwd: work,
            approvalPolicy: 'never',
            sandbox: mode,
          });
          const threadId = (started.thread as { id: string }).id;
          await c.request('turn/start', { threadId, input: userText('run it') });
          const done = await c.waitFor((m) => m.method === 'turn/completed', 60_000);
          expect((done.params as { turn: { status: string } }).turn.status).to.equal('completed');
          // What the app-server sent back to the model for the exec call: the command's own output.
          const result = fake.requests
            .flatMap((r) => (r as { input?: { type: string; output?: string }[] }).input ?? [])
            .filter((x) => x.type === 'function_call_output')
            .map((x) => String(x.output))
            .find((o) => o.includes(`sandboxed-${mode}`));
          expect(result, 'the command ran and its output reached the model').to.be.a('string');
          const wrote = fs.existsSync(L().hostPath(marker));
          if (mode === 'workspace-write') {
            expect(result).to.match(/exited with code 0/);
            expect(wrote, 'the command wrote in its workspace').to.equal(true);
            const item = c.messages
              .filter((m) => m.method === 'item/completed')
              .map((m) => (m.params as { item: Record<string, unknown> }).item)
              .find((x) => x.type === 'commandExecution');
            expect(item, 'item/completed for the command').to.include({ exitCode: 0 });
          } else {
            // The sandbox is enforced (bubblewrap ran), not bypassed: the write was refused.
            expect(wrote, 'a read-only sandbox let the command write').to.equal(false);
            expect(result).to.match(/Read-only file system/);
          }
        } finally {
          c.close();
        }
      });
    }

    it('SIGKILL: systemd restarts the service (NRestarts grows, ready again)', async () => {
      const before = await show();
      // Never `kill 0`: it would signal nsenter's process group, i.e. this test run.
      expect(Number(before.MainPID), 'a main PID to kill').to.be.greaterThan(0);
      await L().exec(['kill', '-KILL', before.MainPID as string]);
      const after = await waitFor(
        'a restart after SIGKILL',
        async () => {
          const s = await show();
          return (
            s.ActiveState === 'active' && s.MainPID !== before.MainPID && s.MainPID !== '0' && s
          );
        },
        30_000,
      );
      expect(Number(after.NRestarts)).to.equal(Number(before.NRestarts) + 1);
      expect(await readyz()).to.equal(200);
    });

    it("journalctl -u codex-sm has the service's own lines (and codex-sm logs --system shows them)", async () => {
      const j = await L().exec(['journalctl', '-u', UNIT, '-o', 'cat', '--no-pager']);
      expect(j.stdout).to.match(/"msg":"listening"/);
      const logs = await L().cli(['logs', '--system', '--run-as', SYSTEM_USER.name, '-n', '20']);
      expect(logs.code, logs.stderr).to.equal(0);
      expect(logs.stdout).to.match(/codex-sm\[\d+\]: /);
    });

    it('uninstall-service --system leaves no unit, process or listener behind', async () => {
      const r = await L().cli(['uninstall-service', ...scope]);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.json.status).to.equal('uninstalled');
      expect(exists(`/etc/systemd/system/${UNIT}`)).to.equal(false);
      expect(exists(`/etc/systemd/system/multi-user.target.wants/${UNIT}`)).to.equal(false);
      expect((await show()).LoadState).to.equal('not-found');
      const left = await L().exec(['pgrep', '-u', SYSTEM_USER.name]);
      expect(left.stdout.trim(), 'processes of the service account').to.equal('');
      expect(await readyz()).to.equal(0);
    });
  });

  describe('linger with a real logind (user unit)', () => {
    const user = LOGIN_USER;
    const home = `/home/${user.name}`;
    let port: number;
    const readyz = () => httpStatus(`http://127.0.0.1:${port}/readyz`);
    const lingerFile = () => L().hostPath(`/var/lib/systemd/linger/${user.name}`);
    const loginctlLinger = async () =>
      (
        await L().exec(['loginctl', 'show-user', user.name, '-p', 'Linger', '--value'])
      ).stdout.trim();
    const managerActive = async () =>
      (await L().exec(['systemctl', 'is-active', `user@${user.uid}.service`])).stdout.trim();

    /** A login session (PAM + pam_systemd, like ssh): logind starts the user's manager for it. */
    async function login(): Promise<void> {
      const r = await L().exec([
        'systemd-run',
        '--unit=lab-login',
        '-p',
        'PAMName=login',
        '-p',
        `User=${user.name}`,
        'sleep',
        'infinity',
      ]);
      expect(r.code, r.stderr).to.equal(0);
      await waitFor('the user manager', async () => (await managerActive()) === 'active', 20_000);
    }
    async function logout(): Promise<void> {
      await L().exec(['systemctl', 'stop', 'lab-login']);
    }
    const install = (...extra: string[]) =>
      L().cli(['install-service', '--json', '--port', String(port), ...extra], { user });

    before(async () => {
      port = await freePort();
      L().writeFile(
        `${home}/.config/codex-sm/config.json`,
        JSON.stringify({ stopTimeoutMs: 1000 }),
        user,
      );
    });

    it('linger off: install warns that the service stops at logout, and it does', async () => {
      await login();
      expect(await loginctlLinger()).to.equal('no');
      const r = await install();
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.json).to.include({ status: 'installed', activeState: 'active', linger: false });
      expect((r.json.warnings as string[]).join('\n')).to.match(
        /linger is off for cxuser: the service stops when/,
      );
      expect(await readyz()).to.equal(200);
      await logout();
      await waitFor(
        'the user manager to stop at logout',
        async () => (await managerActive()) !== 'active',
        20_000,
      );
      await waitFor('the service to be gone', async () => (await readyz()) === 0, 10_000);
    });

    it('install --enable-linger really enables linger (loginctl says so), status reports it', async () => {
      await login();
      const r = await install('--enable-linger');
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.json).to.include({ status: 'installed', activeState: 'active', linger: true });
      expect(((r.json.warnings as string[] | undefined) ?? []).join('\n')).to.not.match(/linger/);
      expect(await loginctlLinger()).to.equal('yes');
      expect(fs.existsSync(lingerFile())).to.equal(true);
      const st = await L().cli(['status', '--json'], { user });
      expect(st.json).to.include({ status: 'running', linger: true });
    });

    it('with linger on, the service survives logout', async () => {
      const pid = (await L().show(UNIT, ['MainPID'], user)).MainPID;
      await logout();
      await new Promise((r) => setTimeout(r, 1500)); // logind would stop the manager at once (UserStopDelaySec=0)
      expect(await managerActive()).to.equal('active');
      expect((await L().show(UNIT, ['MainPID'], user)).MainPID).to.equal(pid);
      expect(await readyz()).to.equal(200);
    });
  });
});
