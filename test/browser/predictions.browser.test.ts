import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rngMulberry32 } from '../../src/ml/random.ts';
import { pollUntil, type TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, screenshot, startDashboardServer, type DashboardServer, openSignedInPage } from './harness.ts';

/**
 * Customer 360 in chromium shows the person's predictions: a customer with orders, after a training run, gets an
 * expected value and a named segment (churn needs more customers: the card says so in plain words). No console errors.
 */
describe.skipIf(!HAS_CHROMIUM)('Customer 360 predictions in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;
  let profileId: string;

  beforeAll(async () => {
    server = await startDashboardServer();
    ({ t, base, browser } = server);
    owner = await t.createTenant('Predictions Store');
    const now = Date.now();
    const [p] = await t.modules.identity.resolveMany(owner.tenantId, [
      { identifiers: [{ type: 'email', value: 'rita@example.com' }], channel: 'api', occurredAt: new Date(now - 200 * 86_400_000) },
    ]);
    profileId = p!;
    await t.modules.identity.recordActivity(
      owner.tenantId,
      [150, 90, 20].map((d, k) => ({
        profileId,
        type: 'purchase',
        revenueMinor: 4500n,
        currency: 'EUR',
        orderId: `r-${k}`,
        channel: 'api',
        occurredAt: new Date(now - d * 86_400_000),
      })),
    );
    await t.modules.predictions.train(owner.tenantId, { jobId: null, signal: new AbortController().signal, progress: async () => {} });
  }, 240_000);

  afterAll(async () => {
    await server?.close();
  });

  it('shows expected value, segment and what is not ready on the profile page', async () => {
    const { page, errors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: `/customers/${profileId}`,
    });
    const card = page.getByTestId('predictions-card');
    await card.getByText('Expected value (next 365 days)').waitFor({ timeout: 15_000 });
    await card.getByText('€').first().waitFor();
    // one customer: RFM scores 5 on recency with 3 orders -> a named segment, shown in words
    expect((await card.textContent()) ?? '').toMatch(/champions|loyal customers|potential loyalists|new customers|promising/);
    await card.getByText(/churn: no churn model yet/).waitFor();
    await screenshot(page, 'customer-predictions');
    expect(errors).toEqual([]);
  }, 120_000);
});

/** Customers who buy steadily, and others who stop at a random point, laid out backwards from now. */
async function seedShop(t: TestApp, tenantId: string, n: number) {
  const rng = rngMulberry32(5);
  const now = Date.now();
  const users = Array.from({ length: n }, (_, i) => `u${i}`);
  const ids = await t.modules.identity.resolveMany(
    tenantId,
    users.map((u) => ({ identifiers: [{ type: 'user_id', value: u }], channel: 'api', occurredAt: new Date(now - 700 * 86_400_000) })),
  );
  const activity: Parameters<TestApp['modules']['identity']['recordActivity']>[1] = [];
  users.forEach((u, i) => {
    const gap = 10 + rng() * 60;
    const start = now - (200 + rng() * 400) * 86_400_000;
    const stop = rng() < 0.45 ? start + rng() * (now - start) : now;
    for (let at = start, k = 0; at < stop; at += -Math.log(1 - rng()) * gap * 86_400_000)
      activity.push({
        profileId: ids[i]!,
        type: 'purchase',
        revenueMinor: BigInt(2000 + Math.floor(rng() * 6000)),
        currency: 'EUR',
        orderId: `${u}-${k++}`,
        channel: 'api',
        occurredAt: new Date(at),
      });
  });
  await t.modules.identity.recordActivity(tenantId, activity);
}

/**
 * The Predictions page in chromium: empty, failing and loading states on a new tenant; "Train now" on a shop with
 * customers runs the job with progress, then models with metrics and drift, segments with a chart, the at-risk list
 * exported to CSV and the forecast chart appear. No console errors.
 */
