/**
 * The dashboard's routes and API paths (ui/src/paths.ts, pure): an id from the address bar's
 * fragment is taken only when it has an id's shape, and no value can leave its segment of an
 * API path (the client-side path traversal of `#/s/..%2Ftokens%2F<id>%2Frotate%23`).
 */
import { expect } from 'chai';
import { apiPath, href, parseHash } from '../../ui/src/paths.js';

const UUID = '019a1b2c-3d4e-7f60-8a9b-0c1d2e3f4a5b';

describe('dashboard routes and API paths (pure)', () => {
  it('reads the pages and ids it knows', () => {
    expect(parseHash('')).to.deep.equal({ page: 'status' });
    expect(parseHash('#/')).to.deep.equal({ page: 'status' });
    expect(parseHash('#/sessions')).to.deep.equal({ page: 'sessions' });
    expect(parseHash('#/sessions/')).to.deep.equal({ page: 'sessions' });
    expect(parseHash(`#/s/${UUID}`)).to.deep.equal({ page: 's', id: UUID });
    expect(parseHash('#/q/cst_a-B_9')).to.deep.equal({ page: 'q', id: 'cst_a-B_9' });
    expect(parseHash('#/g/abc')).to.deep.equal({ page: 'g', id: 'abc' });
    expect(parseHash('#s/abc'), 'without the slash').to.deep.equal({ page: 's', id: 'abc' });
  });

  it('takes anything else for the status page: no id that is not an id reaches a request', () => {
    for (const hash of [
      '#/s/..%2Ftokens%2Fabc%2Frotate%23', // the reviewer's proof: POST /api/tokens/abc/rotate
      '#/s/..',
      '#/s/.',
      '#/s/%2e%2e',
      '#/s/a%2Fb',
      '#/s/a%23b',
      '#/s/a%3Fb',
      '#/s/a b',
      '#/s/%E0%A4%A', // a bad escape: decodeURIComponent throws
      '#/s/abc/rotate',
      '#/status/abc', // a page that takes no id
      '#/tokens/abc',
      '#/__proto__',
      '#code=abc',
      `#/s/${'a'.repeat(129)}`,
    ])
      expect(parseHash(hash), hash).to.deep.equal({ page: 'status' });
  });

  it('links to a page with its id encoded, and reads the link back', () => {
    expect(href('sessions')).to.equal('#/sessions');
    expect(href('s', UUID)).to.equal(`#/s/${UUID}`);
    expect(parseHash(href('q', 'q_1'))).to.deep.equal({ page: 'q', id: 'q_1' });
  });

  it('puts ids in API paths one segment each, and refuses anything that could leave it', () => {
    expect(apiPath`/api/sessions/${UUID}/turns`).to.equal(`/api/sessions/${UUID}/turns`);
    expect(apiPath`/api/queues/${'q1'}/prompts/${'p_2'}/move`).to.equal(
      '/api/queues/q1/prompts/p_2/move',
    );
    expect(apiPath`/api/x/${3}`).to.equal('/api/x/3');
    for (const bad of ['..', '.', '../tokens/x/rotate#', 'a/b', 'a#b', 'a?b', '%2e%2e', ''])
      expect(() => apiPath`/api/sessions/${bad}/turns`, bad).to.throw(/not an id/);
    expect(() => apiPath`/api/x/${Number.NaN}`).to.throw(/not an id/);
  });
});
