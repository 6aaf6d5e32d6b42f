import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ensureSecrets } from '../../src/lifecycle/files.js';
import { codexCandidates, resolveCodexBin, versionFromUserAgent } from '../../src/codex.js';
import { createLogger, syslogPriority, withPriorityPrefix } from '../../src/logging.js';
import { assertTokenFilePrivate, loadOrCreateToken, tokensEqual } from '../../src/token.js';
import { bearerToken, hostAllowed } from '../../service/http.js';
import { activationFd, checkExposure, clearActivationEnv } from '../../service/listen.js';
import { formatNotify, watchdogIntervalMs } from '../../service/notify.js';
import { statusText } from '../../service/status.js';
import { childEnv, parseChildLogLine } from '../../service/app-server-launch.js';
import { backoffDelay } from '../../service/child-process.js';
import { resolveConfig } from '../../src/config/load.js';
import { tempDir } from '../../harness/service.js';

describe('logging (unit)', () => {
  it('maps pino levels to syslog priorities', () => {
    expect([10, 20, 30, 40, 50, 60].map(syslogPriority)).to.deep.equal([7, 7, 6, 4, 3, 2]);
    expect(withPriorityPrefix('{"level":40,"msg":"x"}\n')).to.equal('<4>{"level":40,"msg":"x"}\n');
  });
  it('prefixes lines only under the journal (JOURNAL_STREAM)', () => {
    const lines: string[] = [];
    const sink = { write: (s: string) => lines.push(s) };
    createLogger({ env: { JOURNAL_STREAM: '8:1234' }, destination: sink }).warn('careful');
    createLogger({ env: {}, destination: sink }).error('plain');
    expect(lines[0]).to.match(/^<4>\{"level":40,/);
    expect(lines[1]).to.match(/^\{"level":50,/);
  });
});

describe('codex discovery (unit)', () => {
  const mkExe = (p: string) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, '#!/bin/sh\necho codex-cli 9.9.9\n', { mode: 0o755 });
    return p;
  };
  it('searches config, standalone, PATH, dev dependency in that order', () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const standalone = mkExe(path.join(home, 'packages', 'standalone', 'current', 'codex'));
    const onPath = mkExe(path.join(dir, 'bin', 'codex'));
    const explicit = mkExe(path.join(dir, 'explicit', 'codex'));
    const env = { PATH: path.join(dir, 'bin') };
    expect(resolveCodexBin({ codexBin: explicit, codexHome: home, env })).to.include({
      path: explicit,
      source: 'config',
    });
    expect(resolveCodexBin({ codexHome: home, env })).to.include({
      path: standalone,
      source: 'standalone',
    });
    fs.rmSync(standalone);
    expect(resolveCodexBin({ codexHome: home, env })).to.include({ path: onPath, source: 'path' });
    expect(resolveCodexBin({ codexHome: home, env: { PATH: '' } }).source).to.equal(
      'devDependency',
    );
    expect(codexCandidates({ codexHome: home, env }).map((c) => c.source)).to.deep.equal([
      'config',
      'standalone',
      'path',
      'devDependency',
    ]);
  });
  it('refuses a broken explicit binary instead of silently picking another', () => {
    const dir = tempDir();
    expect(() => resolveCodexBin({ codexBin: path.join(dir, 'missing'), codexHome: dir })).to.throw(
      /configured codex binary .* does not exist/,
    );
  });
  it('parses the app-server version from userAgent', () => {
    expect(versionFromUserAgent('codex_cli_rs/0.169.0 (Debian 12; x86_64) xterm')).to.equal(
      '0.169.0',
    );
    expect(versionFromUserAgent('garbage')).to.equal(undefined);
  });
});

