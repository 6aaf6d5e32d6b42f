/**
 * A self-signed certificate for the TLS tests, made with the system's openssl (real TLS, no
 * test-only crypto). Tests that need one skip loudly when openssl is missing, and fail under CI (`requireOpenssl`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/**
 * Whether the TLS test `what` can run: without openssl it fails under CI (which installs it, so
 * the test must not vanish quietly there) and skips loudly elsewhere.
 */
export function requireOpenssl(ctx: Mocha.Context, what: string): void {
  if (hasOpenssl) return;
  if (process.env.CI === 'true') throw new Error(`openssl missing under CI: ${what} cannot run`);
  console.warn(`\n  !!! openssl missing: ${what} did NOT run !!!\n`);
  ctx.skip();
}

/** A self-signed certificate for 127.0.0.1 and localhost, valid a day: the paths of cert.pem and key.pem in `dir`. */
export function makeCert(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
