/**
 * `codex-sm open` on a desktop, against the real service (REAL app-server, FAKE Responses API;
 * no turn is run): the opener is a FAKE `xdg-open` on PATH that records what it was given (the
 * real one would pass it to the browser, whose command line every user of the box can read).
 * It must be given only the path of a 0600 redirect page in a fresh 0700 directory under
 * $XDG_RUNTIME_DIR — never the login code — and a REAL Chromium opening that page lands on the
 * dashboard link with the code; the page is gone when the command has ended.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { startFakeResponses, type FakeResponsesServer } from '../../harness/fake-responses.js';
import {
  CLI,
  startService,
  tempDir,
  waitReady,
  type ServiceProcess,
} from '../../harness/service.js';
import { launchChromium } from '../helpers/browser.js';

/** What the stand-in opener saw: its argv, and the page it was given as it found it. */
interface Seen {
  argv: string[];
  cmdline: string;
  html: string;
  fileMode: number;
  dirMode: number;
}

/** The stand-in: records what it saw into $OPENER_SEEN (written whole, then renamed into place). */
const OPENER_JS = `
import fs from 'node:fs';
import path from 'node:path';
const argv = process.argv.slice(2);
const file = argv[0] ?? '';
const seen = {
  argv,
  cmdline: fs.readFileSync('/proc/self/cmdline', 'utf8'),
  html: fs.readFileSync(file, 'utf8'),
  fileMode: fs.statSync(file).mode & 0o777,
  dirMode: fs.statSync(path.dirname(file)).mode & 0o777,
};
fs.writeFileSync(process.env.OPENER_SEEN + '.tmp', JSON.stringify(seen));
fs.renameSync(process.env.OPENER_SEEN + '.tmp', process.env.OPENER_SEEN);
`;

/** Resolves once `file` exists (watching its directory: no polling). */
function fileAppears(file: string): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      if (!fs.existsSync(file)) return;
      w.close();
      resolve();
    };
    const w = fs.watch(path.dirname(file), done);
    done();
  });
}

describe('codex-sm open on a desktop: the link goes through a redirect page, never argv (FAKE xdg-open, real Chromium)', function () {
  this.timeout(90_000);
  let fake: FakeResponsesServer;
  let svc: ServiceProcess;

  before(async () => {
    fake = await startFakeResponses();
    svc = await startService({ config: { appServer: { args: fake.codexArgs() } } });
    await waitReady(svc);
  });
  after(async () => {
    await svc?.stop();
    await fake?.close();
  });

  it('the opener gets only the path of a 0600 page under $XDG_RUNTIME_DIR; Chromium follows it to the link; the page is removed', async function () {
    const browser = await launchChromium();
    if (!browser) return this.skip();
    try {
      const dir = tempDir();
      const bin = path.join(dir, 'bin');
      const run = path.join(dir, 'run');
      fs.mkdirSync(bin);
      fs.mkdirSync(run, { mode: 0o700 });
      fs.writeFileSync(path.join(dir, 'opener.mjs'), OPENER_JS);
      fs.writeFileSync(
        path.join(bin, 'xdg-open'),
        `#!/bin/sh\nexec "${process.execPath}" "${path.join(dir, 'opener.mjs')}" "$@"\n`,
        { mode: 0o755 },
      );
      const seenFile = path.join(dir, 'seen.json');

      const cli = spawn(
        process.execPath,
        [
          CLI,
          'open',
          '--json',
          '--config',
          path.join(svc.dir, 'config.json'),
          '--port',
          new URL(svc.endpoint).port,
        ],
        {
          env: {
            PATH: `${bin}:${process.env.PATH ?? ''}`,
            HOME: svc.dir,
            DISPLAY: ':99', // a desktop: `open` starts the opener
            XDG_RUNTIME_DIR: run,
            OPENER_SEEN: seenFile,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => cli.once('exit', r));
      await Promise.race([
        fileAppears(seenFile),
        exited.then(() => {
          throw new Error(`open ended before the opener ran: ${stdout} ${stderr}`);
        }),
      ]);
      const seen = JSON.parse(fs.readFileSync(seenFile, 'utf8')) as Seen;

      const [page] = seen.argv;
      expect(seen.argv, 'one argument: the page').to.have.length(1);
      expect(path.dirname(path.dirname(String(page))), 'under $XDG_RUNTIME_DIR').to.equal(run);
      expect(seen.fileMode).to.equal(0o600);
      expect(seen.dirMode).to.equal(0o700);
      const code = /#code=([A-Za-z0-9_-]{22})/.exec(seen.html)?.[1];
      expect(code, seen.html).to.be.a('string');
      expect(seen.cmdline, "the opener's command line").to.not.include(String(code));

      // What the real xdg-open would do next: a browser opens the page and follows it.
      const tab = await browser.newPage();
      const landed = new Promise<string>((resolve) =>
        tab.on('framenavigated', (f) => {
          if (f === tab.mainFrame() && f.url().startsWith('http')) resolve(f.url());
        }),
      );
      await tab.goto(pathToFileURL(String(page)).href);
      const url = await landed;

      expect(await exited, stderr).to.equal(0);
      const json = JSON.parse(stdout) as { url: string; openedWith: string | null };
      expect(json.openedWith).to.equal('xdg-open');
      expect(url, 'Chromium landed on the link, code and all').to.equal(json.url);
      expect(json.url).to.equal(`${svc.endpoint}/ui/#code=${code}`);
      expect(fs.readdirSync(run), 'the page is removed when open ends').to.deep.equal([]);
    } finally {
      await browser.close();
    }
  });
});
