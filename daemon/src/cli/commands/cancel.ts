import type { Command } from 'commander';
import { isGatewayClientError, type Job } from '@comfygate/shared';
import { action, CliError } from '../context.js';

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('cancel jobs (queued ones at once, running ones are interrupted on their backend)')
    .argument('<id...>', 'job ids')
    .action(
      action(async (ctx, ids: string[]) => {
        // Each id on its own: one unknown id must not stop the others from being canceled.
        const done: Job[] = [];
        const failed: string[] = [];
        for (const id of ids) {
          try {
            const job = await ctx.client.cancelJob(id);
            done.push(job);
            if (!ctx.json) ctx.print(`${job.id} ${job.state}`);
          } catch (err) {
            if (!isGatewayClientError(err) || err.status === 0) throw err; // daemon down: no point trying the rest
            failed.push(`${id}: ${err.message}`);
          }
        }
        if (ctx.json) ctx.printJson({ jobs: done, errors: failed });
        if (failed.length)
          throw new CliError(`could not cancel ${failed.length} of ${ids.length}:\n  ${failed.join('\n  ')}`);
      }),
    );
}
