/**
 * A real headless Chromium for the dashboard tests: Debian's /usr/bin/chromium (installed by
 * .ci/run) driven by playwright-core; nothing is downloaded. Missing, it fails the run under
 * CI=true and says so loudly otherwise.
 */
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * The browser, or undefined (after a loud warning) when it is missing outside CI. `args` are
 * extra command-line switches (e.g. the one certificate to trust).
 */
export async function launchChromium(args: string[] = []): Promise<Browser | undefined> {
  if (!fs.existsSync(CHROMIUM)) {
    const msg = `${CHROMIUM} is missing: the dashboard's browser tests need Debian's chromium package (apt-get install chromium)`;
    if (process.env.CI === 'true') throw new Error(msg);
    console.warn(`\n  !!! SKIPPING THE BROWSER TESTS: ${msg}\n`);
    return undefined;
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', ...args] });
}
