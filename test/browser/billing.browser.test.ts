import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { startStripeServer, type StripeTestServer } from '../fakes/stripe-server.ts';
import { HAS_CHROMIUM, screenshot, startDashboardServer, type DashboardServer, openSignedInPage } from './harness.ts';

/** The Billing page against the real server and the local Stripe-protocol server: upgrade, payment, a failed renewal. */
describe.skipIf(!HAS_CHROMIUM)('billing page in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let stripe: StripeTestServer;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    stripe = await startStripeServer();
    stripe.addPrice('price_pro', 4900, 'usd');
    stripe.addPrice('price_business', 19900, 'usd');
    server = await startDashboardServer({
      env: {
        STRIPE_API_URL: stripe.url,
        LOUPE_BILLING_STRIPE_SECRET_KEY: 'sk_test_loupe_billing',
        LOUPE_BILLING_WEBHOOK_SECRET: 'whsec_placeholder',
        LOUPE_BILLING_PRICES: 'pro=price_pro,business=price_business',
      },
    });
    ({ t, base, browser } = server);
    (t.config.billing as { webhookSecret: string }).webhookSecret = stripe.addWebhookEndpoint(`${base}/stripe/webhook`);
  }, 240_000);
  afterAll(async () => {
    await server?.close();
    await stripe?.close();
  });

  it('shows the plan and usage, upgrades through Stripe Checkout, and warns of a failed renewal', async () => {
    const owner = await t.createTenant('Paying Store');
    const key = await owner.apiKey(['catalog:read']);
    for (let i = 0; i < 3; i++) expect((await t.request('GET', '/api/v1/items', { token: key })).status).toBe(200);

    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/billing',
    });
    await page.getByTestId('current-plan').getByText('Your plan: Free').waitFor({ timeout: 20_000 });
    await expect(page.getByTestId('usage-api_calls_per_month').textContent()).resolves.toMatch(/3 of 10,000/);
    await page.getByTestId('plan-pro').getByRole('button', { name: 'Upgrade to Pro' }).click();
    // The browser goes to Stripe's hosted page (the local server's address for the session).
    await page.waitForURL(/\/c\/pay\/cs_test_/, { timeout: 20_000 });
    const sessionId = /cs_test_[0-9a-f]+/.exec(page.url())![0];
    expect(stripe.checkoutSessions.get(sessionId)!.client_reference_id).toBe(owner.tenantId);

    const { subscription } = stripe.completeCheckout(sessionId);
    await stripe.drain();
    await page.goto(`${base}/billing?checkout=success`);
    await page.getByText('Stripe has your payment').waitFor({ timeout: 20_000 });
    await page.getByTestId('current-plan').getByText('Your plan: Pro').waitFor({ timeout: 20_000 });
    await expect(page.getByTestId('usage-catalog_items').textContent()).resolves.toMatch(/0 of 50,000/);
    expect(await page.getByTestId('plan-pro').getByText('Current plan').count()).toBe(1);
    // No second checkout while subscribed: the server would refuse it (SUBSCRIPTION_EXISTS).
    expect(await page.getByTestId('plan-business').getByRole('button').count()).toBe(0);

    stripe.failRenewal(subscription);
    await stripe.drain();
    await page.reload();
    await page
      .getByRole('alert')
      .getByText(/renewal payment failed/)
      .waitFor({ timeout: 20_000 });
    await screenshot(page, 'billing');
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
  }, 120_000);
});
