import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '@comfygate/shared';
import { artifactPath } from '../helpers/chromium.js';
import { dashboardSuite } from '../helpers/dashboard.js';
import type { TestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { waitFor } from '../helpers/wait.js';

/** The Queue's batches come from GET /v1/batches: a batch made through the API (a CLI, a script) shows up too. */
describe('dashboard batches', () => {
  const suite = dashboardSuite({ stepMs: 20 });
  const open = suite.open;
  let g: TestGateway;
  beforeAll(() => void (g = suite.gateway()));

  const batchItem = (page: Page, name: string) =>
    page.getByRole('region', { name: 'Batches' }).getByRole('listitem').filter({ hasText: name });
  const batchOf = (client: GatewayClient, name: string, steps: number, n: number) =>
    client.createBatch({
      name,
      jobs: Array.from({ length: n }, (_, i) => ({ graph: txt2img({ steps, seed: i + 1 }) })),
    });

  it('lists batches made through the API, live, with progress; the admin cancels one from its row', async () => {
    const alice = await g.client.createToken({ name: 'alice', scope: 'submit' });
    const bob = await g.client.createToken({ name: 'bob', scope: 'submit' });
    const aliceApi = new GatewayClient({ baseUrl: g.url, token: alice.token });
    const bobApi = new GatewayClient({ baseUrl: g.url, token: bob.token });

    const quick = await batchOf(aliceApi, 'alice quick', 2, 2);
    await waitFor(async () => (await aliceApi.getBatch(quick.id)).done === 2, { what: 'quick batch done' });

    const admin = await open();
    const { page } = admin;
    const done = batchItem(page, 'alice quick');
    await done.getByText('2/2 done').waitFor();
    expect(await done.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    expect(await done.getByRole('button', { name: 'Cancel batch' }).count()).toBe(0); // nothing left to cancel
    expect(await done.getByRole('link', { name: 'Download zip' }).getAttribute('href')).toBe(
      `/v1/batches/${quick.id}/archive`,
    );

    // Made while the page is open, by another token: its job events bring it in, no reload.
    const slow = await batchOf(bobApi, 'bob slow', 5000, 3);
    const running = batchItem(page, 'bob slow');
    await running.getByText('0/3 done').waitFor();
    expect(await running.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('0');
    await page.screenshot({ path: artifactPath('dashboard', 'batches') });
    await running.getByRole('button', { name: 'Cancel batch' }).click();
    await running.getByText('3/3 done (3 canceled)').waitFor();
    expect(await running.getByRole('button', { name: 'Cancel batch' }).count()).toBe(0);
    const after = await bobApi.getBatch(slow.id);
    expect(after.counts.canceled).toBe(3);
    expect(after.canceledAt).not.toBeNull();

    // bob's own session lists his batch only; alice's lists hers only.
    const bobPage = (await open(bob.token)).page;
    await batchItem(bobPage, 'bob slow').waitFor();
    expect(await batchItem(bobPage, 'alice quick').count()).toBe(0);
    const alicePage = (await open(alice.token)).page;
    await batchItem(alicePage, 'alice quick').waitFor();
    expect(await batchItem(alicePage, 'bob slow').count()).toBe(0);
    expect(admin.problems).toEqual([]);
  });

  it('a see-all read session lists every batch but offers no Cancel', async () => {
    const dash = await g.client.createToken({ name: 'wallboard', scope: 'read', seeAll: true });
    const held = await batchOf(g.client, 'admin held', 5000, 2);
    try {
      const { page, problems } = await open(dash.token);
      const item = batchItem(page, 'admin held');
      await item.getByText('0/2 done').waitFor();
      await batchItem(page, 'alice quick').waitFor();
      expect(await item.getByRole('button', { name: 'Cancel batch' }).count()).toBe(0);
      expect(await item.getByRole('link', { name: 'Download zip' }).count()).toBe(1);
      expect(problems).toEqual([]);
    } finally {
      await g.client.cancelBatch(held.id);
    }
  });
});
