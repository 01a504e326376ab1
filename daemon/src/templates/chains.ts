import type { ChainStep, ChainView, ComfyGraph, GatewayEvent, Job } from '@comfygate/shared';
import { isTerminal } from '@comfygate/shared';
import { assetRefIds } from '../engine/inputs.js';
import { GatewayError } from '../errors.js';
import { postprocessAssetIds } from '../postprocess/assets.js';
import { planSpec } from '../postprocess/index.js';
import type { JobRecord, Store } from '../store/types.js';
import type { TemplateService } from './service.js';

/** The parameter of a step's template that takes the previous step's image; a step without one is refused. */
export async function imageParamOf(templates: TemplateService, step: ChainStep): Promise<string> {
  const t = await templates.get(step.template);
  const p = t.params.find((x) => x.type === 'image');
  if (!p)
    throw new GatewayError({
      code: 'validation_failed',
      message: `chain step '${step.template}' has no image parameter to take the previous output`,
    });
  return p.name;
}

/** Stands for the previous step's image while a chain is checked at submit: no asset behind it, a 64×64 size. */
const PREVIOUS_IMAGE = 'chain:previous-output';
const PREVIOUS_SIZE = { [PREVIOUS_IMAGE]: { width: 64, height: 64 } };

/**
 * Checks a chain's steps at submit as far as they can be without the previous step's image: each template has an
 * image parameter, the step's values pass the template's checks (a dry run of `instantiate` with a stand-in image)
 * and its post-processing spec holds. What depends on the real image (its size, for upscale's `scale`) is checked
 * when the step is made; failing then ends the chain (see `chainRunner`). Answers the assets the steps name (a
 * mask, a watermark) and the steps' graphs: the caller checks them with the job's own, since the steps are made later
 * with no caller to check.
 */
export function chainChecker(
  templates: TemplateService,
): (steps: readonly ChainStep[]) => Promise<{ assets: string[]; graphs: ComfyGraph[] }> {
  return async (steps) => {
    const assets: string[] = [];
    const graphs: ComfyGraph[] = [];
    for (const [i, step] of steps.entries()) {
      const imageParam = await imageParamOf(templates, step);
      try {
        const { graph } = await templates.instantiate(
          step.template,
          { ...step.params, [imageParam]: PREVIOUS_IMAGE },
          { imageSizes: PREVIOUS_SIZE },
        );
        assets.push(
          ...assetRefIds(graph).filter((id) => id !== PREVIOUS_IMAGE),
          ...postprocessAssetIds(step.postprocess),
        );
        graphs.push(graph);
        if (step.postprocess) planSpec(step.postprocess);
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        throw new GatewayError({
          code: err.code,
          message: `chain step ${i + 1} ('${step.template}'): ${err.message}`,
          details: { step: i + 1, template: step.template, errors: err.details },
        });
      }
    }
    return { assets, graphs };
  };
}

export interface ChainRunner {
  /** Store listener: a job that succeeded gets its next step. */
  onEvent(e: GatewayEvent): Promise<void>;
  /** At start: chains whose step succeeded while nothing listened (a restart or crash in between) get their next step. */
  resume(): Promise<void>;
}

/**
 * Runs chains: when a job that has follow-up steps succeeds, its first image output becomes the image parameter
 * of the next step, which is created as a new job linked to it. A step that fails ends the chain there; so does
 * a step that cannot be made (recorded on the job before it, with why, and shown by `chainView`).
 */
export function chainRunner(deps: {
  store: Store;
  templates: TemplateService;
  /** Creates the step as a job linked to `parent` (which records it: `conflict` if it has a step already); answers its id. */
  submitStep(parent: JobRecord, step: ChainStep, rest: ChainStep[], imageParam: string, image: string): Promise<string>;
}): ChainRunner {
  // Jobs whose next step is being made: the listener and the startup pass never make one twice.
  const busy = new Set<string>();
  const advance = async (parentId: string) => {
    if (busy.has(parentId)) return;
    busy.add(parentId);
    try {
      const parent = await deps.store.jobs.get(parentId);
      const [step, ...rest] = (parent?.then ?? []) as ChainStep[];
      if (!parent || !step || parent.state !== 'succeeded') return;
      if ((await deps.store.jobs.children(parent.id)).length > 0) return; // made already (its insert is one transaction)
      try {
        const outputs = (await deps.store.outputs.forJobs([parent.id])).get(parent.id) ?? [];
        const image = outputs.find((o) => o.kind === 'output' && o.contentType.startsWith('image/'));
        if (!image) throw new Error('the step made no image for the next one');
        // The step's insert records it on the parent, in one transaction and only once.
        await deps.submitStep(parent, step, rest, await imageParamOf(deps.templates, step), image.id);
      } catch (err) {
        // conflict: another process made this step (or stopped the chain) first; nothing to record.
        if (err instanceof GatewayError && err.code === 'conflict') return;
        await deps.store.chains.stop(parent.id, `chain stopped before '${step.template}': ${(err as Error).message}`);
      }
    } finally {
      busy.delete(parentId);
    }
  };
  return {
    onEvent: async (e) => {
      if (e.type === 'job:succeeded' && e.jobId) await advance(e.jobId);
    },
    resume: async () => {
      for (const id of await deps.store.chains.unadvanced()) await advance(id);
    },
  };
}

/** A chain seen from any of its jobs: its steps in order, the steps not created yet, and an overall state. */
export async function chainView(
  store: Store,
  jobId: string,
  views: (r: JobRecord[]) => Promise<Job[]>,
): Promise<ChainView> {
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
  const stoppedReason =
    last.state === 'succeeded' && last.then.length > 0 ? await store.chains.stoppedReason(last.id) : null;
  const pending = !stoppedReason && (last.state === 'succeeded' || !isTerminal(last.state)) ? last.then : [];
  const failed = jobs.find((j) => j.state === 'failed' || j.state === 'canceled');
  const state = failed
    ? (failed.state as 'failed' | 'canceled')
    : stoppedReason
      ? 'failed'
      : last.state === 'succeeded' && pending.length === 0
        ? 'succeeded'
        : 'running';
  return {
    steps: jobs.map((j) => ({
      jobId: j.id,
      state: j.state,
      template: (j.metadata.template as string | undefined) ?? null,
    })),
    pending,
    state,
    stoppedReason,
  };
}
