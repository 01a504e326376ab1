import type { Job } from '@comfygate/shared/browser';

/** What the dashboard shows of a job, read from its metadata (templates record their name and the params used). */
export function templateOf(j: Job): string {
  return typeof j.metadata.template === 'string' ? j.metadata.template : 'graph';
}

export function paramsOf(j: Job): Record<string, unknown> {
  const p = j.metadata.params;
  return p && typeof p === 'object' ? (p as Record<string, unknown>) : {};
}

export function promptOf(j: Job): string {
  const p = paramsOf(j).prompt;
  return typeof p === 'string' ? p : '';
}

export function percentOf(j: Job): number | null {
  if (j.state === 'succeeded') return 100;
  if (j.progress && j.progress.max > 0) return (100 * j.progress.value) / j.progress.max;
  return j.state === 'queued' ? null : 0;
}

/** The first output's thumb (made for every image), else the image itself. */
export function thumbOf(j: Job): string | null {
  const o = j.outputs[0];
  if (!o) return null;
  return (o.variants.find((v) => v.variant === 'thumb') ?? o).id;
}