describe('token (unit)', () => {
  it('creates a 0600 token file once and reuses it; env wins', () => {
    const file = path.join(tempDir(), 'sub', 'token');
    const a = loadOrCreateToken(file, {});
    expect(a.created).to.equal(true);
    expect(a.token).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    const b = loadOrCreateToken(file, {});
    expect(b).to.include({ created: false, token: a.token });
    expect(loadOrCreateToken(file, { CODEX_SM_TOKEN: 'x'.repeat(20) })).to.include({
      source: 'env',
      token: 'x'.repeat(20),
    });
    expect(() => loadOrCreateToken(file, { CODEX_SM_TOKEN: 'short' })).to.throw(/too short/);
  });
  it('refuses a token file that group or others may read or write (exit 78, chmod hint)', () => {
    const file = path.join(tempDir(), 'token');
    loadOrCreateToken(file, {});
    expect(() => assertTokenFilePrivate(file)).to.not.throw();
    for (const mode of [0o640, 0o604, 0o620]) {
      fs.chmodSync(file, mode);
      expect(() => assertTokenFilePrivate(file))
        .to.throw(/accessible by other users/)
        .with.property('exitCode', 78);
    }
    expect(() => assertTokenFilePrivate(path.join(tempDir(), 'missing'))).to.not.throw();
  });
  it('install-service refuses a token file others can read, as serve would (nothing written)', () => {
    const dir = tempDir();
    const tokenFile = path.join(dir, 'token');
    const secretsFile = path.join(dir, 'secrets', 'env');
    fs.writeFileSync(tokenFile, 'x'.repeat(43), { mode: 0o644 });
    fs.chmodSync(tokenFile, 0o644);
    expect(() => ensureSecrets({ tokenFile, secretsFile }, []))
      .to.throw()
      .with.property('code', 'token_file_open');
    expect(fs.existsSync(secretsFile), 'nothing written').to.equal(false);
    fs.chmodSync(tokenFile, 0o600);
    expect(ensureSecrets({ tokenFile, secretsFile }, [])).to.deep.equal({ tokenCreated: false });
  });
  it('compares tokens in constant time and checks bearer headers', () => {
    expect(tokensEqual('abc', 'abc')).to.equal(true);
    expect(tokensEqual('abc', 'abd')).to.equal(false);
    expect(tokensEqual('', 'abc')).to.equal(false);
    expect(bearerToken('Bearer abc')).to.equal('abc');
    expect(bearerToken('bearer abc')).to.equal('abc');
    expect(bearerToken('Basic abc')).to.equal(undefined);
    expect(bearerToken(undefined)).to.equal(undefined);
  });
});

describe('Host allowlist (unit)', () => {
  it('allows loopback names and IP literals, and configured names only', () => {
    for (const h of [
      'localhost:3100',
      '127.0.0.1:3100',
      '[::1]:3100',
      '::1',
      'LOCALHOST',
      '10.1.2.3',
      'app.localhost',
    ]) {
      expect(hostAllowed(h, []), h).to.equal(true);
    }
    for (const h of ['evil.example', 'evil.example:3100', 'localhost.evil.example', '', undefined])
      expect(hostAllowed(h, []), String(h)).to.equal(false);
    expect(hostAllowed('devbox.tail1234.ts.net:3100', ['devbox.tail1234.ts.net'])).to.equal(true);
  });
});

