/**
 * `codex-sm open`: log a browser into the dashboard without handing it the long-lived token.
 * Asks the running service for a one-time login code (valid 120 s, with the owner's token like
 * every client command), prints the dashboard URL that carries it in the fragment, shows it as
 * a QR code for a phone (`--qr`), and on a desktop opens it in the browser.
 *
 * The code never goes into a log or into any process's argv: the opener (and the browser it
 * starts, whose command line everyone on the box can read for as long as it runs) is given a
 * 0600 redirect page that holds the link, removed after REDIRECT_KEEP_MS (../open-redirect.ts).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import type { Command } from 'commander';
import QRCode from 'qrcode';
import { CodexSmError } from '../../errors.js';
import { loadConfig, type ConfigFlags } from '../common.js';
import {
  openViaRedirect,
  redirectBase,
  REDIRECT_KEEP_MS,
  removeRedirect,
  type RedirectFile,
  type StartOpener,
} from '../open-redirect.js';
import { call, connectionFor } from '../service-client.js';
import { runCommand } from '../output.js';

/** `POST /api/ui/login-codes`. */
interface LoginCodeJson {
  code: string;
  url: string;
  expiresAt: string;
}

/** The one JSON object `open --json` prints. */
export interface OpenJson {
  /** The dashboard URL with the one-time code in its fragment. */
  url: string;
  /** When the code stops working (it also stops after one use). */
  expiresAt: string;
  /** The opener that was started (`xdg-open`, `open`), or null. */
  openedWith: string | null;
  /** The URL as a terminal QR code, with --qr. */
  qr?: string;
  /** What may keep another device from using the URL, and what to do about it. */
  hints: string[];
}

interface OpenFlags {
  config?: string;
  port?: string;
  tokenFile?: string;
  host?: string;
  qr?: boolean;
  browser: boolean;
  json?: boolean;
}

/** Whether `h` can go into a URL as a host: an IP literal or a DNS name. Pure. */
export function validUrlHost(h: string): boolean {
  return (
    net.isIP(h) !== 0 ||
    /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(
      h,
    )
  );
}

/** The URL with its host replaced (port, path and fragment kept). Pure. */
export function withHost(url: string, host: string): string {
  const u = new URL(url);
  const h = net.isIP(host) === 6 ? `[${host}]` : host;
  return `${u.protocol}//${h}${u.port ? `:${u.port}` : ''}${u.pathname}${u.search}${u.hash}`;
}

const LOOPBACK = /^(127\.|::1$|localhost$)/i;
const WILDCARD = new Set(['0.0.0.0', '::']);

/** The non-internal IPv4 addresses of this machine's interfaces (LAN candidates). */
function lanAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => a?.address ?? '');
}

/**
 * What may keep another device from using the URL: the address the service listens on, the
 * host in the URL, and the Host allowlist. Pure: the config's host and allowedHosts in.
 */
export function reachHints(o: {
  bind: string;
  urlHost: string | undefined;
  allowedHosts: readonly string[];
  lan: readonly string[];
  /** A QR code was asked for: the link is for another device. */
  qr: boolean;
}): string[] {
  const hints: string[] = [];
  if (o.urlHost === undefined) {
    if (WILDCARD.has(o.bind))
      hints.push(
        `for a phone on this network: --host ${o.lan[0] ?? '<this machine\u2019s LAN address>'}` +
          (o.lan.length > 1 ? ` (or ${o.lan.slice(1).join(', ')})` : ''),
      );
    else if (o.qr && LOOPBACK.test(o.bind))
      hints.push(
        'the service listens on loopback only: another device needs `ssh -L` to this port, or a non-loopback host with TLS',
      );
    return hints;
  }
  if (LOOPBACK.test(o.bind) && !LOOPBACK.test(o.urlHost))
    hints.push(
      `the service listens on ${o.bind} only: ${o.urlHost} cannot reach it (bind a non-loopback address with TLS, or use ssh -L)`,
    );
  const isName = net.isIP(o.urlHost) === 0 && !/^localhost$|\.localhost$/i.test(o.urlHost);
  if (isName && !o.allowedHosts.some((h) => h.toLowerCase() === o.urlHost?.toLowerCase()))
    hints.push(
      `add "${o.urlHost}" to allowedHosts in the config, or the service refuses that Host`,
    );
  return hints;
}

