import { sql } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/platform/index.ts';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, screenshot, startDashboardServer, type DashboardServer, openSignedInPage } from './harness.ts';

/**
 * Cohorts page in chromium against the real server: a cohort prefilled from a report's filter (`?event=purchase`)
 * shows its size before saving, is saved and listed with its size now, a second rule narrows a preview, and a saved
 * cohort is deleted; a saved cohort is picked as the audience of a new experiment and of a new sponsored campaign.
 * No console errors.
 */
describe.skipIf(!HAS_CHROMIUM)('cohorts page in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;

  beforeAll(async () => {
    server = await startDashboardServer();
    ({ t, base, browser } = server);
    owner = await t.createTenant('Cohort Shop');
    // Five profiles, three of whom bought in the last week, two of them "Champions".
    const ids = Array.from({ length: 5 }, () => newId());
    for (const [i, id] of ids.entries()) {
      await t.database.db.execute(sql`INSERT INTO profiles (tenant_id, id, traits) VALUES (${owner.tenantId}, ${id}, '{}'::jsonb)`);
      if (i < 3) {
        await t.database.db.execute(sql`INSERT INTO interactions (tenant_id, id, dedupe_key, profile_id, type, source, occurred_at)
          VALUES (${owner.tenantId}, ${newId()}, ${`p${i}`}, ${id}, 'purchase', 'api', now() - interval '2 days')`);
      }
      if (i < 2) {
        await t.database.db.execute(sql`INSERT INTO prediction_scores (tenant_id, profile_id, rfm_r, rfm_f, rfm_m, segment, scored_at)
          VALUES (${owner.tenantId}, ${id}, 5, 5, 5, 'Champions', now())`);
      }
    }
  }, 600_000);

  afterAll(async () => {
    await server?.close();
  });

  it('previews, saves, lists with sizes and deletes a cohort built from a report filter', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/analytics/cohorts?event=purchase&within_days=7',
    });
    await page.getByTestId('cohort-rules').getByText('purchase at least 1 times in 7 days').waitFor();
    await page.getByRole('button', { name: 'Preview count' }).click();
    await expect(page.getByTestId('cohort-preview').textContent()).resolves.toBe('3 people now');
    await page.getByLabel('Cohort name').fill('Recent buyers');
    await page.getByRole('button', { name: 'Save cohort' }).click();
    const table = page.getByTestId('cohorts-table');
    await table.getByRole('cell', { name: 'Recent buyers', exact: true }).waitFor();
    await table.getByRole('cell', { name: '3', exact: true }).waitFor();

    // A second rule narrows it: bought and a Champion.
    await page.getByRole('textbox', { name: 'Rule' }).click();
    await page.getByRole('option', { name: 'RFM segment' }).click();
    await page.getByLabel('Segments (comma-separated)').fill('Champions');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByRole('textbox', { name: 'Rule' }).click();
    await page.getByRole('option', { name: 'Did an event' }).click();
    await page.getByLabel('Event').fill('purchase');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByRole('button', { name: 'Preview count' }).click();
    await expect(page.getByTestId('cohort-preview').textContent()).resolves.toBe('2 people now');
    await screenshot(page, 'cohorts');

    await table.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No saved cohort yet').waitFor();
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
  });

  it('picks a saved cohort as the audience of a new experiment and of a new sponsored campaign', async () => {
    const c = await t.request('POST', '/api/v1/analytics/cohorts', {
      token: owner.ownerToken,
      body: { name: 'Champions now', definition: { match: 'all', rules: [{ kind: 'segment', segments: ['Champions'] }] } },
    });
    expect(c.status).toBe(201);
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/experiments',
    });
    await page.getByRole('textbox', { name: 'Audience: saved cohort (optional)' }).click();
    await page.getByRole('option', { name: 'Champions now' }).click();
    await page.getByLabel('Name').first().fill('Champions only');
    await page.getByRole('button', { name: 'Create experiment' }).click();
    await page.waitForURL(/\/experiments\/[0-9a-f-]{36}$/);
    const list = await t.request('GET', '/api/v1/admin/experiments', { token: owner.ownerToken });
    const e = list.body.data.find((x: { name: string }) => x.name === 'Champions only');
    expect(e.targeting).toEqual({ $inCohort: c.body.id });

    await page.goto(`${base}/sponsored`);
    await page.getByRole('button', { name: 'New campaign' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Brand').fill('Ember');
    await dialog.getByLabel('Campaign name').fill('For champions');
    await dialog.getByLabel('Promoted item ids').fill('sku-1');
    await dialog.getByRole('textbox', { name: /^Budget\s*\*?$/ }).fill('50.00');
    await dialog.getByLabel('Bid').fill('0.50');
    await dialog.getByRole('textbox', { name: 'Audience: saved cohorts (optional)' }).click();
    await page.getByRole('option', { name: 'Champions now' }).click();
    // A multi-select's list stays open after a pick: a click elsewhere in the form closes it.
    await dialog.getByLabel('Campaign name').click();
    await dialog.getByRole('button', { name: 'Create campaign' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const campaigns = await t.request('GET', '/api/v1/sponsored/campaigns', { token: owner.ownerToken });
    const k = campaigns.body.data.find((x: { name: string }) => x.name === 'For champions');
    expect(k.targeting).toEqual({ cohorts: [c.body.id] });
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
  });
});
