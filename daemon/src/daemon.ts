import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  AddBackend,
  type Backend,
  type ChainView,
  type ComfyGraph,
  CreateJob,
  type CreateJobParsed,
  CreatePreset,
  CreateWebhook,
  type Preset,
  type GatewayEvent,
  type Job,
  ListJobsQuery,
  type ProgressEvent,
  type Stats,
} from '@comfygate/shared';
import { AssetFiles } from './assets/files.js';
import { missingFor } from './comfy/capabilities.js';
import { bigintsAsStrings, stringifyGraph } from './comfy/json.js';
import type { Config } from './config/schema.js';
import { Engine, type PostprocessHook } from './engine/engine.js';
import { secureHome } from './config/home.js';
import { checkJob, checkPrompts, checkRawGraphSize } from './engine/admission.js';
import { assetRefIds, checkAssetRefs } from './engine/inputs.js';
import { GatewayError } from './errors.js';
import { parseOrThrow } from './validation.js';
import { createLogger, type Logger } from './log.js';
import { openSqliteStore } from './store/sqlite/index.js';
import type { Store } from './store/types.js';
import type { QuotaClaim } from './store/quota.js';
import { createPostprocessor, planSpec } from './postprocess/index.js';
import { type BatchService, createBatchService } from './batches/service.js';
import { sweep, type SweepReport } from './assets/retention.js';
import { createWebhooks, webhookConfigOf, type Webhooks } from './webhooks/index.js';
import { createTemplateService, type TemplateService } from './templates/service.js';
import { chainChecker, chainRunner, chainView } from './templates/chains.js';
import { stylePrompts } from './templates/prompts.js';
import { type EnhanceMemo, enhanceOnce } from './templates/enhancer.js';
import type { ObjectInfo } from './templates/objectInfo.js';
import { makePostprocessHook } from './postprocess/hook.js';
import { postprocessAssetIds } from './postprocess/assets.js';
import { startWatchService, type WatchService } from './watch/service.js';
import { checkOwner, INTERNAL, ownerFilter, tokenOf, type Viewer } from './ownership/viewer.js';
import { eventFilter } from './ownership/events.js';
import { checkGraphFileNames } from './ownership/filenames.js';
import { createViews } from './views.js';

export interface SubmitOptions {
  idempotencyKey?: string;
  /** Passed to ComfyUI's POST /prompt as extra_data (e.g. api_key_comfy_org); kept in memory only, never stored. */
  extraData?: Record<string, unknown>;
  /** The caller's identity (its token), used as the fairness key when the body names none. */
  caller?: string;
  /** The caller's daily quota, taken in the job's insert (a replay of an Idempotency-Key takes none). */
  quota?: QuotaClaim;
  /** Prompt rewrites already made in this request: a batch passes one, so each distinct prompt is enhanced once. */
  enhanced?: EnhanceMemo;
  /** The token submitting: the job is its own, and may use only assets it may use. `INTERNAL`: the daemon's own. */
  viewer: Viewer;
  /** The token the job belongs to when the daemon submits it (`INTERNAL`: a watched folder's rule owner); none: the admin. */
  owner?: string;
}

