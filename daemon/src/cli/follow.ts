import type { Job } from '@comfygate/shared';
import { CliError, type Ctx } from './context.js';
import { saveOutputs } from './outputs.js';
import { barReporter, lineReporter, quietReporter, type Reporter } from './progress.js';
import { waitForJob } from './wait.js';

function reporterFor(ctx: Ctx): Reporter {
  if (ctx.json) return quietReporter();
  return ctx.tty ? barReporter(process.stdout) : lineReporter(ctx.print);
}

/** Ctrl-C while waiting: the person wants the work stopped, not only the CLI. */
async function cancelOnInterrupt(ctx: Ctx, id: string): Promise<never> {
  process.once('SIGINT', () => process.exit(130)); // a second Ctrl-C does not wait for the daemon
  process.stderr.write(`\ninterrupted: canceling job ${id}…\n`); // stderr: keeps --json output parseable
  const job = await ctx.client.cancelJob(id).catch((err: Error) => {
    throw new CliError(`interrupted; could not cancel job ${id}: ${err.message}`, 130);
  });
  throw new CliError(`interrupted; job ${id} is ${job.state}`, 130);
}

async function finish(ctx: Ctx, job: Job, out: string): Promise<void> {
  if (job.state !== 'succeeded') {
    if (ctx.json) ctx.printJson({ job, files: [] });
    const why = job.error ? `${job.error.code}: ${job.error.message}` : 'no error reported';
    throw new CliError(`job ${job.id} ${job.state}: ${why}`);
  }
  const files = await saveOutputs(ctx.client, job, out);
  if (ctx.json) return ctx.printJson({ job, files });
  if (files.length === 0 && job.texts.length === 0) ctx.print(`job ${job.id} succeeded with no outputs (does the graph have a SaveImage node?)`);
  for (const f of files) ctx.print(f);
  // Text outputs (PreviewAny…) have no file to save: they are shown.
  for (const t of job.texts) ctx.print(`text (node ${t.nodeId}): ${t.text}`);
}

/** Follows a job with a progress display, then saves its outputs into `out` (Ctrl-C cancels it). */
export async function followToFiles(ctx: Ctx, job: Job, out: string): Promise<void> {
  if (!ctx.json) ctx.print(`job ${job.id} queued`);
  const done = await waitForJob(ctx.client, job.id, reporterFor(ctx));
  if (done === 'interrupted') return cancelOnInterrupt(ctx, job.id);
  await finish(ctx, done, out);
}
