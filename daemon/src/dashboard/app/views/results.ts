import type { Job, JobSummary } from '@comfygate/shared/browser';
import { client, errorText, outputUrl } from '../api.js';
import { announce, duration, field, fill, h, relTime } from '../dom.js';
import { handOff } from '../handoff.js';
import { paramsOf, promptOf, templateOf, thumbOf } from '../jobs.js';
import type { View } from '../main.js';

const HISTORY = 500;

/** Finished jobs as a gallery; search runs in the page over the latest few hundred (no round trip per key). */
export const resultsView: View = (el, state, arg) => {
  if (arg) return void detail(el, state.canSubmit, arg);
  const q = h('input', { type: 'search', name: 'q', placeholder: 'words in the prompt' });
  const tpl = h('select', { name: 'template' }, h('option', { value: '' }, 'Any'));
  const from = h('input', { type: 'date', name: 'from' });
  const to = h('input', { type: 'date', name: 'to' });
  const grid = h('ul', { class: 'gallery', 'aria-label': 'Results' });
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  let all: JobSummary[] = [];

  const draw = () => {
    const words = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    const start = from.value ? new Date(`${from.value}T00:00:00`).getTime() : -Infinity;
    const end = to.value ? new Date(`${to.value}T23:59:59.999`).getTime() : Infinity;
    const shown = all.filter((j) => {
      const p = promptOf(j).toLowerCase();
      const at = j.finishedAt ?? j.createdAt;
      return (
        words.every((w) => p.includes(w)) && (!tpl.value || templateOf(j) === tpl.value) && at >= start && at <= end
      );
    });
    count.textContent = `${shown.length} of ${all.length} results`;
    fill(
      grid,
      shown.map((j) => {
        const t = thumbOf(j);
        return h(
          'li',
          null,
          h(
            'a',
            { href: `#/results/${j.id}` },
            t
              ? h('img', {
                  src: outputUrl(t),
                  alt: promptOf(j) || `result ${j.id}`,
                  loading: 'lazy',
                  width: 160,
                  height: 160,
                })
              : h('span', { class: 'noimg' }, 'no image'),
            h('span', { class: 'cap' }, promptOf(j) || templateOf(j)),
          ),
        );
      }),
    );
  };
  for (const c of [q, tpl, from, to]) c.addEventListener('input', draw);

  fill(
    el,
    h('h1', null, 'Results'),
    h(
      'form',
      { role: 'search', class: 'card filters', onsubmit: (e: Event) => e.preventDefault() },
      field('Search prompts', q),
      field('Template', tpl),
      field('From', from),
      field('To', to),
    ),
    count,
    grid,
  );
  void (async () => {
    try {
      all = (await client.listJobs({ state: 'succeeded', limit: HISTORY })).jobs;
      for (const name of [...new Set(all.map(templateOf))].sort()) tpl.append(h('option', { value: name }, name));
      draw();
    } catch (err) {
      announce(errorText(err), 'error');
    }
  })();
};

async function detail(el: HTMLElement, canSubmit: boolean, id: string): Promise<void> {
  fill(el, h('p', null, 'Loading…'));
  let j: Job;
  try {
    j = await client.getJob(id);
  } catch (err) {
    return fill(
      el,
      h('h1', null, 'Result'),
      h('p', { class: 'error' }, errorText(err)),
      h('a', { href: '#/results' }, 'Back to results'),
    );
  }
  const o = j.outputs[0];
  const params = paramsOf(j);
  const dl = (label: string, value: unknown) => [
    h('dt', null, label),
    h('dd', null, value === undefined || value === null || value === '' ? '–' : String(value)),
  ];
  const useAsReference = async () => {
    if (!o) return;
    try {
      const blob = await (await client.output(o.id)).blob();
      handOff({ template: 'img2img', params: { prompt: params.prompt }, reference: { blob, name: o.filename } });
    } catch (err) {
      announce(errorText(err), 'error');
    }
  };
  const vary = () => {
    const { seed: _seed, ...rest } = params;
    handOff({ template: templateOf(j), params: rest });
  };
  fill(
    el,
    h('p', null, h('a', { href: '#/results' }, '← All results')),
    h('h1', null, promptOf(j) || `Result ${j.id.slice(0, 8)}`),
    h(
      'div',
      { class: 'detail' },
      o
        ? h('img', {
            src: outputUrl(o.id),
            alt: promptOf(j) || 'result',
            class: 'big',
            width: o.width ?? undefined,
            height: o.height ?? undefined,
          })
        : h('p', null, `No image (${j.state}).`),
      h(
        'div',
        { class: 'card' },
        h(
          'div',
          { class: 'row' },
          o ? h('a', { href: outputUrl(o.id), download: o.filename, class: 'button' }, 'Download') : null,
          o && canSubmit
            ? h('button', { type: 'button', onclick: () => void useAsReference() }, 'Use as reference')
            : null,
          canSubmit && j.metadata.template ? h('button', { type: 'button', onclick: vary }, 'Vary') : null,
        ),
        h(
          'dl',
          null,
          dl('State', j.state),
          dl('Template', templateOf(j)),
          dl('Seed', params.seed),
          dl('Backend', j.backend),
          dl('Owner', j.owner.name),
          dl('Attempts', `${j.attempts} of ${j.maxAttempts}`),
          dl('Created', new Date(j.createdAt).toLocaleString()),
          dl('Queued for', duration(j.startedAt ? j.startedAt - j.createdAt : null)),
          dl('Ran for', duration(j.startedAt && j.finishedAt ? j.finishedAt - j.startedAt : null)),
          dl('Finished', j.finishedAt ? relTime(j.finishedAt) : null),
          j.parentJobId ? dl('Made from', j.parentJobId) : null,
        ),
        h('h2', null, 'Parameters'),
        h(
          'dl',
          null,
          Object.entries(params).map(([k, v]) => dl(k, typeof v === 'object' ? JSON.stringify(v) : v)),
        ),
        j.metadata.prompt
          ? [h('h2', null, 'Provenance'), h('pre', null, JSON.stringify(j.metadata.prompt, null, 2))]
          : null,
        o && o.variants.length
          ? [
              h('h2', null, 'Variants'),
              h(
                'ul',
                null,
                o.variants.map((v) =>
                  h(
                    'li',
                    null,
                    h(
                      'a',
                      { href: outputUrl(v.id), download: `${v.variant}-${o.filename}` },
                      `${v.variant} (${v.width}×${v.height}, ${v.contentType})`,
                    ),
                  ),
                ),
              ),
            ]
          : null,
      ),
    ),
  );
}