/** The opener on this machine, or null when there is no desktop to open a browser on. Pure. */
export function openerFor(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string | null {
  if (platform === 'darwin') return 'open';
  if (env.DISPLAY || env.WAYLAND_DISPLAY) return 'xdg-open';
  return null;
}

/** Start the opener detached (a browser may outlive us); true once it has started. */
const startOpener: StartOpener = (opener, args) =>
  new Promise((resolve) => {
    const child = spawn(opener, args, { detached: true, stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });

/**
 * Keep the redirect page for the browser to read, then remove it; Ctrl-C (or a TERM) removes it
 * at once. The answer is printed already: this only delays the exit.
 */
async function removeAfterKeep(page: RedirectFile): Promise<void> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const now = (sig: NodeJS.Signals) => {
    removeRedirect(page);
    process.exit(128 + os.constants.signals[sig]);
  };
  for (const sig of signals) process.once(sig, now);
  await new Promise((r) => setTimeout(r, REDIRECT_KEEP_MS));
  for (const sig of signals) process.off(sig, now);
  removeRedirect(page);
}

function human(j: OpenJson): string {
  return [
    'Open the dashboard (this link works once, until ' + j.expiresAt + '):',
    `  ${j.url}`,
    ...(j.qr ? ['', j.qr] : []),
    ...(j.openedWith
      ? [
          `opened with ${j.openedWith} (through a page that holds the link; it is removed in ${REDIRECT_KEEP_MS / 1000} s, or now with Ctrl-C)`,
        ]
      : []),
    ...j.hints.map((h) => `hint: ${h}`),
  ].join('\n');
}

export function registerOpen(program: Command): void {
  program
    .command('open')
    .description(
      'log a browser into the dashboard with a one-time link (and a QR code for a phone)',
    )
    .option('--qr', 'also print the link as a QR code in the terminal')
    .option('--host <name-or-ip>', 'host to put in the link (a phone cannot use 127.0.0.1)')
    .option('--no-browser', 'do not open a browser, only print the link')
    .option('--port <n>', 'port of the service to talk to (default: from config, 3100)')
    .option(
      '--token-file <file>',
      'the token to authenticate with (default: from config; CODEX_SM_TOKEN takes precedence)',
    )
    .option('--json', 'print one JSON object')
    .action(async (_o: unknown, cmd: Command) => {
      const f = cmd.optsWithGlobals<OpenFlags>();
      let page: RedirectFile | undefined;
      await runCommand(f, async () => {
        const r = await openDashboard(f);
        page = r.page;
        return { json: r.json, human: human(r.json) };
      });
      if (page) await removeAfterKeep(page);
    });
}

async function openDashboard(f: OpenFlags): Promise<{ json: OpenJson; page?: RedirectFile }> {
  if (f.host !== undefined && !validUrlHost(f.host))
    throw new CodexSmError('usage', `--host ${JSON.stringify(f.host)} is not a host name or IP`, {
      hint: 'e.g. --host 192.168.1.20 or --host devbox.lan',
    });
  // --host names the link's host, not the service's: the service is reached as configured.
  const flags: ConfigFlags = { config: f.config, port: f.port, tokenFile: f.tokenFile };
  const { config } = loadConfig(flags);
  const made = await call<LoginCodeJson>(connectionFor(config), '/api/ui/login-codes', {
    method: 'POST',
    body: {},
  });
  const url = f.host !== undefined ? withHost(made.url, f.host) : made.url;
  const opener = f.browser ? openerFor(process.platform, process.env) : null;
  const page =
    opener === null
      ? undefined
      : await openViaRedirect(opener, url, {
          base: redirectBase(process.env),
          start: startOpener,
        });
  const json: OpenJson = {
    url,
    expiresAt: made.expiresAt,
    openedWith: page ? opener : null,
    ...(f.qr ? { qr: await QRCode.toString(url, { type: 'terminal', small: true }) } : {}),
    hints: reachHints({
      bind: config.host,
      urlHost: f.host,
      allowedHosts: config.allowedHosts,
      lan: lanAddresses(),
      qr: Boolean(f.qr),
    }),
  };
  return { json, ...(page ? { page } : {}) };
}
