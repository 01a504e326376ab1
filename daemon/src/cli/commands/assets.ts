import path from 'node:path';
import type { Command } from 'commander';
import { checkAssets, generateAssets, isStale, MANIFEST_FILE, ManifestError } from '@comfygate/shared/manifest';
import { action, CliError } from '../context.js';

interface AssetsFlags {
  check?: boolean;
  manifest: string;
}

/** Manifest errors are a person's to fix: one line each, exit 1, never a stack. */
const asCliError = (err: unknown) => (err instanceof ManifestError ? new CliError(err.message) : err);

export function registerAssets(program: Command): void {
  program
    .command('assets')
    .description(`generate the images ${MANIFEST_FILE} declares that are missing or changed (the lock file says which)`)
    .option('--check', 'generate nothing: exit 1 when an output is missing or stale (for CI)')
    .option('-m, --manifest <file>', 'the manifest', MANIFEST_FILE)
    .action(
      action(async (ctx, flags: AssetsFlags) => {
        try {
          if (flags.check) {
            const { planned, problems } = await checkAssets(ctx.client, flags.manifest);
            const stale = planned.filter(isStale);
            if (ctx.json)
              ctx.printJson({
                problems,
                assets: planned.map((p) => ({ output: p.entry.output, state: p.state, hash: p.hash })),
              });
            else for (const p of planned) ctx.print(`${p.state.padEnd(8)} ${p.entry.output}`);
            for (const p of problems) process.stderr.write(`assets[${p.index}] ${p.message}\n`);
            if (stale.length > 0 || problems.length > 0) {
              throw new CliError(
                `${stale.length} of ${planned.length} assets are missing or stale; run \`comfygate assets\``,
              );
            }
            return;
          }
          const r = await generateAssets(ctx.client, flags.manifest, {
            source: 'cli',
            onBatch: (b) => !ctx.json && ctx.print(`batch ${b.id}: ${b.total} jobs queued`),
            onProgress: (b) => !ctx.json && ctx.tty && process.stdout.write(`\r${b.done}/${b.total} done`),
          });
          const assets = r.planned.map((p) => ({ output: p.entry.output, state: p.state }));
          if (ctx.json) ctx.printJson({ batch: r.batch?.id ?? null, written: r.written, failed: r.failed, assets });
          else if (!r.batch) ctx.print(`all ${r.planned.length} assets are up to date`);
          else for (const f of r.written) ctx.print(path.relative(process.cwd(), f));
          const why = r.failed.map((f) => `${f.output} (${f.message})`).join('; ');
          if (r.failed.length > 0) throw new CliError(`${r.failed.length} assets failed: ${why}`);
        } catch (err) {
          throw asCliError(err);
        }
      }),
    );
}
