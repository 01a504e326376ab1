/** A few lines instead of a framework: elements from a tag, properties and children. */
export type Child = Node | string | number | null | undefined | false | Child[];
type Props = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function')
      el.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else if (k === 'checked' && 'checked' in el) (el as HTMLInputElement).checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children.flat(8 as 1) as Child[]) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's content. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let ids = 0;
export const uid = (prefix: string): string => `${prefix}-${++ids}`;

/** A labelled form control: the label's text is the control's accessible name (tests and screen readers use it). */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || uid('f');
  control.id = id;
  const hintEl = hint ? h('small', { id: `${id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

export function progressBar(percent: number | null, label = 'Progress'): HTMLElement {
  const v = percent === null ? null : Math.max(0, Math.min(100, Math.round(percent)));
  const bar = h(
    'div',
    {
      role: 'progressbar',
      'aria-label': label,
      'aria-valuemin': 0,
      'aria-valuemax': 100,
      'aria-valuenow': v ?? undefined,
      'aria-valuetext': v === null ? 'waiting' : `${v}%`,
      class: 'bar',
    },
    h('span'),
  );
  // Through the CSSOM: the CSP allows no inline style attributes.
  (bar.firstElementChild as HTMLElement).style.width = `${v ?? 0}%`;
  return bar;
}

export function setProgress(bar: Element, percent: number): void {
  const v = Math.max(0, Math.min(100, Math.round(percent)));
  bar.setAttribute('aria-valuenow', String(v));
  bar.setAttribute('aria-valuetext', `${v}%`);
  (bar.firstElementChild as HTMLElement | null)?.style.setProperty('width', `${v}%`);
}

export function relTime(ms: number, now = Date.now()): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

export const duration = (ms: number | null): string =>
  ms === null ? '–' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;

/** A polite live region so results of actions are read out without moving focus. */
export function announce(text: string, kind: 'info' | 'error' = 'info'): void {
  const el = document.getElementById('status');
  if (!el) return;
  el.className = `status ${kind}`;
  el.textContent = text;
}
