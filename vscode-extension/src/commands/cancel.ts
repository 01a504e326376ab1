import * as vscode from 'vscode';
import { isTerminal, type JobState } from '@comfygate/shared';
import type { Ctx } from '../context.js';

const ACTIVE: JobState[] = ['queued', 'dispatched', 'running', 'postprocessing'];

/** Cancel Job: a pick of the daemon's unfinished jobs (those this token may see). */
export async function cancelJob(ctx: Ctx): Promise<void> {
  const client = await ctx.connection.client();
  const jobs = (await Promise.all(ACTIVE.map((state) => client.listJobs({ state, limit: 100 })))).flatMap(
    (r) => r.jobs,
  );
  if (jobs.length === 0) return void vscode.window.showInformationMessage('comfygate: no job is queued or running');
  const picked = await vscode.window.showQuickPick(
    jobs.map((j) => {
      const params = (j.metadata.params ?? {}) as Record<string, unknown>;
      return {
        label: typeof params.prompt === 'string' ? params.prompt.slice(0, 80) : j.id,
        description: `${j.state} · ${j.id}`,
        id: j.id,
      };
    }),
    { title: 'comfygate: cancel which job', canPickMany: true },
  );
  if (!picked?.length) return;
  for (const p of picked) {
    const job = await client.cancelJob(p.id);
    ctx.log.appendLine(`cancel ${job.id}: ${job.state}`);
    if (!isTerminal(job.state)) ctx.log.appendLine(`${job.id} is stopping on its backend`);
  }
  void ctx.status.refresh();
}
