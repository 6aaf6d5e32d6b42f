/**
 * How `codex-sm open` hands the login link to a browser without putting it in any process's
 * argv. An opener (`xdg-open`, `open`) takes what it opens only as an argument, and the browser
 * it starts keeps that argument in its command line — /proc/<pid>/cmdline, readable by every
 * user of the box — for as long as it runs. So the link goes into a small HTML page that
 * redirects to it, written 0600 into a fresh 0700 directory (under $XDG_RUNTIME_DIR when there
 * is one: per user, memory-backed), and the opener is given that file's path. The page is
 * removed once the browser has had time to read it (as Jupyter does for its login URL).
 *
 * What is left: while the file exists (REDIRECT_KEEP_MS), a process running as the same user can
 * read the code in it — such a process can read the token file too. A browser that starts more
 * slowly than that, or a sandboxed one (snap, flatpak) that cannot read the directory, finds no
 * page: the link printed in the terminal still works (once, for 120 s).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The directories' name prefix, so a later run can find what an interrupted one left behind. */
export const REDIRECT_PREFIX = 'codex-sm-open-';
/** How long the page stays for the browser to read it. */
export const REDIRECT_KEEP_MS = 10_000;
/** Leftovers older than this are removed by the next run (a login code lives 120 s at most). */
export const REDIRECT_STALE_MS = 120_000;

export interface RedirectFile {
  /** The fresh 0700 directory: removing it removes the page. */
  dir: string;
  /** The 0600 page the opener is given. */
  file: string;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * The page: a script redirect (location.replace: the file leaves no history entry) and a meta
 * refresh for a browser without script, and a link to click. A file:// page has no CSP of ours
 * to obey. The URL comes from the service (and --host, which is validated); it is escaped for
 * each place anyway. Pure.
 */
export function redirectHtml(url: string): string {
  const attr = url.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
  // JSON is a JS string literal; `<` escaped so no `</script>` can end the element early.
  const js = JSON.stringify(url).replace(/</g, '\\u003c');
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8">',
    '<meta name="referrer" content="no-referrer">',
    `<meta http-equiv="refresh" content="0;url=${attr}">`,
    '<title>codex-sm dashboard</title>',
    `<script>location.replace(${js})</script>`,
    `</head><body><p><a href="${attr}">Open the codex-sm dashboard</a></p></body></html>`,
    '',
  ].join('\n');
}

/** Where the page goes: $XDG_RUNTIME_DIR when it is an absolute directory, else the temp dir. */
export function redirectBase(env: NodeJS.ProcessEnv, tmpdir: string = os.tmpdir()): string {
  const run = env.XDG_RUNTIME_DIR;
  if (run && path.isAbsolute(run)) {
    try {
      if (fs.statSync(run).isDirectory()) return run;
    } catch {
      /* unset in effect: a stale variable after a logout */
    }
  }
  return tmpdir;
}

/** Write the page into a fresh directory under `base` (mkdtemp: 0700, a name no one chose). */
function writeRedirect(url: string, base: string): RedirectFile {
  const dir = fs.mkdtempSync(path.join(base, REDIRECT_PREFIX));
  fs.chmodSync(dir, 0o700); // mkdtemp's mode already; said here so it is not left to it
  const file = path.join(dir, 'login.html');
  fs.writeFileSync(file, redirectHtml(url), { mode: 0o600, flag: 'wx' });
  return { dir, file };
}

export function removeRedirect(r: RedirectFile): void {
  fs.rmSync(r.dir, { recursive: true, force: true });
}

/**
 * Remove what runs that were killed before their own removal left under `base`: directories of
 * ours (prefix, this user's) older than REDIRECT_STALE_MS, so another run's live page is kept.
 * Their number.
 */
export function sweepRedirects(base: string, now: number = Date.now()): number {
  let removed = 0;
  let names: string[];
  try {
    names = fs.readdirSync(base);
  } catch {
    return 0;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    if (!name.startsWith(REDIRECT_PREFIX)) continue;
    const dir = path.join(base, name);
    try {
      const st = fs.lstatSync(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      if (now - st.mtimeMs < REDIRECT_STALE_MS) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      removed++;
    } catch {
      /* gone meanwhile, or not ours to remove */
    }
  }
  return removed;
}

/** Starts the opener with these arguments; true once it has started. The side-effect seam. */
export type StartOpener = (opener: string, args: readonly string[]) => Promise<boolean>;

/**
 * Open `url` with `opener` through a redirect page: the opener's argv holds only the page's path.
 * The page is returned for removal after REDIRECT_KEEP_MS (now, when the opener did not start).
 */
export async function openViaRedirect(
  opener: string,
  url: string,
  o: { base: string; start: StartOpener; now?: number },
): Promise<RedirectFile | undefined> {
  sweepRedirects(o.base, o.now);
  const page = writeRedirect(url, o.base);
  if (await o.start(opener, [page.file])) return page;
  removeRedirect(page);
  return undefined;
}
