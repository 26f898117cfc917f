import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, screenshot, startDashboardServer, type DashboardServer, openSignedInPage } from './harness.ts';

/**
 * Data & exports in chromium: the empty states, a marts refresh with its job progress, the data-quality results with
 * the failing check highlighted, a mart's preview and CSV export, an export run with its watermarks, the event
 * retention (set, what lies past it, deleted once archived, back to keeping all), and the error state when the API
 * fails. No console errors.
 */
describe.skipIf(!HAS_CHROMIUM)('Data & exports in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;

  beforeAll(async () => {
    server = await startDashboardServer({ env: { LOUPE_EXPORT_SETTLE_SECONDS: '0' }, jobs: { concurrency: 2 } });
    ({ t, base, browser } = server);
    owner = await t.createTenant('Data Store');
    const key = await owner.apiKey(['interactions:write', 'catalog:write']);
    for (const i of [1, 2]) {
      const r = await t.request('POST', '/api/v1/items', {
        token: key,
        body: { item_id: `SKU-${i}`, name: `Item ${i}`, price: '5.00', currency: 'EUR' },
      });
      expect(r.status).toBe(201);
    }
    const day = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();
    const events = [1, 2, 3].map((u) => ({
      event_id: `e${u}`,
      user_id: `c${u}`,
      item_id: u === 3 ? 'SKU-MISSING' : `SKU-${u}`,
      interaction_type: 'purchase',
      timestamp: day(u * 20),
      metadata: { order_id: `o${u}`, price: `${u}0.00`, currency: 'EUR' },
    }));
    expect((await t.request('POST', '/api/v1/interactions/batch', { token: key, body: { events } })).status).toBe(200);
  }, 600_000);

  afterAll(async () => {
    await server?.close();
  });

  it('refreshes the marts, highlights the failing check, previews and exports a mart, runs an export', async () => {
    const { page, errors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', { path: '/data' });
    await page.getByText('No checks have run yet').waitFor({ timeout: 20_000 });
    await page.getByText('This mart is empty').waitFor();
    await page.getByText('Nothing exported yet').waitFor();

    await page.getByRole('button', { name: 'Refresh marts' }).click();
    await page.getByTestId('quality-failing').waitFor({ timeout: 60_000 });
    const failing = page.locator('[data-testid="quality-results"] tr[data-status="fail"]');
    expect(await failing.count()).toBe(1);
    expect(await failing.first().textContent()).toContain('events.item_id.referential_integrity');
    expect(await failing.first().textContent()).toContain('SKU-MISSING');

    const preview = page.getByTestId('mart-preview');
    await preview.waitFor({ timeout: 30_000 });
    expect(await preview.locator('tbody tr').count()).toBe(3);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).nth(1).click();
    const csv = fs.readFileSync((await (await download).path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('profile_id,as_of,recency_days,frequency,monetary_minor,r_score,f_score,m_score,rfm_score,segment');
    expect(csv.trim().split('\r\n')).toHaveLength(4);

    await page.getByRole('button', { name: 'Export now' }).click();
    await page.getByTestId('export-watermarks').waitFor({ timeout: 60_000 });
    await page.getByTestId('export-files').getByText('events').first().waitFor({ timeout: 30_000 });
    await screenshot(page, 'data-exports');
    expect(errors).toEqual([]);
    await page.context().close();
  }, 240_000);

  it('sets the event retention, shows what lies past it, and deletes it once archived', async () => {
    const { page, errors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', { path: '/data' });
    const panel = page.getByTestId('retention');
    await panel.getByText('This store keeps all its events').waitFor({ timeout: 20_000 });
    await panel.getByLabel('Months kept (empty: all)').fill('1');
    await panel.getByRole('button', { name: 'Save retention' }).click();
    await panel.getByText('keeps 1 whole month of events').waitFor({ timeout: 20_000 });
    // The fixture's purchases are 20, 40 and 60 days old: how many fall before the start of last month depends on today.
    const now = new Date();
    const keptFrom = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1);
    const past = [20, 40, 60].filter((d) => Date.now() - d * 86_400_000 < keptFrom).length;
    if (past > 0) await page.getByTestId('retention-past').getByText(`${past} stored events are past it`).waitFor();
    // The previous test's export archived them: the purge deletes every one.
    await panel.getByRole('button', { name: 'Delete past events now' }).click();
    await page.getByTestId('retention-purged').getByText(`Deleted ${past} events.`).waitFor({ timeout: 20_000 });
    await page.getByTestId('retention-past').getByText('Nothing stored is past the retention.').waitFor({ timeout: 20_000 });
    await screenshot(page, 'data-retention');
    await panel.getByRole('button', { name: 'Keep everything' }).click();
    await panel.getByText('This store keeps all its events').waitFor({ timeout: 20_000 });
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);

  it('shows the error state when the API fails', async () => {
    const { page } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    await page.route('**/api/v1/warehouse/quality*', (route) =>
      route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: '{"error":{"code":"INTERNAL","message":"boom","request_id":"r1"}}',
      }),
    );
    await page.goto(`${base}/data`);
    await page.getByRole('alert').filter({ hasText: 'boom' }).waitFor({ timeout: 20_000 });
    await page.context().close();
  }, 120_000);
});
