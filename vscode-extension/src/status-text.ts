import type { Stats } from '@comfygate/shared';

/** The status bar text for a stats answer, or for no answer at all. */
export function statusText(stats: Stats | 'down' | 'unauthorized'): string {
  if (stats === 'down') return 'comfygate: not running';
  if (stats === 'unauthorized') return 'comfygate: not paired';
  const queued = stats.jobs.queued ?? 0;
  const running = (stats.jobs.dispatched ?? 0) + (stats.jobs.running ?? 0) + (stats.jobs.postprocessing ?? 0);
  return `comfygate: connected · ${queued} queued · ${running} running`;
}
