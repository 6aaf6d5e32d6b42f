/**
 * The dashboard's login, the pure parts and the repositories under it: the session cookie
 * (read, written, cleared), the same-origin rule, the one-time login codes (expiry, one use,
 * the bound on pending codes), and browser sessions at rest (a real store): the cookie takes
 * only a browser session, and revoking the token it came from revokes it.
 */
import { inspect } from 'node:util';
import { expect } from 'chai';
import pino from 'pino';
import { Authenticator, isRefusal, ownerFingerprint } from '../../service/auth/auth.js';
import {
  changesState,
  clearedSessionCookie,
  readCookies,
  requestOrigin,
  sameOrigin,
  SECURE_SESSION_COOKIE,
  sessionCookie,
  SESSION_COOKIE,
  SESSION_TTL_MS,
} from '../../service/auth/cookies.js';
import { LoginCodes } from '../../service/auth/login-codes.js';
import { requiredScope } from '../../service/auth/scopes.js';
import { grantOf, sessionExpiry } from '../../service/auth/ui-routes.js';
import { TokenRepo } from '../../service/store/tokens.js';
import { withStore } from '../helpers/store.js';

describe('session cookie (pure)', () => {
  it('reads every value of the named cookie among others, in order, quoted or not', () => {
    expect(readCookies('a=1; codex_sm_session=cst_x.y; b=2', SESSION_COOKIE)).to.deep.equal([
      'cst_x.y',
    ]);
    expect(readCookies('codex_sm_session="q"', SESSION_COOKIE)).to.deep.equal(['q']);
    expect(readCookies('codex_sm_session=1;codex_sm_session=2', SESSION_COOKIE)).to.deep.equal([
      '1',
      '2',
    ]);
    expect(readCookies('xcodex_sm_session=1', SESSION_COOKIE), 'not a suffix').to.deep.equal([]);
    expect(
      readCookies('__Host-codex_sm_session=1; codex_sm_session=2', SECURE_SESSION_COOKIE),
    ).to.deep.equal(['1']);
    expect(readCookies('codex_sm_session=', SESSION_COOKIE), 'empty is none').to.deep.equal([]);
    expect(readCookies(undefined, SESSION_COOKIE)).to.deep.equal([]);
    expect(readCookies('garbage;;=;', SESSION_COOKIE)).to.deep.equal([]);
  });

  it('is HttpOnly, SameSite=Strict, for the whole origin, no Domain; over TLS Secure and __Host-', () => {
    expect(sessionCookie('cst_0.abc', 3600.7, false)).to.equal(
      'codex_sm_session=cst_0.abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600',
    );
    expect(sessionCookie('v', 60, true)).to.equal(
      '__Host-codex_sm_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure',
    );
    expect(clearedSessionCookie(false)).to.equal(
      'codex_sm_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0',
    );
    expect(clearedSessionCookie(true)).to.match(/^__Host-codex_sm_session=; Path=\/; .*; Secure$/);
    expect(() => sessionCookie('a;b', 1, false), 'no header injection').to.throw();
    expect(() => sessionCookie('a\r\nSet-Cookie: x', 1, false)).to.throw();
  });
});

