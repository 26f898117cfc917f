import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, screenshot, startDashboardServer, type DashboardServer, openSignedInPage } from './harness.ts';

/**
 * The Catalog page on an Online Retail-like catalog (issue 20): a SKU finds its item first, a one-letter
 * typo still finds the lantern, and the list shows its total, facets, a next page, sorting and CSV export;
 * the lantern's page shows its sales (units, revenue, buyers, chart, CSV).
 */
describe.skipIf(!HAS_CHROMIUM)('catalog page in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;

  beforeAll(async () => {
    server = await startDashboardServer();
    ({ t, base, browser } = server);
    owner = await t.createTenant('Gift Shop');
    const holders = Array.from({ length: 55 }, (_, i) => ({
      itemId: `H${String(i).padStart(3, '0')}`,
      name: `Candle Holder ${i}`,
      brand: i % 2 ? 'Acme' : 'Globex',
      category: 'Home > Candles',
      priceMinor: BigInt(100 + i * 10),
      currency: 'GBP',
    }));
    await t.modules.catalog.upsertItems(owner.tenantId, [
      ...holders,
      { itemId: '85123A', name: 'White Hanging Heart T-Light Holder', category: 'Home > Candles', priceMinor: 255n, currency: 'GBP' },
      { itemId: '71053', name: 'White Metal Lantern', category: 'Home > Candles', priceMinor: 339n, currency: 'GBP' },
    ]);
    // The lantern's sales of the last days: two buyers, three units, a view that did not buy.
    const write = await owner.apiKey(['interactions:write']);
    const ago = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    for (const [user, type, days, meta] of [
      ['c1', 'view', 3, undefined],
      ['c1', 'purchase', 3, { order_id: 'L1', price: '3.39', currency: 'GBP', quantity: 2 }],
      ['c2', 'purchase', 2, { order_id: 'L2', price: '3.39', currency: 'GBP', quantity: 1 }],
      ['c3', 'view', 1, undefined],
    ] as const) {
      const r = await t.request('POST', '/api/v1/interactions', {
        token: write,
        body: { user_id: user, item_id: '71053', interaction_type: type, timestamp: ago(days), ...(meta ? { metadata: meta } : {}) },
      });
      expect(r.status).toBeLessThan(300);
    }
  }, 240_000);
  afterAll(async () => {
    await server?.close();
  });

  it("finds a SKU first and a typo, pages, filters, sorts and exports the results, and shows an item's sales", async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/catalog',
    });
    const table = page.getByTestId('items-table');
    const search = async (q: string) => {
      const box = page.getByRole('textbox', { name: 'Search items' });
      await box.fill(q);
      await box.press('Escape');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.waitForURL(new RegExp(`q=${encodeURIComponent(q)}`));
    };

    await search('85123A');
    // The URL changes before the answer arrives: wait for the table to show it.
    await expect.poll(() => table.locator('tbody tr').first().textContent(), { timeout: 15_000 }).toContain('85123A');

    await search('lantren');
    await table.getByText('White Metal Lantern').waitFor({ timeout: 15_000 });
    await page
      .getByTestId('items-total')
      .getByText(/allowing for typos/)
      .waitFor();

    // 56 holders: a total, the first 50, then the next page.
    await search('holder');
    await page
      .getByTestId('items-total')
      .getByText(/^56 items match; showing 1–50$/)
      .waitFor({ timeout: 15_000 });
    expect(await table.locator('tbody tr').count()).toBe(50);
    await page.getByRole('button', { name: 'Next page' }).click();
    await page
      .getByTestId('items-total')
      .getByText(/showing 51–56$/)
      .waitFor({ timeout: 15_000 });
    expect(await table.locator('tbody tr').count()).toBe(6);
    await page.getByRole('button', { name: 'First page' }).click();
    await page
      .getByTestId('items-total')
      .getByText(/showing 1–50$/)
      .waitFor();

    // Facets narrow the search; the filter shows and can be removed.
    await page
      .getByTestId('facets')
      .getByRole('button', { name: /^Acme \(27\)$/ })
      .click();
    await page
      .getByTestId('items-total')
      .getByText(/^27 items match/)
      .waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Remove the brand filter' }).waitFor();

    // Sorting by price puts the dearest first.
    await page.getByRole('textbox', { name: 'Sort this page' }).click();
    await page.getByRole('option', { name: 'Price, high to low' }).click();
    await expect.poll(() => table.locator('tbody tr').first().textContent(), { timeout: 10_000 }).toContain('Candle Holder 53');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export this page (CSV)' }).click(),
    ]);
    const csv = fs.readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('item_id,name,category,brand,price,currency,availability');
    expect(csv.split('\r\n')).toHaveLength(28);
    await screenshot(page, 'catalog-search');

    // The item's page: its sales over the period, a chart, the series as CSV.
    await page.goto(`${base}/catalog/items/71053`);
    const sales = page.getByTestId('item-sales');
    await sales.getByTestId('item-sales-chart').waitFor({ timeout: 15_000 });
    expect(await sales.getByTestId('item-sales-units-sold').textContent()).toBe('3');
    expect(await sales.getByTestId('item-sales-revenue').textContent()).toContain('10.17');
    expect(await sales.getByTestId('item-sales-buyers').textContent()).toBe('2');
    // c1 viewed and bought, c3 only viewed (c2 bought without a tracked view).
    expect(await sales.getByTestId('item-sales-viewers-who-bought').textContent()).toBe('50.0 %');
    const [salesCsv] = await Promise.all([page.waitForEvent('download'), sales.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(salesCsv.suggestedFilename()).toBe('item-71053-sales.csv');
    expect(fs.readFileSync((await salesCsv.path())!, 'utf8').split('\r\n')[0]).toBe('bucket,units,revenue (GBP),orders,views');
    await screenshot(page, 'catalog-item');
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
    await page.context().close();
  }, 180_000);
});
