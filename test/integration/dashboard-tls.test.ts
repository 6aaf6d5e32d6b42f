/**
 * The dashboard over TLS, in a real headless Chromium (Debian's, via playwright-core) against
 * the real service serving HTTPS with a self-signed certificate made here with openssl, and the
 * real app-server (pointed at a FAKE Responses API, the only fake). A phone that reaches the
 * box over TLS: it logs in from a `codex-sm open` link (the real CLI, over HTTPS), gets a Secure
 * cookie, and every page loads its data, the event streams included.
 *
 * The browser trusts exactly this certificate: Chromium is launched with its public key's hash
 * in `--ignore-certificate-errors-spki-list`, not with certificate errors ignored, so the page
 * is a secure context and any other certificate would still be refused.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import { generateHome, type GenResult } from '../../harness/gen-home.js';
import { startService, tempDir, type ServiceProcess } from '../../harness/service.js';
import { launchChromium } from '../helpers/browser.js';
import { cliJson, runCli } from '../helpers/queues-api.js';
import { requireOpenssl, makeCert } from '../helpers/tls-cert.js';
import { SECURE_SESSION_COOKIE } from '../../service/auth/cookies.js';

/** base64(sha256(SubjectPublicKeyInfo)): what Chromium's SPKI allowlist names a key by. */
function spkiHash(certPem: string): string {
  const der = new crypto.X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64');
}

function getJson<T>(url: string, ca: string, token: string): Promise<T> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve(JSON.parse(body) as T));
      })
      .on('error', reject);
  });
}

describe('dashboard over TLS in a real Chromium (real service and app-server, FAKE Responses API)', function () {
  this.timeout(120_000);
  let browser: Browser | undefined;
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;
  let home: GenResult;
  let tls: { cert: string; key: string };
  let ca: string;

  before(async function () {
    requireOpenssl(this, 'the dashboard TLS test');
    const dir = tempDir();
    tls = makeCert(dir);
    ca = fs.readFileSync(tls.cert, 'utf8');
    browser = await launchChromium([`--ignore-certificate-errors-spki-list=${spkiHash(ca)}`]);
    if (!browser) return this.skip();
    fake = await startFakeResponses();
    home = generateHome(path.join(dir, 'codex-home'), { count: 12, bulk: 0, seed: 3 });
    svc = await startService({ dir, config: { tls, appServer: { args: fake.codexArgs() } } });
    expect(svc.endpoint).to.match(/^https:\/\//);
  });

  after(async () => {
    await browser?.close();
    await svc?.stop();
    await fake?.close();
  });

  it('logs in from a `codex-sm open` link over HTTPS to a Secure cookie; status, sessions, a session and the inbox load', async () => {
    // The real CLI asks the service for the link, over HTTPS (trusting the certificate the way
    // node does: NODE_EXTRA_CA_CERTS).
    const link = cliJson<{ url: string }>(
      await runCli(
        path.join(svc.dir, 'config.json'),
        new URL(svc.endpoint).port,
        svc.dir,
        ['open', '--no-browser'],
        { NODE_EXTRA_CA_CERTS: tls.cert },
      ),
    );
    expect(link.url).to.match(/^https:\/\/127\.0\.0\.1:\d+\/ui\/#code=/);

    const ctx = await browser!.newContext({ viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    await page.goto(link.url);
    await page.getByRole('navigation', { name: 'pages' }).waitFor();
    expect(page.url()).to.not.include('code=');
    expect(await page.evaluate<boolean>('window.isSecureContext')).to.equal(true);
    // Over TLS the cookie is __Host- prefixed: Secure, Path=/, no Domain, so no other port or
    // subdomain can plant one in its name.
    const cookies = await ctx.cookies();
    const cookie = cookies.find((c) => c.name === SECURE_SESSION_COOKIE);
    expect(cookie, 'the session cookie').to.not.equal(undefined);
    expect(cookie).to.include({ secure: true, httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(cookies.map((c) => c.name)).to.not.include('codex_sm_session');

    // Status: the real app-server, as the API tells it.
    const status = await getJson<{ appServer: { pid: number } }>(
      `${svc.endpoint}/status`,
      ca,
      svc.token,
    );
    await page
      .getByTestId('app-server')
      .getByText(String(status.appServer.pid), { exact: true })
      .waitFor();

    // Sessions from the generated CODEX_HOME, and one of them live over SSE.
    const shown = home.sessions.filter((s) => !s.archived && !s.brokenMeta);
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.getByRole('heading', { name: /^Sessions \(\d+\)$/ }).waitFor();
    const list = page.getByTestId('sessions');
    for (const s of shown) await list.locator(`a[href="#/s/${s.id}"]`).waitFor();
    const one = shown.find((s) => s.userTexts.length)!;
    await list.locator(`a[href="#/s/${one.id}"]`).click();
    await page.locator('.live.on').waitFor();
    await page
      .getByTestId('timeline')
      .locator('.msg.user', { hasText: one.userTexts[0]!.slice(0, 40) })
      .first()
      .waitFor();

    // The inbox follows its stream over TLS too: loaded, and live.
    await page.getByRole('link', { name: /^Approvals/ }).click();
    await page.getByText('nothing waits for an answer').waitFor();
    expect(await page.getByText(/not live/).count()).to.equal(0);
    await ctx.close();
  });
});
