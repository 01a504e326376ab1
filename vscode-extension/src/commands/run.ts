import * as vscode from 'vscode';
import type { CreateJob, Job } from '@comfygate/shared';
import type { Ctx } from '../context.js';
import { saveJobs } from '../outputs.js';
import { followJobs, jobProblem } from '../progress.js';

export interface RunRequest {
  job: CreateJob;
  count: number;
  dir: string;
  prompt: string | null;
  label: string;
  /** Open the first image when done (Generate Image… does; a batch from the gallery need not). */
  open?: boolean;
}

/** Submits one job (or `count` variations as one batch), follows it with Cancel, saves and opens the images. */
export async function runAndSave(ctx: Ctx, req: RunRequest): Promise<Job[]> {
  const client = await ctx.connection.client();
  const job: CreateJob = { ...req.job, metadata: { source: 'vscode', ...req.job.metadata } };
  let ids: string[];
  if (req.count <= 1) ids = [(await client.createJob(job)).id];
  else
    ids = (await client.createBatch({ name: req.label, variations: { job, count: req.count, seed: 'random' } })).jobIds;
  ctx.log.appendLine(`${req.label}: submitted ${ids.join(', ')}`);
  void ctx.status.refresh();
  const jobs = await followJobs(client, ids, `comfygate: ${req.label}`, ctx.log);
  void ctx.status.refresh();
  const items = await saveJobs(client, jobs, req.dir, req.prompt);
  await ctx.history.add(items);
  for (const i of items) ctx.log.appendLine(`wrote ${i.file}`);
  const bad = jobs.filter((j) => j.state !== 'succeeded');
  for (const j of bad) ctx.log.appendLine(`job ${j.id} ${jobProblem(j)}`);
  if (bad.length > 0 && bad.every((j) => j.state === 'canceled'))
    void vscode.window.showInformationMessage(`comfygate: ${req.label} canceled`);
  else if (bad.length > 0) {
    void vscode.window.showErrorMessage(
      `comfygate: ${bad.length} of ${jobs.length} jobs did not succeed: ${jobProblem(bad[0]!)}`,
    );
  }
  if (req.open !== false && items[0])
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(items[0].file));
  return jobs;
}
