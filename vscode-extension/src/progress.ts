import * as vscode from 'vscode';
import { type GatewayClient, isTerminal, type Job } from '@comfygate/shared';

const POLL_MS = 250;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Follows jobs to their end in a notification whose Cancel button cancels them on the daemon. Polls (no event
 * stream): a notification only needs a few updates a second, and a poll survives the daemon restarting.
 */
export function followJobs(
  client: GatewayClient,
  jobIds: string[],
  title: string,
  log: vscode.OutputChannel,
): Thenable<Job[]> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, cancel) => {
      let canceling = false;
      const onCancel = cancel.onCancellationRequested(() => {
        canceling = true;
        log.appendLine(`canceling ${jobIds.join(', ')}`);
        for (const id of jobIds)
          void client.cancelJob(id).catch((err: Error) => log.appendLine(`cancel ${id}: ${err.message}`));
      });
      try {
        let shown = 0;
        for (;;) {
          const jobs = await Promise.all(jobIds.map((id) => client.getJob(id)));
          const done = jobs.filter((j) => isTerminal(j.state)).length;
          const running = jobs.find((j) => !isTerminal(j.state));
          const step = running?.progress ? running.progress.value / Math.max(1, running.progress.max) : 0;
          const pct = Math.round(((done + step) / jobs.length) * 100);
          const state = running ? running.state : 'done';
          const count = jobs.length > 1 ? ` (${done}/${jobs.length})` : '';
          progress.report({
            increment: Math.max(0, pct - shown),
            message: `${canceling ? 'canceling… ' : ''}${state}${count}`,
          });
          shown = Math.max(shown, pct);
          if (done === jobs.length) return jobs;
          await sleep(POLL_MS);
        }
      } finally {
        onCancel.dispose();
      }
    },
  );
}

/** The daemon's own words for a job that did not succeed. */
export const jobProblem = (j: Job): string => `${j.state}${j.error ? `: ${j.error.message}` : ''}`;
