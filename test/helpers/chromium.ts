import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { repoRoot } from './process.js';

/**
 * Debian's Chromium, driven by playwright-core (playwright's own browser download cannot run here). The flags keep
 * it off the network: without them it opens many connections that this machine's closed network refuses.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Screenshots are test artifacts: `test/artifacts/<suite>/<name>.png` (git-ignored); READMEs copy the best ones. */
export function artifactPath(suite: string, name: string): string {
  const dir = path.join(repoRoot, 'test', 'artifacts', suite);
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}.png`);
}
