/**
 * A SIMULATED launchd for tests on Linux: a fake `launchctl` executable (a small node script)
 * put first on PATH, so the launchd backend runs it through the real execRunner. It keeps
 * launchd's state in a JSON file, records every argv, and imitates what the field reports say
 * launchd does: bootout is asynchronous (the service stays visible to `print` for a few polls),
 * bootstrap of a loaded or draining service fails with 5, gui/<uid> refuses with 125 without an
 * Aqua session, a `disable` override survives bootout, and failures can be injected per verb
 * (5, 37, 125, ...).
 *
 * A tiny real HTTP server stands in for the service's /readyz and /status: it answers 200 only
 * while the simulated job is running, after a configurable number of not-yet-ready polls.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface FakeService {
  domain: string;
  plist: string;
  definition: string;
  state: string;
  pid?: number;
  runs: number;
  lastExit?: number;
  /** print calls left during which a booted-out service is still visible. */
  draining?: number;
}

export interface FakeInjection {
  code: number;
  stderr: string;
}

export interface FakeState {
  /** Is there an Aqua (GUI) login session? false = logged in over SSH only. */
  gui: boolean;
  /** Make `enable gui/<uid>/...` fail with 125 too when there is no GUI session. */
  enableNeedsGui?: boolean;
  /** How many `print` calls a booted-out service stays visible. */
  bootoutPolls: number;
  nextPid: number;
  /** A started job exits at once with this code (launchd then shows it as spawn scheduled). */
  crashWith?: number;
  disabled: string[];
  /** One-shot failures by verb, consumed first-in first-out. */
  inject: Record<string, FakeInjection[]>;
  /** Keyed by service target (gui/501/label). */
  services: Record<string, FakeService>;
}

const SCRIPT = String.raw`#!/usr/bin/env node
// Fake launchctl (test simulation; see test/sim/launchd-fake.ts).
const fs = require('fs');
const path = require('path');
const dir = process.env.FAKE_LAUNCHCTL_DIR;
const stateFile = path.join(dir, 'state.json');
const argv = process.argv.slice(2);
fs.appendFileSync(path.join(dir, 'calls.jsonl'), JSON.stringify(argv) + '\n');
const st = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
const save = () => fs.writeFileSync(stateFile, JSON.stringify(st, null, 2));
const die = (code, msg) => { if (msg) process.stderr.write(msg + '\n'); save(); process.exit(code); };
const verb = argv[0];
const queue = st.inject[verb];
if (queue && queue.length) { const f = queue.shift(); die(f.code, f.stderr); }
const labelOf = (xml) => (/<key>Label<\/key>\s*<string>([^<]*)<\/string>/.exec(xml) || [])[1];
const argsOf = (xml) => {
  const m = /<key>ProgramArguments<\/key>\s*<array>([\s\S]*?)<\/array>/.exec(xml);
  return m ? [...m[1].matchAll(/<string>([^<]*)<\/string>/g)].map((x) => x[1]) : [];
};
const startJob = (svc) => {
  svc.runs += 1;
  if (st.crashWith !== undefined && st.crashWith !== null) {
    svc.state = 'spawn scheduled'; delete svc.pid; svc.lastExit = st.crashWith;
  } else {
    svc.state = 'running'; svc.pid = st.nextPid++;
  }
};
const notFound = (t) => die(113, 'Could not find service "' + t.split('/').pop() + '" in domain for port');
const isGui = (d) => d.startsWith('gui/');
switch (verb) {
  case 'print': {
    const t = argv[1];
    const svc = st.services[t];
    if (!svc) notFound(t);
    if (svc.draining !== undefined) {
      if (svc.draining <= 0) { delete st.services[t]; notFound(t); }
      svc.draining -= 1;
    }
    const T = '\t';
    const out = [t + ' = {', T + 'active count = ' + (svc.pid ? 1 : 0), T + 'path = ' + svc.plist, T + 'type = LaunchAgent',
      T + 'state = ' + svc.state, '', T + 'program = ' + (argsOf(svc.definition)[0] || ''), T + 'arguments = {',
      ...argsOf(svc.definition).map((a) => T + T + a), T + '}', '', T + 'domain = ' + svc.domain + (isGui(svc.domain) ? ' [100005]' : ''),
      T + 'runs = ' + svc.runs, ...(svc.pid ? [T + 'pid = ' + svc.pid] : []),
      T + 'last exit code = ' + (svc.lastExit === undefined ? '(never exited)' : svc.lastExit + (svc.lastExit === 78 ? ': EX_CONFIG' : '')),
      '', T + 'resource coalition = {', T + T + 'ID = 4242', T + T + 'state = active', T + T + 'pid = 1', T + '}', '',
      T + 'properties = keepalive | runatload | inferred program', '}'];
    process.stdout.write(out.join('\n') + '\n');
    die(0);
  }
  case 'bootstrap': {
    const [, domain, plist] = argv;
    if (isGui(domain) && !st.gui) die(125, 'Bootstrap failed: 125: Domain does not support specified action');
    let xml;
    try { xml = fs.readFileSync(plist, 'utf8'); } catch { die(2, 'Bootstrap failed: 2: No such file or directory'); }
    const label = labelOf(xml);
    if (!label) die(5, 'Bootstrap failed: 5: Input/output error');
    const t = domain + '/' + label;
    const loaded = Object.keys(st.services).some((k) => k.endsWith('/' + label));
    if (loaded || st.disabled.includes(t)) die(5, 'Bootstrap failed: 5: Input/output error\nTry re-running the command as root for richer errors.');
    const svc = { domain, plist, definition: xml, state: 'waiting', runs: 0 };
    st.services[t] = svc;
    if (xml.includes('<key>RunAtLoad</key>\n\t\t<true/>') || /<key>RunAtLoad<\/key>\s*<true\/>/.test(xml)) startJob(svc);
    die(0);
  }
  case 'bootout': {
    const t = argv[1];
    const svc = st.services[t];
    if (!svc) die(113, 'Boot-out failed: 113: Could not find specified service');
    if (svc.draining === undefined) { svc.draining = st.bootoutPolls; svc.state = 'SIGTERMed'; }
    die(0);
  }
  case 'enable':
  case 'disable': {
    const t = argv[1];
    if (isGui(t) && !st.gui && st.enableNeedsGui) die(125, 'Could not enable service: 125: Domain does not support specified action');
    st.disabled = st.disabled.filter((x) => x !== t);
    if (verb === 'disable') st.disabled.push(t);
    die(0);
  }
  case 'kickstart': {
    const kill = argv.includes('-k');
    const t = argv[argv.length - 1];
    const svc = st.services[t];
    if (!svc || svc.draining !== undefined) notFound(t);
    if (kill || !svc.pid) { if (kill && svc.pid) svc.lastExit = 0; startJob(svc); }
    die(0);
  }
  default:
    die(64, 'Unrecognized subcommand: ' + verb);
}
`;

