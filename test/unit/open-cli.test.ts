/**
 * `codex-sm open`, the pure parts: the link's host replaced (IPv6 bracketed, the fragment with
 * the code kept), which hosts are accepted, the hints about reaching the service from another
 * device, and when there is a desktop to open a browser on; and the redirect page the opener is
 * given instead of the link (real files; the opener is a recording seam).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../../harness/service.js';
import { openerFor, reachHints, validUrlHost, withHost } from '../../src/cli/commands/open.js';
import {
  openViaRedirect,
  redirectBase,
  redirectHtml,
  REDIRECT_PREFIX,
  REDIRECT_STALE_MS,
  sweepRedirects,
} from '../../src/cli/open-redirect.js';

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

describe('codex-sm open: the redirect page instead of the link in argv (real files, recorded opener)', () => {
  const url = 'http://127.0.0.1:3100/ui/#code=Zm9vYmFyYmF6cXV4cXV1eA';

  it('hands the opener only the path of a 0600 page in a fresh 0700 directory; the page redirects to the link', async () => {
    const base = tempDir();
    const calls: { opener: string; args: readonly string[]; html: string; modes: number[] }[] = [];
    const page = await openViaRedirect('xdg-open', url, {
      base,
      start: (opener, args) => {
        const file = String(args[0]);
        calls.push({
          opener,
          args,
          html: fs.readFileSync(file, 'utf8'),
          modes: [fs.statSync(file).mode & 0o777, fs.statSync(path.dirname(file)).mode & 0o777],
        });
        return Promise.resolve(true);
      },
    });
    expect(calls).to.have.length(1);
    const [call] = calls;
    expect(call?.opener).to.equal('xdg-open');
    expect(call?.args).to.deep.equal([page?.file]);
    expect(JSON.stringify(call?.args), 'no code in argv').to.not.include('Zm9vYmFyYmF6cXV4cXV1eA');
    expect(path.dirname(path.dirname(String(page?.file)))).to.equal(base);
    expect(path.basename(String(page?.dir))).to.match(new RegExp(`^${REDIRECT_PREFIX}`));
    expect(call?.modes).to.deep.equal([0o600, 0o700]);
    expect(call?.html).to.include(`location.replace(${JSON.stringify(url)})`);
    expect(call?.html).to.include(`<meta http-equiv="refresh" content="0;url=${url}">`);
    expect(fs.existsSync(String(page?.file)), 'kept for the browser').to.equal(true);
  });

  it('removes the page at once when the opener does not start', async () => {
    const base = tempDir();
    const page = await openViaRedirect('xdg-open', url, {
      base,
      start: () => Promise.resolve(false),
    });
    expect(page).to.equal(undefined);
    expect(fs.readdirSync(base)).to.deep.equal([]);
  });

  it('escapes the link for each place it goes', () => {
    const html = redirectHtml('http://h/ui/#code="x\'</script><b>&');
    expect(html).to.not.include('</script><b>');
    expect(html).to.include(
      'content="0;url=http://h/ui/#code=&quot;x&#39;&lt;/script&gt;&lt;b&gt;&amp;"',
    );
    expect(html).to.include(
      'location.replace("http://h/ui/#code=\\"x\'\\u003c/script>\\u003cb>&")',
    );
  });

  it('prefers $XDG_RUNTIME_DIR when it is an absolute directory', () => {
    const run = tempDir();
    expect(redirectBase({ XDG_RUNTIME_DIR: run }, '/tmp')).to.equal(run);
    expect(redirectBase({}, '/tmp')).to.equal('/tmp');
    expect(redirectBase({ XDG_RUNTIME_DIR: 'relative' }, '/tmp')).to.equal('/tmp');
    expect(redirectBase({ XDG_RUNTIME_DIR: path.join(run, 'gone') }, '/tmp')).to.equal('/tmp');
  });

  it('a later run removes pages an interrupted run left, never a live one nor anything else', () => {
    const base = tempDir();
    const old = fs.mkdtempSync(path.join(base, REDIRECT_PREFIX));
    const live = fs.mkdtempSync(path.join(base, REDIRECT_PREFIX));
    const other = fs.mkdtempSync(path.join(base, 'someone-else-'));
    const now = Date.now();
    const past = (now - REDIRECT_STALE_MS - 1_000) / 1000;
    fs.utimesSync(old, past, past);
    fs.utimesSync(other, past, past);
    expect(sweepRedirects(base, now)).to.equal(1);
    expect(fs.readdirSync(base).sort()).to.deep.equal(
      [path.basename(live), path.basename(other)].sort(),
    );
  });
});