describe('service building blocks (unit)', () => {
  it('backs off exponentially from 0.5 s to a 30 s cap', () => {
    expect([0, 1, 2, 3, 6, 7, 20].map((n) => backoffDelay(n, 500, 30_000))).to.deep.equal([
      500, 1000, 2000, 4000, 30_000, 30_000, 30_000,
    ]);
  });
  it('keeps systemd variables and codex-sm secrets out of the child environment', () => {
    const env = childEnv(
      {
        PATH: '/bin',
        NOTIFY_SOCKET: '/x',
        WATCHDOG_USEC: '1',
        LISTEN_FDS: '1',
        CODEX_SM_TOKEN: 's',
        HOME: '/h',
      },
      '/ch',
    );
    expect(env).to.deep.equal({ PATH: '/bin', HOME: '/h', CODEX_HOME: '/ch' });
  });
  it('maps app-server log levels and strips colours', () => {
    expect(
      parseChildLogLine(
        '\x1b[2m2026-11-22T02:24:44Z\x1b[0m \x1b[31mERROR\x1b[0m codex_app_server: boom',
      ),
    ).to.deep.equal({
      level: 'error',
      msg: '2026-11-22T02:24:44Z ERROR codex_app_server: boom',
    });
    expect(parseChildLogLine('WARNING: proceeding').level).to.equal('info');
  });
  it('says what the service is doing in one STATUS line', () => {
    expect(
      statusText(
        { state: 'ready', version: '0.169.0', pid: 42, restarts: 0 },
        { clients: 2, endpoint: 'http://127.0.0.1:3100', stopping: false },
      ),
    ).to.equal('ready: app-server 0.169.0 pid 42; 2 clients; http://127.0.0.1:3100');
    expect(
      statusText(
        { state: 'ready', version: '0.169.0', pid: 42, restarts: 0 },
        { clients: 0, stopping: false, pendingRestart: ['port', 'stateDir'] },
      ),
    ).to.equal('ready: app-server 0.169.0 pid 42; 0 clients; restart to apply port, stateDir');
    expect(
      statusText(
        {
          state: 'backoff',
          restarts: 3,
          lastError: 'app-server exited (SIGKILL)',
          nextRetryMs: 2000,
        },
        { clients: 0, stopping: false },
      ),
    ).to.equal('degraded: app-server exited (SIGKILL); retry in 2.0 s (restart 3)');
    expect(
      statusText(
        { state: 'starting', restarts: 0 },
        { clients: 0, stopping: false, startingForMs: 12_000 },
      ),
    ).to.equal('starting: starting app-server (12 s)');
  });
  it('formats sd_notify datagrams and honours WATCHDOG_PID', () => {
    expect(formatNotify({ READY: 1, STATUS: 'a\nb' })).to.equal('READY=1\nSTATUS=a b');
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '10000000' }, 5)).to.equal(5000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '5' }, 5)).to.equal(5000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '6' }, 5)).to.equal(
      undefined,
    );
    expect(watchdogIntervalMs({}, 5)).to.equal(undefined);
  });
  it('takes socket activation only when LISTEN_PID is ours, preferring the named fd', () => {
    expect(activationFd({ LISTEN_PID: '7', LISTEN_FDS: '1' }, 7)).to.deep.equal({ fd: 3 });
    expect(activationFd({ LISTEN_PID: '8', LISTEN_FDS: '1' }, 7)).to.equal(undefined);
    expect(
      activationFd({ LISTEN_PID: '7', LISTEN_FDS: '2', LISTEN_FDNAMES: 'other:http' }, 7),
    ).to.deep.equal({ fd: 4, name: 'http' });
    const env: NodeJS.ProcessEnv = {
      LISTEN_PID: '7',
      LISTEN_FDS: '1',
      LISTEN_FDNAMES: 'x',
      KEEP: '1',
    };
    clearActivationEnv(env);
    expect(env).to.deep.equal({ KEEP: '1' });
  });
  it('refuses a non-loopback bind without TLS unless --insecure-bind', () => {
    const dir = tempDir();
    const base = { env: { HOME: dir, XDG_CONFIG_HOME: dir } };
    expect(() =>
      checkExposure(resolveConfig({ ...base, flags: { host: '0.0.0.0' } }).config),
    ).to.throw(/without TLS/);
    expect(() =>
      checkExposure(
        resolveConfig({ ...base, flags: { host: '0.0.0.0', insecureBind: true } }).config,
      ),
    ).to.not.throw();
    expect(() =>
      checkExposure(resolveConfig({ ...base, flags: { host: '127.0.0.1' } }).config),
    ).to.not.throw();
  });
});

describe('sd_notify socket kinds (unit)', () => {
  it('is a no-op without NOTIFY_SOCKET and says so loudly for an abstract socket', async () => {
    const { createNotifier } = await import('../../service/notify.js');
    const lines: string[] = [];
    const logger = createLogger({ env: {}, destination: { write: (s: string) => lines.push(s) } });
    expect(createNotifier({}, logger).enabled).to.equal(false);
    const abstract = createNotifier(
      { NOTIFY_SOCKET: '@/org/freedesktop/systemd1/notify/123' },
      logger,
    );
    expect(abstract.enabled).to.equal(true);
    expect(lines.join('')).to.match(/NOTIFY_SOCKET is abstract.*systemd-notify/);
  });
});
