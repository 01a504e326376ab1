import crypto from 'node:crypto';
import {
  type BatchVariationsParsed,
  type ComfyGraph,
  CreateTemplate,
  didYouMean,
  type Template,
  type TemplateGraph,
  type TemplateParam,
  TemplateParamMap,
  type TemplateWarning,
} from '@comfygate/shared';
import { isSafeNumber, parse, stringify } from 'lossless-json';
import { z } from 'zod';
import { stringifyGraph } from '../comfy/json.js';
import { GatewayError } from '../errors.js';
import type { Store, TemplateRecord } from '../store/types.js';
import { applyParams, renameAliases } from './apply.js';
import { BUILTIN_TEMPLATES, builtinNamed } from './builtins.js';
import type { Capabilities } from '../comfy/capabilities.js';
import type { Choice } from './upscale.js';
import { uiToApi } from './convert.js';
import type { ObjectInfo } from './objectInfo.js';
import { detectParams } from './params.js';
import { readComfyImage } from './imagemeta.js';
import { PngError } from './png.js';
import { type Variation, VariationError, drawSeed, isSeedParam, variationParams } from './seeds.js';
import { checkExplicitParams } from './explicit.js';
import { unavailableDefaults, withLiveOptions } from './options.js';
import { jsonSafe, paramsSchema, requiredParams } from './schema.js';
import type { PromptTargets } from './prompts.js';
import { validationError } from '../validation.js';

type Concrete = Omit<Choice, 'params' | 'variant'> & { params: TemplateParam[]; variant: string | null };

/** A template made concrete for one job. */
export interface Instance {
  graph: ComfyGraph;
  /** The values used, drawn seeds included, so the result can be made again. */
  used: Record<string, unknown>;
  /** Which graph a built-in that chooses one took (e.g. `model:4x-UltraSharp.pth`, `latent`), else null. */
  variant: string | null;
  warning: string | null;
  /** Where the template's `prompt` and `negative` parameters write, for presets and prompt enhancement. */
  prompts: PromptTargets;
}

/** What the backends a job may run on can do: those known, and whether every one of them is known. */
export interface BackendCapabilities {
  known: Capabilities[];
  complete: boolean;
}

export interface TemplateDeps {
  store: Store;
  objectInfo: () => Promise<ObjectInfo>;
  /** Capabilities of the backends a job may run on (all, or the pinned one), for built-ins that choose a graph. */
  capabilities: (backend?: string) => BackendCapabilities;
  maxPixels: number;
}

export interface InstantiateOptions {
  /** The backend the job is pinned to, if any: only its capabilities count. */
  backend?: string;
  /** Image sizes by asset id, ahead of the store's: a chain's later steps are checked before their image exists. */
  imageSizes?: Record<string, { width: number; height: number }>;
  /** The token whose assets the images must be (none: any). Another's is missing, before its size is told. */
  owner?: string;
}

export interface TemplateService {
  create(input: unknown): Promise<Template>;
  get(idOrName: string): Promise<Template>;
  /** What the template became: API graph, parameter bindings, conversion warnings. */
  graph(idOrName: string): Promise<TemplateGraph>;
  list(): Promise<Template[]>;
  remove(idOrName: string): Promise<void>;
  /** A JSON schema of the parameters, for clients to render forms. */
  schema(idOrName: string): Promise<Record<string, unknown>>;
  /** The graph for a job: values checked against the parameter map, seeds drawn when not given. */
  instantiate(idOrName: string, values: Record<string, unknown>, opts?: InstantiateOptions): Promise<Instance>;
  /** The params of each job of a variations batch (seeds set by the batch's seed mode). */
  variations(v: BatchVariationsParsed): Promise<Variation[]>;
  ensureBuiltins(): Promise<void>;
}

