import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, openSignedInPage, screenshot, startDashboardServer, type DashboardServer } from './harness.ts';

/**
 * The Sponsored and Newsfeed pages in a real browser against the real server: a campaign created through the
 * form, approved and activated from the approval queue with confirmation, served and clicked through the API,
 * then its performance and pacing charts, the CSV export and a confirmed pause; and a shopper's feed preview
 * with a labelled Sponsored module at position 3 and the tenant's feed rules.
 */
describe.skipIf(!HAS_CHROMIUM)('sponsored and newsfeed dashboard in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;
  let key: string;

  beforeAll(async () => {
    server = await startDashboardServer();
    ({ t, base, browser } = server);
    owner = await t.createTenant('Fashion House');
    key = await owner.apiKey(['recommendations:read', 'interactions:write']);
    const items = Array.from({ length: 40 }, (_, k) => ({
      item_id: `sku-${k}`,
      name: `Piece ${k}`,
      category: ['Shoes', 'Bags', 'Dresses', 'Jackets', 'Hats', 'Belts'][k % 6],
      brand: ['Acme', 'Birch', 'Cobalt', 'Dune', 'Ember'][Math.floor(k / 6) % 5],
      price: `${20 + k}.00`,
      currency: 'USD',
    }));
    expect((await t.request('POST', '/api/v1/items/bulk', { token: owner.ownerToken, body: items })).body.inserted).toBe(40);
  }, 240_000);

  afterAll(async () => {
    await server?.close();
  });

  it('creates a campaign, approves and activates it with confirmation, shows spend and pacing, exports CSV, pauses', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    await page.getByRole('link', { name: 'Sponsored' }).click();
    await page.getByTestId('empty-state').getByText('No campaigns yet').waitFor();

    // A bad budget first: the form names the field to fix.
    await page.getByRole('button', { name: 'New campaign' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Brand').fill('Ember');
    await dialog.getByLabel('Campaign name').fill('Ember week');
    await dialog.getByLabel('Headline').fill('Ember, new season');
    await dialog.getByLabel('Promoted item ids').fill('sku-1, sku-2');
    await dialog.getByLabel(/^Budget\s*\*?$/).fill('0');
    await dialog.getByLabel('Bid').fill('0.50');
    await dialog.getByRole('button', { name: 'Create campaign' }).click();
    await dialog
      .getByRole('alert')
      .getByText(/budget_amount/)
      .waitFor();
    await dialog.getByLabel(/^Budget\s*\*?$/).fill('20.00');
    await dialog.getByRole('button', { name: 'Create campaign' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByTestId('campaigns-table').getByRole('cell', { name: 'Ember week' }).waitFor();

    await page.getByRole('tab', { name: 'Approval queue' }).click();
    await page.getByTestId('campaigns-table').getByRole('cell', { name: 'Ember week' }).click();
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Yes, approve' }).click();
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Yes, activate' }).click();
    await page.getByRole('button', { name: 'Pause' }).waitFor();

    // Traffic through the API: a decision, its impression and a click (CPC: 0.50 charged at the reserve-bounded second price).
    const id = page.url().split('/').pop()!;
    const e = await t.request('GET', '/api/v1/sponsored/eligible?placement=feed_position_3&user_id=shopper-1', { token: key });
    const won = e.body.campaigns[0];
    expect(won.campaign_id).toBe(id);
    const imp = await t.request('POST', '/api/v1/sponsored/impressions', {
      token: key,
      body: { decision_id: won.decision_id, campaign_id: id, user_id: 'shopper-1', placement: 'feed_position_3' },
    });
    const click = await t.request('POST', '/api/v1/sponsored/clicks', {
      token: key,
      body: { impression_id: imp.body.id, user_id: 'shopper-1', user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36' },
    });
    expect(click.body.charged).toBe(true);

    await page.reload();
    const perf = page.getByTestId('performance');
    await perf.getByText('1 (CTR 100.00%)').waitFor();
    expect(await perf.textContent()).toContain(`Spend${click.body.click_cost} of 20.00 USD`);
    await page.getByTestId('pacing-chart').locator('canvas').first().waitFor();
    await page.getByTestId('traffic-chart').locator('canvas').first().waitFor();
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export daily CSV' }).click();
    const csv = await (await download).createReadStream();
    let text = '';
    for await (const chunk of csv) text += chunk;
    expect(text.split('\r\n')[0]).toBe('day,impressions,clicks,spend,conversions,revenue,currency');
    expect(text.split('\r\n')[1]).toMatch(/^\d{4}-\d{2}-\d{2},1,1,/);
    await screenshot(page, 'sponsored-campaign');

    // Pausing asks first; cancelling keeps it active.
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    expect((await t.request('GET', `/api/v1/sponsored/campaigns/${id}`, { token: owner.ownerToken })).body.status).toBe('active');
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Yes, pause' }).click();
    await page.getByRole('button', { name: 'Activate' }).waitFor();
    expect((await t.request('GET', `/api/v1/sponsored/campaigns/${id}`, { token: owner.ownerToken })).body.status).toBe('paused');
    // Active again for the feed preview below.
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Yes, activate' }).click();
    await page.getByRole('button', { name: 'Pause' }).waitFor();
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
    await page.context().close();
  });

  it("previews a shopper's feed: modules with their reasons, a Sponsored module at position 3, the feed rules", async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    await page.getByRole('link', { name: 'Newsfeed' }).click();
    const config = page.getByTestId('feed-config');
    await config.waitFor();
    expect(await config.getByTestId('rule-category_window').textContent()).toBe('5');
    expect(await config.getByTestId('rule-not_shown_within_days').textContent()).toBe('7');
    expect(await config.getByTestId('rule-popularity_damping').textContent()).toBe('0');
    expect(await config.getByTestId('sponsored-positions').textContent()).toBe('3, 8');
    await page.getByTestId('empty-state').getByText('Pick a shopper').waitFor();
    await page.getByLabel('Shopper id').fill('preview-shopper');
    await page.getByRole('button', { name: 'Show feed' }).click();
    const feed = page.getByTestId('feed-preview');
    await feed.waitFor();
    const third = page.getByTestId('module-3');
    await third.getByText('Sponsored', { exact: true }).waitFor();
    expect(await third.textContent()).toContain('Ember, new season');
    expect(await third.textContent()).toContain('Won the sponsored auction for this position');
    expect(await page.getByTestId('module-1').textContent()).toContain('Newest in the catalog');
    await screenshot(page, 'newsfeed-preview');
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByTestId('module-8').waitFor();
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
    await page.context().close();
  });
});
