// Headless Chromium for the /ui/ page's tests: Debian's `chromium` (test/dataplane/install-deps.sh)
// driven by playwright-core, which brings no browser of its own. Without Chromium the tests are
// skipped loudly on a developer's machine and fail with CI set.
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.NEUTRINO_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const inCI = !!process.env.CI && !['0', 'false', 'no'].includes(process.env.CI.toLowerCase());
export const hasChromium = existsSync(CHROMIUM);

/** Where the screenshots go (git-ignored; CI keeps it as an artifact). */
export const ARTIFACTS = resolve(process.env.NEUTRINO_ARTIFACTS ?? 'artifacts');

/** The reason to skip, or false; warns loudly when skipping. */
export function skipWithoutChromium(suite: string): false | string {
  if (hasChromium || inCI) return false;
  const bar = '!'.repeat(78);
  console.warn(
    `\n${bar}\n!! SKIPPING ${suite}: no Chromium at ${CHROMIUM}\n!! apt-get install chromium (or set CI=true to make this a failure).\n${bar}\n`,
  );
  return `no Chromium at ${CHROMIUM}`;
}

let shared: Promise<Browser> | null = null;

/** One browser for the file's suites (starting one costs seconds on a loaded machine); closeBrowser() ends it. */
export function browser(): Promise<Browser> {
  if (!hasChromium) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (test/dataplane/install-deps.sh)`);
  // As root (CI), Chromium's sandbox cannot start.
  shared ??= chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  return shared;
}

export async function closeBrowser(): Promise<void> {
  const b = shared;
  shared = null;
  await (await b)?.close();
}

export function screenshotPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return resolve(ARTIFACTS, name);
}