/** A UI workflow's outline, checked before conversion so a malformed file is a 400 naming the field, not a crash. */
const UiNodeOutline = z.looseObject({
  id: z.union([z.number(), z.string()]),
  type: z.string(),
  inputs: z.array(z.looseObject({ name: z.string() })).optional(),
  outputs: z
    .array(z.looseObject({ name: z.string().optional() }))
    .nullable()
    .optional(),
  widgets_values: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]).optional(),
  mode: z.number().optional(),
});
const UiOutline = z.looseObject({
  nodes: z.array(UiNodeOutline),
  links: z.array(z.unknown()).optional(),
  definitions: z
    .looseObject({ subgraphs: z.array(z.looseObject({ id: z.string(), nodes: z.array(UiNodeOutline) })).optional() })
    .optional(),
});

/** Writes each parameter's default into its input, checked like any value (a default out of bounds is an error). */
function withDefaults(graph: ComfyGraph, params: TemplateParam[]): ComfyGraph {
  const defaults = Object.fromEntries(
    params.filter((p) => p.default !== undefined && p.type !== 'image').map((p) => [p.name, p.default]),
  );
  const applied = applyParams(graph, params, defaults);
  if (!applied.ok)
    throw bad(
      `a default does not fit its parameter: ${applied.errors.map((e) => e.message).join('; ')}`,
      applied.errors,
    );
  return applied.graph;
}

/** JSON with integers beyond 2^53 kept as bigint (seeds, their bounds). */
const parseExact = (text: string) =>
  parse(text, undefined, (v) => (isSafeNumber(v) ? Number(v) : /^-?\d+$/.test(v) ? BigInt(v) : Number(v)));

const bad = (message: string, details?: unknown) => new GatewayError({ code: 'validation_failed', message, details });

