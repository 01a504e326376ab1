#!/usr/bin/env node
/**
 * `pnpm build` for the daemon: esbuild bundles the CLI (which is also the daemon: `comfygate start`) into
 * `dist/<build id>/`, then points `dist/manifest.json` at it. The manifest lists every source file a step read,
 * so `bin/comfygate.js` can tell in a few milliseconds whether the bundle is older than the code (see bin/fresh.js).
 *
 * Each build goes into a folder of its own and the manifest is replaced atomically: a CLI started during a rebuild
 * keeps loading the chunks of the build it began with. Other bundles (a dashboard, say) are added as one more
 * entry in `steps`; their inputs then count for staleness too.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const { version } = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));
export const defaultDist = path.join(here, 'dist');
/** Files outside any bundle's inputs whose change still makes a build stale (dependency versions, this script). */
const alsoWatched = [
  fileURLToPath(import.meta.url),
  path.join(here, 'package.json'),
  path.resolve(here, '../pnpm-lock.yaml'),
];

/** Native addons and packages that load files relative to themselves stay in node_modules. */
const external = ['better-sqlite3', 'sharp'];

/** esbuild's ESM output has no `require` for the CommonJS packages it inlines (commander, pino, ws ...). */
const requireShim =
  "import { createRequire as __cgRequire } from 'node:module'; const require = __cgRequire(import.meta.url);";

/** @type {Array<{ name: string, run(outdir: string): Promise<esbuild.Metafile> }>} */
export const steps = [
  {
    name: 'cli and daemon',
    async run(outdir) {
      const result = await esbuild.build({
        absWorkingDir: here,
        entryPoints: { comfygate: 'src/cli/main.ts' },
        outdir,
        bundle: true,
        splitting: true, // `start` loads the daemon (SQLite, sharp) in a chunk of its own: other commands skip it
        format: 'esm',
        platform: 'node',
        target: 'node20',
        external,
        banner: { js: requireShim },
        define: { __COMFYGATE_VERSION__: JSON.stringify(version) },
        sourcemap: 'linked',
        metafile: true,
        logLevel: 'warning',
        legalComments: 'none',
      });
      return result.metafile;
    },
  },
  {
    // Beside the bundle, where the bundled daemon looks for it (http/dashboard.ts): a user's `comfygate start`
    // always serves the dashboard of the code it runs.
    name: 'dashboard',
    async run(outdir) {
      const { buildDashboard } = await import('./src/dashboard/build.mjs');
      return (await buildDashboard({ outDir: path.join(outdir, 'dashboard') })).metafile;
    },
  },
];

/** Builds every step into a fresh folder and publishes it; returns the manifest written. */
export async function build({ dist = defaultDist, quiet = false } = {}) {
  const started = Date.now();
  const id = `b-${started.toString(36)}-${crypto.randomBytes(3).toString('hex')}`;
  const outdir = path.join(dist, id);
  fs.mkdirSync(outdir, { recursive: true });
  const inputs = new Set(alsoWatched);
  try {
    for (const step of steps) {
      const meta = await step.run(outdir);
      for (const input of Object.keys(meta.inputs)) {
        if (!input.includes('node_modules')) inputs.add(path.resolve(here, input));
      }
    }
  } catch (err) {
    fs.rmSync(outdir, { recursive: true, force: true });
    throw err;
  }
  // builtAt is when reading began: a file saved during the build counts as newer, so the next run rebuilds.
  const manifest = {
    id,
    entry: `${id}/comfygate.js`,
    builtAt: started,
    inputs: [...inputs].map((f) => path.relative(dist, f)),
  };
  const tmp = path.join(dist, `manifest.${process.pid}.${id}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(manifest, null, 1));
  fs.renameSync(tmp, path.join(dist, 'manifest.json'));
  removeOldBuilds(dist, id);
  if (!quiet)
    process.stderr.write(
      `comfygate: built ${path.relative(process.cwd(), outdir) || outdir} in ${Date.now() - started} ms\n`,
    );
  return manifest;
}

/** Builds older than a minute are no longer being loaded by a CLI that started before they were replaced. */
function removeOldBuilds(dist, keep) {
  const cutoff = Date.now() - 60_000;
  for (const name of fs.readdirSync(dist)) {
    if (name === keep || !name.startsWith('b-')) continue;
    const p = path.join(dist, name);
    try {
      if (fs.statSync(p).mtimeMs < cutoff) fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // another build removed it first
    }
  }
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  await build();
}
