/**
 * Browser sessions and a replaced owner token, against the real service (REAL app-server, FAKE
 * Responses API; no turn is run): a session logged in with the owner's token is tied to that
 * token's fingerprint (never the token). Replace the token file and reload (SIGHUP): the session
 * is refused at once, while a session from a scoped token and one from the new owner token keep
 * working; restart: the stale session is revoked in the store.
 */
import fs from 'node:fs';
import { expect } from 'chai';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import { startService, waitReady, type ServiceProcess } from '../../harness/service.js';
import { serviceFetch } from '../helpers/http.js';

interface TokenRow {
  id: string;
  kind: string;
  parentId: string | null;
  revokedAt: string | null;
}

describe('dashboard sessions outlive no owner token (real service, FAKE Responses API)', function () {
  this.timeout(90_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;

  const config = () => ({ appServer: { args: fake.codexArgs() } });
  before(async () => {
    fake = await startFakeResponses();
    svc = await startService({ config: config() });
    await waitReady(svc);
  });
  after(async () => {
    await svc?.stop();
    await fake?.close();
  });

  const bearer = async (token: string, method: string, p: string, body?: unknown) => {
    const r = await serviceFetch(svc.endpoint, token, method, p, body);
    return {
      status: r.status,
      body: (r.text ? JSON.parse(r.text) : {}) as Record<string, unknown>,
    };
  };
  /** Log in with a token; the Cookie header to send back and the session's id. */
  const login = async (token: string) => {
    const r = await fetch(`${svc.endpoint}/api/ui/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: svc.endpoint },
      body: JSON.stringify({ token }),
    });
    const body = (await r.json()) as { id: string };
    expect(r.status, JSON.stringify(body)).to.equal(200);
    return { cookie: (r.headers.get('set-cookie') ?? '').split(';')[0] as string, id: body.id };
  };
  const asBrowser = async (cookie: string) =>
    (await fetch(`${svc.endpoint}/api/ui/session`, { headers: { cookie } })).status;
  const tokenRows = async (owner: string) =>
    (await bearer(owner, 'GET', '/api/tokens')).body.tokens as TokenRow[];

  it("replacing the owner's token ends the sessions logged in with it: refused after a reload, revoked at the next start; other sessions live on", async () => {
    const oldOwner = svc.token;
    const fromOwner = await login(oldOwner);
    const phone = await bearer(oldOwner, 'POST', '/api/tokens', {
      name: 'phone',
      scopes: ['sessions:read'],
    });
    const fromPhone = await login(String(phone.body.token));

    const row = (await tokenRows(oldOwner)).find((t) => t.id === fromOwner.id);
    expect(row?.parentId, 'tied to a fingerprint').to.match(/^owner:[0-9a-f]{16}$/);
    expect(oldOwner, 'which is no part of the token').to.not.include(
      String(row?.parentId).slice('owner:'.length),
    );
    expect(await asBrowser(fromOwner.cookie)).to.equal(200);

    // The owner replaces the token file (as after a leak) and reloads the service.
    const newOwner = 'n'.repeat(24) + Date.now().toString(36);
    fs.writeFileSync(svc.tokenFile, `${newOwner}\n`, { mode: 0o600 });
    svc.child.kill('SIGHUP');
    await svc.waitForLog((l) => /^reloaded/.test(l.msg));

    expect((await bearer(oldOwner, 'GET', '/api/tokens')).status, 'the old token').to.equal(401);
    expect(await asBrowser(fromOwner.cookie), 'its session, at once').to.equal(401);
    await svc.waitForLog((l) => l.audit === true && l.why === 'owner-replaced session');
    expect(await asBrowser(fromPhone.cookie), "a scoped token's session").to.equal(200);
    const fromNewOwner = await login(newOwner);
    expect(await asBrowser(fromNewOwner.cookie)).to.equal(200);

    await svc.stop();
    svc = await startService({ dir: svc.dir, config: config() });
    await waitReady(svc);
    expect(svc.token).to.equal(newOwner);
    const rows = await tokenRows(newOwner);
    const state = (id: string) => rows.find((t) => t.id === id)?.revokedAt ?? 'live';
    expect(state(fromOwner.id), 'revoked at start-up').to.not.equal('live');
    expect(state(fromPhone.id)).to.equal('live');
    expect(state(fromNewOwner.id)).to.equal('live');
    expect(await asBrowser(fromNewOwner.cookie)).to.equal(200);
    const audit = svc.logs.find((l) => l.audit === true && l.why === 'owner token replaced');
    expect(audit?.revoked).to.deep.equal([fromOwner.id]);
    expect(JSON.stringify(svc.logs), 'no token in the journal').to.not.include(newOwner);
  });
});