export interface Daemon {
  readonly config: Config;
  readonly store: Store;
  readonly files: AssetFiles;
  readonly log: Logger;
  submit(input: unknown, opts: SubmitOptions): Promise<{ job: Job; created: boolean }>;
  /** A job the viewer may not see is not found (see ownership/viewer.ts); `INTERNAL` sees any job. */
  get(id: string, viewer: Viewer): Promise<Job>;
  /** Only the jobs the viewer may see. */
  list(query: unknown, viewer: Viewer): Promise<Job[]>;
  cancel(id: string, viewer: Viewer): Promise<Job>;
  /** Puts a failed or canceled job back in the queue with a fresh attempt budget; with a quota, takes one job from it. */
  retry(id: string, opts: { quota?: QuotaClaim; viewer: Viewer }): Promise<Job>;
  /** A queued job's new priority (its place in the queue); `conflict` once it left the queue. */
  setPriority(id: string, priority: number, viewer: Viewer): Promise<Job>;
  /** Deletes a finished job's record and outputs list. */
  remove(id: string, viewer: Viewer): Promise<void>;
  stats(): Promise<Stats>;
  readonly batches: BatchService;
  readonly templates: TemplateService;
  /** A chain (a job and its follow-up steps) from any of its jobs. */
  chain(jobId: string, viewer: Viewer): Promise<ChainView>;
  presets: {
    list(): Promise<Preset[]>;
    put(input: unknown): Promise<Preset>;
    remove(idOrName: string): Promise<void>;
  };
  readonly webhooks: Webhooks;
  /** Watched folders; null when the engine does not run (`runEngine: false`). */
  readonly watch: WatchService | null;
  /** One retention pass now (also run every `retention.sweepEveryMs` when a limit is set). */
  gc(opts?: { dryRun?: boolean }): Promise<SweepReport>;
  addBackend(input: unknown): Promise<Backend>;
  removeBackend(name: string): Promise<void>;
  drainBackend(name: string, draining: boolean): Backend;
  /** Live durable events plus live-only progress: only those of jobs the viewer may see (and backends'). */
  subscribe(listener: (e: GatewayEvent | ProgressEvent) => void, viewer: Viewer): () => void;
  preview(jobId: string): { image: Buffer; mime: string } | null;
  backends(): Backend[];
  close(): Promise<void>;
}

export interface DaemonOptions {
  logger?: Logger;
  postprocess?: PostprocessHook;
  /** false: open the store and accept jobs without running them (offline submit, tests). */
  runEngine?: boolean;
}

