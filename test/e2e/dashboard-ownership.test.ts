import { beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '@comfygate/shared';
import { dashboardSuite } from '../helpers/dashboard.js';
import type { TestGateway } from '../helpers/gateway.js';

/**
 * Ownership in the dashboard (docs/security.md): a session is its token, and submit/read tokens see their own jobs only.
 * The filtering itself is the API's (job ownership); this holds the dashboard to it.
 */
describe('dashboard sessions see their own jobs only', () => {
  const suite = dashboardSuite({ stepMs: 5 });
  let g: TestGateway;
  beforeAll(() => void (g = suite.gateway()));

  it("a read-scope session does not see other owners' jobs, a submit session sees only its own", async () => {
    const submitter = await g.client.createToken({ name: 'designer', scope: 'submit' });
    const viewer = await g.client.createToken({ name: 'viewer', scope: 'read' });
    const designerClient = new GatewayClient({ baseUrl: g.url, token: submitter.token });
    const mine = await designerClient.createJob({
      template: 'txt2img',
      params: { prompt: 'the designer owns this', steps: 2 },
    });
    const admins = await g.client.createJob({
      template: 'txt2img',
      params: { prompt: 'the admin owns this', steps: 2 },
    });
    await Promise.all([g.client.waitForJob(mine.id), g.client.waitForJob(admins.id)]);

    const open = suite.open;
    const designer = await open(submitter.token);
    await designer.page.getByRole('row').filter({ hasText: 'the designer owns this' }).waitFor();
    expect(await designer.page.getByRole('row').filter({ hasText: 'the admin owns this' }).count()).toBe(0);

    const reader = await open(viewer.token);
    await reader.page.getByText('No jobs yet.').waitFor();
    expect(await reader.page.getByRole('region', { name: 'Jobs' }).getByRole('row').count()).toBe(1); // the header row only
    await reader.page.goto(`${g.url}/#/results`);
    await reader.page.getByText(/^0 of 0 results$/).waitFor();
  });
});
