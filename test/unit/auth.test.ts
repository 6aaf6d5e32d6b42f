/**
 * Scoped tokens: the scope table (walked against every route the service registers, so no
 * route is left to the default by accident), tokens at rest (a real store), and the
 * authenticator's refusals and rate limit.
 */
import Router from '@koa/router';
import { expect } from 'chai';
import pino from 'pino';
import { registerAppServerRoutes } from '../../service/app-server-api.js';
import { Authenticator, isRefusal } from '../../service/auth/auth.js';
import { durationMs, registerTokenRoutes } from '../../service/auth/routes.js';
import { registerUiAuthRoutes } from '../../service/auth/ui-routes.js';
import {
  allows,
  isPublic,
  parseScopes,
  requiredScope,
  routeKnown,
  socketScope,
  type Scope,
} from '../../service/auth/scopes.js';
import { registerWorkRoutes } from '../../service/queues/routes.js';
import { registerCoreRoutes } from '../../service/routes.js';
import { registerSessionRoutes } from '../../service/sessions/routes.js';
import { registerUi } from '../../service/ui.js';
import { splitToken, TokenRepo } from '../../service/store/tokens.js';
import { withStore } from '../helpers/store.js';

/**
 * Every route the service serves, registered as front.ts does. The handlers are never called,
 * so their dependencies are empty stand-ins (the registrations only keep them for later).
 */
function allRoutes(): { path: string; methods: string[] }[] {
  const router = new Router();
  const unused = {} as never; // never read: no request reaches these routers
  registerCoreRoutes(router, unused);
  registerAppServerRoutes(router, unused);
  registerTokenRoutes(router, unused);
  registerUiAuthRoutes(router, unused);
  registerSessionRoutes(router, unused);
  registerWorkRoutes(router, unused);
  registerUi(router);
  router.get('/openapi.json', () => undefined);
  // An optional group (`/ui{/*rest}`) is checked by the path it starts with.
  return router.stack.map((l) => ({
    path: String(l.path).replace(/\{[^}]*\}/g, ''),
    methods: l.methods,
  }));
}

describe('scopes', () => {
  it('every route but the public ones is in the scope table (nothing falls to the default)', () => {
    const routes = allRoutes();
    expect(routes.length).to.be.greaterThan(40);
    const missing = routes.filter((r) => !isPublic(r.path) && !routeKnown(r.path));
    expect(missing.map((r) => r.path)).to.deep.equal([]);
    const open = routes.filter((r) => isPublic(r.path)).map((r) => r.path);
    expect(
      open,
      'only the probes, the login exchange and the dashboard shell need no credential',
    ).to.have.members(['/healthz', '/readyz', '/api/ui/login', '/', '/ui']);
  });

  it("the dashboard's login routes: login public, login codes admin, session and logout any credential", () => {
    expect(isPublic('/api/ui/login')).to.equal(true);
    expect(isPublic('/api/ui/login-codes'), 'a prefix is a path segment').to.equal(false);
    expect(isPublic('/api/ui/session')).to.equal(false);
    expect(requiredScope('POST', '/api/ui/login-codes')).to.equal('admin');
    expect(requiredScope('GET', '/api/ui/session')).to.equal(null);
    expect(requiredScope('POST', '/api/ui/logout')).to.equal(null);
  });

  it('the dashboard shell and the redirect on / are public for GET only', () => {
    const shell = allRoutes().filter((r) => r.path === '/' || r.path === '/ui');
    expect(shell.map((r) => r.path).sort()).to.deep.equal(['/', '/ui']);
    for (const r of shell) expect(r.methods.filter((m) => m !== 'HEAD')).to.deep.equal(['GET']);
    expect(isPublic('/uix'), 'a prefix is a path segment').to.equal(false);
    expect(isPublic('/ui/main-ABCDEFGH.js')).to.equal(true);
  });

  it('reads and writes need their own scopes; admin may do everything', () => {
    expect(requiredScope('GET', '/api/sessions/abc/events')).to.equal('sessions:read');
    expect(requiredScope('POST', '/api/sessions/abc/turns')).to.equal('sessions:write');
    expect(requiredScope('POST', '/api/approvals/x')).to.equal('approvals');
    expect(requiredScope('DELETE', '/api/queues/x')).to.equal('queues');
    expect(requiredScope('GET', '/api/tokens')).to.equal('admin');
    expect(requiredScope('GET', '/status')).to.equal(null);
    expect(requiredScope('GET', '/api/sessionsX'), 'a prefix is a path segment').to.equal('admin');
    expect(requiredScope('PUT', '/somewhere-new'), 'default deny').to.equal('admin');
    expect(socketScope('/app-server')).to.equal('app-server');
    expect(socketScope('/ws')).to.equal('sessions:read');
    const phone = new Set<Scope>(['sessions:read', 'approvals']);
    expect(allows(phone, 'approvals')).to.equal(true);
    expect(allows(phone, 'sessions:write')).to.equal(false);
    expect(allows(phone, null)).to.equal(true);
    expect(allows(new Set<Scope>(['admin']), 'app-server')).to.equal(true);
    expect(parseScopes(['queues', ' groups', 'root'])).to.deep.equal({
      scopes: ['queues', 'groups'],
      unknown: ['root'],
    });
    expect(durationMs('30d')).to.equal(30 * 86_400_000);
    expect(durationMs('90m')).to.equal(90 * 60_000);
  });
});

