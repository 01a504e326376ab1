#!/usr/bin/env node
// Runs the bundled CLI from dist/, rebuilding it first when any source it was built from changed, so a user never
// runs a stale build and never waits for TypeScript to be compiled at run time. COMFYGATE_DIST moves the bundle
// (tests build into a temp folder).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readManifest, staleReason } from './fresh.js';

const dist = process.env.COMFYGATE_DIST || path.resolve(fileURLToPath(import.meta.url), '../../dist');
// `pnpm start -- --port 1` and `pnpm comfygate -- status` pass the `--` on; commander would take it for a command,
// or read every flag after it as an argument.
if (process.argv[2] === '--') process.argv.splice(2, 1);
if (process.argv[2] === 'start' && process.argv[3] === '--') process.argv.splice(3, 1);

const stale = staleReason(dist);
if (stale !== null) {
  // A second or two once after an edit or a pull: said on a terminal, silent for scripts and pipes.
  if (process.stderr.isTTY) process.stderr.write(`comfygate: building (${stale})…\n`);
  const { build } = await import('../build.mjs');
  await build({ dist, quiet: !process.env.COMFYGATE_BUILD_VERBOSE });
}
await import(pathToFileURL(path.join(dist, readManifest(dist).entry)).href);
