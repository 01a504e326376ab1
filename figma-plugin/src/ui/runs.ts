import {
  type GatewayClient,
  isGatewayClientError,
  isTerminal,
  type Job,
  type StreamEvent,
} from '@comfygate/shared/browser';
import type { PendingRun, Provenance, ResultImage } from '../protocol';
import { ACTION_LABEL, FIGMA_VARIANT } from './actions';
import type { Bridge } from './bridge';

export interface RunView {
  progress(run: PendingRun, p: { done: number; total: number; value: number; max: number; state: string }): void;
  preview(run: PendingRun, url: string): void;
  finished(run: PendingRun, outcome: { placed: number; errors: string[]; canceled: boolean }): void;
  /** A run that finished while the plugin was closed: `place` puts its results where they would have gone. */
  offer(run: PendingRun, place: () => Promise<void>): void;
}

const PREVIEW_EVERY_MS = 700;

/** A job's images as the daemon made them (or as the run's post-processing variant), newest format first. */
function imagesOf(job: Job) {
  return job.outputs
    .filter((o) => o.kind === 'output' && o.contentType.startsWith('image/'))
    .map((o) => ({ output: o, pick: o.variants.find((v) => v.variant === FIGMA_VARIANT) ?? o }));
}

/**
 * Runs in flight: each is followed on the event stream to its end, then its images are fetched (the sandbox has
 * no network) and handed to the sandbox to place. Runs are saved through the sandbox's clientStorage on every
 * change, so a closed plugin finds them again when reopened.
 */
export class Runs {
  readonly pending = new Map<string, PendingRun>();
  private readonly aborts = new Map<string, AbortController>();

  constructor(
    private readonly deps: {
      client: () => GatewayClient | null;
      bridge: Bridge;
      view: RunView;
      onUnauthorized(): void;
    },
  ) {}

  private save(): void {
    this.deps.bridge.send({ type: 'save-runs', runs: [...this.pending.values()] });
  }

  add(run: PendingRun): void {
    this.pending.set(run.id, run);
    this.save();
    void this.follow(run);
  }

  /**
   * Reopened plugin: runs still going are followed again (and placed when done, as if it had stayed open); runs
   * that finished while it was closed are offered, since the designer may have moved on from that frame.
   */
  async resume(runs: PendingRun[]): Promise<void> {
    const client = this.deps.client();
    if (!client) return;
    for (const run of runs) {
      if (this.pending.has(run.id)) continue;
      this.pending.set(run.id, run);
      const jobs = (await Promise.all(run.jobIds.map((id) => client.getJob(id).catch(() => null)))).filter(
        (j): j is Job => j !== null,
      );
      if (jobs.length === 0) this.forget(run.id);
      else if (jobs.every((j) => isTerminal(j.state))) this.deps.view.offer(run, () => this.place(client, run, jobs));
      else void this.follow(run);
    }
  }

  /** Runs being followed now (not those waiting for the designer to place them). */
  following(): PendingRun[] {
    return [...this.aborts.keys()].map((id) => this.pending.get(id)).filter((r): r is PendingRun => r !== undefined);
  }

  /** A finished run the designer chose not to place. */
  dismiss(runId: string): void {
    this.forget(runId);
  }

  async cancel(runId: string): Promise<void> {
    const run = this.pending.get(runId);
    const client = this.deps.client();
    if (!run || !client) return;
    await Promise.all(run.jobIds.map((id) => client.cancelJob(id).catch(() => null)));
  }

