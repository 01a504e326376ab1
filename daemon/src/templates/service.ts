import crypto from 'node:crypto';
import { type ComfyGraph, CreateTemplate, type Template, type TemplateParam, TemplateParamMap } from '@comfygate/shared';
import { isSafeNumber, parse, stringify } from 'lossless-json';
import { z } from 'zod';
import { stringifyGraph } from '../comfy/json.js';
import { GatewayError } from '../errors.js';
import type { Store, TemplateRecord } from '../store/types.js';
import { applyParams } from './apply.js';
import { BUILTIN_TEMPLATES } from './builtins.js';
import { uiToApi } from './convert.js';
import type { ObjectInfo } from './objectInfo.js';
import { detectParams } from './params.js';
import { PngError, readComfyPng } from './png.js';

export interface TemplateService {
  create(input: unknown): Promise<Template>;
  get(idOrName: string): Promise<Template>;
  list(): Promise<Template[]>;
  remove(idOrName: string): Promise<void>;
  /** A JSON schema of the parameters, for clients to render forms. */
  schema(idOrName: string): Promise<Record<string, unknown>>;
  /** The graph for a job: values checked against the parameter map, seeds drawn when not given. */
  instantiate(idOrName: string, values: Record<string, unknown>): Promise<{ graph: ComfyGraph; used: Record<string, unknown> }>;
  ensureBuiltins(): Promise<void>;
}

/** JSON with integers beyond 2^53 kept as bigint (seeds, their bounds). */
const parseExact = (text: string) => parse(text, undefined, (v) => (isSafeNumber(v) ? Number(v) : /^-?\d+$/.test(v) ? BigInt(v) : Number(v)));
const jsonSafe = (v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
const SEED = /^(noise_)?seed(_\d+)?$/;

const bad = (message: string, details?: unknown) => new GatewayError({ code: 'validation_failed', message, details });

export function createTemplateService(deps: { store: Store; objectInfo: () => Promise<ObjectInfo> }): TemplateService {
  const record = async (idOrName: string) => {
    const t = await deps.store.templates.find(idOrName);
    if (!t) throw new GatewayError({ code: 'not_found', message: `no template '${idOrName}'` });
    return t;
  };
  const paramsOf = (t: TemplateRecord) => parseExact(t.paramsJson) as TemplateParam[];
  const view = (t: TemplateRecord): Template => ({
    id: t.id, name: t.name, description: t.description, builtin: t.builtin, createdAt: t.createdAt,
    params: paramsOf(t).map((p) => ({ ...p, default: jsonSafe(p.default), min: jsonSafe(p.min), max: jsonSafe(p.max) })),
  });

  /** The API graph of an import, converting a UI workflow (from JSON or a PNG) with a live backend's /object_info. */
  const apiGraph = async (t: z.output<typeof CreateTemplate>): Promise<ComfyGraph> => {
    if (t.graph) return t.graph as ComfyGraph;
    let workflow: unknown = t.workflow;
    if (t.png) {
      let meta: ReturnType<typeof readComfyPng>;
      try {
        meta = readComfyPng(Buffer.from(t.png, 'base64'));
      } catch (err) {
        if (err instanceof PngError) throw bad(`not a readable PNG: ${err.message}`);
        throw err;
      }
      if (meta.prompt) return meta.prompt as ComfyGraph; // ComfyUI already wrote the API form: no conversion needed
      if (!meta.workflow) throw bad('the PNG carries no ComfyUI prompt or workflow');
      workflow = meta.workflow;
    }
    const converted = uiToApi(workflow, await deps.objectInfo());
    if (!converted.ok) throw bad(`cannot convert the workflow: ${converted.errors.map((e) => `node ${e.node}: ${e.reason}`).join('; ')}`, converted.errors);
    return converted.graph;
  };

  const service: TemplateService = {
    async create(input) {
      const r = CreateTemplate.safeParse(input);
      if (!r.success) throw bad(z.prettifyError(r.error), r.error.issues);
      const graph = await apiGraph(r.data);
      const params = r.data.params ?? detectParams(graph, await deps.objectInfo());
      const rec: TemplateRecord = {
        id: crypto.randomUUID(), name: r.data.name, description: r.data.description ?? null, builtin: false, createdAt: Date.now(),
        graphJson: stringifyGraph(graph), paramsJson: stringify(params)!,
      };
      if (!(await deps.store.templates.create(rec))) throw new GatewayError({ code: 'conflict', message: `a template named '${rec.name}' exists` });
      return view(rec);
    },
    get: async (idOrName) => view(await record(idOrName)),
    list: async () => (await deps.store.templates.list()).map(view),
    async remove(idOrName) {
      const t = await record(idOrName);
      if (t.builtin) throw new GatewayError({ code: 'conflict', message: `'${t.name}' is built in` });
      await deps.store.templates.delete(t.id);
    },
    async schema(idOrName) {
      const t = await record(idOrName);
      return paramsSchema(t.name, paramsOf(t));
    },
    async instantiate(idOrName, values) {
      const t = await record(idOrName);
      const params = paramsOf(t);
      const given = { ...values };
      for (const p of params) {
        // A seed not given, or given as "random", is drawn per job; the value used is recorded with the job.
        if (SEED.test(p.name) && (given[p.name] === undefined || given[p.name] === 'random')) given[p.name] = crypto.randomInt(0, 2 ** 48 - 1);
      }
      const applied = applyParams(parseExact(t.graphJson) as ComfyGraph, params, given);
      if (!applied.ok) throw bad(applied.errors.map((e) => e.message).join('; '), applied.errors);
      // Image parameters take asset ids; the engine uploads them to whichever backend runs the job.
      for (const p of params) {
        const v = given[p.name];
        if (p.type === 'image' && typeof v === 'string') applied.graph[p.node]!.inputs[p.input] = { __type: 'core/ASSET', info: { id: v } };
      }
      return { graph: applied.graph, used: Object.fromEntries(Object.entries(given).map(([k, v]) => [k, jsonSafe(v)])) };
    },
    async ensureBuiltins() {
      for (const b of BUILTIN_TEMPLATES) {
        if (await deps.store.templates.find(b.name)) continue;
        const params = TemplateParamMap.parse(b.params);
        await deps.store.templates.create({ id: `builtin-${b.name}`, name: b.name, description: b.description, builtin: true, createdAt: Date.now(), graphJson: stringifyGraph(b.graph), paramsJson: stringify(params)! });
      }
    },
  };
  return service;
}

function paramsSchema(name: string, params: TemplateParam[]): Record<string, unknown> {
  const TYPE = { string: 'string', int: 'integer', float: 'number', enum: 'string', image: 'string', boolean: 'boolean' } as const;
  const num = (v: unknown) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined) : (v as number | undefined));
  const properties = Object.fromEntries(params.map((p) => [p.name, {
    type: TYPE[p.type],
    ...(p.options ? { enum: p.options } : {}),
    ...(num(p.min) !== undefined ? { minimum: num(p.min) } : {}),
    ...(num(p.max) !== undefined ? { maximum: num(p.max) } : {}),
    ...(p.default !== undefined ? { default: jsonSafe(p.default) } : {}),
    ...(p.type === 'image' ? { description: 'an asset id (sha256 from POST /v1/assets)', format: 'asset-id' } : {}),
    ...(SEED.test(p.name) ? { description: 'omit, or "random", for a random seed per job' } : {}),
  }]));
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', title: name, type: 'object', properties, additionalProperties: false };
}