describe('same-origin rule (pure)', () => {
  it("takes only the request's own scheme, host and port", () => {
    expect(sameOrigin('http://127.0.0.1:3100', '127.0.0.1:3100', false)).to.equal(true);
    expect(sameOrigin('https://box.lan', 'box.lan:443', true), 'default port').to.equal(true);
    expect(sameOrigin('HTTP://LOCALHOST:3100', 'localhost:3100', false)).to.equal(true);
    expect(sameOrigin('http://[::1]:3100', '[::1]:3100', false)).to.equal(true);
    expect(sameOrigin('http://evil.example', '127.0.0.1:3100', false)).to.equal(false);
    expect(sameOrigin('http://127.0.0.1:3101', '127.0.0.1:3100', false), 'port').to.equal(false);
    expect(sameOrigin('http://box.lan', 'box.lan', true), 'scheme').to.equal(false);
    expect(sameOrigin(undefined, '127.0.0.1:3100', false), 'missing').to.equal(false);
    expect(sameOrigin('null', '127.0.0.1:3100', false), 'opaque').to.equal(false);
    expect(sameOrigin('http://127.0.0.1:3100', undefined, false), 'no Host').to.equal(false);
    expect(sameOrigin('http://a@127.0.0.1:3100', '127.0.0.1:3100', false)).to.equal(false);
    expect(requestOrigin('evil.example/x', false), 'a Host with a path').to.equal(undefined);
    expect(requestOrigin('Box.LAN:80', false)).to.equal('http://box.lan');
  });

  it('GET, HEAD and OPTIONS change nothing; every other method may', () => {
    expect(['GET', 'head', 'OPTIONS'].map(changesState)).to.deep.equal([false, false, false]);
    expect(['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND'].map(changesState)).to.deep.equal([
      true,
      true,
      true,
      true,
      true,
    ]);
    // One list: what changes nothing needs only the read scope, and no Origin.
    for (const path of ['/api/queues', '/api/sessions', '/status'])
      expect(requiredScope('OPTIONS', path), path).to.equal(requiredScope('GET', path));
  });
});

describe('login codes (pure, in memory)', () => {
  const grant = { scopes: ['sessions:read' as const], parentId: null, notAfter: null };

  it('works once, keeps only a hash, and expires after its time', () => {
    let t = 0;
    const codes = new LoginCodes(() => t, 120_000);
    const { code, expiresAt } = codes.issue(grant);
    expect(code).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(expiresAt).to.equal(120_000);
    expect(inspect(codes, { depth: 10, showHidden: true }), 'only a hash').to.not.include(code);
    expect(codes.redeem(code)).to.deep.equal(grant);
    expect(codes.redeem(code), 'used up').to.deep.equal({ refused: 'unknown' });
    const late = codes.issue(grant).code;
    t = 240_000;
    expect(codes.redeem(late)).to.deep.equal({ refused: 'expired' });
    expect(codes.redeem('nonsense')).to.deep.equal({ refused: 'unknown' });
  });

  it('keeps at most the bound pending, dropping the oldest; expired ones leave on their own', () => {
    let t = 0;
    const codes = new LoginCodes(() => t, 1_000, 3);
    const made = [1, 2, 3, 4].map(() => codes.issue(grant).code);
    expect(codes.size).to.equal(3);
    expect(codes.redeem(made[0] ?? '')).to.deep.equal({ refused: 'unknown' });
    expect(codes.redeem(made[3] ?? '')).to.deep.equal(grant);
    t = 1_000;
    expect(codes.size).to.equal(0);
  });
});

/**
 * An Authenticator over `tokens` with a silent logger; the owner's token is 'o'.repeat(40)
 * unless `ownerToken` says otherwise (read on each request, so a test can replace it).
 */
function authOver(
  tokens: TokenRepo,
  opts: { maxFailures?: number; ownerToken?: () => string } = {},
): Authenticator {
  return new Authenticator({
    ownerToken: opts.ownerToken ?? (() => 'o'.repeat(40)),
    tokens,
    logger: pino({ level: 'silent' }),
    maxFailures: opts.maxFailures,
  });
}

