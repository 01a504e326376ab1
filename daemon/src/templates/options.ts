/**
 * Enum choices from what the backends offer now. A parameter bound to a combo input (checkpoints, LoRAs,
 * samplers, schedulers…) accepts any value some backend the job may run on has, not only the list one backend
 * had at import, and a built-in's plain-text model parameter is checked the same way. While any backend's
 * capabilities are unknown (`null`), the stored options stand.
 */
import type { ComfyGraph, TemplateParam } from '@comfygate/shared';
import type { Capabilities } from '../comfy/capabilities.js';

export function withLiveOptions(
  graph: ComfyGraph,
  params: TemplateParam[],
  caps: Capabilities[] | null,
): TemplateParam[] {
  if (!caps || caps.length === 0) return params;
  return params.map((p) => {
    const cls = graph[p.node]?.class_type;
    if ((p.type !== 'enum' && p.type !== 'string') || !cls) return p;
    const lists = caps.flatMap((c) => c.combos[cls]?.[p.input] ?? []);
    return lists.length > 0 ? { ...p, type: 'enum', options: [...new Set(lists)] } : p;
  });
}

/** Enum parameters left out whose template value no backend offers: named now rather than refused by routing later. */
export function unavailableDefaults(
  graph: ComfyGraph,
  params: TemplateParam[],
  given: Record<string, unknown>,
): string[] {
  return params
    .filter((p) => p.type === 'enum' && given[p.name] === undefined)
    .flatMap((p) => {
      const v = graph[p.node]?.inputs[p.input];
      if (typeof v !== 'string' || p.options!.includes(v)) return [];
      const some = p.options!.slice(0, 10).join(', ');
      return [
        `${p.name}: the template's '${v}' is on no backend; give one of ${some}${p.options!.length > 10 ? ', …' : ''}`,
      ];
    });
}
