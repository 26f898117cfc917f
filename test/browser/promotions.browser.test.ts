import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { startStripeServer, type StripeTestServer } from '../fakes/stripe-server.ts';
import { type DashboardServer, HAS_CHROMIUM, openSignedInPage, screenshot, startDashboardServer } from './harness.ts';

/**
 * The promotions page in chromium against the real server: empty state, creating a buy 2 get 1 free promotion
 * that a cart may earn twice, with a usage limit and a spend budget, a refused one (the server's message shown),
 * its usage and budget spent after a checkout through the cart API, and stopping it. No console errors.
 */
describe.skipIf(!HAS_CHROMIUM)('promotions dashboard in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let stripe: StripeTestServer;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;
  let key: string;

  beforeAll(async () => {
    stripe = await startStripeServer();
    server = await startDashboardServer({ env: { STRIPE_API_URL: stripe.url } });
    t = server.t;
    owner = await t.createTenant('Promo Shop');
    key = await owner.apiKey(['commerce:write']);
    await t.request('PUT', '/api/v1/commerce/settings', {
      token: owner.ownerToken,
      body: { tax_rate_bp: 0, tax_inclusive: false, shipping_options: [], stripe_secret_key: 'sk_test_promos' },
    });
    await t.modules.catalog.upsertItems(owner.tenantId, [{ itemId: 'mug', name: 'Mug', priceMinor: 1200n, currency: 'USD' }]);
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    await stripe?.close();
  });

  it('creates a buy 2 get 1 free promotion, shows its usage after a checkout, and stops it', async () => {
    const { page, errors } = await openSignedInPage(server.browser, server.base, owner.ownerEmail, 'Owner-Password-1');
    await page.getByRole('link', { name: 'Promotions' }).click();
    await page.getByText('No promotions yet').waitFor();

    // A fixed amount without a valid currency: the server refuses, the page says why.
    await page.getByLabel('Code').fill('TENOFF');
    await page.getByRole('textbox', { name: 'Type' }).click();
    await page.getByRole('option', { name: 'Fixed amount' }).click();
    await page.getByLabel('Currency').fill('XX');
    await page.getByRole('button', { name: 'Create promotion' }).click();
    await page.getByRole('alert').waitFor();

    // A category rule: 10% off lighting.
    await page.getByLabel('Code').fill('LIGHT10');
    await page.getByRole('textbox', { name: 'Type' }).click();
    await page.getByRole('option', { name: 'Percentage' }).click();
    await page.getByLabel('Percent off').fill('10');
    await page.getByLabel('Only categories').fill('Lighting');
    await page.getByRole('button', { name: 'Create promotion' }).click();
    await page.getByTestId('promotions-table').getByText('10% off items in Lighting').waitFor();
    await page.getByLabel('Only categories').fill('');

    // A customer segment rule: only shoppers Predictions scored as champions.
    await page.getByLabel('Code').fill('CHAMPS5');
    await page.getByLabel('Percent off').fill('5');
    await page.getByLabel('Only customer segments').fill('champions');
    await page.getByRole('button', { name: 'Create promotion' }).click();
    await page.getByTestId('promotions-table').getByText('5% off items, for champions customers').waitFor();
    await page.getByLabel('Only customer segments').fill('');

    await page.getByText('Buy X get Y').click();
    await page.getByLabel('Code').fill('MUGS3');
    await page.getByLabel('Percent off').fill('100');
    await page.getByLabel('Get items').fill('mug');
    await page.getByLabel('Buy items').fill('mug');
    await page.getByLabel('Buy quantity').fill('2');
    await page.getByLabel('Get quantity').fill('1');
    await page.getByLabel('Times per cart').fill('2');
    await page.getByLabel('Usage limit').fill('5');
    await page.getByLabel('Spend budget').fill('50');
    await page.getByLabel('Currency').fill('USD');
    await page.getByRole('button', { name: 'Create promotion' }).click();
    const table = page.getByTestId('promotions-table');
    await table.getByText('Buy 2 of mug, get 1 (mug) free, up to 2 times per cart').waitFor();
    await table.getByText('0 of 5').waitFor();
    await table.getByText('$0.00 of $50.00').waitFor();

    // A shopper with 7 mugs earns it twice (the seventh mug neither qualifies nor is free) through the cart API.
    const cart = await t.request('POST', '/api/v1/cart/items', { token: key, body: { user_id: 'zoe', item_id: 'mug', quantity: 7 } });
    const applied = await t.request('POST', '/api/v1/cart/promotions', { token: key, body: { cart_id: cart.body.id, code: 'mugs3' } });
    expect(applied.body.discount_total).toBe(2400);
    const done = await t.request('POST', '/api/v1/cart/complete', {
      token: key,
      body: { cart_id: cart.body.id, payment_method: 'pm_card_visa' },
    });
    expect(done.status).toBe(201);
    expect(done.body.order.total).toBe(6000);

    await page.reload();
    await table.getByText('1 of 5').waitFor();
    await table.getByText('$24.00 of $50.00').waitFor();
    await screenshot(page, 'promotions');
    await page.getByRole('button', { name: 'Stop MUGS3' }).click();
    await table.getByText('stopped').waitFor();
    expect(errors).toEqual([]);
    await page.context().close();
  }, 180_000);
});
