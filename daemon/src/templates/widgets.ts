/**
 * Maps a node's `widgets_values` to input names (docs/comfyui-protocol.md §5.3 items 1–3). The array is positional
 * over the widgets the editor built from /object_info: one per widget input (required, then optional, in
 * `input_order`), plus the widgets the frontend injects and never sends (seed control, combo filter, upload).
 */
import {
  declaredInputs,
  isWidgetSpec,
  specOptions,
  specType,
  comboOptions,
  type InputSpec,
  type NodeDef,
} from './objectInfo.js';
import type { UiNode } from './workflow.js';
import { stringifyGraph } from '../comfy/json.js';

export type WidgetSlotKind = 'value' | 'control' | 'filter' | 'upload';

export interface WidgetSlot {
  kind: WidgetSlotKind;
  /** The input a value slot fills, or the input an injected slot belongs to. */
  name: string;
  spec?: InputSpec;
}

/** What differs from the saved node; `input` names the input a default was used for. */
export interface WidgetNote {
  input?: string;
  message: string;
}

/** A value as JSON for a message: a big integer (a seed past 2^53 is read as a bigint) as its digits, not a TypeError. */
const asText = (v: unknown): string => (v === undefined ? 'undefined' : stringifyGraph(v));

export const newerInputNote = (input: string, value: unknown): string =>
  `input '${input}' is newer than the workflow (no saved value): the current default ${asText(value)} is used, as the editor does`;

/** Thrown for a node whose stored widgets cannot be lined up with its definition. */
export class WidgetError extends Error {}

const CONTROL_VALUES = new Set(['fixed', 'increment', 'decrement', 'randomize', 'increment-wrap']);
const UPLOAD_FLAGS = ['image_upload', 'video_upload', 'audio_upload', 'animated_image_upload'];

/**
 * How many widgets follow an input's own widget. useIntWidget adds a control when the flag is set, or when it
 * is absent and the INT is called seed/noise_seed; FLOAT and combos only when the flag is set, and a (single
 * select) combo's control brings a second widget, control_filter_list (addValueControlWidgets).
 */
export function injectedAfter(name: string, spec: InputSpec): WidgetSlotKind[] {
  const opts = specOptions(spec);
  const flag = opts.control_after_generate;
  switch (specType(spec)) {
    case 'INT':
      return (flag ?? (name === 'seed' || name === 'noise_seed')) ? ['control'] : [];
    case 'FLOAT':
      return flag ? ['control'] : [];
    case 'COMBO':
      if (!flag) return [];
      return opts.multi_select ? ['control'] : ['control', 'filter'];
    default:
      return [];
  }
}

/** An input is a widget when its type is one, or when the saved node says so (custom JS widget types). */
function isWidgetInput(node: UiNode, name: string, spec: InputSpec): boolean {
  if (specOptions(spec).forceInput === true) return false;
  return isWidgetSpec(spec) || (node.inputs ?? []).some((i) => i?.widget?.name === name);
}

export const hasUpload = (spec: InputSpec): boolean => UPLOAD_FLAGS.some((f) => specOptions(spec)[f] === true);

export function widgetLayout(def: NodeDef, node: UiNode): WidgetSlot[] {
  const slots: WidgetSlot[] = [];
  let upload: string | undefined;
  const inputs = declaredInputs(def);
  inputs.forEach((input, i) => {
    if (input.section === 'required' && hasUpload(input.spec)) upload ??= input.name;
    if (isWidgetInput(node, input.name, input.spec)) {
      slots.push({ kind: 'value', name: input.name, spec: input.spec });
      for (const kind of injectedAfter(input.name, input.spec)) slots.push({ kind, name: input.name });
    }
    // The upload button is added after the last required widget, before any optional one.
    const lastRequired = input.section === 'required' && inputs[i + 1]?.section !== 'required';
    if (lastRequired && upload) slots.push({ kind: 'upload', name: upload });
  });
  return slots;
}