describe('tokens at rest (real SQLite)', () => {
  it('keeps a hash, not the secret; verifies, expires, revokes and rotates', () =>
    withStore((store, now) => {
      const repo = new TokenRepo(store, now);
      const { info, token } = repo.create({
        name: 'phone',
        scopes: ['sessions:read'],
        expiresAt: now() + 100,
      });
      const parts = splitToken(token);
      expect(parts?.id).to.equal(info.id);
      const row = JSON.stringify(store.db.prepare('SELECT * FROM tokens').all());
      expect(row).to.not.include(parts?.secret);
      expect(repo.verify(token)).to.have.property('info');
      expect(repo.get(info.id)?.lastUsedAt, 'last used is kept').to.be.a('number');
      expect(repo.verify(`${info.id}.${'A'.repeat(43)}`)).to.deep.equal({ refused: 'unknown' });
      expect(repo.verify('not-a-token')).to.deep.equal({ refused: 'unknown' });
      const rotated = repo.rotate(info.id);
      expect(repo.verify(token), 'the old secret stops working').to.deep.equal({
        refused: 'unknown',
      });
      expect(repo.verify(rotated?.token ?? '')).to.have.property('info');
      repo.revoke(info.id);
      expect(repo.verify(rotated?.token ?? '')).to.deep.equal({ refused: 'revoked' });
      expect(repo.rotate(info.id), 'a revoked token is not brought back').to.equal(undefined);
    }));

  it('refuses an expired token', () =>
    withStore((store) => {
      let t = 1_000;
      const repo = new TokenRepo(store, () => t);
      const { token } = repo.create({ name: 'ci', scopes: ['queues'], expiresAt: 2_000 });
      expect(repo.verify(token)).to.have.property('info');
      t = 2_000;
      expect(repo.verify(token)).to.deep.equal({ refused: 'expired' });
    }));
});

describe('authenticator', () => {
  it('takes the owner token and scoped tokens, and rate-limits failures per peer', () =>
    withStore((store) => {
      const tokens = new TokenRepo(store);
      const auth = new Authenticator({
        ownerToken: () => 'o'.repeat(40),
        tokens,
        logger: pino({ level: 'silent' }),
        maxFailures: 3,
      });
      const owner = auth.authenticate(`Bearer ${'o'.repeat(40)}`, 'a');
      expect(isRefusal(owner) ? null : owner.id).to.equal('owner');
      const { token } = tokens.create({ name: 'x', scopes: ['groups'], expiresAt: null });
      const scoped = auth.authenticate(`Bearer ${token}`, 'a');
      expect(isRefusal(scoped) ? null : [...scoped.scopes]).to.deep.equal(['groups']);
      for (let i = 0; i < 3; i++)
        expect(auth.authenticate('Bearer wrong', 'b')).to.include({ status: 401 });
      const limited = auth.authenticate('Bearer wrong again', 'b');
      expect(limited).to.include({ status: 429, code: 'rate_limited' });
      expect(isRefusal(limited) && limited.retryAfterSec).to.be.greaterThan(0);
      const owner2 = auth.authenticate(`Bearer ${'o'.repeat(40)}`, 'b');
      expect(isRefusal(owner2), 'a right token still passes').to.equal(false);
      expect(isRefusal(auth.authenticate(`Bearer ${token}`, 'c')), 'other peers are not').to.equal(
        false,
      );
    }));
});
