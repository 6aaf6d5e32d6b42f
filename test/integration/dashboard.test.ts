/**
 * The dashboard in a real headless Chromium (Debian's, via playwright-core) against the real
 * service and the REAL app-server, with a FAKE Responses API (the only fake: OpenAI's API
 * cannot run here) and a generated CODEX_HOME of 120 sessions. Each step is what a person on a
 * phone does: log in (token, and a one-time code link), see the status, page and search the
 * sessions, start one and watch the reply arrive, approve a command and a file change (its
 * diff shown) from the inbox, read the model's reasoning summary, log out.
 * Screenshots go to a temp dir, or to docs/dashboard/ with UPDATE_SCREENSHOTS=1.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  addFilePatch,
  PATCH_MODEL,
  startFakeResponses,
  type FakeResponsesServer,
} from '../../harness/fake-responses.js';
import { generateHome, type GenResult } from '../../harness/gen-home.js';
import { readSettings, writeSettings } from '../../src/settings.js';
import {
  REPO_ROOT,
  startService,
  tempDir,
  waitReady,
  type ServiceProcess,
} from '../../harness/service.js';
import { launchChromium } from '../helpers/browser.js';
import { EventStream } from '../helpers/queues-api.js';
import { SseClient } from '../helpers/sessions-sse.js';
import { serviceFetch } from '../helpers/http.js';

const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? path.join(REPO_ROOT, 'docs', 'dashboard')
  : tempDir('codex-sm-shots-');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

describe('dashboard in a real Chromium (real service and app-server, FAKE Responses API)', function () {
  this.timeout(120_000);
  let browser: Browser | undefined;
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;
  let home: GenResult;
  let ctx: BrowserContext;
  let page: Page;

  const shot = (p: Page, name: string) =>
    p.screenshot({ path: path.join(SHOTS, `${name}.png`), animations: 'disabled' });
  /** No page is wider than the screen: nothing to scroll sideways. */
  const noSideways = (p: Page) =>
    p.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
  const phoneContext = () =>
    browser!.newContext({
      viewport: PHONE,
      deviceScaleFactor: 1,
      isMobile: true,
      hasTouch: true,
      colorScheme: 'light',
    });
  const logIn = async (p: Page) => {
    await p.goto(`${svc.endpoint}/`);
    await p.locator('input[name=token]').fill(svc.token);
    await p.getByRole('button', { name: 'Log in' }).click();
    await p.getByRole('navigation', { name: 'pages' }).waitFor();
  };

  /**
   * A new session from the sessions page, asking before it runs or writes anything. Its
   * sandbox may write the working directory, so what did not happen before the approval was
   * held back by the approval alone; and an approved command writes its file whether or not the
   * app-server runs it inside the sandbox. (Under read-only, 0.169 sometimes runs a command
   * approved within a second inside the sandbox, where its write fails: seen in about one turn
   * in 10 to 30.)
   */
  const newAskingSession = async (p: Page): Promise<string> => {
    await p.goto(`${svc.endpoint}/ui/#/sessions`);
    await p.getByRole('button', { name: 'New session' }).click();
    await p.locator('input[name=cwd]').fill(svc.dir);
    await p.locator('select[name=approvalPolicy]').selectOption('untrusted');
    await p.locator('select[name=sandbox]').selectOption('workspace-write');
    await p.getByRole('button', { name: 'Start' }).click();
    await p.waitForURL(/#\/s\//);
    await p.locator('.live.on').waitFor();
    return p.url();
  };
  const send = async (p: Page, text: string) => {
    await p.getByRole('textbox', { name: 'message' }).fill(text);
    await p.getByRole('button', { name: 'Send' }).click();
  };

  before(async function () {
    browser = await launchChromium();
    if (!browser) return this.skip();
    fake = await startFakeResponses();
    const dir = tempDir();
    home = generateHome(path.join(dir, 'codex-home'), { count: 120, bulk: 0.02, seed: 14 });
    svc = await startService({
      dir,
      config: {
        // A model the app-server offers apply_patch to (the default one gets no such tool).
        appServer: { args: fake.codexArgs({ model: PATCH_MODEL }), backoffInitialMs: 100 },
        approvals: { timeoutMs: 120_000 },
      },
    });
    await waitReady(svc);
    fs.mkdirSync(SHOTS, { recursive: true });
    ctx = await phoneContext();
    page = await ctx.newPage();
  });

  after(async () => {
    await browser?.close();
    await svc?.stop();
    await fake?.close();
  });

  it('a browser at / lands on the login page; a pasted token logs in to an HttpOnly cookie', async () => {
    await page.goto(`${svc.endpoint}/`);
    expect(new URL(page.url()).pathname).to.equal('/ui/');
    await page.locator('input[name=token]').waitFor();
    expect(await noSideways(page)).to.be.at.most(0);
    await shot(page, 'login');
    await logIn(page);
    const cookies = await ctx.cookies();
    const c = cookies.find((x) => x.name === 'codex_sm_session');
    expect(c, JSON.stringify(cookies)).to.not.equal(undefined);
    expect(c!.httpOnly).to.equal(true);
    expect(c!.sameSite).to.equal('Strict');
    expect(c!.value).to.not.equal(svc.token);
    // (The page runs in the browser: its code is a string, this file has no DOM types.)
    const stored = await page.evaluate<string>(
      'JSON.stringify({ ...localStorage, ...sessionStorage })',
    );
    expect(stored).to.not.include(svc.token);
  });

  it('shows the status: service and the real app-server (pid, version, restarts, remote control), live', async () => {
    const status = await (await serviceFetch(svc.endpoint, svc.token, 'GET', '/status')).text;
    const app = (JSON.parse(status) as { appServer: { pid: number; version: string } }).appServer;
    const box = page.getByTestId('app-server');
    await box.getByText(String(app.pid), { exact: true }).waitFor();
    await box.getByText(app.version, { exact: true }).waitFor();
    const remoteControl = box.locator('.kv', { has: page.getByText('remote control') });
    expect(await remoteControl.locator('dd').textContent()).to.equal('disabled');
    await page.getByTestId('service').getByText('clients', { exact: true }).waitFor();
    expect(await noSideways(page)).to.be.at.most(0);
    await shot(page, 'status');
  });

  it('shows remote control turned on, then off: how the app-server was launched, then what it reports', async () => {
    const stateDir = path.join(svc.dir, 'state');
    const saved = readSettings(stateDir);
    const row = page
      .getByTestId('app-server')
      .locator('.kv', { has: page.getByText('remote control') })
      .locator('dd');
    const restart = () => serviceFetch(svc.endpoint, svc.token, 'POST', '/api/app-server/restart');
    try {
      // What `codex-sm enable-remote-control` does to a running service.
      writeSettings(stateDir, { ...saved, remoteControl: true });
      const on = await restart();
      expect(on.status, on.text).to.equal(200);
      // Offline, the app-server cannot reach its server: it says so (errored) and serves local
      // clients. The old page showed the bare status, without saying remote control was on.
      await row.getByText(/^enabled \((connecting|errored)\)$/).waitFor();
    } finally {
      writeSettings(stateDir, saved);
    }
    const off = await restart();
    expect(off.status, off.text).to.equal(200);
    await row.getByText('disabled', { exact: true }).waitFor();
  });

  it('a link whose session id climbs out of its path is the status page, and asks nothing of other routes', async () => {
    const asked: string[] = [];
    const onRequest = (r: { url(): string }) => asked.push(new URL(r.url()).pathname);
    page.on('request', onRequest);
    try {
      // The reviewer's proof: once decoded, the id made `/api/sessions/${id}/turns` into
      // POST /api/tokens/<id>/rotate (fetch resolves `..` and cuts at `#`).
      await page.goto(`${svc.endpoint}/ui/#/s/..%2F..%2Fapi%2Ftokens%2Fx%2Frotate%23`);
      await page.getByTestId('app-server').waitFor();
    } finally {
      page.off('request', onRequest);
    }
    expect(
      asked.filter((p) => p.startsWith('/api/') && !/^\/api\/(ui|approvals)/.test(p)),
    ).to.deep.equal([]);
  });

  it('a stream the service refuses says so instead of "connecting…" for ever (a session, a queue)', async () => {
    const nobody = '00000000-0000-4000-8000-000000000000';
    await page.goto(`${svc.endpoint}/ui/#/s/${nobody}`);
    await page.getByText(/not live: the stream ended/).waitFor();
    await page.goto(`${svc.endpoint}/ui/#/q/${nobody}`);
    await page.getByText(/could not follow this queue/).waitFor();
    // Still logged in: the check after the refusal found the session valid.
    await page.getByRole('navigation', { name: 'pages' }).waitFor();
  });

  it('offers only the pages and buttons a scoped token allows', async () => {
    const made = await serviceFetch(svc.endpoint, svc.token, 'POST', '/api/tokens', {
      name: 'read-only phone',
      scopes: ['sessions:read'],
    });
    expect(made.status, made.text).to.equal(201);
    const scoped = await phoneContext();
    const p = await scoped.newPage();
    await p.goto(`${svc.endpoint}/ui/`);
    await p.locator('input[name=token]').fill((JSON.parse(made.text) as { token: string }).token);
    await p.getByRole('button', { name: 'Log in' }).click();
    const nav = p.getByRole('navigation', { name: 'pages' });
    await nav.getByRole('link', { name: 'Sessions' }).waitFor();
    expect(await nav.getByRole('link').allTextContents()).to.deep.equal(['Status', 'Sessions']);
    await p.getByRole('link', { name: 'Sessions' }).click();
    await p.getByTestId('sessions').locator('li').first().waitFor();
    expect(await p.getByRole('button', { name: 'New session' }).count()).to.equal(0);
    await p.getByTestId('sessions').locator('a').first().click();
    await p.getByTestId('timeline').waitFor();
    expect(await p.getByRole('textbox', { name: 'message' }).count(), 'no composer').to.equal(0);
    await p.goto(`${svc.endpoint}/ui/#/queues`);
    await p.getByText('it lacks the queues scope').waitFor();
    await scoped.close();
  });

  it('lists the sessions a page at a time and searches them, the match highlighted', async () => {
    await page.getByRole('link', { name: 'Sessions' }).click();
    const rows = page.getByTestId('sessions').locator('li');
    await page.getByRole('heading', { name: /^Sessions \(\d+\)$/ }).waitFor();
    await rows.nth(49).waitFor();
    expect(await rows.count()).to.equal(50);
    await page.getByRole('button', { name: 'Load more' }).click();
    await rows.nth(50).waitFor();
    expect(await rows.count()).to.be.greaterThan(50);
    expect(await noSideways(page)).to.be.at.most(0);
    await page.evaluate('window.scrollTo(0, 0)');
    await shot(page, 'sessions');

    const target = home.sessions.find((s) => !s.archived && !s.brokenMeta && s.userTexts.length)!;
    const needle = target.userTexts[0]!.split(' ').slice(0, 3).join(' ');
    await page.getByRole('searchbox', { name: 'search messages' }).fill(needle);
    await page.getByRole('button', { name: 'Search' }).click();
    const results = page.getByTestId('search-results');
    await results.locator('mark').first().waitFor();
    expect((await results.locator('mark').first().textContent())?.toLowerCase()).to.equal(
      needle.toLowerCase(),
    );
    expect(await results.locator(`a[href="#/s/${target.id}"]`).count()).to.equal(1);
    await shot(page, 'search');
  });

  it('starts a session and shows the turn live: running, then the reply as it streams in', async () => {
    await page.goto(`${svc.endpoint}/ui/#/sessions`);
    await page.getByRole('button', { name: 'New session' }).click();
    await page.locator('input[name=cwd]').fill(svc.dir);
    await page.locator('textarea[name=prompt]').fill('say hello from the dashboard');
    await page.locator('select[name=approvalPolicy]').selectOption('never');
    // The model holds its answer until the page has shown the turn running.
    fake.enqueue({
      kind: 'held',
      then: { kind: 'text', text: 'Hello from the fake model, live in the page', chunks: 6 },
    });
    await page.getByRole('button', { name: 'Start' }).click();
    await page.waitForURL(/#\/s\//);
    const held = await fake.waitForRequest((r) => r.prompt === 'say hello from the dashboard');
    const timeline = page.getByTestId('timeline');
    await timeline.locator('.msg.user', { hasText: 'say hello from the dashboard' }).waitFor();
    await page.getByRole('button', { name: 'Interrupt' }).waitFor();
    await shot(page, 'session-running');
    held.release();
    await timeline
      .locator('.msg.agent', { hasText: 'Hello from the fake model, live in the page' })
      .waitFor();
    // turn/completed arrived too: the composer is back to sending, not steering.
    await page.getByRole('button', { name: 'Interrupt' }).waitFor({ state: 'detached' });
    expect(await noSideways(page)).to.be.at.most(0);
    await shot(page, 'session');
  });

  it('a command that needs approval shows in the inbox, is approved in the page, and the turn completes', async () => {
    const marker = path.join(svc.dir, 'approved-in-the-browser');
    const sessionUrl = await newAskingSession(page);
    fake.enqueue(
      { kind: 'exec', command: ['touch', marker] },
      { kind: 'text', text: 'the marker is in place' },
    );
    await send(page, 'touch the marker');

    await page.getByRole('link', { name: /^Approvals/ }).click();
    const card = page.getByTestId('approvals').locator('article', { hasText: marker });
    await card.waitFor();
    expect(await card.textContent()).to.include(svc.dir); // the cwd
    expect(fs.existsSync(marker), 'nothing ran before the approval').to.equal(false);
    expect(await noSideways(page)).to.be.at.most(0);
    await shot(page, 'approvals');
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    await card.waitFor({ state: 'detached' });

    await page.goto(sessionUrl);
    const timeline = page.getByTestId('timeline');
    await timeline.locator('.msg.agent', { hasText: 'the marker is in place' }).waitFor();
    const answered = JSON.parse(
      (await serviceFetch(svc.endpoint, svc.token, 'GET', '/api/approvals?status=all')).text,
    ) as { approvals: { status: string; decision: string; answeredBy: string }[] };
    expect(answered.approvals.map((a) => [a.status, a.decision, a.answeredBy])).to.deep.equal([
      ['answered', 'accept', 'http'],
    ]);
    // A declined command would get the same closing reply from the fake: the file tells.
    const shown = await timeline.textContent();
    expect(fs.existsSync(marker), `the approved command ran; the page shows: ${shown}`).to.equal(
      true,
    );
  });

  it('a file change: the reasoning summary shows, the inbox shows the diff, approved there, the file is written', async () => {
    const file = 'written-from-the-inbox.txt';
    const target = path.join(svc.dir, file);
    const sessionUrl = await newAskingSession(page);
    fake.enqueue(
      {
        kind: 'patch',
        patch: addFilePatch(file, ['approved on a phone', 'second line']),
        reasoning: ['**Planning the file**\n\nThe user wants a file: add it with apply_patch.'],
      },
      {
        kind: 'text',
        text: 'the file is written',
        reasoning: ['Checking that the patch applied'],
      },
    );
    await send(page, 'write the file');
    const timeline = page.getByTestId('timeline');
    // The summary streams in before the tool call: the page shows it as it comes.
    const planning = timeline.locator('details.reasoning', { hasText: 'add it with apply_patch' });
    await planning.waitFor();
    expect(await planning.locator('summary strong').textContent()).to.equal('Planning the file');

    await page.getByRole('link', { name: /^Approvals/ }).click();
    const card = page.getByTestId('approvals').locator('article', { hasText: file });
    await card.getByText('Change files?').waitFor();
    const added = await card.locator('.diff .add').allTextContents();
    expect(added.map((l) => l.trim())).to.deep.equal(['+approved on a phone', '+second line']);
    expect(fs.existsSync(target), 'nothing written before the approval').to.equal(false);
    expect(await noSideways(page)).to.be.at.most(0);
    await shot(page, 'approval-file');
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    await card.waitFor({ state: 'detached' });

    await page.goto(sessionUrl);
    await timeline.locator('.msg.agent', { hasText: 'the file is written' }).waitFor();
    await timeline
      .locator('details.reasoning', { hasText: 'Checking that the patch applied' })
      .waitFor();
    // The change itself, done, with its diff.
    const change = timeline.locator('.filechange', { hasText: file });
    await change.locator('.badge', { hasText: 'completed' }).waitFor();
    expect(await change.locator('.diff .add').count()).to.equal(2);
    const answered = JSON.parse(
      (await serviceFetch(svc.endpoint, svc.token, 'GET', '/api/approvals?status=all')).text,
    ) as { approvals: { kind: string; status: string; decision: string; answeredBy: string }[] };
    expect(
      answered.approvals
        .filter((a) => a.kind === 'fileChange')
        .map((a) => [a.status, a.decision, a.answeredBy]),
    ).to.deep.equal([['answered', 'accept', 'http']]);
    expect(fs.readFileSync(target, 'utf8')).to.equal('approved on a phone\nsecond line\n');
    await planning.locator('summary').click(); // open it for the screenshot
    await shot(page, 'session-file-change');
  });

  it('an approval shows in the open inbox and the count the moment it is asked: time stands still in the page, so no poll brought it', async () => {
    const c = await phoneContext();
    const p = await c.newPage();
    await p.clock.install(); // the page's timers run on a clock this test holds
    await logIn(p);
    await p.getByRole('link', { name: /^Approvals/ }).click();
    await p.getByText('nothing waits for an answer').waitFor();
    // From here no timer of the page fires: whatever arrives came over the stream.
    await p.clock.pauseAt(Date.now() + 1000);
    const marker = path.join(svc.dir, 'approved-without-a-poll');
    fake.enqueue(
      { kind: 'exec', command: ['touch', marker] },
      { kind: 'text', text: 'ran after a live approval' },
    );
    const made = await serviceFetch(svc.endpoint, svc.token, 'POST', '/api/sessions', {
      cwd: svc.dir,
      approvalPolicy: 'untrusted',
      sandbox: 'workspace-write', // as newAskingSession's
      input: 'touch it while the inbox is open',
    });
    expect(made.status, made.text).to.equal(201);
    const card = p.getByTestId('approvals').locator('article', { hasText: marker });
    await card.waitFor();
    await p
      .getByRole('navigation', { name: 'pages' })
      .locator('.count', { hasText: /^1$/ })
      .waitFor();
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    await p.getByText('nothing waits for an answer').waitFor();
    await fake.waitForRequest(
      (r) => r.reply.kind === 'text' && r.reply.text === 'ran after a live approval',
    );
    expect(fs.existsSync(marker), 'the approved command ran').to.equal(true);
    await c.close();
  });

  it('runs a queue from its page: edit a pending prompt, start, pause after the turn, resume to the end', async () => {
    const made = await serviceFetch(svc.endpoint, svc.token, 'POST', '/api/queues', {
      name: 'nightly',
      cwd: svc.dir,
      approvalPolicy: 'never',
      prompts: [{ text: 'first queued prompt' }, { text: 'second queued prompt' }],
    });
    expect(made.status, made.text).to.equal(201);
    const queue = JSON.parse(made.text) as { id: string; prompts: { id: string }[] };
    // The queue's own event log, in the order the service decided things: what proves the pause.
    const events = new EventStream(
      await SseClient.open(`${svc.endpoint}/api/queues/${queue.id}/events`, {
        authorization: `Bearer ${svc.token}`,
      }),
    );
    await events.snapshot();
    await page.getByRole('link', { name: 'Queues' }).click();
    await page
      .getByTestId('queues')
      .getByRole('link', { name: /nightly/ })
      .click();
    const prompts = page.getByTestId('prompts');
    const second = prompts.locator(`li[data-prompt="${queue.prompts[1]!.id}"]`);
    await second.getByRole('button', { name: 'Edit' }).click();
    await second
      .getByRole('textbox', { name: 'prompt text' })
      .fill('second prompt, edited on a phone');
    await second.getByRole('button', { name: 'Save' }).click();
    await prompts.getByText('second prompt, edited on a phone').waitFor();

    fake.enqueue({ kind: 'held', then: { kind: 'text', text: 'first one done' } });
    await page.getByRole('button', { name: 'Start' }).click();
    const first = await fake.waitForRequest((r) => r.prompt === 'first queued prompt');
    await events.prompt('prompt_started', queue.prompts[0]!.id);
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    first.release();
    await prompts.locator('li').first().getByText('first one done').waitFor();
    await shot(page, 'queue');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('.card-head .badge', { hasText: 'completed' }).waitFor();
    const done = await fake.waitForRequest((r) => r.prompt === 'second prompt, edited on a phone');
    expect(done.prompt).to.equal('second prompt, edited on a phone');
    // Paused during the first turn, which ran to its end; the second started only after the
    // Resume (not merely 'had not arrived yet' when the first reply showed).
    await events.next('queue_completed');
    const [p1, p2] = queue.prompts.map((x) => x.id);
    const order = events.all
      .filter((e) => !e.prompt || e.prompt.id === p1 || e.prompt.id === p2)
      .map((e) => (e.prompt ? `${e.type} ${e.prompt.id === p1 ? 1 : 2}` : e.type))
      .filter((t) => /queue_(paused|resumed|completed)|prompt_(started|completed)/.test(t));
    events.close();
    expect(order).to.deep.equal([
      'prompt_started 1',
      'queue_paused',
      'prompt_completed 1',
      'queue_resumed',
      'prompt_started 2',
      'prompt_completed 2',
      'queue_completed',
    ]);
    expect(await noSideways(page)).to.be.at.most(0);
  });

  it("runs a prompt across a group's sessions from its page and shows the progress", async () => {
    const list = JSON.parse(
      (
        await serviceFetch(
          svc.endpoint,
          svc.token,
          'GET',
          `/api/sessions?cwd=${encodeURIComponent(svc.dir)}&limit=2`,
        )
      ).text,
    ) as { sessions: { id: string }[] };
    expect(list.sessions).to.have.length(2);
    const made = await serviceFetch(svc.endpoint, svc.token, 'POST', '/api/groups', {
      name: 'both dashboard sessions',
      sessionIds: list.sessions.map((x) => x.id),
    });
    expect(made.status, made.text).to.equal(201);
    await page.getByRole('link', { name: 'Groups' }).click();
    await page
      .getByTestId('groups')
      .getByRole('link', { name: /both dashboard sessions/ })
      .click();
    await page.getByRole('textbox', { name: 'prompt for the group' }).fill('report in, group');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.locator('.card-head .badge', { hasText: 'completed' }).waitFor();
    expect(await page.getByRole('progressbar').getAttribute('aria-valuenow')).to.equal('2');
    expect(fake.arrivals.filter((r) => r.prompt === 'report in, group')).to.have.length(2);
    expect(await noSideways(page)).to.be.at.most(0);
    await shot(page, 'group');
  });

  it('uses a desktop width (1280×800): the sessions beside the open one; no page scrolls sideways', async () => {
    const desk = await browser!.newContext({
      viewport: DESKTOP,
      deviceScaleFactor: 1,
      colorScheme: 'light',
    });
    const p = await desk.newPage();
    await logIn(p);
    const nav = p.getByRole('navigation', { name: 'pages' });
    for (const name of ['Status', 'Approvals', 'Queues', 'Groups']) {
      await nav.getByRole('link', { name: new RegExp(`^${name}`) }).click();
      await p.locator('main .card').first().waitFor();
      expect(await noSideways(p), name).to.be.at.most(0);
    }
    await nav.getByRole('link', { name: 'Sessions' }).click();
    const list = p.getByTestId('sessions');
    await list.locator('li').nth(49).waitFor();
    await p.getByText('Pick a session on the left').waitFor();
    // A session that talked: the first one this test started.
    const found = JSON.parse(
      (
        await serviceFetch(
          svc.endpoint,
          svc.token,
          'GET',
          `/api/sessions/search?q=${encodeURIComponent('say hello from the dashboard')}`,
        )
      ).text,
    ) as { results: { sessionId: string }[] };
    const id = found.results[0]!.sessionId;
    await p.goto(`${svc.endpoint}/ui/#/s/${id}`);
    const timeline = p.getByTestId('timeline');
    await timeline.locator('.msg.agent', { hasText: 'Hello from the fake model' }).waitFor();
    const current = list.locator('a[aria-current="page"]');
    await current.waitFor();
    expect(await current.getAttribute('href')).to.equal(`#/s/${id}`);
    // Side by side: the list's right edge is left of the session, and both are on screen.
    const [l, t] = [await list.boundingBox(), await timeline.boundingBox()];
    expect(l && t, 'both laid out').to.not.equal(null);
    expect(l!.x + l!.width).to.be.at.most(t!.x);
    expect(t!.x + t!.width).to.be.at.most(DESKTOP.width);
    expect(t!.width, 'the session gets most of the width').to.be.greaterThan(DESKTOP.width / 2);
    expect(await noSideways(p)).to.be.at.most(0);
    await shot(p, 'desktop-session');
    // Another session from the list: the list stays (same rows), the session beside it changes.
    const other = list
      .locator('li a')
      .filter({ hasNot: p.locator('[aria-current]') })
      .first();
    const otherHref = (await other.getAttribute('href'))!;
    await other.click();
    await list.locator(`a[aria-current="page"][href="${otherHref}"]`).waitFor();
    expect(await list.locator('li').count(), 'the list kept what it had loaded').to.be.at.least(50);
    await desk.close();
  });

  it('a refused group run shows the error and keeps the typed prompt', async () => {
    const one = JSON.parse(
      (await serviceFetch(svc.endpoint, svc.token, 'GET', '/api/sessions?limit=1')).text,
    ) as { sessions: { id: string }[] };
    const made = await serviceFetch(svc.endpoint, svc.token, 'POST', '/api/groups', {
      name: 'emptied while typing',
      sessionIds: [one.sessions[0]!.id],
    });
    expect(made.status, made.text).to.equal(201);
    const group = JSON.parse(made.text) as { id: string };
    await page.goto(`${svc.endpoint}/ui/#/g/${group.id}`);
    const box = page.getByRole('textbox', { name: 'prompt for the group' });
    await box.fill('a prompt typed on a phone');
    // Its only session leaves the group meanwhile: the run is refused (409 group_empty).
    const removed = await serviceFetch(
      svc.endpoint,
      svc.token,
      'DELETE',
      `/api/groups/${group.id}/sessions/${one.sessions[0]!.id}`,
    );
    expect(removed.status, removed.text).to.equal(200);
    await page.getByText('never run; 0 sessions').waitFor();
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByRole('alert').filter({ hasText: 'has no sessions' }).waitFor();
    expect(await box.inputValue()).to.equal('a prompt typed on a phone');
  });

  it('refuses a cross-origin form POST that carries the cookie (403 origin_mismatch), changing nothing', async () => {
    // Another origin (same host, other port: same-site, so the Strict cookie IS sent) hosts a
    // page whose form posts to the service: only the Origin check stands in the way.
    const evil = http.createServer((req, res) => {
      const action = req.url === '/logout' ? '/api/ui/logout' : '/api/sessions';
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<form id="f" method="POST" enctype="text/plain" action="${svc.endpoint}${action}">` +
          `<input name='{"cwd":"/tmp","x":"' value='"}'></form>`,
      );
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
    try {
      const before = JSON.parse(
        (await serviceFetch(svc.endpoint, svc.token, 'GET', '/api/sessions?limit=1')).text,
      ) as { total: number };
      for (const which of ['/logout', '/create']) {
        const p = await ctx.newPage();
        await p.goto(evilUrl + which);
        const [answer] = await Promise.all([
          p.waitForResponse((r) => r.url().startsWith(svc.endpoint)),
          p.evaluate("document.getElementById('f').submit()"),
        ]);
        expect(answer.status(), which).to.equal(403);
        expect(
          (await answer.request().allHeaders())['cookie'] ?? '',
          'the cookie was sent',
        ).to.include('codex_sm_session=');
        expect(((await answer.json()) as { error: { code: string } }).error.code).to.equal(
          'origin_mismatch',
        );
        await p.close();
      }
      const after = JSON.parse(
        (await serviceFetch(svc.endpoint, svc.token, 'GET', '/api/sessions?limit=1')).text,
      ) as { total: number };
      expect(after.total, 'no session was created').to.equal(before.total);
      // Still logged in: the forged logout did nothing.
      await page.goto(`${svc.endpoint}/ui/#/status`);
      await page.getByTestId('app-server').waitFor();
    } finally {
      evil.close();
    }
  });

  it('logs out: the session is revoked and the page asks for a login again', async () => {
    const cookie = (await ctx.cookies()).find((c) => c.name === 'codex_sm_session')!.value;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('input[name=token]').waitFor();
    const r = await fetch(`${svc.endpoint}/api/ui/session`, {
      headers: { cookie: `codex_sm_session=${cookie}` },
    });
    expect(r.status, 'the old cookie no longer works').to.equal(401);
    expect((await ctx.cookies()).find((c) => c.name === 'codex_sm_session')).to.equal(undefined);
  });

  it('logs in from a one-time `codex-sm open` link, which leaves no code in the address bar', async () => {
    const minted = JSON.parse(
      (await serviceFetch(svc.endpoint, svc.token, 'POST', '/api/ui/login-codes', {})).text,
    ) as { url: string; code: string };
    const phone = await phoneContext();
    const p = await phone.newPage();
    await p.goto(minted.url);
    await p.getByRole('navigation', { name: 'pages' }).waitFor();
    expect(p.url()).to.not.include(minted.code);
    // Nor in the history: back goes to where the browser was before the link.
    await p.goBack();
    expect(p.url()).to.not.include(minted.code);
    // Used once: the same link does not log in another browser.
    const other = await phoneContext();
    const q = await other.newPage();
    await q.goto(minted.url);
    await q.getByRole('alert').waitFor();
    expect(await q.getByRole('alert').textContent()).to.match(/login link did not work/);
    await phone.close();
    await other.close();
  });
});
