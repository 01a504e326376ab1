// The classic output cache (§7): entries are keyed by an input signature (class, IS_CHANGED, inputs with
// links replaced by the upstream signature), and only entries matching the current prompt survive it.
import { createHash } from 'node:crypto';
import { dumpJson, isDict, type PyDict, type PyValue } from './pyjson.js';

export interface UiRecord {
  meta: PyDict;
  output: PyDict;
}

export interface CacheEntry {
  outputs: unknown[];
  ui: UiRecord | null;
}

/** IS_CHANGED result for a node; a value that never repeats disables caching for it. */
export type IsChanged = (nodeId: string, node: PyDict) => string;

export class OutputCache {
  private readonly entries = new Map<string, CacheEntry>();
  private keys = new Map<string, string>();

  constructor(private readonly enabled: boolean) {}

  /** set_prompt + clean_unused: compute signatures, drop entries the new prompt cannot use. */
  setPrompt(prompt: PyDict, isChanged: IsChanged): void {
    const keys = new Map<string, string>();
    const visiting = new Set<string>();
    const sig = (id: string): string => {
      const known = keys.get(id);
      if (known) return known;
      const node = prompt[id];
      if (!isDict(node) || visiting.has(id)) return `missing:${id}`;
      visiting.add(id);
      const inputs = isDict(node.inputs) ? node.inputs : {};
      const parts: PyValue[] = [];
      for (const name of Object.keys(inputs).sort()) {
        const v = inputs[name] as PyValue;
        const isLink = Array.isArray(v) && v.length === 2 && typeof v[0] === 'string';
        parts.push([name, isLink ? ['link', sig(v[0] as string), v[1] as PyValue] : v]);
      }
      visiting.delete(id);
      const text = dumpJson([node.class_type as PyValue, isChanged(id, node), parts]);
      const key = createHash('sha1').update(text).digest('hex');
      keys.set(id, key);
      return key;
    };
    for (const id of Object.keys(prompt)) sig(id);
    this.keys = keys;
    const live = new Set(keys.values());
    for (const k of [...this.entries.keys()]) if (!live.has(k)) this.entries.delete(k);
  }

  get(nodeId: string): CacheEntry | undefined {
    if (!this.enabled) return undefined;
    const key = this.keys.get(nodeId);
    return key === undefined ? undefined : this.entries.get(key);
  }

  set(nodeId: string, entry: CacheEntry): void {
    const key = this.keys.get(nodeId);
    if (this.enabled && key !== undefined) this.entries.set(key, entry);
  }

  clear(): void {
    this.entries.clear();
    this.keys.clear();
  }
}
