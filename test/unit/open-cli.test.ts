/**
 * `codex-sm open`, the pure parts: the link's host replaced (IPv6 bracketed, the fragment with
 * the code kept), which hosts are accepted, the hints about reaching the service from another
 * device, and when there is a desktop to open a browser on.
 */
import { expect } from 'chai';
import { openerFor, reachHints, validUrlHost, withHost } from '../../src/cli/commands/open.js';

describe('codex-sm open (pure)', () => {
  const url = 'http://127.0.0.1:3100/ui/#code=abc_-1';

  it('replaces only the host of the link', () => {
    expect(withHost(url, '192.168.1.20')).to.equal('http://192.168.1.20:3100/ui/#code=abc_-1');
    expect(withHost(url, 'fd00::2')).to.equal('http://[fd00::2]:3100/ui/#code=abc_-1');
    expect(withHost('https://127.0.0.1/ui/#code=x', 'box.lan')).to.equal(
      'https://box.lan/ui/#code=x',
    );
  });

  it('takes IP literals and DNS names as --host, nothing that could change the URL', () => {
    for (const h of ['192.168.1.20', 'fd00::2', 'devbox', 'box.lan', 'a-b.example.com'])
      expect(validUrlHost(h), h).to.equal(true);
    for (const h of ['', 'evil.example/x', 'a@b', 'b:80', '-x', 'a b', 'x#y', '[::1]'])
      expect(validUrlHost(h), h).to.equal(false);
  });

  it('hints at a LAN address on a wildcard bind, and at what keeps a device out', () => {
    const base = { allowedHosts: [], lan: ['192.168.1.20', '10.0.0.5'], qr: false };
    expect(reachHints({ ...base, bind: '0.0.0.0', urlHost: undefined })).to.deep.equal([
      'for a phone on this network: --host 192.168.1.20 (or 10.0.0.5)',
    ]);
    expect(
      reachHints({ ...base, bind: '127.0.0.1', urlHost: undefined }),
      'a desktop',
    ).to.deep.equal([]);
    expect(reachHints({ ...base, bind: '127.0.0.1', urlHost: undefined, qr: true })[0]).to.include(
      'loopback only',
    );
    expect(reachHints({ ...base, bind: '127.0.0.1', urlHost: '192.168.1.20' })[0]).to.include(
      'cannot reach it',
    );
    expect(reachHints({ ...base, bind: '0.0.0.0', urlHost: 'box.lan' })).to.deep.equal([
      'add "box.lan" to allowedHosts in the config, or the service refuses that Host',
    ]);
    expect(
      reachHints({ ...base, allowedHosts: ['BOX.lan'], bind: '0.0.0.0', urlHost: 'box.lan' }),
    ).to.deep.equal([]);
  });

  it('opens a browser only on a desktop', () => {
    expect(openerFor('darwin', {})).to.equal('open');
    expect(openerFor('linux', { DISPLAY: ':0' })).to.equal('xdg-open');
    expect(openerFor('linux', { WAYLAND_DISPLAY: 'wayland-0' })).to.equal('xdg-open');
    expect(openerFor('linux', {}), 'ssh session, no display').to.equal(null);
  });
});
