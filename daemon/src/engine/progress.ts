import type { Progress, ProgressEvent } from '@comfygate/shared';
import { NO_PROGRESS } from './graph-progress.js';

interface Entry {
  /** Read when sent or asked for, not per message: a throttled job is snapshotted a few times a second. */
  progress: () => Progress;
  preview: { image: Buffer; mime: string } | null;
  lastSentAt: number;
  trailing: NodeJS.Timeout | null;
}

/**
 * Live progress and the latest preview per job, in memory only. Publication is throttled per job with a
 * trailing send, so subscribers always see the last step without one message per sampler step.
 */
export class ProgressBoard {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly throttleMs: number,
    private readonly publish: (e: ProgressEvent) => void,
  ) {}

  get(jobId: string): Progress | null {
    return this.entries.get(jobId)?.progress() ?? null;
  }

  preview(jobId: string): { image: Buffer; mime: string } | null {
    return this.entries.get(jobId)?.preview ?? null;
  }

  update(jobId: string, progress: () => Progress): void {
    const e = this.entry(jobId);
    e.progress = progress;
    this.schedule(jobId, e);
  }

  setPreview(jobId: string, image: Buffer, mime: string): void {
    const e = this.entry(jobId);
    e.preview = { image: Buffer.from(image), mime };
    this.schedule(jobId, e);
  }

  clear(jobId: string): void {
    const e = this.entries.get(jobId);
    if (e?.trailing) clearTimeout(e.trailing);
    this.entries.delete(jobId);
  }

  close(): void {
    for (const id of [...this.entries.keys()]) this.clear(id);
  }

  private entry(jobId: string): Entry {
    let e = this.entries.get(jobId);
    if (!e) {
      e = { progress: () => NO_PROGRESS, preview: null, lastSentAt: 0, trailing: null };
      this.entries.set(jobId, e);
    }
    return e;
  }

  private schedule(jobId: string, e: Entry): void {
    const wait = e.lastSentAt + this.throttleMs - Date.now();
    if (wait <= 0) return this.send(jobId, e);
    e.trailing ??= setTimeout(() => this.send(jobId, e), wait);
  }

  private send(jobId: string, e: Entry): void {
    if (e.trailing) clearTimeout(e.trailing);
    e.trailing = null;
    e.lastSentAt = Date.now();
    this.publish({
      type: 'job:progress',
      jobId,
      at: e.lastSentAt,
      progress: e.progress(),
      hasPreview: e.preview !== null,
    });
  }
}
