import { HANDLED_PARAMS } from './actions';
import { h } from './dom';

interface PropSchema {
  type?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  default?: unknown;
  description?: string;
}

/**
 * The picked template's own parameters (those the panel does not already ask for), as inputs built from
 * `/v1/templates/{id}/schema`. Only fields the user changed are sent, so the template's defaults stay in charge.
 */
export function schemaFields(container: HTMLElement, schema: Record<string, unknown>): () => Record<string, unknown> {
  container.replaceChildren();
  const props = (schema.properties ?? {}) as Record<string, PropSchema>;
  const readers: (() => [string, unknown] | null)[] = [];
  for (const [name, p] of Object.entries(props)) {
    if (HANDLED_PARAMS.has(name) || p.type === undefined) continue;
    const id = `param-${name}`;
    let input: HTMLInputElement | HTMLSelectElement;
    if (p.enum) {
      input = h('select', { id });
      for (const o of p.enum) input.append(h('option', { value: o, text: o, selected: o === p.default }));
    } else if (p.type === 'boolean') {
      input = h('input', { id, type: 'checkbox', checked: p.default === true });
    } else if (p.type === 'integer' || p.type === 'number') {
      const value = typeof p.default === 'number' ? p.default : '';
      input = h('input', {
        id,
        type: 'number',
        step: p.type === 'integer' ? 1 : 'any',
        min: p.minimum ?? false,
        max: p.maximum ?? false,
        value,
      });
    } else {
      input = h('input', { id, type: 'text', value: typeof p.default === 'string' ? p.default : '' });
    }
    let touched = false;
    input.addEventListener('input', () => (touched = true));
    input.addEventListener('change', () => (touched = true));
    container.append(h('div', { class: 'field' }, h('label', { for: id, text: name.replace(/_/g, ' ') }), input));
    readers.push(() => {
      if (!touched) return null;
      if (input instanceof HTMLInputElement && input.type === 'checkbox') return [name, input.checked];
      if (p.type === 'integer' || p.type === 'number') return input.value === '' ? null : [name, Number(input.value)];
      return [name, input.value];
    });
  }
  if (readers.length === 0) container.append(h('p', { class: 'hint', text: 'This template has no other settings.' }));
  return () => Object.fromEntries(readers.map((r) => r()).filter((e): e is [string, unknown] => e !== null));
}
