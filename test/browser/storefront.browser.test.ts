import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { startStripeServer, type StripeTestServer } from '../fakes/stripe-server.ts';
import { type DashboardServer, HAS_CHROMIUM, openPage, ROOT, screenshot, startDashboardServer } from './harness.ts';

/**
 * The reference storefront at /store/<slug> in chromium against the real server and the local Stripe-protocol
 * server, with a site key (pk_live_, commerce:shop) and signed shopper tokens: a visitor searches (autocomplete),
 * opens a product, adds it, sees a price change reported in the cart, signs in through a link the store's server
 * made (customer token; the visitor's cart joins the customer's), checks out with a declined card (clear refusal,
 * cart kept) then a good one, sees the confirmation and the order in their history; the order is paid once and
 * stock went down once. A second tenant's key shows only that tenant's products. Phone-sized viewport; no
 * console errors.
 */
describe.skipIf(!HAS_CHROMIUM)('reference storefront in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let stripe: StripeTestServer;
  let base: string;
  let browser: Browser;
  let shop: Awaited<ReturnType<TestApp['createTenant']>>;
  let key: string;
  let secret: string;
  let otherKey: string;

  /** The store page's key: publishable, this server's origin (it serves the page), shopping opted in. */
  const siteKey = async (ownerToken: string) => {
    const r = await t.request('POST', '/api/v1/api-keys', {
      token: ownerToken,
      body: {
        name: 'store page',
        kind: 'publishable',
        scopes: ['commerce:shop', 'catalog:read', 'recommendations:read', 'interactions:write'],
        allowed_origins: [base],
      },
    });
    expect(r.status).toBe(201);
    return r.body.api_key as string;
  };

  beforeAll(async () => {
    stripe = await startStripeServer();
    server = await startDashboardServer({ env: { STRIPE_API_URL: stripe.url } });
    ({ t, base, browser } = server);
    shop = await t.createTenant('Corner Shop');
    key = await siteKey(shop.ownerToken);
    secret = await shop.apiKey(['commerce:write', 'catalog:read']);
    const s = await t.request('PUT', '/api/v1/commerce/settings', {
      token: shop.ownerToken,
      body: {
        tax_rate_bp: 1000,
        tax_inclusive: false,
        shipping_options: [{ id: 'std', name: 'Standard', amount: 500, currency: 'USD' }],
        stripe_secret_key: 'sk_test_storefront',
      },
    });
    expect(s.status).toBe(200);
    await t.modules.catalog.upsertItems(shop.tenantId, [
      { itemId: 'lamp', name: 'Brass Desk Lamp', priceMinor: 5000n, currency: 'USD', stock: 3, category: 'Lighting', brand: 'Lumen' },
      { itemId: 'bulb', name: 'Warm Bulb', priceMinor: 900n, currency: 'USD', category: 'Lighting' },
      { itemId: 'mug', name: 'Stoneware Mug', priceMinor: 1500n, currency: 'USD', category: 'Kitchen' },
    ]);
    const other = await t.createTenant('Other Shop');
    otherKey = await siteKey(other.ownerToken);
    await t.modules.catalog.upsertItems(other.tenantId, [
      { itemId: 'secret', name: 'Other Tenant Teapot', priceMinor: 100n, currency: 'USD' },
    ]);
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    await stripe?.close();
  });

  it('is small: page, script and styles under 100 kB gzip', () => {
    const bytes = ['index.html', 'store.js', 'store.css']
      .map((f) => gzipSync(fs.readFileSync(path.join(ROOT, 'storefront', f))).length)
      .reduce((a, b) => a + b, 0);
    expect(bytes).toBeLessThan(100_000);
  });

  it('without a key says the store is not connected', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${base}/store/corner-shop`);
    await page.getByRole('heading', { name: 'This store is not connected' }).waitFor();
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('walks from home to order confirmation and order history on a phone', async () => {
    const { page, errors, serverErrors } = await openPage(browser, { viewport: { width: 390, height: 844 } });
    await page.goto(`${base}/store/corner-shop#key=${encodeURIComponent(key)}`);
    // Home: products and categories; the key left the address bar.
    await page.getByRole('list', { name: 'Products' }).getByRole('link', { name: 'Stoneware Mug' }).waitFor();
    expect(page.url()).not.toContain(key);
    await expect(page.getByRole('link', { name: 'Other Tenant Teapot' }).count()).resolves.toBe(0);

    // Category page.
    await page.getByRole('link', { name: 'Kitchen' }).click();
    await page.getByRole('heading', { name: 'Kitchen' }).waitFor();
    await expect(page.getByRole('link', { name: 'Brass Desk Lamp' }).count()).resolves.toBe(0);

    // Search with autocomplete, then the product page.
    await page.getByLabel('Search products').fill('bras');
    await page.getByRole('option', { name: 'Brass Desk Lamp' }).click();
    await page.getByRole('heading', { name: 'Brass Desk Lamp' }).waitFor();
    await page.getByLabel('Quantity').fill('0');
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.getByText('Enter a whole number of at least 1.').waitFor();
    await page.getByLabel('Quantity').fill('5');
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.getByText('Only 3 of Brass Desk Lamp left').waitFor();
    await page.getByLabel('Quantity').fill('1');
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.getByRole('link', { name: 'Cart (1)' }).waitFor();

    // The price rises while the lamp sits in the cart: the cart says so.
    await t.modules.catalog.upsertItems(shop.tenantId, [
      { itemId: 'lamp', name: 'Brass Desk Lamp', priceMinor: 5500n, currency: 'USD', stock: 3, category: 'Lighting', brand: 'Lumen' },
    ]);
    await page.getByRole('link', { name: 'Cart (1)' }).click();
    await page.getByText(/Brass Desk Lamp now costs \$55\.00 \(was \$50\.00\)/).waitFor();
    await screenshot(page, 'storefront-cart');

    // Sign in: the page alone cannot; the store's server mints the customer's token and sends them back with it.
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByText("Sign in on the store's own site").waitFor();
    const minted = await t.request('POST', '/api/v1/commerce/shopper-tokens', {
      token: secret,
      body: { customer_id: 'ada@example.com' },
    });
    expect(minted.status).toBe(201);
    await page.goto(`${base}/store/corner-shop#shopper_token=${encodeURIComponent(minted.body.token)}`);
    // The visitor's cart joined the customer's; the token left the address bar.
    await page.getByRole('link', { name: 'Account' }).waitFor();
    await page.getByRole('link', { name: 'Cart (1)' }).waitFor();
    expect(page.url()).not.toContain('shopper_token');

    // Checkout: a declined card is refused clearly and the cart stays; the test Visa pays.
    await page.getByRole('link', { name: 'Cart (1)' }).click();
    await page.getByRole('button', { name: 'Checkout' }).click();
    await page.getByLabel('Full name').fill('Ada Lovelace');
    await page.getByLabel('Address').fill('1 Analytical Way');
    await page.getByLabel('City').fill('London');
    await page.getByLabel('Card').selectOption('pm_card_chargeDeclined');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page
      .getByRole('alert')
      .getByText(/payment was refused/)
      .waitFor();
    await page.getByLabel('Card').selectOption('pm_card_visa');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.getByRole('heading', { name: 'Thank you for your order' }).waitFor({ timeout: 20_000 });
    // 5500 + 500 shipping + 10% tax on both = 6600.
    await page.getByText(/is paid: \$66\.00 paid/).waitFor();
    await screenshot(page, 'storefront-confirmation');

    await page.getByRole('link', { name: 'Your orders' }).click();
    const orders = page.getByRole('table', { name: 'Orders' });
    // The declined attempt is in the history as cancelled; the paid order beside it.
    await orders.getByRole('row').filter({ hasText: 'paid' }).getByText('$66.00').waitFor();
    await orders.getByRole('row').filter({ hasText: 'cancelled' }).waitFor();
    expect(await orders.getByRole('row').count()).toBe(3);
    await page.getByRole('link', { name: 'Cart (0)' }).waitFor();

    // The server agrees: one paid order for the customer, stock taken once.
    const list = await t.request('GET', '/api/v1/orders?user_id=ada%40example.com', { token: shop.ownerToken });
    const paid = (list.body.data as { status: string; total: number }[]).filter((o) => o.status === 'paid');
    expect(paid).toEqual([expect.objectContaining({ total: 6600 })]);
    const lamp = await t.request('GET', '/api/v1/items/lamp', { token: secret });
    expect(lamp.body.stock).toBe(2);
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
    await page.context().close();
  }, 120_000);

  it("another tenant's key shows only that tenant's products", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${base}/store/other-shop#key=${encodeURIComponent(otherKey)}`);
    await page.getByRole('link', { name: 'Other Tenant Teapot' }).waitFor();
    await expect(page.getByRole('link', { name: 'Stoneware Mug' }).count()).resolves.toBe(0);
    await page.goto(`${base}/store/other-shop#/product/lamp`);
    await page.getByRole('alert').waitFor();
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);
});
