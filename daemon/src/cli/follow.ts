import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminal, type Job } from '@comfygate/shared';
import { CliError, type Ctx } from './context.js';
import { printable } from './format.js';
import { saveOutputs } from './outputs.js';
import { barReporter, lineReporter, quietReporter, type Reporter } from './progress.js';
import { waitForJob } from './wait.js';

function reporterFor(ctx: Ctx): Reporter {
  if (ctx.json) return quietReporter();
  return ctx.tty ? barReporter(process.stdout) : lineReporter(ctx.print);
}

export const CANCEL_SETTLE_MS = 10_000;

/**
 * Ctrl-C while waiting: the person wants the work stopped, not only the CLI. A running prompt stops at its next
 * step, so the cancel is followed (briefly) to the job's final state, which is printed once.
 */
async function cancelOnInterrupt(ctx: Ctx, id: string): Promise<never> {
  process.once('SIGINT', () => process.exit(130)); // a second Ctrl-C does not wait for the daemon
  let job = await ctx.client.cancelJob(id).catch((err: Error) => {
    throw new CliError(`interrupted; could not cancel job ${id}: ${err.message}`, 130);
  });
  const deadline = Date.now() + CANCEL_SETTLE_MS;
  while (!isTerminal(job.state) && Date.now() < deadline) {
    await sleep(200);
    job = await ctx.client.getJob(id).catch(() => job);
  }
  const state = isTerminal(job.state) ? job.state : `still ${job.state} (canceling; it stops at its next step)`;
  throw new CliError(`interrupted: job ${id} ${state}`, 130);
}

async function finish(ctx: Ctx, job: Job, out: string, label: string): Promise<void> {
  if (job.state !== 'succeeded') {
    if (ctx.json) ctx.printJson({ job, files: [] });
    const why = job.error ? `${job.error.code}: ${printable(job.error.message)}` : 'no error reported';
    throw new CliError(`job ${job.id} ${job.state}: ${why}`);
  }
  const files = await saveOutputs(ctx.client, job, out, label);
  if (ctx.json) return ctx.printJson({ job, files });
  if (files.length === 0 && job.texts.length === 0)
    ctx.print(`job ${job.id} succeeded with no outputs (does the graph have a SaveImage node?)`);
  for (const f of files) ctx.print(f);
  // Text outputs (PreviewAny…) have no file to save: they are shown.
  for (const t of job.texts) ctx.print(`text (node ${printable(t.nodeId)}): ${printable(t.text)}`);
}

/**
 * Follows a job with a progress display, then saves its outputs into `out` (Ctrl-C cancels it). `label` names the
 * files of a job made from a graph rather than a template.
 */
export async function followToFiles(ctx: Ctx, job: Job, out: string, label = 'job'): Promise<void> {
  if (!ctx.json) ctx.print(`job ${job.id} queued`);
  const done = await waitForJob(ctx.client, job.id, reporterFor(ctx));
  if (done === 'interrupted') return cancelOnInterrupt(ctx, job.id);
  await finish(ctx, done, out, label);
}
