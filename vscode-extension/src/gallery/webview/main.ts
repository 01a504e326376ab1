import { type GalleryAction, ToWebview } from '../messages.js';

/** The gallery's page script: renders what the extension sends, and sends back which action on which file. */
declare function acquireVsCodeApi(): { postMessage(message: unknown): void };
const vscode = acquireVsCodeApi();

const ACTIONS: [GalleryAction, string][] = [
  ['open', 'Open'],
  ['reveal', 'Reveal'],
  ['copyPath', 'Copy path'],
  ['insertMarkdown', 'Insert link'],
  ['regenerate', 'Regenerate'],
];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  return e;
}

window.addEventListener('message', (event: MessageEvent) => {
  const parsed = ToWebview.safeParse(event.data);
  if (!parsed.success) return;
  const list = document.getElementById('items')!;
  document.getElementById('empty')!.hidden = parsed.data.items.length > 0;
  list.replaceChildren(
    ...parsed.data.items.map((item) => {
      const li = el('li');
      li.setAttribute('aria-label', item.name);
      const img = el('img');
      img.src = item.src;
      img.alt = item.prompt ?? item.name;
      const meta = el(
        'p',
        [item.template, item.seed !== null ? `seed ${item.seed}` : null].filter(Boolean).join(' · '),
      );
      meta.className = 'meta';
      li.append(img, el('p', item.name), el('p', item.prompt ?? ''), meta);
      for (const [action, label] of ACTIONS) {
        const b = el('button', label);
        b.setAttribute('aria-label', `${label} ${item.name}`);
        b.addEventListener('click', () => vscode.postMessage({ type: 'action', action, file: item.file }));
        li.append(b);
      }
      return li;
    }),
  );
});

vscode.postMessage({ type: 'ready' });