describe('browser sessions at rest and the cookie (real SQLite)', () => {
  const plain = { cookie: true, tls: false };
  const tls = { cookie: true, tls: true };
  it('the cookie takes only a browser session; revoking its token revokes the session', () =>
    withStore((store, now) => {
      const tokens = new TokenRepo(store, now);
      const auth = authOver(tokens);
      const phone = tokens.create({ name: 'phone', scopes: ['sessions:read'], expiresAt: 9e12 });
      const p = auth.principal(phone.token);
      if ('why' in p) throw new Error(p.why);
      const g = grantOf(p);
      expect(g).to.deep.equal({
        scopes: ['sessions:read'],
        parentId: phone.info.id,
        notAfter: 9e12,
      });
      const s = tokens.create({ name: 'browser session', ...g, expiresAt: 1e12, kind: 'browser' });
      expect(s.info).to.include({ kind: 'browser', parentId: phone.info.id });

      const cookie = (v: string) => ({ cookie: `${SESSION_COOKIE}=${v}` });
      const viaCookie = auth.authenticateRequest(cookie(s.token), 'a', plain);
      expect(isRefusal(viaCookie) ? viaCookie.why : viaCookie.via).to.equal('cookie');
      const sp = isRefusal(viaCookie) ? undefined : viaCookie;
      expect(sp && grantOf(sp), 'a session passes its tie on').to.deep.include({
        parentId: phone.info.id,
      });
      expect(auth.authenticateRequest(cookie(phone.token), 'a', plain), 'not a session').to.include(
        {
          status: 401,
          via: 'cookie',
        },
      );
      const bearerWins = auth.authenticateRequest(
        { ...cookie(s.token), authorization: `Bearer ${'o'.repeat(40)}` },
        'a',
        plain,
      );
      expect(isRefusal(bearerWins) ? null : bearerWins.id).to.equal('owner');
      const relay = auth.authenticateRequest(cookie(s.token), 'a', { cookie: false, tls: false });
      expect(relay, 'no cookie where it is not taken').to.include({ status: 401, why: 'missing' });
      expect(auth.authenticate(`Bearer ${s.token}`, 'a'), 'a session is never a bearer').to.include(
        { status: 401, why: 'session as bearer' },
      );
      expect(
        auth.authenticateRequest({ authorization: `Bearer ${s.token}` }, 'a', plain),
      ).to.include({
        status: 401,
        why: 'session as bearer',
      });
      expect(auth.principal(s.token), 'nor anything but its cookie').to.deep.equal({
        why: 'session as bearer',
      });

      expect(tokens.revokeSessionsOf(phone.info.id)).to.deep.equal([s.info.id]);
      expect(auth.authenticateRequest(cookie(s.token), 'a', plain)).to.include({
        status: 401,
        why: 'revoked session',
      });
      expect(tokens.revokeSessionsOf(phone.info.id), 'once').to.deep.equal([]);
    }));

  it("takes the listener's cookie name only, and tries every value sent: a planted one does not lock the user out", () =>
    withStore((store, now) => {
      const tokens = new TokenRepo(store, now);
      const auth = authOver(tokens, { maxFailures: 1_000 });
      const parentId = ownerFingerprint('o'.repeat(40));
      const s = tokens.create({
        name: 'browser session',
        scopes: ['sessions:read'],
        expiresAt: null,
        kind: 'browser',
        parentId,
      });
      const ended = tokens.create({
        name: 'browser session',
        scopes: ['admin'],
        expiresAt: null,
        kind: 'browser',
        parentId,
      });
      tokens.revoke(ended.info.id);
      const phone = tokens.create({ name: 'phone', scopes: ['admin'], expiresAt: null });
      const idOf = (r: ReturnType<Authenticator['authenticateRequest']>) =>
        isRefusal(r) ? r.why : r.id;

      const planted = [
        'garbage',
        'cst_0000000000000000.' + 'A'.repeat(43), // well-formed, unknown
        ended.token, // a real session, revoked
        phone.token, // a real token, not a session
      ];
      for (const bogus of planted) {
        const header = { cookie: `${SESSION_COOKIE}=${bogus}; ${SESSION_COOKIE}=${s.token}` };
        expect(idOf(auth.authenticateRequest(header, 'a', plain)), bogus).to.equal(s.info.id);
      }
      const all = planted.map((v) => `${SESSION_COOKIE}=${v}`).join('; ');
      expect(
        idOf(
          auth.authenticateRequest({ cookie: `${all}; ${SESSION_COOKIE}=${s.token}` }, 'a', plain),
        ),
      ).to.equal(s.info.id);
      expect(
        auth.authenticateRequest({ cookie: all }, 'a', plain),
        'none is a live session: one refusal, why from the first',
      ).to.include({ status: 401, why: 'unknown session', via: 'cookie' });

      const secure = `${SECURE_SESSION_COOKIE}=${s.token}`;
      expect(idOf(auth.authenticateRequest({ cookie: secure }, 'a', tls))).to.equal(s.info.id);
      expect(
        idOf(auth.authenticateRequest({ cookie: `${SESSION_COOKIE}=${s.token}` }, 'a', tls)),
        'over TLS the plain name (anyone on the host can set it) is not read',
      ).to.equal('missing');
      expect(
        idOf(auth.authenticateRequest({ cookie: secure }, 'a', plain)),
        'nor the other way round',
      ).to.equal('missing');
    }));

  it("sessions made from the owner's token are tied to its fingerprint: once the token is replaced they are refused, and revoked", () =>
    withStore((store, now) => {
      const tokens = new TokenRepo(store, now);
      let ownerToken = 'o'.repeat(40);
      const auth = authOver(tokens, { maxFailures: 1_000, ownerToken: () => ownerToken });
      const fp = ownerFingerprint(ownerToken);
      expect(fp).to.match(/^owner:[0-9a-f]{16}$/);
      expect(fp, 'never the token').to.not.include('oooo');
      expect(ownerFingerprint('p'.repeat(40))).to.not.equal(fp);
      const owner = auth.principal(ownerToken);
      if ('why' in owner) throw new Error(owner.why);
      expect(grantOf(owner).parentId).to.equal(fp);

      const session = (parentId: string | null) =>
        tokens.create({
          name: 'browser session',
          scopes: ['admin'],
          expiresAt: null,
          kind: 'browser',
          parentId,
        });
      const phone = tokens.create({ name: 'phone', scopes: ['admin'], expiresAt: null });
      const fromOwner = session(fp);
      const fromPhone = session(phone.info.id);
      const untied = session(null); // made before sessions were tied to the owner token
      const viaCookie = (t: string) =>
        auth.authenticateRequest({ cookie: `${SESSION_COOKIE}=${t}` }, 'a', plain);
      const idOf = (r: ReturnType<Authenticator['authenticateRequest']>) =>
        isRefusal(r) ? r.why : r.id;

      expect(idOf(viaCookie(fromOwner.token))).to.equal(fromOwner.info.id);
      expect(idOf(viaCookie(untied.token))).to.equal('owner-replaced session');
      expect(auth.revokeStaleOwnerSessions(), 'only the untied one').to.deep.equal([
        untied.info.id,
      ]);

      ownerToken = 'p'.repeat(40); // the token file was replaced (and reloaded)
      expect(idOf(viaCookie(fromOwner.token)), 'refused at once').to.equal(
        'owner-replaced session',
      );
      expect(idOf(viaCookie(fromPhone.token)), "a scoped token's are not").to.equal(
        fromPhone.info.id,
      );
      const fromNew = session(ownerFingerprint(ownerToken));
      expect(idOf(viaCookie(fromNew.token))).to.equal(fromNew.info.id);
      expect(auth.revokeStaleOwnerSessions()).to.deep.equal([fromOwner.info.id]);
      expect(tokens.get(fromOwner.info.id)?.revokedAt).to.be.a('number');
      expect(idOf(viaCookie(fromOwner.token))).to.equal('revoked session');
      expect(auth.revokeStaleOwnerSessions(), 'once').to.deep.equal([]);
      expect(tokens.get(fromNew.info.id)?.revokedAt).to.equal(null);
      expect(tokens.get(fromPhone.info.id)?.revokedAt).to.equal(null);
    }));

  it('a login finds the live sessions in the cookie it replaces, counting no failure; the oldest beyond the cap are revoked, per parent', () =>
    withStore((store, now) => {
      const tokens = new TokenRepo(store, now);
      const auth = authOver(tokens, { maxFailures: 1 });
      const session = (parentId: string, expiresAt: number | null = null) =>
        tokens.create({
          name: 'browser session',
          scopes: ['queues'],
          expiresAt,
          kind: 'browser',
          parentId,
        });
      const phone = tokens.create({ name: 'phone', scopes: ['queues'], expiresAt: null });
      const other = tokens.create({ name: 'ci', scopes: ['queues'], expiresAt: null });
      const [a, b, c, d] = [0, 1, 2, 3].map(() => session(phone.info.id));
      const ended = session(phone.info.id, 1); // expired long ago
      const elsewhere = session(other.info.id);
      tokens.revoke(String(b?.info.id));

      const header = ['garbage', String(a?.token), String(b?.token), phone.token, String(a?.token)]
        .map((v) => `${SESSION_COOKIE}=${v}`)
        .join('; ');
      expect(
        auth.sessionsInCookie({ cookie: header }, false),
        'live sessions only, once',
      ).to.deep.equal([a?.info.id]);
      expect(
        auth.sessionsInCookie({ cookie: header }, true),
        'not the listener name',
      ).to.deep.equal([]);
      expect(auth.authenticate('Bearer wrong', 'a'), 'no failure was counted').to.include({
        status: 401,
      });

      expect(
        tokens.revokeSessionsBeyond(phone.info.id, 2),
        'live ones past the 2 newest',
      ).to.deep.equal([a?.info.id]);
      expect(tokens.revokeSessionsBeyond(phone.info.id, 2), 'once').to.deep.equal([]);
      expect(tokens.revokeSessionsBeyond(phone.info.id, 1)).to.deep.equal([c?.info.id]);
      const live = tokens.list().filter((t) => t.kind === 'browser' && t.revokedAt === null);
      expect(live.map((t) => t.id)).to.have.members([
        d?.info.id,
        ended.info.id, // expired: not live, not counted, left to pruneSessions
        elsewhere.info.id,
      ]);
    }));

  it('a session never outlives the token it came from: it expires with it (a clock, not a wait)', () =>
    withStore((store) => {
      let t = 1_000_000;
      const tokens = new TokenRepo(store, () => t);
      const auth = authOver(tokens, { maxFailures: 1_000 });
      expect(sessionExpiry(t, null), '7 days at most').to.equal(t + SESSION_TTL_MS);
      expect(sessionExpiry(t, t + 9e12)).to.equal(t + SESSION_TTL_MS);
      const brief = tokens.create({
        name: 'brief',
        scopes: ['sessions:read'],
        expiresAt: t + 3_000,
      });
      const p = auth.principal(brief.token);
      if ('why' in p) throw new Error(p.why);
      const g = grantOf(p);
      const expiresAt = sessionExpiry(t, g.notAfter);
      expect(expiresAt, "the token's own expiry").to.equal(t + 3_000);
      const s = tokens.create({ name: 'browser session', ...g, expiresAt, kind: 'browser' });
      const me = () => {
        const r = auth.authenticateRequest({ cookie: `${SESSION_COOKIE}=${s.token}` }, 'a', plain);
        return isRefusal(r) ? r.why : r.id;
      };
      t += 2_999;
      expect(me()).to.equal(s.info.id);
      t += 1;
      expect(me()).to.equal('expired session');
      expect(auth.principal(brief.token)).to.deep.equal({ why: 'expired' });
    }));

  it('a session is never granted app-server: the relay takes no cookie', () =>
    withStore((store, now) => {
      const tokens = new TokenRepo(store, now);
      const auth = authOver(tokens);
      const owner = auth.principal('o'.repeat(40));
      if ('why' in owner) throw new Error(owner.why);
      expect(grantOf(owner).scopes).to.include('admin').and.not.include('app-server');
      const remote = tokens.create({
        name: 'remote',
        scopes: ['app-server', 'sessions:read'],
        expiresAt: null,
      });
      const p = auth.principal(remote.token);
      if ('why' in p) throw new Error(p.why);
      expect(grantOf(p).scopes).to.deep.equal(['sessions:read']);
    }));

  it('forgets sessions that ended long ago, and nothing else', () =>
    withStore((store) => {
      let t = 1_000_000;
      const tokens = new TokenRepo(store, () => t);
      const kept = tokens.create({ name: 'ci', scopes: ['queues'], expiresAt: 2_000_000 });
      const old = tokens.create({
        name: 'browser session',
        scopes: ['queues'],
        expiresAt: 2_000_000,
        kind: 'browser',
      });
      const live = tokens.create({
        name: 'browser session',
        scopes: ['queues'],
        expiresAt: 9_000_000,
        kind: 'browser',
      });
      t = 3_000_000;
      expect(tokens.pruneSessions(2_000_000), 'not yet long enough').to.equal(0);
      t = 5_000_000;
      expect(tokens.pruneSessions(2_000_000)).to.equal(1);
      // Same creation time: the list orders them by their random ids.
      expect(tokens.list().map((x) => x.id)).to.have.members([kept.info.id, live.info.id]);
      expect(tokens.get(old.info.id)).to.equal(undefined);
    }));
});
