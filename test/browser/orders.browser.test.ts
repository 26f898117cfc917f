import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { startStripeServer, type StripeTestServer } from '../fakes/stripe-server.ts';
import { forgeAccessToken, HAS_CHROMIUM, openSignedInPage, screenshot, startDashboardServer, type DashboardServer } from './harness.ts';

/**
 * The orders pages in chromium against the real server: orders made through the cart API and paid through the
 * local Stripe-protocol server are listed, filtered and exported; an order's timeline shows; a partial refund
 * goes through and appears on the timeline; a return refunds the rest. No console errors.
 */
const JWT_SECRET = 'orders-browser-signing-secret-0123456789abcdef0123456789';

describe.skipIf(!HAS_CHROMIUM)('orders dashboard in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let stripe: StripeTestServer;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;
  let orderId: string;
  let benOrderId: string;

  beforeAll(async () => {
    stripe = await startStripeServer();
    server = await startDashboardServer({ env: { STRIPE_API_URL: stripe.url, LOUPE_JWT_SECRET: JWT_SECRET } });
    ({ t, base, browser } = server);
    owner = await t.createTenant('Orders Store');
    const key = await owner.apiKey(['commerce:write']);
    await t.request('PUT', '/api/v1/commerce/settings', {
      token: owner.ownerToken,
      body: { tax_rate_bp: 2000, tax_inclusive: true, shipping_options: [], stripe_secret_key: 'sk_test_browser' },
    });
    await t.modules.catalog.upsertItems(owner.tenantId, [
      { itemId: 'kettle', name: 'Kettle', priceMinor: 4800n, currency: 'EUR', stock: 20 },
      { itemId: 'cup', name: 'Cup', priceMinor: 900n, currency: 'EUR' },
    ]);
    for (const [user, item, qty] of [
      ['anna', 'kettle', 1],
      ['ben', 'cup', 4],
    ] as const) {
      const cart = await t.request('POST', '/api/v1/cart/items', { token: key, body: { user_id: user, item_id: item, quantity: qty } });
      const done = await t.request('POST', '/api/v1/cart/complete', {
        token: key,
        body: { cart_id: cart.body.id, payment_method: 'pm_card_visa' },
      });
      expect(done.status).toBe(201);
      if (user === 'anna') orderId = done.body.order.id;
      else benOrderId = done.body.order.id;
    }
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    await stripe?.close();
  });

  it('lists orders with filters, opens the timeline, refunds part of an order', async () => {
    const { page, errors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    await page.getByRole('link', { name: 'Orders' }).click();
    const table = page.getByTestId('orders-table');
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBe(2);
    await page.getByLabel('Search orders').fill('anna');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="orders-table"] tbody tr').length === 1);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const csv = await download;
    expect(csv.suggestedFilename()).toBe('orders.csv');
    // The file holds the filtered orders: a header, then anna's order.
    const rows = fs
      .readFileSync((await csv.path())!, 'utf8')
      .trim()
      .split(/\r?\n/);
    expect(rows.length, rows.join('\n')).toBe(2);
    expect(rows[1]).toContain('anna');
    await screenshot(page, 'orders-list');

    await page.getByRole('link', { name: orderId.slice(-8) }).click();
    await page.getByTestId('order-timeline').waitFor();
    expect(await page.getByTestId('order-status').textContent()).toBe('paid');
    // Tax-inclusive 48.00 at 20%: net 40.00, tax 8.00, total 48.00.
    const totals = await page.getByTestId('order-totals').textContent();
    expect(totals).toContain('Total: €48.00');
    expect(totals).toContain('Tax: €8.00');
    expect(await page.getByTestId('order-timeline').textContent()).toContain('payment captured');
    await page.getByLabel('Refund amount (minor units)').fill('800');
    await page.getByRole('button', { name: 'Refund' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="order-status"]')?.textContent === 'partially refunded');
    expect(await page.getByTestId('order-timeline').textContent()).toContain('refunded');
    // A return of the kettle refunds what is left of it (48.00 paid, 8.00 refunded) and closes the order.
    // It came back damaged: the reason is recorded and the unit stays off the shelf.
    await page.getByLabel('Return Kettle').fill('1');
    await page.getByRole('textbox', { name: 'Reason for Kettle' }).click();
    await page.getByRole('option', { name: 'Damaged' }).click();
    await page.getByLabel('Put Kettle back in stock').uncheck();
    // The return label: a cost the currency cannot hold is refused next to the field; damaged means the
    // merchant pays it by default, so nothing comes off the customer's refund.
    await page.getByLabel('Return label (EUR)').fill('4.505');
    expect(await page.getByRole('button', { name: 'Record return' }).isDisabled()).toBe(true);
    await page.getByLabel('Return label (EUR)').fill('4.50');
    await page.getByRole('button', { name: 'Record return' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="order-status"]')?.textContent === 'refunded');
    expect(await page.getByTestId('order-timeline').textContent()).toContain('returned');
    await page.getByTestId('order-timeline').getByText('1 × Kettle: Damaged, not restocked').waitFor();
    await page.getByTestId('order-timeline').getByText('Return label €4.50, paid by the merchant', { exact: true }).waitFor();
    const kettle = await t.request('GET', '/api/v1/items/kettle', { token: owner.ownerToken });
    expect(kettle.body.stock).toBe(19); // sold one, the damaged one stayed off the shelf
    await screenshot(page, 'order-detail');
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);

  it('cancels a paid order after a step-up: a stale sign-in is asked for the password first', async () => {
    const { page, errors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    await forgeAccessToken(page, JWT_SECRET, { issuedSecondsAgo: 0, authSecondsAgo: 3600 });
    await page.goto(`${base}/orders/${benOrderId}`);
    await page.waitForFunction(() => document.querySelector('[data-testid="order-status"]')?.textContent === 'paid');
    await page.getByRole('button', { name: 'Cancel order' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm your password' });
    await dialog.waitFor();
    // Nothing moved before the step-up.
    expect((await t.request('GET', `/api/v1/orders/${benOrderId}`, { token: owner.ownerToken })).body.status).toBe('paid');
    await dialog.getByLabel('Password').fill('Owner-Password-1');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="order-status"]')?.textContent === 'cancelled');
    const after = (await t.request('GET', `/api/v1/orders/${benOrderId}`, { token: owner.ownerToken })).body;
    expect(after).toMatchObject({ status: 'cancelled', refunded_total: after.paid_total });
    expect(await page.getByTestId('order-timeline').textContent()).toContain('cancelled');
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);
});