/** The value a fresh widget starts with; used when a saved array is shorter than the current definition. */
export function widgetDefault(spec: InputSpec | undefined): unknown {
  const opts = specOptions(spec);
  if (opts.default !== undefined) return opts.default;
  const type = specType(spec);
  if (type === 'COMBO') return comboOptions(spec)?.[0];
  if (type === 'INT' || type === 'FLOAT') return 0;
  if (type === 'STRING') return '';
  if (type === 'BOOLEAN') return false;
  return undefined;
}

/** Old workflows store true/false in the control slot; holes are saved as null. */
const isControlValue = (v: unknown): boolean =>
  v === null || v === undefined || typeof v === 'boolean' || (typeof v === 'string' && CONTROL_VALUES.has(v));

/**
 * Values past the layout are what the editor does with them: nothing. Widgets a frontend adds itself and never
 * serialises into the prompt (PreviewAny's previews, `$$comfy_animation_preview` on animated savers, extension
 * widgets) are created after the definition's, so their saved values come last and never shift the real ones.
 * A value missing at the end is an input the node gained after the workflow was saved: the editor gives the new
 * widget its default, and so does this. Both are noted, so a user can see why a graph differs from the file's.
 */
function fromArray(
  slots: WidgetSlot[],
  values: unknown[],
  source: string,
  notes?: WidgetNote[],
): Record<string, unknown> {
  if (values.length > slots.length) {
    const names = slots.map((s) => (s.kind === 'value' ? s.name : `(${s.kind})`)).join(', ') || 'none';
    const extra = values.slice(slots.length).map(asText).join(', ');
    notes?.push({
      message:
        `widgets_values has ${values.length} entries but ${source} ${slots.length} widget positions (${names}); ` +
        `the last ${values.length - slots.length} (${extra.length > 120 ? `${extra.slice(0, 117)}...` : extra}) are ignored, as the editor ` +
        'ignores widgets it adds itself (previews, extensions) when it sends the prompt',
    });
  }
  const out: Record<string, unknown> = {};
  slots.forEach((slot, i) => {
    if (slot.kind === 'value') {
      out[slot.name] = i < values.length ? values[i] : widgetDefault(slot.spec);
      if (i >= values.length) {
        notes?.push({ input: slot.name, message: newerInputNote(slot.name, out[slot.name]) });
      }
    } else if (slot.kind === 'control' && i < values.length && !isControlValue(values[i])) {
      throw new WidgetError(
        `widgets_values[${i}] should be the control_after_generate mode of '${slot.name}' but is ${asText(values[i])}; ` +
          'the stored widgets do not line up with /object_info',
      );
    }
  });
  return out;
}

function fromObject(slots: WidgetSlot[], values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const slot of slots) {
    if (slot.kind === 'value') out[slot.name] = slot.name in values ? values[slot.name] : widgetDefault(slot.spec);
  }
  return out;
}

/**
 * Stored widget values laid over `slots`: positional for arrays, by name for objects. `source` names what
 * gave the layout, for the note when the array is too long. Undefined defaults are left out.
 */
export function slotValues(
  slots: WidgetSlot[],
  raw: UiNode['widgets_values'] | null,
  source: string,
  notes?: WidgetNote[],
): Record<string, unknown> {
  const out =
    raw !== null && typeof raw === 'object' && !Array.isArray(raw)
      ? fromObject(slots, raw)
      : fromArray(slots, raw ?? [], source, notes);
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out;
}

/**
 * Widget input name → stored value, for every widget input of the node. Undefined defaults are left out.
 * `notes` collects what differs from the saved node (ignored extra values, defaults for newer inputs).
 */
export function widgetValues(def: NodeDef, node: UiNode, notes?: WidgetNote[]): Record<string, unknown> {
  const own: WidgetNote[] = [];
  const values = slotValues(widgetLayout(def, node), node.widgets_values, `/object_info gives ${node.type}`, own);
  // A default for an input that is linked is never sent: nothing to note.
  const linked = (name: string) =>
    (node.inputs ?? []).some((i) => i?.name === name && i.link !== null && i.link !== undefined);
  notes?.push(...own.filter((n) => !n.input || !linked(n.input)));
  return values;
}
