/**
 * The Codex TUI through codex-sm: the real `codex --remote ws://... --remote-auth-token-env`
 * in tmux, the real app-server behind codex-sm, a FAKE Responses API for the model.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { resolveCodexBin } from '../../src/codex.js';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import { startService, waitReady, type ServiceProcess } from '../../harness/service.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const tmux = (...a: string[]) => execFileSync('tmux', a, { encoding: 'utf8' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitPane(session: string, re: RegExp, timeoutMs = 30_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let pane = '';
  while (Date.now() < until) {
    pane = tmux('capture-pane', '-p', '-t', session);
    if (re.test(pane)) return pane;
    await sleep(250);
  }
  throw new Error(`pane never matched ${re}:\n${pane}`);
}

async function typePrompt(session: string, text: string): Promise<void> {
  tmux('send-keys', '-t', session, '-l', text);
  await sleep(800); // otherwise Enter is taken as part of a paste
  tmux('send-keys', '-t', session, 'Enter');
}

describe('codex --remote (the Codex TUI) through codex-sm (real TUI in tmux, fake Responses API)', function () {
  this.timeout(120_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;
  let bin: string;
  const session = `codex-sm-tui-${process.pid}`;

  before(async function () {
    if (!hasTmux) {
      console.warn(
        '\n  !!! tmux is not installed: the Codex TUI test did NOT run (apt-get install tmux; .ci/run does) !!!\n',
      );
      this.skip();
    }
    fake = await startFakeResponses();
    svc = await startService({
      config: { appServer: { args: fake.codexArgs(), backoffInitialMs: 100 } },
    });
    await waitReady(svc);
    bin = resolveCodexBin({ codexHome: svc.codexHome, env: { PATH: '' } }).path;
  });

  after(async () => {
    try {
      tmux('kill-session', '-t', session);
    } catch {
      /* not running */
    }
    await svc?.stop();
    await fake?.close();
  });

  function launch(name: string, token: string): void {
    const home = path.join(svc.dir, `${name}-home`);
    fs.mkdirSync(home, { recursive: true });
    tmux(
      'new-session',
      '-d',
      '-s',
      name,
      '-x',
      '120',
      '-y',
      '40',
      '-e',
      `CODEX_SM_TOKEN=${token}`,
      '-e',
      `CODEX_HOME=${home}`,
      'sh',
      '-c',
      `cd '${svc.dir}' && '${bin}' --remote ${svc.wsUrl} --remote-auth-token-env CODEX_SM_TOKEN; echo "TUI-EXIT=$?"; sleep 60`,
    );
  }

  it('starts, answers a prompt, and keeps working after the app-server is killed and restarted', async () => {
    fake.enqueue(
      { kind: 'text', text: 'PONG-through-codex-sm' },
      { kind: 'text', text: 'a title' },
    );
    launch(session, svc.token);
    await waitPane(session, /Ask Codex to do anything/);
    await typePrompt(session, 'say pong');
    await waitPane(session, /PONG-through-codex-sm/);

    const st = (await (
      await fetch(`${svc.endpoint}/status`, { headers: { authorization: `Bearer ${svc.token}` } })
    ).json()) as {
      appServer: { pid: number };
      clients: number;
    };
    expect(st.clients).to.be.at.least(1);
    process.kill(st.appServer.pid, 'SIGKILL');
    await waitReady(svc);
    await sleep(3000); // the TUI reconnects (backing off) and resumes its thread
    fake.enqueue(
      { kind: 'text', text: 'SECOND-REPLY-after-restart' },
      { kind: 'text', text: 'a title' },
    );
    await typePrompt(session, 'again');
    await waitPane(session, /SECOND-REPLY-after-restart/, 60_000);
  });

  it('exits with 401 Unauthorized on a wrong token', async () => {
    const name = `${session}-bad`;
    launch(name, 'wrong-token-wrong-token');
    const pane = await waitPane(name, /TUI-EXIT=\d+/);
    expect(pane).to.match(/401/);
    expect(pane).to.match(/TUI-EXIT=1/);
    tmux('kill-session', '-t', name);
  });
});
