import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, screenshot, startDashboardServer, type DashboardServer, openSignedInPage } from './harness.ts';

/**
 * Home's chart and the Analytics page in a real browser, over sessions, page views, funnel stages and cart events
 * sent through the tracking API (seed 000) over the last days. Skipped, with a printed reason, without chromium.
 */
describe.skipIf(!HAS_CHROMIUM)('analytics in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;

  beforeAll(async () => {
    server = await startDashboardServer();
    ({ t, base, browser } = server);
    owner = await t.createTenant('Analytics Store');
    const key = await owner.apiKey(['interactions:write']);
    const send = async (url: string, body: object) => {
      const r = await t.request('POST', `/api/v1/analytics/${url}`, { token: key, body });
      if (r.status >= 300) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`);
    };
    const now = Date.now();
    for (let i = 0; i < 12; i++) {
      const at = (s: number) => new Date(now - (i % 4) * 86_400_000 - 3_600_000 + s * 1000).toISOString();
      const session_id = `web-${i}`;
      await send('session/start', {
        session_id,
        user_id: `shopper-${i % 5}`,
        device_type: i % 2 ? 'mobile' : 'desktop',
        browser: 'Chrome',
        started_at: at(0),
      });
      await send('page-view', {
        session_id,
        page_view_id: `${session_id}-1`,
        page_url: 'https://shop.example/',
        type: 'home',
        viewed_at: at(1),
      });
      await send('funnel', { session_id, stage: 'browse', reached_at: at(2) });
      if (i % 3 !== 0) {
        await send('page-view', {
          session_id,
          page_view_id: `${session_id}-2`,
          page_url: `https://shop.example/p/${i % 4}`,
          type: 'product',
          viewed_at: at(20),
        });
        await send('funnel', { session_id, stage: 'view_product', product_id: `SKU-${i % 4}`, reached_at: at(21) });
      }
      if (i % 2 === 0) {
        await send('cart-event', { session_id, type: 'item_added', product_id: `SKU-${i % 4}`, occurred_at: at(40) });
        await send('funnel', { session_id, stage: 'add_to_cart', reached_at: at(41) });
      }
      if (i % 4 === 0) {
        await send('funnel', { session_id, stage: 'view_cart', reached_at: at(60) });
        await send('funnel', { session_id, stage: 'checkout', reached_at: at(61) });
        await send('cart-event', { session_id, type: 'converted', value_cents: 4599, currency: 'USD', occurred_at: at(62) });
        // The order itself, as the store reports it: Home's period chart counts orders and customers.
        const order = await t.request('POST', '/api/v1/interactions', {
          token: key,
          body: {
            user_id: `shopper-${i % 5}`,
            item_id: `SKU-${i % 4}`,
            interaction_type: 'purchase',
            timestamp: at(62),
            metadata: { order_id: `order-${i}`, price: '45.99', currency: 'USD' },
          },
        });
        if (order.status >= 300) throw new Error(`purchase: ${order.status} ${JSON.stringify(order.body)}`);
      }
      await send('session/end', { session_id, ended_at: at(90) });
    }
  }, 240_000);

  afterAll(async () => {
    await server?.close();
  });

  it('shows Home with a chart of the chosen period, and the Analytics reports with a session timeline', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    await page.getByTestId('kpis').waitFor();
    await page.getByText('30 days').click();
    await page.locator('.chart canvas').first().waitFor({ timeout: 20_000 });
    await screenshot(page, 'home-period-chart');

    await page.getByRole('link', { name: 'Analytics' }).click();
    await page.getByTestId('analytics-kpis').waitFor();
    await page.getByTestId('funnel-chart').waitFor();
    await expect(page.getByTestId('analytics-kpis').getByText('12', { exact: true }).count()).resolves.toBeGreaterThan(0);
    await expect(
      page
        .getByTestId('funnel-chart')
        .getByText(/browse/)
        .count(),
    ).resolves.toBe(1);
    await page.getByTestId('kpi-comparison').getByText('Orders per session').waitFor();
    await page.getByTestId('top-pages').getByText('/', { exact: true }).waitFor();
    await page.getByTestId('cart-products').getByText('SKU-0').waitFor();
    await page.locator('.chart canvas').first().waitFor();
    await page.getByTestId('sessions-list').getByText('web-0', { exact: true }).click();
    await page.getByTestId('session-timeline').getByText('checkout').waitFor();
    await screenshot(page, 'analytics');

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).first().click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/\.csv$/);
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
    await page.context().close();
  });

  it('shows retention as a heatmap and paths from the most viewed page, each exportable to CSV', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    await page.getByTestId('kpis').waitFor();
    await page.getByRole('link', { name: 'Retention & paths' }).click();
    const heatmap = page.getByTestId('retention-heatmap');
    await heatmap.waitFor({ timeout: 20_000 });
    // Five shoppers browsed: the cohorts hold five people, period 0 is 100 %.
    await expect(heatmap.getByText('100.0 %').count()).resolves.toBeGreaterThan(0);
    await heatmap.getByText('Average').waitFor();
    const paths = page.getByTestId('paths-chart');
    await paths.waitFor();
    await page.getByText('12 sessions reached “/”.').waitFor();
    await paths.getByText('(exit)').first().waitFor();
    await expect(paths.getByText('/p/1').count()).resolves.toBeGreaterThan(0);
    await screenshot(page, 'analytics-behaviour');
    for (const i of [0, 1]) {
      const download = page.waitForEvent('download');
      await page.getByRole('button', { name: 'Export CSV' }).nth(i).click();
      expect((await download).suggestedFilename()).toBe(i === 0 ? 'retention.csv' : 'paths.csv');
    }
    // Going back from a product page: what came before it.
    await page.getByText('What came before').click();
    await paths.getByText('Step -1', { exact: false }).waitFor();
    await page.getByText('Events', { exact: true }).click();
    await paths.getByText('page:home').first().waitFor();
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
    await page.context().close();
  });

  it('builds the funnel: any order, by person, an exclusion, a breakdown with CSV; empty and error states', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/analytics?period=7',
    });
    const panel = page.getByTestId('funnel-panel');
    const chart = panel.getByTestId('funnel-chart');
    // In order: 8 of the 12 sessions viewed a product after browsing; in any order 10 did two of the steps.
    await chart.getByText(/^8 \(/).waitFor();
    await panel.getByText('Any order').click();
    await chart.getByText(/^10 \(/).waitFor();
    await panel.getByText('People').click();
    await panel.getByText('5 people started', { exact: false }).waitFor();
    await panel.getByRole('textbox', { name: 'Exclude who did' }).click();
    await page.getByRole('option', { name: 'bought' }).click();
    await page.waitForURL(/f_exclude=cart%3Aconverted/);
    await panel.getByRole('textbox', { name: 'Break down by' }).click();
    await page.getByRole('option', { name: 'Device' }).click();
    const split = panel.getByTestId('funnel-breakdown');
    await split.getByText('mobile', { exact: true }).waitFor();
    await split.getByText('desktop', { exact: true }).waitFor();
    await panel.getByText('Last touch').click();
    await page.waitForURL(/f_touch=last_touch/);
    await screenshot(page, 'analytics-funnel-breakdown');
    const download = page.waitForEvent('download');
    await panel.getByRole('button', { name: 'Export CSV' }).nth(1).click();
    expect((await download).suggestedFilename()).toBe('funnel-breakdown.csv');

    // A period without events: the empty state; a failing report: the error state, the rest of the page still works.
    await page.goto(`${base}/analytics?period=custom&from=2020-01-01&to=2020-01-31`);
    await page.getByTestId('funnel-empty').waitFor();
    expect(serverErrors).toEqual([]);
    await page.route('**/api/v1/analytics/funnel**', (r) =>
      r.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: { code: 'INTERNAL', message: 'boom' } }) }),
    );
    await page.goto(`${base}/analytics?period=7`);
    await panel.getByText('Could not load this', { exact: false }).waitFor({ timeout: 30_000 });
    await page.getByTestId('top-pages').waitFor();
    expect(errors.filter((e) => !/status of 500/.test(e))).toEqual([]);
    // Only the stubbed answers failed.
    expect(serverErrors.every((e) => e.startsWith('500 GET') && e.includes('/api/v1/analytics/funnel?'))).toBe(true);
    await page.context().close();
  }, 120_000);

  it('reads on a phone', async () => {
    const { page, errors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/analytics?period=7',
      viewport: { width: 390, height: 844 },
    });
    await page.getByTestId('funnel-chart').waitFor();
    await screenshot(page, 'analytics-phone');
    await page.goto(`${base}/analytics/behaviour`);
    await page.getByTestId('retention-heatmap').waitFor();
    await page.getByTestId('paths-chart').waitFor();
    await screenshot(page, 'analytics-behaviour-phone');
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
