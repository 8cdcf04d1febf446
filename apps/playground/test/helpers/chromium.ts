// Headless Debian Chromium through playwright-core for the browser tests: where it is, whether it exists (tests
// skip with a message when it does not; CI installs it) and a launcher with the flags they all use.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

// PLAYGROUND_CHROMIUM points elsewhere (e.g. another distribution's chromium).
export const CHROMIUM = process.env.PLAYGROUND_CHROMIUM ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
export const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');

/** `describe` where Chromium exists, else `describe.skip` after saying why (once per test file). */
export function describeWithChromium(what: string): jest.Describe {
  if (HAVE_CHROMIUM) return describe;
  // eslint-disable-next-line no-console
  console.warn(`${what} skipped: ${CHROMIUM} not found (install it with: apt-get install -y chromium)`);
  return describe.skip;
}

/** A headless Chromium with its profile in `profileDir`. */
export function launchChromium(profileDir: string): Promise<BrowserContext> {
  const flags =
    '--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run';
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: flags.split(' '),
    viewport: { width: 1440, height: 1000 },
  });
}
