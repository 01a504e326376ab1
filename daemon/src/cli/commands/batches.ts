import { type Command, Option } from 'commander';
import { BatchListState, type BatchSummary } from '@comfygate/shared';
import { action, intOption } from '../context.js';
import { relative, table, truncate } from '../format.js';

interface BatchesFlags {
  state?: BatchListState;
  limit: number;
}

/** Counts other than the finished-and-fine: what is still to come and what went wrong. */
const countsOf = (b: BatchSummary): string =>
  (['queued', 'running', 'failed', 'canceled'] as const)
    .map((s) => [s, s === 'running' ? b.counts.dispatched + b.counts.running + b.counts.postprocessing : b.counts[s]])
    .filter(([, n]) => Number(n) > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');

export function batchesTable(batches: BatchSummary[], now = Date.now()): string {
  const rows = batches.map((b) => [
    b.id,
    truncate(b.name ?? '-', 40),
    `${b.done}/${b.total}`,
    countsOf(b) || '-',
    b.owner.name,
    relative(b.createdAt, now),
  ]);
  return table(['ID', 'NAME', 'DONE', 'COUNTS', 'OWNER', 'CREATED'], rows);
}

export function registerBatches(program: Command): void {
  program
    .command('batches')
    .description("list recent batches, newest first (yours; every token's for an admin or see-all token)")
    .addOption(
      new Option('--state <state>', 'active: not finished; done: every job finished').choices(BatchListState.options),
    )
    .option('-n, --limit <n>', 'how many (1..200)', intOption(1), 20)
    .action(
      action(async (ctx, flags: BatchesFlags) => {
        const { batches, nextCursor } = await ctx.client.listBatches({
          state: flags.state,
          limit: Math.min(flags.limit, 200),
        });
        if (ctx.json) return ctx.printJson({ batches, nextCursor });
        if (batches.length === 0) return ctx.print(flags.state ? `no ${flags.state} batches` : 'no batches yet');
        ctx.print(batchesTable(batches));
        if (nextCursor) ctx.print(`showing the newest ${batches.length}; raise --limit to see more`);
      }),
    );
}
