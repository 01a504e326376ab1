import { type Backend, type Job, isTerminal } from '@comfygate/shared/browser';

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

/** Why a queued job is not running, in words a person can act on. */
export function waitingReason(j: Job, backends: Backend[]): string {
  if (j.state !== 'queued') return '';
  if (j.error && j.attempts > 0) return `retrying: ${j.error.message}`;
  const pinned = typeof (j as { backend: string | null }).backend === 'string' ? j.backend : null;
  const pool = pinned ? backends.filter((b) => b.name === pinned) : backends;
  if (pool.length === 0) return 'no backend configured';
  if (!pool.some((b) => b.health === 'up')) return 'no backend up';
  if (pool.every((b) => b.draining || b.health !== 'up')) return 'every backend is draining';
  if (pool.every((b) => b.draining || b.inflight >= b.capacity)) return 'waiting for a free GPU slot';
  return 'about to start';
}

export const isActive = (j: Job): boolean => !isTerminal(j.state);
