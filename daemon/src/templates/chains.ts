import type { ChainStep, ChainView, GatewayEvent, Job } from '@comfygate/shared';
import { isTerminal } from '@comfygate/shared';
import { GatewayError } from '../errors.js';
import type { JobRecord, Store } from '../store/types.js';
import type { TemplateService } from './service.js';

/** The parameter of a step's template that takes the previous step's image; a step without one is refused. */
export async function imageParamOf(templates: TemplateService, step: ChainStep): Promise<string> {
  const t = await templates.get(step.template);
  const p = t.params.find((x) => x.type === 'image');
  if (!p) throw new GatewayError({ code: 'validation_failed', message: `chain step '${step.template}' has no image parameter to take the previous output` });
  return p.name;
}

/**
 * Runs chains: when a job that has follow-up steps succeeds, its first image output becomes the image parameter
 * of the next step, which is created as a new job linked to it. A step that fails ends the chain there.
 */
export function chainRunner(deps: {
  store: Store;
  templates: TemplateService;
  submitStep(parent: JobRecord, step: ChainStep, rest: ChainStep[], imageParam: string, image: string): Promise<void>;
  warn(jobId: string, message: string): Promise<void>;
}) {
  return async (e: GatewayEvent) => {
    if (e.type !== 'job:succeeded' || !e.jobId) return;
    const parent = await deps.store.jobs.get(e.jobId);
    const [step, ...rest] = (parent?.then ?? []) as ChainStep[];
    if (!parent || !step) return;
    const outputs = (await deps.store.outputs.forJobs([parent.id])).get(parent.id) ?? [];
    const image = outputs.find((o) => o.kind === 'output' && o.contentType.startsWith('image/'));
    try {
      if (!image) throw new Error('the step made no image for the next one');
      await deps.submitStep(parent, step, rest, await imageParamOf(deps.templates, step), image.id);
    } catch (err) {
      await deps.warn(parent.id, `chain stopped before '${step.template}': ${(err as Error).message}`);
    }
  };
}

/** A chain seen from any of its jobs: its steps in order, the steps not created yet, and an overall state. */
export async function chainView(store: Store, jobId: string, views: (r: JobRecord[]) => Promise<Job[]>): Promise<ChainView> {
  let root = await store.jobs.get(jobId);
  if (!root) throw new GatewayError({ code: 'not_found', message: `no job ${jobId}` });
  for (let i = 0; root.parentJobId && i < 32; i++) root = (await store.jobs.get(root.parentJobId)) ?? root;
  const records: JobRecord[] = [root];
  for (let i = 0; i < 32; i++) {
    const [next] = await store.jobs.children(records[records.length - 1]!.id);
    if (!next) break;
    records.push(next);
  }
  const jobs = await views(records);
  const last = jobs[jobs.length - 1]!;
  const pending = last.state === 'succeeded' || !isTerminal(last.state) ? last.then : [];
  const failed = jobs.find((j) => j.state === 'failed' || j.state === 'canceled');
  const state = failed ? (failed.state as 'failed' | 'canceled') : last.state === 'succeeded' && pending.length === 0 ? 'succeeded' : 'running';
  return { steps: jobs.map((j) => ({ jobId: j.id, state: j.state, template: (j.metadata.template as string | undefined) ?? null })), pending, state };
}