export function createTemplateService(deps: TemplateDeps): TemplateService {
  const record = async (idOrName: string) => {
    const t = await deps.store.templates.find(idOrName);
    if (!t) {
      const names = (await deps.store.templates.list()).map((x) => x.name);
      const message = `no template '${idOrName}'${didYouMean(idOrName, names)}; see GET /v1/templates`;
      throw new GatewayError({ code: 'not_found', message, details: { known: names } });
    }
    return t;
  };
  const paramsOf = (t: TemplateRecord) => parseExact(t.paramsJson) as TemplateParam[];
  const view = (t: TemplateRecord): Template => ({
    id: t.id,
    name: t.name,
    description: t.description,
    builtin: t.builtin,
    createdAt: t.createdAt,
    graphSha256: crypto.createHash('sha256').update(t.graphJson).digest('hex'),
    params: paramsOf(t).map((p) => ({
      ...p,
      default: jsonSafe(p.default),
      min: jsonSafe(p.min),
      max: jsonSafe(p.max),
    })),
  });

  /**
   * The API graph of an import, converting a UI workflow (from JSON, a PNG or a WEBP) with a live backend's
   * /object_info, and what the conversion changed. An image's `prompt` is taken as it is when it is usable; a
   * damaged or empty one falls back to the image's `workflow`, and the warnings say so.
   */
  const apiGraph = async (
    t: z.output<typeof CreateTemplate>,
  ): Promise<{ graph: ComfyGraph; warnings: TemplateWarning[] }> => {
    if (t.graph) return { graph: t.graph as ComfyGraph, warnings: [] };
    let workflow: unknown = t.workflow;
    const warnings: TemplateWarning[] = [];
    if (t.png) {
      let meta: Awaited<ReturnType<typeof readComfyImage>>;
      try {
        meta = await readComfyImage(Buffer.from(t.png, 'base64'));
      } catch (err) {
        if (err instanceof PngError) throw bad(`not a readable PNG or WEBP: ${err.message}`);
        throw err;
      }
      if (meta.prompt) return { graph: meta.prompt, warnings }; // ComfyUI already wrote the API form: no conversion needed
      const { prompt: promptProblem, workflow: workflowProblem } = meta.problems;
      if (!meta.workflow) {
        const why = [promptProblem, workflowProblem].filter(Boolean).join('; ');
        throw bad(
          why
            ? `the ${meta.format.toUpperCase()} carries no usable ComfyUI graph: ${why}`
            : `the ${meta.format.toUpperCase()} carries no ComfyUI prompt or workflow`,
        );
      }
      if (promptProblem)
        warnings.push({
          node: '',
          type: meta.format,
          message: `${promptProblem}; the workflow it also carries was converted instead`,
        });
      workflow = meta.workflow;
    }
    const outline = UiOutline.safeParse(workflow);
    if (!outline.success)
      throw validationError(outline.error, workflow, { prefix: 'not a ComfyUI workflow: ', whole: 'workflow' });
    const converted = uiToApi(workflow, await deps.objectInfo());
    if (!converted.ok)
      throw bad(
        `cannot convert the workflow: ${converted.errors.map((e) => `node ${e.node}: ${e.reason}`).join('; ')}`,
        converted.errors,
      );
    return { graph: converted.graph, warnings: [...warnings, ...converted.warnings] };
  };

  /** The pool's capabilities when every backend's are known; else null, and stored enum options stand. */
  const completeCaps = (backend?: string) => {
    const { known, complete } = deps.capabilities(backend);
    return complete ? known : null;
  };

  const imageSize = async (id: string, owner: string | undefined) => {
    const resolved = await deps.store.assets.resolve(id, owner);
    if (!resolved && owner !== undefined) {
      throw new GatewayError({
        code: 'missing_asset',
        message: `unknown asset id(s): ${id}`,
        details: { missing_ids: [id] },
      });
    }
    const asset = resolved && (await deps.store.assets.get(resolved.sha256));
    return asset?.width && asset.height ? { width: asset.width, height: asset.height } : null;
  };

  /** The graph, parameter map and values for one job: the template's own, or what a choosing built-in picks. */
  const concrete = async (
    t: TemplateRecord,
    values: Record<string, unknown>,
    opts: InstantiateOptions,
  ): Promise<Concrete> => {
    const builtin = t.builtin ? builtinNamed(t.name) : undefined;
    const caps = completeCaps(opts.backend);
    if (!builtin?.choose) {
      const graph = parseExact(t.graphJson) as ComfyGraph;
      return {
        variant: null,
        graph,
        params: withLiveOptions(graph, paramsOf(t), caps),
        values: { ...values },
        warning: null,
      };
    }
    const size = async (id: string) => opts.imageSizes?.[id] ?? imageSize(id, opts.owner);
    const { known, complete } = deps.capabilities(opts.backend);
    const c = await builtin.choose(values, {
      capabilities: known,
      complete,
      imageSize: size,
      maxPixels: deps.maxPixels,
    });
    const params = TemplateParamMap.parse(c.params);
    return {
      ...c,
      graph: withDefaults(c.graph, params),
      params: withLiveOptions(c.graph, params, caps),
      values: { ...c.values },
    };
  };

  /**
   * Detected parameters, or the given ones checked against the graph and (when a backend is up) /object_info,
   * their defaults written into the graph so a value left out means the default the schema shows.
   */
  const withParams = async (
    t: z.output<typeof CreateTemplate>,
    graph: ComfyGraph,
  ): Promise<{ graph: ComfyGraph; params: TemplateParam[] }> => {
    if (!t.params) return { graph, params: detectParams(graph, await deps.objectInfo()) };
    const info = await deps.objectInfo().catch(() => null); // checked more closely when a backend is up
    const checked = checkExplicitParams(graph, t.params, info);
    if (!checked.ok) throw bad(checked.errors.map((e) => e.message).join('; '), checked.errors);
    return { graph: withDefaults(graph, checked.params), params: checked.params };
  };

  const service: TemplateService = {
    async create(input) {
      const r = CreateTemplate.safeParse(input);
      if (!r.success) throw validationError(r.error, input);
      const converted = await apiGraph(r.data);
      const { graph, params } = await withParams(r.data, converted.graph);
      const rec: TemplateRecord = {
        id: crypto.randomUUID(),
        name: r.data.name,
        description: r.data.description ?? null,
        builtin: false,
        createdAt: Date.now(),
        graphJson: stringifyGraph(graph),
        paramsJson: stringify(params)!,
        warningsJson: JSON.stringify(converted.warnings),
      };
      if (!(await deps.store.templates.create(rec)))
        throw new GatewayError({ code: 'conflict', message: `a template named '${rec.name}' exists` });
      return { ...view(rec), warnings: converted.warnings };
    },
    get: async (idOrName) => view(await record(idOrName)),
    async graph(idOrName) {
      const t = await record(idOrName);
      const warnings = t.warningsJson ? (JSON.parse(t.warningsJson) as TemplateWarning[]) : [];
      return { id: t.id, name: t.name, graph: parseExact(t.graphJson) as ComfyGraph, params: view(t).params, warnings };
    },
    list: async () => (await deps.store.templates.list()).map(view),
    async remove(idOrName) {
      const t = await record(idOrName);
      if (t.builtin) throw new GatewayError({ code: 'conflict', message: `'${t.name}' is built in` });
      await deps.store.templates.delete(t.id);
    },
    async schema(idOrName) {
      const t = await record(idOrName);
      const extra = t.builtin ? builtinNamed(t.name)?.extraSchema : undefined;
      const schema = paramsSchema(
        t.name,
        withLiveOptions(parseExact(t.graphJson) as ComfyGraph, paramsOf(t), completeCaps()),
      );
      return extra ? { ...schema, properties: { ...(schema.properties as object), ...extra } } : schema;
    },
    async instantiate(idOrName, values, opts = {}) {
      const t = await record(idOrName);
      const { graph, params, values: given, variant, warning } = await concrete(t, values, opts);
      renameAliases(params, given); // recorded under the template's names, so a job can be made again as it was
      for (const p of params) {
        // A seed not given, or given as "random", is drawn per job; the value used is recorded with the job.
        if (isSeedParam(p.name) && (given[p.name] === undefined || given[p.name] === 'random'))
          given[p.name] = drawSeed(p);
      }
      const missing = requiredParams(params).filter((name) => given[name] === undefined);
      if (missing.length > 0)
        throw bad(
          missing.map((n) => `${n}: required (an asset id from POST /v1/assets)`).join('; '),
          missing.map((param) => ({ param, message: 'required' })),
        );
      const unavailable = unavailableDefaults(graph, params, given);
      if (unavailable.length > 0) throw bad(unavailable.join('; '));
      const applied = applyParams(graph, params, given);
      if (!applied.ok) throw bad(applied.errors.map((e) => e.message).join('; '), applied.errors);
      // Image parameters take asset ids; the engine uploads them to whichever backend runs the job.
      for (const p of params) {
        const v = given[p.name];
        if (p.type === 'image' && typeof v === 'string')
          applied.graph[p.node]!.inputs[p.input] = { __type: 'core/ASSET', info: { id: v } };
      }
      const at = (name: string) => params.find((p) => p.name === name);
      const prompts = { positive: at('prompt'), negative: at('negative') };
      return {
        graph: applied.graph,
        used: Object.fromEntries(Object.entries(given).map(([k, v]) => [k, jsonSafe(v)])),
        variant,
        warning,
        prompts,
      };
    },
    async variations(v) {
      const params = paramsOf(await record(v.job.template!));
      try {
        return variationParams(v, params);
      } catch (err) {
        if (err instanceof VariationError) throw bad(err.message);
        throw err;
      }
    },
    async ensureBuiltins() {
      for (const b of BUILTIN_TEMPLATES) {
        const params = TemplateParamMap.parse(b.params);
        const graph = withDefaults(
          b.graph,
          params.filter((p) => b.graph[p.node]),
        );
        await deps.store.templates.putBuiltin({
          id: `builtin-${b.name}`,
          name: b.name,
          description: b.description,
          createdAt: Date.now(),
          graphJson: stringifyGraph(graph),
          paramsJson: stringify(params)!,
        });
      }
    },
  };
  return service;
}