describe.skipIf(!HAS_CHROMIUM)('Predictions page in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let shop: Awaited<ReturnType<TestApp['createTenant']>>;
  let empty: Awaited<ReturnType<TestApp['createTenant']>>;

  beforeAll(async () => {
    server = await startDashboardServer({ jobs: { concurrency: 1 } });
    ({ t, base, browser } = server);
    shop = await t.createTenant('Forecast Shop');
    empty = await t.createTenant('Empty Shop');
    await seedShop(t, shop.tenantId, 150);
    // item sales through the events API: 'tee' every day, 'scarf' every fifth day (intermittent)
    const write = await shop.apiKey(['interactions:write']);
    const today = Math.floor(Date.now() / 86_400_000);
    const events = [];
    for (let d = 1; d <= 90; d++) {
      const timestamp = new Date((today - d) * 86_400_000 + 43_200_000).toISOString();
      events.push({ user_id: `t${d}`, item_id: 'tee', interaction_type: 'purchase', metadata: { quantity: 2 }, timestamp });
      if (d % 5 === 0) events.push({ user_id: `s${d}`, item_id: 'scarf', interaction_type: 'purchase', timestamp });
    }
    const posted = await t.request('POST', '/api/v1/interactions/batch', { token: write, body: { events } });
    expect(posted.status).toBeLessThan(300);
  }, 240_000);

  afterAll(async () => {
    await server?.close();
  });

  it('shows empty states, then an error and a loading state when the API fails or is slow', async () => {
    const { page, errors } = await openSignedInPage(browser, base, empty.ownerEmail, 'Owner-Password-1', { path: '/predictions' });
    await page.getByRole('heading', { name: 'Predictions', level: 2 }).waitFor();
    await page.getByText('No models yet').waitFor({ timeout: 15_000 });
    await page.getByText('No segments yet').waitFor();
    await page.getByText('No customer at this risk').waitFor();
    await page.getByText('Nothing to forecast yet').waitFor();
    await page.getByText('No item sales yet').waitFor();
    expect(await page.locator('[role="alert"]').count()).toBe(0);
    await screenshot(page, 'predictions-empty');

    // the segments call fails: an error in words, the rest of the page still works
    await page.route('**/api/v1/predictions/segments', (r) =>
      r.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: { code: 'INTERNAL', message: 'boom' } }) }),
    );
    // the at-risk call is slow: its loading state shows until it answers
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    await page.route('**/api/v1/predictions/at-risk**', async (r) => {
      await slow;
      await r.continue();
    });
    await page.reload();
    await page.getByText('Loading at-risk customers').waitFor({ timeout: 15_000 });
    await page.getByText('Could not load this').waitFor({ timeout: 30_000 });
    release();
    await page.getByText('No customer at this risk').waitFor();
    expect(errors.filter((e) => !/status of 500/.test(e))).toEqual([]);
    await page.context().close();
  }, 120_000);

  it('trains with progress, then shows models, drift, segments, the at-risk list as CSV and the forecast', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, shop.ownerEmail, 'Owner-Password-1', {
      path: '/predictions',
    });
    await page.getByText('No models yet').waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Train now' }).click();
    const progress = page.getByTestId('train-progress');
    await progress.waitFor();
    await page.locator('[data-testid="train-progress"][data-status="succeeded"]').waitFor({ timeout: 120_000 });
    expect(page.url()).toContain('job=');

    const versions = page.getByTestId('model-versions');
    await versions.waitFor({ timeout: 15_000 });
    expect(await versions.locator('tbody tr').count()).toBe(4);
    expect(await versions.textContent()).toMatch(/roc_auc \d/);
    await page.getByTestId('churn-summary').waitFor();
    // drift right after training: the same customers, so every model is stable
    await page.getByTestId('drift-note').waitFor({ timeout: 30_000 });
    await versions.getByText('stable').nth(3).waitFor({ timeout: 30_000 });
    expect(await versions.getByText('stable').count()).toBe(4);

    await page.getByRole('img', { name: 'Customers per segment' }).waitFor();
    expect(await page.getByTestId('segments').locator('tbody tr').count()).toBeGreaterThan(1);
    // one scoring run: no trend yet; after the nightly rescore, a line per segment and the change beside each size
    await page.getByTestId('segment-trend-empty').waitFor();
    const nightly = await t.jobs.enqueue(shop.tenantId, 'predictions.nightly', {});
    await pollUntil(
      'nightly rescore',
      () => t.request('GET', `/api/v1/jobs/${nightly.id}`, { token: shop.ownerToken }),
      (x) => x.body.status === 'succeeded',
      { intervalMs: 200, timeoutMs: 120_000 },
    );
    await page.reload();
    await page.getByRole('img', { name: /Customers per segment at each scoring run/ }).waitFor({ timeout: 15_000 });
    // beside each size, its signed change since the previous run (a dash only when there was none)
    const changes = await page.getByTestId('segments').locator('tbody tr td:nth-child(3)').allTextContents();
    expect(changes.length).toBeGreaterThan(1);
    for (const c of changes) expect(c).toMatch(/^(0|[+−][\d,]+)$/);
    const sizes = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export segment sizes CSV' }).click();
    const sizeRows = fs
      .readFileSync((await (await sizes).path())!, 'utf8')
      .trim()
      .split('\r\n');
    expect(sizeRows[0]).toBe('run_at,segment,profiles');
    expect(new Set(sizeRows.slice(1).map((l) => l.split(',')[0])).size).toBe(2);

    // everybody at risk from 0: the list and its CSV hold every scored customer
    await page.getByLabel('Churn risk at least').fill('0');
    const table = page.getByTestId('at-risk');
    await table.waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="at-risk"] tbody tr').length === 25);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const csv = fs
      .readFileSync((await (await download).path())!, 'utf8')
      .trim()
      .split('\r\n');
    expect(csv[0]).toBe('profile_id,churn_probability,expected_value_minor,currency,segment,last_order_at,top_reasons');
    expect(csv.length - 1).toBe(150);
    expect(csv[1]).toMatch(/^[0-9a-f-]{36},[\d.e-]+,\d+,EUR,[a-z_]+,/);

    await page.getByTestId('forecast').getByRole('img').waitFor();
    // per-item demand: the best sellers with a chart, the intermittent one by Croston, exported to CSV
    const items = page.getByTestId('item-forecast');
    await items.getByRole('img').waitFor();
    await items.getByText('scarf').click();
    await items.getByText(/Method: croston \(intermittent demand, a sale every [0-9.]+ days/i).waitFor();
    const itemDownload = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export item forecasts' }).click();
    const itemCsv = fs
      .readFileSync((await (await itemDownload).path())!, 'utf8')
      .trim()
      .split('\r\n');
    expect(itemCsv[0]).toBe('item_id,method,date,units,lower_80,upper_80,lower_95,upper_95');
    expect(itemCsv.length - 1).toBe(2 * 28);
    await screenshot(page, 'predictions');
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
    await page.context().close();
  }, 240_000);
});
