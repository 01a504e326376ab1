/**
 * The one contract between the plugin's two halves: the sandbox (`code.ts`, Figma's document, no network) and the
 * UI iframe (origin `null`, all network calls). Every message is checked on receipt by whichever side gets it, so a
 * stale UI, a message from another frame or a typo is refused instead of half-handled.
 */
// zod/mini: the same checks with a tree-shakable API, so the sandbox's code.js stays small.
import * as z from 'zod/mini';

export const PLUGIN_DATA_KEY = 'comfygate';

/** The gestures a designer has; each maps to one daemon template (see ui/actions.ts). */
export const Action = z.enum(['generate', 'edit', 'inpaint', 'remove-background', 'upscale', 'expand', 'variations']);
export type Action = z.infer<typeof Action>;

/** Relaunch buttons on generated nodes (the manifest's `relaunchButtons` commands). */
export const RelaunchCommand = z.enum(['vary', 'regenerate', 'upscale', 'remove-background']);
export type RelaunchCommand = z.infer<typeof RelaunchCommand>;

/** Bytes cross postMessage as a Uint8Array (structured clone keeps the type). */
const Bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'expected a Uint8Array' });
const Params = z.record(z.string(), z.unknown());

/** What made a generated node, kept in its pluginData: enough to vary, regenerate or insert it again. */
export const Provenance = z.object({
  jobId: z.string(),
  outputId: z.string(),
  template: z.string(),
  action: Action,
  params: Params,
  prompt: z.string(),
  seed: z.nullable(z.union([z.number(), z.string()])),
  daemonUrl: z.string(),
  width: z.int(),
  height: z.int(),
  createdAt: z.number(),
});
export type Provenance = z.infer<typeof Provenance>;

export const SelectedNode = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  width: z.number(),
  height: z.number(),
  /** Can take an image fill (frames, rectangles, ellipses…). */
  fillable: z.boolean(),
  hasMask: z.boolean(),
  provenance: z.nullable(Provenance),
});
export type SelectedNode = z.infer<typeof SelectedNode>;

export const Settings = z.object({ daemonUrl: z.string(), token: z.nullable(z.string()) });
export type Settings = z.infer<typeof Settings>;

/** Jobs the UI started and has not placed yet: kept in clientStorage so closing the plugin never loses one. */
export const PendingRun = z.object({
  id: z.string(),
  action: Action,
  template: z.string(),
  prompt: z.string(),
  jobIds: z.array(z.string()).check(z.minLength(1)),
  targetId: z.nullable(z.string()),
  daemonUrl: z.string(),
  createdAt: z.number(),
});
export type PendingRun = z.infer<typeof PendingRun>;

export const ResultImage = z.object({
  bytes: Bytes,
  width: z.number().check(z.int(), z.positive()),
  height: z.number().check(z.int(), z.positive()),
  provenance: Provenance,
});
export type ResultImage = z.infer<typeof ResultImage>;

export const ExportRequest = z.object({
  requestId: z.string(),
  /** Longest side of the export, so a reference never exceeds what the template draws. */
  maxSide: z.number().check(z.int(), z.positive()),
  /** `fill`: the node's own image fill bytes (Expand keeps the original pixels, not the cropped view). */
  source: z.enum(['render', 'fill']),
  withMask: z.boolean(),
});
export type ExportRequest = z.infer<typeof ExportRequest>;

export const UiMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ui-ready') }),
  z.object({ type: z.literal('save-settings'), settings: Settings }),
  z.object({ type: z.literal('save-runs'), runs: z.array(PendingRun) }),
  z.object({ type: z.literal('export-selection'), request: ExportRequest }),
  z.object({
    type: z.literal('place-results'),
    requestId: z.string(),
    targetId: z.nullable(z.string()),
    /** `fill` the target, or new frames beside it (a grid when there are several). */
    mode: z.enum(['fill', 'frames']),
    name: z.string(),
    images: z.array(ResultImage).check(z.minLength(1), z.maxLength(64)),
  }),
  z.object({ type: z.literal('list-history') }),
  z.object({ type: z.literal('notify'), message: z.string().check(z.maxLength(500)), error: z.boolean() }),
]);
export type UiMessage = z.infer<typeof UiMessage>;

export const Exported = z.object({ image: Bytes, width: z.int(), height: z.int(), mask: z.nullable(Bytes) });
export type Exported = z.infer<typeof Exported>;

export const SandboxMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('init'),
    settings: Settings,
    runs: z.array(PendingRun),
    selection: z.array(SelectedNode),
    /** The relaunch button the plugin was opened with, if any. */
    command: z.nullable(RelaunchCommand),
  }),
  z.object({ type: z.literal('selection'), selection: z.array(SelectedNode) }),
  z.object({
    type: z.literal('exported'),
    requestId: z.string(),
    result: z.nullable(Exported),
    error: z.nullable(z.string()),
  }),
  z.object({
    type: z.literal('placed'),
    requestId: z.string(),
    nodeIds: z.array(z.string()),
    error: z.nullable(z.string()),
  }),
  z.object({
    type: z.literal('history'),
    entries: z.array(z.object({ nodeId: z.string(), name: z.string(), provenance: Provenance })),
  }),
]);
export type SandboxMessage = z.infer<typeof SandboxMessage>;
