import type { Backend } from '@comfygate/shared/browser';
import { client, errorText } from '../api.js';
import { announce, field, fill, h } from '../dom.js';
import { onEvent } from '../live.js';
import type { View } from '../main.js';

interface SystemStats {
  system?: { os?: string; comfyui_version?: string; ram_total?: number; ram_free?: number };
  devices?: { name?: string; type?: string; vram_total?: number; vram_free?: number }[];
}

const gib = (n: number | undefined) => (typeof n === 'number' ? `${(n / 2 ** 30).toFixed(1)} GiB` : '?');

/** ComfyUI's own /system_stats, through the admin-only passthrough (`/comfy/@name/...`). */
async function systemStats(name: string): Promise<SystemStats | null> {
  try {
    const res = await client.request('GET', `/comfy/@${encodeURIComponent(name)}/system_stats`);
    return (await res.json()) as SystemStats;
  } catch {
    return null;
  }
}

/** Model files per folder (checkpoints, loras, …) from ComfyUI's `/models`, read when a person opens the list. */
function modelsList(name: string): HTMLElement {
  const body = h('div', null, 'Loading…');
  const details = h('details', null, h('summary', null, 'Models per folder'), body);
  details.addEventListener('toggle', () => {
    if (!details.open || body.dataset.loaded) return;
    body.dataset.loaded = '1';
    void (async () => {
      const get = async <T>(p: string) =>
        (await (await client.request('GET', `/comfy/@${encodeURIComponent(name)}${p}`)).json()) as T;
      try {
        const folders = await get<string[]>('/models');
        const lists = await Promise.all(
          folders.map((f) => get<string[]>(`/models/${encodeURIComponent(f)}`).catch(() => [])),
        );
        const shown = (l: string[]) =>
          l.length ? `${l.length}: ${l.slice(0, 5).join(', ')}${l.length > 5 ? ', …' : ''}` : 'none';
        fill(
          body,
          h(
            'dl',
            null,
            folders.map((f, i) => [h('dt', null, f), h('dd', null, shown(lists[i]!))]),
          ),
        );
      } catch (err) {
        fill(body, h('p', { class: 'error' }, errorText(err)));
      }
    })();
  });
  return details;
}

function why(b: Backend): string | null {
  if (b.health === 'down')
    return `${b.reason ?? 'not answering'}; retried with backoff (check that ComfyUI runs at this URL)`;
  if (b.health === 'unknown') return 'not probed yet';
  return null;
}

export const backendsView: View = (el, state) => {
  const list = h('div', { class: 'backends' });
  const models = new Map<string, HTMLElement>();
  const draw = async () => {
    let backends: Backend[];
    try {
      backends = await client.backends();
    } catch (err) {
      return announce(errorText(err), 'error');
    }
    const stats = state.isAdmin
      ? await Promise.all(backends.map((b) => (b.health === 'up' ? systemStats(b.name) : null)))
      : [];
    fill(
      list,
      backends.length ? null : h('p', null, 'No backends configured.'),
      backends.map((b, i) => {
        const s = stats[i];
        const reason = why(b);
        return h(
          'article',
          { class: 'card backend', 'aria-label': `Backend ${b.name}`, 'data-backend': b.name },
          h(
            'h2',
            null,
            b.name,
            ' ',
            h('span', { class: `state h-${b.health}` }, b.draining ? `${b.health}, draining` : b.health),
          ),
          h('p', { class: 'muted' }, b.url),
          reason ? h('p', { class: 'why' }, reason) : null,
          h(
            'dl',
            null,
            h('dt', null, 'Running'),
            h('dd', null, `${b.inflight} of ${b.capacity}`),
            h('dt', null, 'Weight'),
            h('dd', null, String(b.weight)),
            h('dt', null, 'Node classes'),
            h('dd', null, b.nodes === null ? '?' : String(b.nodes)),
            h('dt', null, 'Models'),
            h('dd', null, b.models === null ? '?' : String(b.models)),
            s?.devices?.map((d) => [
              h('dt', null, d.name ?? 'GPU'),
              h('dd', null, `VRAM ${gib((d.vram_total ?? 0) - (d.vram_free ?? 0))} used of ${gib(d.vram_total)}`),
            ]),
            s?.system?.comfyui_version ? [h('dt', null, 'ComfyUI'), h('dd', null, s.system.comfyui_version)] : null,
          ),
          // Kept across redraws so an open list stays open.
          state.isAdmin && b.health === 'up'
            ? (models.get(b.name) ?? models.set(b.name, modelsList(b.name)).get(b.name))
            : null,
          state.isAdmin
            ? h(
                'div',
                { class: 'row' },
                h(
                  'button',
                  {
                    type: 'button',
                    'aria-pressed': String(b.draining),
                    onclick: async () => {
                      try {
                        await client.drainBackend(b.name, !b.draining);
                        announce(
                          b.draining
                            ? `${b.name} takes jobs again.`
                            : `${b.name} is draining: it finishes what it runs and takes nothing new.`,
                        );
                      } catch (err) {
                        announce(errorText(err), 'error');
                      }
                      void draw();
                    },
                  },
                  'Drain',
                ),
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'danger',
                    onclick: async () => {
                      if (!confirm(`Remove backend ${b.name}?`)) return;
                      try {
                        await client.removeBackend(b.name);
                        announce(`${b.name} removed.`);
                      } catch (err) {
                        announce(errorText(err), 'error');
                      }
                      void draw();
                    },
                  },
                  'Remove',
                ),
              )
            : null,
        );
      }),
    );
  };

  const name = h('input', { name: 'name', required: true, pattern: '[A-Za-z0-9_.\\-]{1,64}' });
  const url = h('input', { name: 'url', type: 'url', required: true, placeholder: 'http://127.0.0.1:8188' });
  const add = state.isAdmin
    ? h(
        'form',
        {
          class: 'card row',
          'aria-label': 'Add a backend',
          onsubmit: async (e: Event) => {
            e.preventDefault();
            try {
              await client.addBackend({ name: name.value, url: url.value });
              announce(`${name.value} added.`);
              name.value = url.value = '';
            } catch (err) {
              announce(errorText(err), 'error');
            }
            void draw();
          },
        },
        field('Name', name),
        field('URL', url),
        h('button', { type: 'submit' }, 'Add backend'),
      )
    : null;

  fill(el, h('h1', null, 'Backends'), h('section', { 'aria-label': 'Backends' }, list), add);
  void draw();
  const off = onEvent((e) => {
    if (e.type === 'backend:up' || e.type === 'backend:down') void draw();
  });
  const timer = setInterval(() => void draw(), 5000);
  return () => (off(), clearInterval(timer));
};
