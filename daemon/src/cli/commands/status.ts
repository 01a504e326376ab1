import type { Command } from 'commander';
import type { Backend, Stats } from '@comfygate/shared';
import { action } from '../context.js';
import { table } from '../format.js';

export function backendTable(backends: Backend[]): string {
  if (backends.length === 0) return 'no backends configured (add one with `comfygate backends add <name> <url>`)';
  const rows = backends.map((b) => [
    b.name,
    b.url,
    b.draining ? `${b.health} (draining)` : b.health,
    `${b.inflight}/${b.capacity}`,
    String(b.weight),
    b.nodes === null ? '-' : String(b.nodes),
    b.models === null ? '-' : String(b.models),
  ]);
  return table(['NAME', 'URL', 'HEALTH', 'INFLIGHT', 'WEIGHT', 'NODES', 'MODELS'], rows);
}

function jobSummary(stats: Stats): string {
  const counts = Object.entries(stats.jobs).filter(([, n]) => n > 0);
  const total = counts.reduce((sum, [, n]) => sum + n, 0);
  return total === 0 ? 'none yet' : `${total} (${counts.map(([state, n]) => `${state} ${n}`).join(', ')})`;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('is the daemon running? job counts and backend health')
    .action(
      action(async (ctx) => {
        // Both calls fail the same way when the daemon is down; action() turns that into the "not running" hint.
        const [stats, backends] = await Promise.all([ctx.client.stats(), ctx.client.backends()]);
        if (ctx.json) return ctx.printJson({ url: ctx.url, running: true, stats, backends });
        const up = backends.filter((b) => b.health === 'up').length;
        ctx.print(`comfygate is running at ${ctx.url}`);
        ctx.print(`jobs:     ${jobSummary(stats)}`);
        ctx.print(`backends: ${up} of ${backends.length} up\n`);
        ctx.print(backendTable(backends));
      }),
    );
}
