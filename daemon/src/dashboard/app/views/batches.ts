import type { BatchSummary } from '@comfygate/shared/browser';
import { type AppState, archiveUrl, client, errorText } from '../api.js';
import { fill, h, progressBar, relTime } from '../dom.js';

const PAGE = 20;
const MAX = 200; // the route's page limit

/**
 * The Batches section of the queue: every batch the session may see (made here, from the CLI or another browser),
 * from GET /v1/batches, newest first. `act` runs an action and announces its outcome.
 */
export function batchesSection(
  state: AppState,
  act: (what: string, fn: () => Promise<unknown>) => Promise<void>,
): { el: HTMLElement; reload: () => Promise<void> } {
  const list = h('ul', { class: 'batches' });
  const empty = h('p', { class: 'muted', hidden: true }, 'No batches yet.');
  let shown = PAGE;
  const more = h(
    'button',
    {
      type: 'button',
      hidden: true,
      onclick: () => {
        shown = Math.min(MAX, shown + PAGE);
        void reload();
      },
    },
    'Show older batches',
  );
  // Only its owner (or the admin) may cancel a batch; a see-all session reads the others'.
  const mayCancel = (b: BatchSummary) => state.canSubmit && (state.isAdmin || b.owner.id === state.me.tokenId);

  const item = (b: BatchSummary): HTMLElement => {
    const name = b.name ?? `batch ${b.id.slice(0, 8)}`;
    const counts = (['failed', 'canceled'] as const).filter((s) => b.counts[s] > 0).map((s) => `${b.counts[s]} ${s}`);
    const eta = b.done < b.total && b.etaMs ? ` · about ${Math.ceil(b.etaMs / 1000)} s left` : '';
    return h(
      'li',
      { 'data-batch': b.id },
      h('span', { class: 'name' }, name),
      progressBar((100 * b.done) / Math.max(1, b.total), `Batch ${b.name ?? b.id} progress`),
      h('span', null, `${b.done}/${b.total} done${counts.length ? ` (${counts.join(', ')})` : ''}${eta}`),
      h('small', { class: 'muted' }, `${b.owner.name} · ${relTime(b.createdAt)}`),
      b.done < b.total && mayCancel(b)
        ? h(
            'button',
            {
              type: 'button',
              onclick: () =>
                act('Batch canceled', async () => {
                  await client.cancelBatch(b.id);
                  await reload();
                }),
            },
            'Cancel batch',
          )
        : null,
      h('a', { href: archiveUrl(b.id), download: `batch-${b.id}.zip`, class: 'button' }, 'Download zip'),
    );
  };

  let loading: Promise<void> | null = null;
  const load = async () => {
    try {
      const page = await client.listBatches({ limit: shown });
      fill(list, ...page.batches.map(item));
      empty.hidden = page.batches.length > 0;
      more.hidden = page.nextCursor === null || shown >= MAX;
    } catch (err) {
      fill(list, h('li', { class: 'muted' }, errorText(err)));
    }
  };
  // One request at a time: a burst of events while a page loads asks once more, not once per event.
  let again = false;
  const reload = async (): Promise<void> => {
    if (loading) return void (again = true);
    loading = load();
    await loading;
    loading = null;
    if (again) {
      again = false;
      await reload();
    }
  };

  const el = h('section', { 'aria-label': 'Batches', class: 'card' }, h('h2', null, 'Batches'), list, empty, more);
  return { el, reload };
}
