import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAffiliateNetworks } from '../fakes/affiliate-networks.ts';
import { pollUntil, type TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, screenshot, startDashboardServer, type DashboardServer, openSignedInPage } from './harness.ts';

/**
 * Pricing in a real browser against the real server: two stores' feeds imported through the API, then the
 * stores, offers and match-group pages, and a product's offers side by side with its price-history chart.
 */
describe.skipIf(!HAS_CHROMIUM)('pricing dashboard in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;
  let groupId: string;
  let networks: Awaited<ReturnType<typeof startAffiliateNetworks>>;

  async function upload(storeId: string, file: string, name: string) {
    const boundary = `----loupe${Math.random().toString(16).slice(2)}`;
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      Buffer.from(file),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const up = await t.request('POST', `/api/v1/pricing/stores/${storeId}/feeds`, {
      token: owner.ownerToken,
      body: body as unknown as string,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(up.status).toBe(202);
    const run = await pollUntil(
      'feed import',
      () => t.request('GET', up.body.status_url, { token: owner.ownerToken }),
      (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
    );
    if (run.body.status === 'failed') throw new Error(run.body.failure);
  }

  beforeAll(async () => {
    networks = await startAffiliateNetworks({
      rakuten: { clientId: 'ui-client', clientSecret: 'ui-secret', sid: '123' },
      cjToken: 'ui-token',
    });
    networks.setProducts('777', [
      { id: 'RK1', title: 'Sony WH-1000XM4 (Rakuten)', price: '70.00', currency: 'USD', gtin: '4006381333931' },
    ]);
    server = await startDashboardServer({
      jobs: { concurrency: 1 },
      env: { RAKUTEN_API_URL: networks.origin, CJ_API_URL: networks.origin },
    });
    ({ t, base, browser } = server);
    owner = await t.createTenant('Deal Finder');
    const store = async (name: string) =>
      (await t.request('POST', '/api/v1/pricing/stores', { token: owner.ownerToken, body: { name } })).body.id as string;
    const a = await store('Nordstrom');
    const b = await store('Nordstrom Rack');
    await upload(a, 'id,title,brand,gtin,price\nA1,Sony WH-1000XM4 Headphones,Sony,4006381333931,75.00 USD\n', 'a.csv');
    await upload(b, '[{"id":"B1","title":"Sony WH1000XM4","gtin":"04006381333931","price":"50.00 USD"}]', 'b.json');
    await upload(b, '[{"id":"B1","title":"Sony WH1000XM4","gtin":"04006381333931","price":"45.00 USD"}]', 'b.json');
    const offers = await t.request('GET', '/api/v1/pricing/offers?q=B1', { token: owner.ownerToken });
    groupId = offers.body.data[0].match_group_id;
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    await networks?.close();
  });

  it('shows stores, offers, groups and a product with its best offer and price-history chart', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    await page.getByRole('link', { name: 'Pricing' }).click();
    await page.getByTestId('stores-table').getByRole('cell', { name: 'Nordstrom Rack', exact: true }).waitFor();
    await screenshot(page, 'pricing-stores');

    await page.getByRole('tab', { name: 'Offers' }).click();
    await page.getByTestId('offers-table').waitFor();
    await page.getByLabel('Search offers').fill('WH1000XM4');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByTestId('offers-table').getByRole('cell', { name: 'Nordstrom Rack', exact: true }).waitFor();

    await page.getByRole('tab', { name: 'Match groups' }).click();
    await page.getByTestId('groups-table').getByRole('cell', { name: 'Sony WH-1000XM4 Headphones' }).click();
    await page.waitForURL(`${base}/pricing/products/${groupId}`);
    const best = page.getByTestId('best-offer');
    await best.waitFor();
    expect(await best.textContent()).toContain('Best price: $45.00 at Nordstrom Rack');
    expect(await page.getByTestId('product-offers').getByRole('row').count()).toBe(3); // header + 2 offers
    await page.getByTestId('price-history').locator('canvas').first().waitFor();
    await screenshot(page, 'pricing-product');
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
    await page.context().close();
  });

  it('review queue: an uncertain pair is accepted from the panel; price alerts and their history show', async () => {
    // The learned matcher is unsure of this pair (a score in its review band): it waits in the queue.
    const store = async (name: string) =>
      (await t.request('POST', '/api/v1/pricing/stores', { token: owner.ownerToken, body: { name } })).body.id as string;
    await upload(await store('Abt'), 'id,title,brand,price\nS1,Sony Bravia KDL-40V5100 40in LCD TV,Sony,999.00 USD\n', 's1.csv');
    const buy = await store('Buy');
    await upload(buy, 'id,title,brand,price\nS2,"Sony KDL40V5100 Bravia V Series 40"" HDTV",Sony,899.00 USD\n', 's2.csv');
    // A shopper watches the headphones below 40.00; a price of 39.00 fires the alert once.
    const alert = await t.request('POST', '/api/v1/pricing/alerts', {
      token: owner.ownerToken,
      body: { user_id: 'shopper-1', product_id: groupId, kind: 'target_price', target_price: '40.00' },
    });
    expect(alert.status).toBe(201);
    const percent = await t.request('POST', '/api/v1/pricing/alerts', {
      token: owner.ownerToken,
      body: { user_id: 'shopper-1', product_id: groupId, kind: 'percent_drop', drop_percent: 15 },
    });
    expect(percent.status).toBe(201);
    const b = (await t.request('GET', '/api/v1/pricing/stores', { token: owner.ownerToken })).body.data.find(
      (x: { name: string }) => x.name === 'Nordstrom Rack',
    ).id;
    await upload(b, '[{"id":"B1","title":"Sony WH1000XM4","gtin":"04006381333931","price":"39.00 USD"}]', 'b.json');

    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/pricing/review',
    });
    const table = page.getByTestId('review-table');
    await table.getByText('Sony KDL40V5100 Bravia V Series 40" HDTV (Buy, 899.00)').waitFor();
    await screenshot(page, 'pricing-review');
    await table.getByRole('button', { name: 'Accept' }).first().click();
    await page.getByText('Nothing to review').waitFor();
    const s2 = (await t.request('GET', '/api/v1/pricing/offers?q=S2', { token: owner.ownerToken })).body.data[0];
    const s1 = (await t.request('GET', '/api/v1/pricing/offers?q=S1', { token: owner.ownerToken })).body.data[0];
    expect(s2.match_group_id).toBe(s1.match_group_id);

    await page.getByRole('tab', { name: 'Price alerts' }).click();
    await page.getByTestId('alerts-table').getByRole('cell', { name: 'shopper-1' }).first().waitFor();
    const history = page.getByTestId('alert-events-table');
    await history.waitFor();
    expect(await history.textContent()).toContain('39.00 USD (below 40.00)');
    // The new kinds show what fires them: a percent drop from its reference price.
    const watched = await page.getByTestId('alerts-table').textContent();
    expect(watched).toContain('Percent drop');
    expect(watched).toMatch(/15% below \d+\.\d{2} USD/);
    await screenshot(page, 'pricing-alerts');
    // Another shopper: nothing watched yet, the empty state says how alerts come in.
    await page.getByLabel('Shopper (user id)').fill('nobody');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByText('No price alerts').waitFor();
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
    await page.context().close();
  });

  it('networks: a store is connected to Rakuten from the page, imported now, and its last run shows with its progress and log', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    await page.goto(`${base}/pricing/networks`);
    await page.getByText('No network connections yet').waitFor();
    await page.getByLabel('Store').selectOption({ label: 'Nordstrom' });
    await page.getByLabel('Schedule').selectOption('off');
    await page.getByLabel('Client id').fill('ui-client');
    await page.getByLabel('Client secret').fill('ui-secret');
    await page.getByLabel('Site id (SID)').fill('123');
    await page.getByLabel('Merchant id (MID)').fill('777');
    await page.getByRole('button', { name: 'Connect' }).click();
    const table = page.getByTestId('sources-table');
    await table.getByRole('cell', { name: 'Nordstrom', exact: true }).waitFor();
    await table.getByRole('button', { name: 'Import now' }).click();
    // The run's panel follows it: attempt, progress, and its log to the end.
    const panel = page.getByTestId('run-log');
    await panel.getByText(/finished: 1 rows read, 0 rejected, 1 offers created/).waitFor();
    expect(await panel.textContent()).toContain('attempt 1 of 3');
    expect(await panel.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    await pollUntil(
      'network import',
      async () => (await t.request('GET', '/api/v1/pricing/sources', { token: owner.ownerToken })).body.data[0]?.last_run?.status,
      (s) => s === 'succeeded',
    );
    await page.reload();
    await table.getByText('succeeded').waitFor();
    expect(await table.textContent()).not.toContain('ui-secret');
    // The last run's log, opened from the connection's row.
    await table.getByRole('button', { name: 'Log' }).click();
    await panel.getByText(/attempt 1 of 3 started: a full import from Rakuten Advertising/).waitFor();
    await panel.getByText(/page 1 of 1 read: 1 products/).waitFor();
    await screenshot(page, 'pricing-networks');
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
    await page.context().close();
  });
});