export interface FakeLaunchd {
  dir: string;
  binDir: string;
  read(): FakeState;
  update(fn: (s: FakeState) => void): void;
  /** Every argv the fake received, in order. */
  calls(): string[][];
  clearCalls(): void;
  /** The running simulated job for a label, in any domain. */
  running(label: string): FakeService | undefined;
  restore(): void;
}

/** Install the fake launchctl first on PATH (restore() puts PATH back). */
export function installFakeLaunchctl(initial: Partial<FakeState> = {}): FakeLaunchd {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-launchd-'));
  const binDir = path.join(dir, 'bin');
  fs.mkdirSync(binDir);
  fs.writeFileSync(path.join(binDir, 'launchctl'), SCRIPT, { mode: 0o755 });
  const stateFile = path.join(dir, 'state.json');
  const state: FakeState = {
    gui: true,
    bootoutPolls: 3,
    nextPid: 1000,
    disabled: [],
    inject: {},
    services: {},
    ...initial,
  };
  fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
  fs.writeFileSync(path.join(dir, 'calls.jsonl'), '');
  const savedPath = process.env.PATH;
  const savedDir = process.env.FAKE_LAUNCHCTL_DIR;
  process.env.PATH = `${binDir}${path.delimiter}${savedPath ?? ''}`;
  process.env.FAKE_LAUNCHCTL_DIR = dir;
  const read = (): FakeState => JSON.parse(fs.readFileSync(stateFile, 'utf8')) as FakeState;
  return {
    dir,
    binDir,
    read,
    update(fn) {
      const s = read();
      fn(s);
      fs.writeFileSync(stateFile, JSON.stringify(s, null, 2));
    },
    calls() {
      return fs
        .readFileSync(path.join(dir, 'calls.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as string[]);
    },
    clearCalls() {
      fs.writeFileSync(path.join(dir, 'calls.jsonl'), '');
    },
    running(label) {
      const s = read();
      const svc = Object.entries(s.services).find(([t]) => t.endsWith(`/${label}`))?.[1];
      return svc && svc.state === 'running' && svc.pid !== undefined && svc.draining === undefined
        ? svc
        : undefined;
    },
    restore() {
      process.env.PATH = savedPath;
      if (savedDir === undefined) delete process.env.FAKE_LAUNCHCTL_DIR;
      else process.env.FAKE_LAUNCHCTL_DIR = savedDir;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface FakeServiceHttp {
  endpoint: string;
  /** /readyz calls answered 503 for each new pid before it turns ready. */
  notReadyPolls: number;
  readyzCalls: number;
  /**
   * Called on each /readyz before it is answered (the job as the server saw it on arrival):
   * lets a test act at a known point of a start, e.g. unload the job as a `launchctl bootout` would.
   */
  onReadyz?: () => void;
  close(): Promise<void>;
}

/** The service's HTTP face, driven by the simulated launchd state. */
export async function serveFakeService(
  fake: FakeLaunchd,
  label: string,
  token: string,
): Promise<FakeServiceHttp> {
  const pollsByPid = new Map<number, number>();
  const ctl: FakeServiceHttp = {
    endpoint: '',
    notReadyPolls: 2,
    readyzCalls: 0,
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const job = fake.running(label);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.url === '/readyz') {
      ctl.readyzCalls++;
      ctl.onReadyz?.();
      if (!job?.pid) return send(503, { ready: false });
      const n = (pollsByPid.get(job.pid) ?? 0) + 1;
      pollsByPid.set(job.pid, n);
      return n > ctl.notReadyPolls ? send(200, { ready: true }) : send(503, { ready: false });
    }
    if (req.url === '/status') {
      if (req.headers.authorization !== `Bearer ${token}`)
        return send(401, { error: { code: 'unauthorized' } });
      if (!job?.pid) return send(503, {});
      return send(200, {
        service: 'codex-sm',
        version: '0.1.0',
        pid: job.pid,
        uptimeSec: 1,
        state: 'ready',
        statusText: `ready; app-server 0.169.0 (simulated pid ${job.pid})`,
        appServer: { state: 'ready', version: '0.169.0', restarts: 0 },
        clients: 0,
      });
    }
    send(404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ctl.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ctl.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return ctl;
}
