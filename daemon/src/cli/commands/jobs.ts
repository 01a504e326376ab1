import { type Command, Option } from 'commander';
import { JobState, type JobSummary } from '@comfygate/shared';
import { action, intOption } from '../context.js';
import { relative, table, truncate } from '../format.js';

interface JobsFlags {
  state?: JobState;
  limit: number;
}

const errorSummary = (j: JobSummary): string => (j.error ? truncate(`${j.error.code}: ${j.error.message}`, 60) : '');

export function jobsTable(jobs: JobSummary[], now = Date.now()): string {
  const rows = jobs.map((j) => [
    j.id,
    j.state,
    j.backend ?? '-',
    `${j.attempts}/${j.maxAttempts}`,
    relative(j.createdAt, now),
    errorSummary(j),
  ]);
  return table(['ID', 'STATE', 'BACKEND', 'ATTEMPTS', 'CREATED', 'ERROR'], rows);
}

export function registerJobs(program: Command): void {
  program
    .command('jobs')
    .description('list recent jobs, newest first')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices(JobState.options))
    .option('-n, --limit <n>', 'how many (1..500)', intOption(1), 20)
    .action(
      action(async (ctx, flags: JobsFlags) => {
        const { jobs, nextCursor } = await ctx.client.listJobs({
          state: flags.state,
          limit: Math.min(flags.limit, 500),
        });
        if (ctx.json) return ctx.printJson({ jobs, nextCursor });
        if (jobs.length === 0)
          return ctx.print(
            flags.state ? `no ${flags.state} jobs` : 'no jobs yet (queue one with `comfygate submit "a prompt"`)',
          );
        ctx.print(jobsTable(jobs));
        if (nextCursor) ctx.print(`showing the newest ${jobs.length}; raise --limit to see more`);
      }),
    );
}