export async function createDaemon(config: Config, opts: DaemonOptions = {}): Promise<Daemon> {
  const log = opts.logger ?? createLogger(config.logLevel);
  secureHome(config.home, log);
  const store = openSqliteStore(path.join(config.home, 'comfygate.db'));
  const files = new AssetFiles(path.join(config.home, 'assets'));
  const postprocessor = createPostprocessor({
    maxPixels: config.security.maxPixels,
    resolveImage: (sha) => fs.promises.readFile(files.pathFor(sha)),
  });
  const postprocess = opts.postprocess ?? makePostprocessHook({ store, files, postprocessor });
  const engine = new Engine({ store, files, config: config.engine, backends: config.backends, log, postprocess });
  const webhooks = createWebhooks({ store, log }, webhookConfigOf(config));
  if (opts.runEngine !== false) {
    await engine.start();
    await webhooks.start();
  }

  const { views, backendView } = createViews({ store, engine });
  /** `act`: the viewer means to change the job (a see-all token may read another's, not change it). */
  const getRecord = async (id: string, viewer: Viewer, act = false) => {
    const r = await store.jobs.get(id);
    if (!r) throw new GatewayError({ code: 'not_found', message: `no job ${id}` });
    checkOwner(viewer, r.owner, `job ${id}`, act);
    return r;
  };

  /** The node definitions of a backend that is up (UI workflow conversion and parameter detection need them). */
  const objectInfo = async (): Promise<ObjectInfo> => {
    const b = [...engine.backends.values()].find((x) => x.health === 'up');
    if (!b)
      throw new GatewayError({
        code: 'backend_unavailable',
        message: "no ComfyUI backend is up: importing a workflow needs one's /object_info",
      });
    return (await b.http.objectInfo()) as unknown as ObjectInfo;
  };
  /** The backends a job may run on: the one it is pinned to, or all. */
  const poolFor = (pin?: string) => [...engine.backends.values()].filter((b) => !pin || b.name === pin);
  const templates = createTemplateService({
    store,
    objectInfo,
    capabilities: (pin) => {
      const pool = poolFor(pin);
      return {
        known: pool.flatMap((b) => (b.capabilities ? [b.capabilities] : [])),
        complete: pool.every((b) => b.capabilities),
      };
    },
    maxPixels: config.security.maxPixels,
  });
  const checkChain = chainChecker(templates);
  await templates.ensureBuiltins();

  /** Fail fast at submit when every backend's capabilities are known and none can run the graph. */
  const checkCapable = (graph: ComfyGraph, pin: string | undefined) => {
    const pool = poolFor(pin);
    if (pool.length === 0 || pool.some((b) => !b.capabilities)) return;
    const lacks = pool.map((b) => ({ backend: b.name, missing: missingFor(graph, b.capabilities!) }));
    if (lacks.every((l) => l.missing.length > 0)) {
      const summary = lacks.map((l) => `${l.backend}: ${l.missing.join(', ')}`).join('; ');
      throw new GatewayError({
        code: 'no_capable_backend',
        message: `no backend can run this graph (${summary})`,
        details: lacks,
      });
    }
  };

  /** Read at each job: the enhancer config may change while the daemon runs. Each prompt is sent once per request. */
  const enhancer = (memo: EnhanceMemo = new Map()) =>
    config.enhancer ? (prompt: string) => enhanceOnce(config.enhancer!, memo, prompt) : null;

  /** Everything checked before a job may exist: backend, capabilities, post-processing spec, asset references. */
  const prepareJob = async (spec: CreateJobParsed, sopts: SubmitOptions) => {
    // Only an admin may put another token's upload into its job (and so read it back through the outputs).
    const assetsOf = sopts.viewer.kind === 'token' && sopts.viewer.scope !== 'admin' ? sopts.viewer.tokenId : undefined;
    if (spec.backend && !engine.backends.has(spec.backend)) {
      throw new GatewayError({
        code: 'bad_request',
        message: `unknown backend '${spec.backend}'`,
        details: { known: [...engine.backends.keys()] },
      });
    }
    checkPrompts(spec.graph ?? {}, spec.params, config.security); // before an enhancer or a template sees a huge prompt
    const base = spec.template
      ? await templates.instantiate(spec.template, spec.params ?? {}, { backend: spec.backend, owner: assetsOf })
      : { graph: spec.graph!, used: null, variant: null, warning: null, prompts: undefined };
    const preset = spec.preset ? await store.presets.find(spec.preset) : null;
    if (spec.preset && !preset)
      throw new GatewayError({ code: 'not_found', message: `no style preset '${spec.preset}'` });
    const steps = await checkChain(spec.then ?? []); // each step's template and values: a broken chain is refused now, not halfway
    const styled = await stylePrompts(base.graph, {
      preset,
      enhance: spec.enhance ?? false,
      enhancer: enhancer(sopts.enhanced),
      targets: base.prompts,
    });
    const graph = styled.graph;
    checkCapable(graph, spec.backend);
    const plan = spec.postprocess ? planSpec(spec.postprocess) : null; // every op checked now, not after the GPU ran
    await checkAssetRefs(
      [...assetRefIds(graph), ...postprocessAssetIds(spec.postprocess), ...steps.assets],
      store.assets,
      assetsOf,
    );
    if (assetsOf !== undefined) for (const g of [graph, ...steps.graphs]) checkGraphFileNames(g);
    const metadata: Record<string, unknown> = bigintsAsStrings({ ...spec.metadata }); // big integers would not survive the JSON column
    const metadataBytes = Buffer.byteLength(JSON.stringify(metadata)); // the caller's own; what we add is bounded by the prompt limit
    // The template and the values actually used (a drawn seed included), so a result can be reproduced.
    if (spec.template)
      Object.assign(metadata, {
        template: spec.template,
        params: base.used,
        ...(base.variant ? { variant: base.variant } : {}),
      });
    if (styled.record) metadata.prompt = styled.record;
    const graphJson = stringifyGraph(graph);
    checkJob({ graph, graphJson, metadataBytes, postprocess: spec.postprocess ?? null, plan }, config.security);
    return {
      priority: spec.priority,
      client: spec.client ?? sopts.caller ?? 'default',
      owner: tokenOf(sopts.viewer) ?? sopts.owner,
      backendPin: spec.backend ?? null,
      graphJson,
      metadata,
      postprocess: spec.postprocess ?? null,
      then: bigintsAsStrings(spec.then ?? []),
      warning: [base.warning, styled.warning].filter(Boolean).join('; ') || null,
      maxAttempts: spec.maxAttempts ?? config.engine.maxAttempts,
      requestHash: sopts.idempotencyKey ? crypto.createHash('sha256').update(stringifyGraph(spec)).digest('hex') : null,
    };
  };

  const checkQueueRoom = async (adding: number) => {
    if ((await store.jobs.countInState('queued')) + adding > config.engine.maxQueued) {
      throw new GatewayError({
        code: 'rate_limited',
        message: `the queue is full (${config.engine.maxQueued} jobs at most); try again later`,
      });
    }
  };

  const batches = createBatchService({
    store,
    files,
    prepareJob: (spec, o) => prepareJob(spec, o),
    variations: (v) => templates.variations(v),
    checkQueueRoom,
    cancel: (job) => engine.cancel(job),
    views,
    kick: () => engine.kick(),
    backendsUp: () => [...engine.backends.values()].filter((b) => b.health === 'up').length,
  });

  // On by default: webhook history is bounded unless both its limits are null.
  const retentionOn = [
    config.retention.maxAgeMs,
    config.retention.maxDiskBytes,
    config.retention.webhookDeliveriesMaxAgeMs,
    config.retention.webhookDeliveriesPerWebhook,
  ].some((v) => v !== null);
  const sweeper =
    retentionOn && opts.runEngine !== false
      ? setInterval(
          () => void sweep(store, files, config.retention).catch((err) => log.error({ err }, 'retention sweep failed')),
          config.retention.sweepEveryMs,
        ).unref()
      : null;

  // Follow-up steps of chains are created as their previous step succeeds (see templates/chains.ts).
  const chains = chainRunner({
    store,
    templates,
    submitStep: async (parent, step, rest, imageParam, image) => {
      const spec = parseOrThrow(CreateJob, {
        template: step.template,
        params: { ...step.params, [imageParam]: image },
        postprocess: step.postprocess,
        then: rest,
        priority: parent.priority,
        client: parent.client,
      });
      const { warning, ...prepared } = await prepareJob(spec, { viewer: INTERNAL, owner: parent.owner }); // a chain is its first step's owner's
      const id = crypto.randomUUID();
      // The parent's chain_next is written in this insert's transaction, and only if unset: never made twice.
      await store.jobs.create({ id, ...prepared, parentJobId: parent.id, idempotencyKey: null, requestHash: null });
      if (warning) await store.events.append('job:warning', id, { message: warning });
      engine.kick();
      return id;
    },
  });
  const offChains =
    opts.runEngine === false
      ? () => {}
      : store.onEvent((e) => void chains.onEvent(e).catch((err) => log.error({ err }, 'chain step failed')));
  // Steps whose previous one succeeded while no daemon listened (a restart, a crash, a shutdown mid-job) are made now.
  if (opts.runEngine !== false)
    await chains.resume().catch((err: unknown) => log.error({ err }, 'resuming chains failed'));
  let watch: WatchService | null = null;
  const daemon: Daemon = {
    config,
    get watch() {
      return watch;
    },
    batches,
    webhooks,
    templates,
    chain: async (jobId, viewer) => {
      if (viewer.kind === 'token') await getRecord(jobId, viewer);
      return chainView(store, jobId, views);
    },
    presets: {
      list: () => store.presets.list(),
      put: async (input) => {
        const p = parseOrThrow(CreatePreset, input);
        return store.presets.put({ id: crypto.randomUUID(), ...p, createdAt: Date.now() });
      },
      remove: async (idOrName) => {
        if (!(await store.presets.delete(idOrName)))
          throw new GatewayError({ code: 'not_found', message: `no style preset '${idOrName}'` });
      },
    },
    gc: (o = {}) => sweep(store, files, config.retention, o.dryRun ?? false),
    store,
    files,
    log,
    async submit(input, sopts) {
      checkRawGraphSize((input as { graph?: unknown } | null)?.graph, config.security);
      const spec = parseOrThrow(CreateJob, input);
      await checkQueueRoom(1);
      const { warning, ...prepared } = await prepareJob(spec, sopts);
      const id = crypto.randomUUID();
      if (sopts.extraData) engine.setExtraData(id, sopts.extraData); // before the job is visible to the scheduler
      // Registered before the job exists, so the hook also hears its `job:queued`.
      const hook = spec.webhook
        ? await daemon.webhooks.register(parseOrThrow(CreateWebhook, { ...spec.webhook, jobId: id }), prepared.owner)
        : null;
      const undo = async () => {
        engine.forgetExtraData(id);
        if (hook) await daemon.webhooks.remove(hook.id, INTERNAL);
      };
      // Refused at the insert (the daily quota): nothing of this job may stay behind, its hook included.
      const result = await store.jobs
        .create(
          {
            id,
            ...prepared,
            idempotencyKey: sopts.idempotencyKey ?? null,
          },
          sopts.quota,
        )
        .catch(async (err: unknown) => {
          await undo();
          throw err;
        });
      if (result.kind !== 'created') await undo();
      if (result.kind === 'key_conflict') {
        throw new GatewayError({
          code: 'idempotency_mismatch',
          message: 'Idempotency-Key was already used with a different request body',
          details: { jobId: result.job.id },
        });
      }
      if (result.kind === 'created') {
        if (warning) await store.events.append('job:warning', id, { message: warning });
        engine.kick();
      }
      const [job] = await views([result.job]);
      return { job: job!, created: result.kind === 'created' };
    },
    async get(id, viewer) {
      const [job] = await views([await getRecord(id, viewer)]);
      return job!;
    },
    async list(query = {}, viewer) {
      const q = parseOrThrow(ListJobsQuery, query);
      const before = q.before ? (await getRecord(q.before, viewer)).seq : undefined;
      return views(
        await store.jobs.list({
          state: q.state,
          client: q.client,
          owner: ownerFilter(viewer),
          limit: q.limit,
          beforeSeq: before,
        }),
      );
    },
    async cancel(id, viewer) {
      await engine.cancel(await getRecord(id, viewer, true));
      return daemon.get(id, INTERNAL);
    },
    subscribe(listener, viewer) {
      const visible = eventFilter(viewer, store.jobs);
      const offEvents = store.onEvent((e, owner) => visible.durable(e, owner) && listener(e));
      const offProgress = engine.onProgressEvent((e) => visible.progress(e, listener));
      return () => (offEvents(), offProgress());
    },
    async retry(id, ropts) {
      const r = await getRecord(id, ropts.viewer, true);
      // One transaction: the move, the quota's share (a 429 moves nothing) and its per-job webhooks revived.
      const moved = await store.jobs.retry(id, ropts.quota);
      if (!moved)
        throw new GatewayError({
          code: 'conflict',
          message: `job ${id} is ${r.state}; only failed or canceled jobs can be retried`,
        });
      engine.kick();
      return daemon.get(id, INTERNAL);
    },
    async setPriority(id, priority, viewer) {
      const r = await getRecord(id, viewer, true);
      if (!(await store.jobs.setPriority(id, priority))) {
        throw new GatewayError({
          code: 'conflict',
          message: `job ${id} is ${r.state}; only a queued job's priority can change`,
        });
      }
      return daemon.get(id, INTERNAL);
    },
    async remove(id, viewer) {
      const r = await getRecord(id, viewer, true);
      if (!(await store.jobs.delete(id)))
        throw new GatewayError({ code: 'conflict', message: `job ${id} is ${r.state}; cancel it before deleting` });
    },
    async stats() {
      const backends = { up: 0, down: 0, unknown: 0 };
      for (const b of engine.backends.values()) backends[b.health]++;
      return { jobs: await store.jobs.countByState(), backends, lastEventId: await store.events.lastId() };
    },
    async addBackend(input) {
      return backendView(await engine.addBackend(parseOrThrow(AddBackend, input)));
    },
    removeBackend: (name) => engine.removeBackend(name),
    drainBackend: (name, draining) => backendView(engine.setDraining(name, draining)),
    preview: (jobId) => engine.progress.preview(jobId),
    backends: () => [...engine.backends.values()].map(backendView),
    async close() {
      await watch?.close(); // first: no job is submitted or written out while the rest shuts down
      offChains();
      if (sweeper) clearInterval(sweeper);
      await webhooks.close();
      await engine.close();
      await store.close();
    },
  };
  // After the engine started: files found by the startup scan become jobs that can run right away.
  if (opts.runEngine !== false) {
    watch = await startWatchService(daemon).catch(async (err: unknown) => {
      await daemon.close();
      throw err;
    });
  }
  return daemon;
}
