import type http from 'node:http';
import { expect } from 'chai';
import {
  clientErrorAnswer,
  codeForStatus,
  rawErrorResponse,
  upgradeRefusal,
} from '../../service/http.js';
import { describeIllFormed, findIllFormedString } from '../../service/well-formed.js';

describe('lone UTF-16 surrogates in parsed JSON (unit)', () => {
  it('points at the first string value or property name that has one', () => {
    expect(findIllFormedString(JSON.parse('{"a":"ok","b":["x","\\ud800"]}'))).to.deep.equal({
      pointer: '/b/1',
      inKey: false,
    });
    expect(findIllFormedString(JSON.parse('{"a/b~":{"\\udc00":1}}'))).to.deep.equal({
      pointer: '/a~1b~0',
      inKey: true,
    });
    expect(findIllFormedString('\ud800')).to.deep.equal({ pointer: '', inKey: false });
  });
  it('accepts surrogate pairs, other values and deep nesting without recursion', () => {
    expect(findIllFormedString({ s: '\ud83d\ude00', n: 1, t: true, z: null })).to.equal(undefined);
    const deep = JSON.parse('['.repeat(100_000) + '"\\ud800"' + ']'.repeat(100_000)) as unknown;
    expect(findIllFormedString(deep)?.pointer).to.equal('/0'.repeat(100_000));
  });
  it('describes where', () => {
    expect(describeIllFormed({ pointer: '/name', inKey: false }, 'body')).to.equal(
      'body at "/name" has a string with a lone UTF-16 surrogate (not Unicode text)',
    );
  });
});

describe('JSON for every error status (unit)', () => {
  it('names a code for each status the service or its libraries set', () => {
    expect([400, 404, 405, 408, 413, 415, 431, 501, 502, 418].map(codeForStatus)).to.deep.equal([
      'bad_request',
      'not_found',
      'method_not_allowed',
      'request_timeout',
      'body_too_large',
      'unsupported_media_type',
      'headers_too_large',
      'not_implemented',
      'internal',
      'bad_request',
    ]);
  });
  it("maps Node's parser errors to statuses", () => {
    expect(
      ['HPE_HEADER_OVERFLOW', 'HPE_INVALID_METHOD', 'HPE_INVALID_HEADER_TOKEN', undefined].map(
        (c) => clientErrorAnswer(c).status,
      ),
    ).to.deep.equal([431, 501, 400, 400]);
  });
  it('writes a raw response with a JSON body and its length', () => {
    const r = rawErrorResponse(503, { error: { code: 'x' } }, { 'Retry-After': '5' });
    expect(r).to.match(/^HTTP\/1.1 503 Service Unavailable\r\n/);
    expect(r).to.contain('Content-Type: application/json');
    expect(r).to.contain('Content-Length: 22\r\n');
    expect(r).to.contain('Retry-After: 5\r\n');
    expect(r.endsWith('\r\n\r\n{"error":{"code":"x"}}')).to.equal(true);
  });
  it('refuses the upgrades ws would refuse, with the status ws uses', () => {
    const req = (method: string, headers: Record<string, string>) =>
      ({
        method,
        headers: {
          upgrade: 'websocket',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          'sec-websocket-version': '13',
          ...headers,
        },
      }) as unknown as http.IncomingMessage; // only method and headers are read
    expect(upgradeRefusal(req('GET', {}))).to.equal(undefined);
    expect(upgradeRefusal(req('POST', {}))?.status).to.equal(405);
    expect(upgradeRefusal(req('GET', { upgrade: 'h2c' }))?.status).to.equal(400);
    expect(upgradeRefusal(req('GET', { 'sec-websocket-key': 'short' }))?.status).to.equal(400);
    expect(upgradeRefusal(req('GET', { 'sec-websocket-version': '7' }))?.headers).to.deep.equal({
      'Sec-WebSocket-Version': '13, 8',
    });
  });
});