  private async follow(run: PendingRun): Promise<void> {
    const client = this.deps.client();
    if (!client) return;
    const abort = new AbortController();
    this.aborts.set(run.id, abort);
    const jobs = new Map<string, Job>();
    const live = new Map<string, { value: number; max: number }>();
    let lastPreview = 0;
    const report = (state: string) => {
      const done = [...jobs.values()].filter((j) => isTerminal(j.state)).length;
      const cur = [...live.values()].reduce(
        (a, p) => ({ value: a.value + p.value / Math.max(1, p.max), max: a.max + 1 }),
        { value: 0, max: 0 },
      );
      this.deps.view.progress(run, {
        done,
        total: run.jobIds.length,
        value: done + cur.value,
        max: run.jobIds.length,
        state,
      });
    };
    const onEvent = (jobId: string) => (e: StreamEvent) => {
      if (e.type !== 'job:progress') return report(e.type.replace('job:', ''));
      live.set(jobId, { value: e.progress.value, max: e.progress.max });
      report('running');
      if (e.hasPreview && Date.now() - lastPreview > PREVIEW_EVERY_MS) {
        lastPreview = Date.now();
        void client
          .request('GET', `/v1/jobs/${encodeURIComponent(jobId)}/preview`)
          .then(async (res) => {
            this.deps.view.preview(run, URL.createObjectURL(await res.blob()));
          })
          .catch(() => {});
      }
    };
    try {
      report('queued');
      await Promise.all(
        run.jobIds.map(async (id) => {
          const job = await client.waitForJob(id, { signal: abort.signal, onEvent: onEvent(id) });
          jobs.set(id, job);
          live.delete(id);
          report(job.state);
        }),
      );
    } catch (err) {
      if (abort.signal.aborted) return;
      if (isGatewayClientError(err) && err.status === 401) return this.deps.onUnauthorized();
      if (isGatewayClientError(err) && err.status === 404) {
        // The daemon no longer has it (deleted, or another token's): nothing to place, so forget the run.
        this.forget(run.id);
        return this.deps.view.finished(run, { placed: 0, errors: [err.message], canceled: false });
      }
      // Unreachable daemon: the run stays saved and is picked up when the plugin opens again.
      return this.deps.view.finished(run, {
        placed: 0,
        errors: [isGatewayClientError(err) ? err.message : String(err)],
        canceled: false,
      });
    } finally {
      this.aborts.delete(run.id);
    }
    await this.place(client, run, [...jobs.values()]);
  }

  private async place(client: GatewayClient, run: PendingRun, jobs: Job[]): Promise<void> {
    const ordered = run.jobIds.map((id) => jobs.find((j) => j.id === id)!).filter(Boolean);
    const errors = ordered.filter((j) => j.state === 'failed').map((j) => j.error?.message ?? 'the job failed');
    const canceled = ordered.some((j) => j.state === 'canceled');
    const images: ResultImage[] = [];
    for (const job of ordered.filter((j) => j.state === 'succeeded')) {
      for (const { output, pick } of imagesOf(job)) {
        const bytes = new Uint8Array(await (await client.output(pick.id)).arrayBuffer());
        images.push({
          bytes,
          width: pick.width ?? 1,
          height: pick.height ?? 1,
          provenance: provenanceOf(run, job, output.id, client.baseUrl, pick),
        });
      }
    }
    let placed = 0;
    if (images.length > 0) {
      const mode = run.action !== 'variations' && images.length === 1 && run.targetId ? 'fill' : 'frames';
      const name = run.prompt.trim().slice(0, 60) || ACTION_LABEL[run.action];
      const reply = await this.deps.bridge.request('placed', (requestId) => ({
        type: 'place-results',
        requestId,
        targetId: run.targetId,
        mode,
        name,
        images,
      }));
      if (reply.error) errors.push(reply.error);
      placed = reply.nodeIds.length;
    }
    this.forget(run.id);
    this.deps.view.finished(run, { placed, errors, canceled });
  }

  private forget(runId: string): void {
    this.pending.delete(runId);
    this.save();
  }

  stop(): void {
    for (const a of this.aborts.values()) a.abort();
  }
}

type Size = { width: number | null; height: number | null };

function provenanceOf(run: PendingRun, job: Job, outputId: string, daemonUrl: string, size: Size): Provenance {
  const params = (job.metadata.params as Record<string, unknown> | undefined) ?? {};
  const seed = params.seed;
  return {
    jobId: job.id,
    outputId,
    template: typeof job.metadata.template === 'string' ? job.metadata.template : run.template,
    action: run.action,
    params,
    prompt: run.prompt,
    seed: typeof seed === 'number' || typeof seed === 'string' ? seed : null,
    daemonUrl,
    width: size.width ?? 0,
    height: size.height ?? 0,
    createdAt: Date.now(),
  };
}
