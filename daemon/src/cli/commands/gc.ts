import type { Command } from 'commander';
import { action } from '../context.js';

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function registerGc(program: Command): void {
  program
    .command('gc')
    .description(
      'run retention now: remove expired jobs, uploads, unreferenced files and old webhook history (see retention in the config)',
    )
    .option('--dry-run', 'only report what would be removed')
    .action(
      action(async (ctx, opts: { dryRun?: boolean }) => {
        const r = await ctx.client.gc(opts.dryRun ?? false);
        if (ctx.json) return ctx.printJson(r);
        const verb = r.dryRun ? 'would remove' : 'removed';
        ctx.print(
          `${verb} ${r.jobs} job(s), ${r.refs} upload handle(s), ${r.assets} file(s) (${mb(r.bytes)}), ${r.webhooks} retired webhook(s), ${r.deliveries} webhook delivery record(s)`,
        );
      }),
    );
}
