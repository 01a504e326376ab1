import type { Job, JobSummary } from '@comfygate/shared/browser';

/** A row is drawn from a list item (a summary) or from a job read whole after an event: both carry these fields. */
export type JobRow = Job | JobSummary;

/** What the dashboard shows of a job, read from its metadata (templates record their name and the params used). */
export function templateOf(j: JobRow): string {
  return typeof j.metadata.template === 'string' ? j.metadata.template : 'graph';
}

export function paramsOf(j: JobRow): Record<string, unknown> {
  const p = j.metadata.params;
  return p && typeof p === 'object' ? (p as Record<string, unknown>) : {};
}

export function promptOf(j: JobRow): string {
  const p = paramsOf(j).prompt;
  return typeof p === 'string' ? p : '';
}

export function percentOf(j: JobRow): number | null {
  if (j.state === 'succeeded') return 100;
  if (j.progress && j.progress.max > 0) return (100 * j.progress.value) / j.progress.max;
  return j.state === 'queued' ? null : 0;
}

/** The first output's thumb (made for every image), else the image itself. */
export function thumbOf(j: JobRow): string | null {
  const o = j.outputs[0];
  if (!o) return null;
  return (o.variants.find((v) => v.variant === 'thumb') ?? o).id;
}
