/** How the app-server is launched and restarted: argv, remote-control notifications, the turn count a restart waits on. */
import { expect } from 'chai';
import { appServerArgv, parseRemoteControlStatus } from '../../service/app-server-launch.js';
import { serviceState, statusText } from '../../service/status.js';
import { remoteControlPhrase, type RemoteControlJson } from '../../service/status-json.js';
import { TurnActivity } from '../../service/turns.js';

describe('app-server launch', () => {
  it('adds --managed-daemon always and --remote-control when the settings say so, before --listen', () => {
    const args = ['-c', 'model="m"'];
    expect(appServerArgv(args, 'unix:///s.sock', { remoteControl: false })).to.deep.equal([
      'app-server',
      '-c',
      'model="m"',
      '--managed-daemon',
      '--listen',
      'unix:///s.sock',
    ]);
    expect(appServerArgv([], 'ws://127.0.0.1:0', { remoteControl: true })).to.deep.equal([
      'app-server',
      '--managed-daemon',
      '--remote-control',
      '--listen',
      'ws://127.0.0.1:0',
    ]);
  });

  it('does not repeat a flag the configured args already carry', () => {
    const argv = appServerArgv(['--remote-control', '--managed-daemon'], 'unix:///s', {
      remoteControl: true,
    });
    expect(argv.filter((a) => a === '--remote-control')).to.have.length(1);
    expect(argv.filter((a) => a === '--managed-daemon')).to.have.length(1);
  });

  it('reads remoteControl/status/changed params and ignores anything else', () => {
    expect(
      parseRemoteControlStatus({
        status: 'errored',
        serverName: 'devbox',
        installationId: 'x',
        environmentId: null,
      }),
    ).to.deep.equal({ status: 'errored', serverName: 'devbox' });
    expect(parseRemoteControlStatus({ status: 'connected' })).to.deep.equal({
      status: 'connected',
      serverName: null,
    });
    for (const bad of [null, 'errored', {}, { status: 'on' }, { status: 1 }])
      expect(parseRemoteControlStatus(bad), JSON.stringify(bad)).to.equal(undefined);
  });

  it('says remote control in a few words: how the app-server was launched, then what it reports', () => {
    const rc = (over: Partial<RemoteControlJson>): RemoteControlJson => ({
      enabled: true,
      status: null,
      serverName: null,
      ...over,
    });
    // Disabled: the app-server's own `disabled` report is not repeated, nor is a missing one shown.
    expect(remoteControlPhrase(rc({ enabled: false, status: 'disabled' }))).to.equal('disabled');
    expect(remoteControlPhrase(rc({ enabled: false }))).to.equal('disabled');
    expect(remoteControlPhrase(rc({}))).to.equal('enabled (not reported yet)');
    expect(remoteControlPhrase(rc({ status: 'connecting', serverName: 'box' }))).to.equal(
      'enabled (connecting)',
    );
    expect(remoteControlPhrase(rc({ status: 'connected', serverName: 'box' }))).to.equal(
      'enabled (connected as box)',
    );
    expect(remoteControlPhrase(rc({ status: 'connected' }))).to.equal('enabled (connected)');
    expect(remoteControlPhrase(rc({ status: 'errored', serverName: 'box' }))).to.equal(
      'enabled (errored)',
    );
  });

  it('says a requested restart is under way in STATUS= and in the service state', () => {
    const app = { state: 'restarting' as const, restarts: 2, pid: 41 };
    expect(serviceState(app, false)).to.equal('degraded');
    expect(statusText(app, { clients: 0, stopping: false })).to.equal(
      'degraded: restarting app-server on request (stopping pid 41)',
    );
  });
});

describe('TurnActivity (what an app-server restart waits for)', () => {
  it('sums its sources and resolves a wait as soon as a change brings the count to 0', async () => {
    const turns = new TurnActivity();
    let a = 1;
    let b = 1;
    turns.addSource(() => a);
    turns.addSource(() => b);
    expect(turns.running).to.equal(2);
    const idle = turns.waitIdle(60_000);
    a = 0;
    turns.changed();
    b = 0;
    turns.changed();
    expect(await idle).to.equal(0);
  });

  it('answers at once when idle, when not asked to wait, or when closed (stopping)', async () => {
    const turns = new TurnActivity();
    let n = 0;
    turns.addSource(() => n);
    expect(await turns.waitIdle(60_000)).to.equal(0);
    n = 3;
    expect(await turns.waitIdle(0)).to.equal(3);
    const waiting = turns.waitIdle(60_000);
    turns.close();
    expect(await waiting).to.equal(3);
    expect(await turns.waitIdle(60_000)).to.equal(3);
  });
});
