import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, openPage, screenshot, signIn, startDashboardServer, type DashboardServer } from './harness.ts';

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
    const { page, errors } = await openPage(browser);
    await signIn(page, base, owner.ownerEmail, 'Owner-Password-1');
    await page.goto(`${base}/customers/${profileId}`);
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
