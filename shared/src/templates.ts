import { z } from 'zod';
import { ComfyGraph } from './jobs.js';

/**
 * A template's parameter map: named parameters bound to one input of one node of an API graph (docs/architecture.md §3).
 * Parameters are either found automatically (daemon/src/templates/params.ts) or written by hand; both use this
 * shape. Bounds may be bigint because seeds go up to 2^64-1, beyond what a JSON number holds exactly.
 */
export const TemplateParamType = z.enum(['string', 'int', 'float', 'enum', 'image', 'boolean']);
export type TemplateParamType = z.infer<typeof TemplateParamType>;

const Bound = z.union([z.number(), z.bigint()]);

export const TemplateParam = z
  .object({
    name: z
      .string()
      .max(64)
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a parameter name is letters, digits and _, not starting with a digit')
      .describe('what callers pass, e.g. prompt, seed, seed_2, lora1_strength_model'),
    node: z.string().min(1).describe('API node id, e.g. "3", or "20:1" for a node inside a subgraph'),
    input: z.string().min(1).describe('the input of that node the value is written to'),
    type: TemplateParamType,
    default: z.unknown().optional().describe("the graph's own value"),
    min: Bound.optional(),
    max: Bound.optional(),
    options: z.array(z.string()).min(1).optional().describe('allowed values of an enum parameter'),
  })
  .superRefine((p, ctx) => {
    if (p.type === 'enum' && !p.options)
      ctx.addIssue({ code: 'custom', path: ['options'], message: 'an enum parameter needs options' });
    const bounded = p.min !== undefined || p.max !== undefined;
    if (bounded && p.type !== 'int' && p.type !== 'float') {
      ctx.addIssue({ code: 'custom', path: ['min'], message: 'min and max only apply to int and float parameters' });
    }
    if (p.min !== undefined && p.max !== undefined && p.min > p.max)
      ctx.addIssue({ code: 'custom', path: ['max'], message: 'max is below min' });
  });
export type TemplateParam = z.infer<typeof TemplateParam>;

/** A whole map: names are unique, and no input is bound twice (one value must never land in two places). */
export const TemplateParamMap = z.array(TemplateParam).superRefine((params, ctx) => {
  const names = new Set<string>();
  const targets = new Map<string, string>();
  params.forEach((p, i) => {
    if (names.has(p.name))
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `parameter '${p.name}' is defined twice` });
    names.add(p.name);
    const target = `${p.node}.${p.input}`;
    const other = targets.get(target);
    if (other !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [i, 'input'],
        message: `'${p.name}' and '${other}' both bind node ${p.node} input ${p.input}`,
      });
    else targets.set(target, p.name);
  });
});
export type TemplateParamMap = z.infer<typeof TemplateParamMap>;

/** Import a workflow as a template: an API graph, a UI (editor) workflow, or a PNG saved by ComfyUI (base64). */
export const CreateTemplate = z
  .object({
    name: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
    description: z.string().max(1000).optional(),
    graph: ComfyGraph.optional().describe('API-format graph'),
    workflow: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("UI-format workflow, converted with a backend's /object_info"),
    png: z
      .string()
      .max(70_000_000)
      .optional()
      .describe('base64 PNG (prompt/workflow chunks) or animated WEBP (EXIF) saved by ComfyUI'),
    params: TemplateParamMap.optional().describe('explicit parameters; found automatically when absent'),
  })
  .refine((t) => [t.graph, t.workflow, t.png].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of graph, workflow, png',
  });
export type CreateTemplate = z.input<typeof CreateTemplate>;

/** Converted, but not as saved: why the template's graph differs from the one in the imported file. */
export const TemplateWarning = z.object({
  node: z.string().describe('the node (execution id, e.g. 12 or 37:7 inside a group), or empty for the whole file'),
  type: z.string().describe('its class, or what the warning is about (png)'),
  message: z.string(),
});
export type TemplateWarning = z.infer<typeof TemplateWarning>;

export const Template = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  builtin: z.boolean(),
  graphSha256: z
    .string()
    .optional()
    .describe('sha256 of the API graph: tells clients (asset locks) that a template changed'),
  params: z.array(
    z.object({
      name: z.string(),
      node: z.string(),
      input: z.string(),
      type: TemplateParamType,
      default: z.unknown().optional(),
      min: z.unknown().optional(),
      max: z.unknown().optional(),
      options: z.array(z.string()).optional(),
    }),
  ),
  createdAt: z.number(),
  /** Only in the answer to an import: what the conversion changed (GET /v1/templates/{id}/graph has them too). */
  warnings: z.array(TemplateWarning).optional(),
});
export type Template = z.infer<typeof Template>;

/** What a template became: the API graph jobs start from, its parameter bindings, and the conversion warnings. */
export const TemplateGraph = z.object({
  id: z.string(),
  name: z.string(),
  graph: ComfyGraph,
  params: Template.shape.params,
  warnings: z.array(TemplateWarning),
});
export type TemplateGraph = z.infer<typeof TemplateGraph>;
