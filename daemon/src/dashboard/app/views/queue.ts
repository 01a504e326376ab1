import { isTerminal } from '@comfygate/shared/browser';
import { client, errorText, outputUrl, previewUrl } from '../api.js';
import { announce, fill, h, progressBar, relTime, setProgress } from '../dom.js';
import { type JobRow, percentOf, promptOf, templateOf, thumbOf } from '../jobs.js';
import { onEvent } from '../live.js';
import type { View } from '../main.js';
import { batchesSection } from './batches.js';

const PREVIEW_EVERY_MS = 400;

/** Live jobs and batches: rows redraw on each job event; progress and previews update in place, so focus stays put. */
export const queueView: View = (el, state) => {
  const jobs = new Map<string, JobRow>();
  const rows = new Map<string, HTMLTableRowElement>();
  const tbody = h('tbody');
  const empty = h('p', { class: 'muted' }, 'No jobs yet. Start one from Generate.');
  const lastPreview = new Map<string, number>();
  let previewN = 0;

  const act = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      announce(what);
    } catch (err) {
      announce(`${what} failed: ${errorText(err)}`, 'error');
    }
  };
  const batches = batchesSection(state, act);

  // The daemon explains a wait: it knows the backends' capabilities and load.
  const waitingOf = (j: JobRow) => (j.state === 'queued' ? (j.waiting ?? 'about to start') : '');
  const row = (j: JobRow): HTMLTableRowElement => {
    const pct = percentOf(j);
    const thumb = thumbOf(j);
    const prompt = promptOf(j);
    const actions = h('td', { class: 'actions' });
    if (!isTerminal(j.state) && state.canSubmit) {
      actions.append(
        h('button', { type: 'button', onclick: () => act('Canceled', () => client.cancelJob(j.id)) }, 'Cancel'),
      );
    }
    if (j.state === 'queued' && state.canSubmit) {
      const prio = h('input', {
        type: 'number',
        min: -1000,
        max: 1000,
        step: 1,
        value: j.priority,
        class: 'prio',
        'aria-label': 'Priority',
        title: 'Higher runs first',
      });
      const change = async () => refresh(await client.setPriority(j.id, Number(prio.value)));
      prio.addEventListener('change', () => void act(`Priority set to ${prio.value}`, change));
      actions.prepend(prio);
    }
    if ((j.state === 'failed' || j.state === 'canceled') && state.canSubmit) {
      actions.append(
        h('button', { type: 'button', onclick: () => act('Queued again', () => client.retryJob(j.id)) }, 'Retry'),
      );
    }
    if (j.state === 'succeeded') actions.append(h('a', { href: `#/results/${j.id}`, class: 'button' }, 'Open'));
    const media = thumb
      ? h('img', { src: outputUrl(thumb), alt: prompt || `output of ${j.id}`, loading: 'lazy', width: 64, height: 64 })
      : h('img', { alt: '', class: 'preview', hidden: true, width: 64, height: 64 });
    const tr = h(
      'tr',
      { 'data-job': j.id, 'data-state': j.state },
      h('td', { class: 'media' }, media),
      h(
        'td',
        { class: 'what' },
        h('span', { class: 'prompt' }, prompt || '(no prompt)'),
        h('small', null, `${templateOf(j)} · ${j.id.slice(0, 8)}`),
      ),
      h('td', null, h('span', { class: `state s-${j.state}` }, j.state)),
      h('td', null, progressBar(pct, `Progress of ${prompt || j.id}`)),
      h('td', null, j.owner.name),
      h('td', null, j.backend ?? '–'),
      h('td', { class: 'why' }, j.state === 'failed' ? (j.error?.message ?? 'failed') : waitingOf(j)),
      h('td', null, relTime(j.createdAt)),
      actions,
    );
    return tr;
  };

  const redraw = () => {
    const sorted = [...jobs.values()].sort((a, b) => b.createdAt - a.createdAt).slice(0, 100);
    empty.hidden = sorted.length > 0;
    tbody.replaceChildren(...sorted.map((j) => rows.get(j.id) ?? rows.set(j.id, row(j)).get(j.id)!));
  };
  const refresh = (j: JobRow) => {
    jobs.set(j.id, j);
    const old = rows.get(j.id);
    const fresh = row(j);
    rows.set(j.id, fresh);
    if (old?.isConnected) {
      // Keep keyboard focus on the same control when the row under it is redrawn.
      const focused = old.contains(document.activeElement) ? (document.activeElement as HTMLElement).textContent : null;
      old.replaceWith(fresh);
      if (focused)
        (
          [...fresh.querySelectorAll('button')].find((b) => b.textContent === focused) ?? fresh.querySelector('button')
        )?.focus();
    } else redraw();
  };

  const load = async () => {
    try {
      const { jobs: list } = await client.listJobs({ limit: 100 });
      for (const j of list) jobs.set(j.id, j);
      rows.clear();
      redraw();
    } catch (err) {
      announce(errorText(err), 'error');
    }
  };

  // Queued rows say why they wait; that reason moves with the backends (drained, down), which no job event tells.
  const timer = setInterval(() => {
    if (![...jobs.values()].some((j) => j.state === 'queued')) return;
    void client.listJobs({ state: 'queued', limit: 100 }).then(
      ({ jobs: list }) => {
        for (const j of list) if (jobs.get(j.id)?.waiting !== j.waiting) refresh(j);
      },
      () => {},
    );
  }, 2000);

  let batchTimer: ReturnType<typeof setTimeout> | null = null;
  const off = onEvent((e) => {
    if (e.type === 'job:progress') {
      const tr = rows.get(e.jobId);
      if (!tr) return;
      const bar = tr.querySelector('[role=progressbar]');
      if (bar && e.progress.max > 0) setProgress(bar, (100 * e.progress.value) / e.progress.max);
      const now = Date.now();
      if (e.hasPreview && now - (lastPreview.get(e.jobId) ?? 0) > PREVIEW_EVERY_MS) {
        lastPreview.set(e.jobId, now);
        const img = tr.querySelector<HTMLImageElement>('img.preview');
        if (img) ((img.src = previewUrl(e.jobId, ++previewN)), (img.alt = 'latest preview'), (img.hidden = false));
      }
      return;
    }
    if (e.jobId && e.type !== 'job:deleted') void client.getJob(e.jobId).then(refresh, () => {});
    if (e.type === 'job:deleted' && e.jobId) (jobs.delete(e.jobId), rows.get(e.jobId)?.remove());
    // A big batch sends many events: the batches are listed again at most once a second, and once after the last
    // event. Any job event may be a batch's (made from the CLI or another browser): the list is not only ours.
    if (!batchTimer) {
      batchTimer = setTimeout(() => {
        batchTimer = null;
        void batches.reload();
      }, 1000);
    }
  });

  fill(
    el,
    h('h1', null, 'Queue'),
    h(
      'section',
      { 'aria-label': 'Jobs', class: 'card' },
      h(
        'table',
        { class: 'jobs' },
        h('caption', { class: 'sr-only' }, 'Jobs, newest first'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Image', 'Job', 'State', 'Progress', 'Owner', 'Backend', 'Waiting / error', 'Created', 'Actions'].map(
              (c) => h('th', { scope: 'col' }, c),
            ),
          ),
        ),
        tbody,
      ),
      empty,
    ),
    batches.el,
  );
  void load();
  void batches.reload();
  return () => (off(), clearInterval(timer), batchTimer && clearTimeout(batchTimer));
};
