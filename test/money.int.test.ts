import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.ts';
import { CATS, itemId, seedTenant, waitJob } from './recs-fixtures.ts';

/**
 * Money end to end for stores that do not count in cents: a JPY store (no minor unit) and a KWD store (three
 * decimals). Recommendation price filters, the revenue attributed to recommendations and Customer 360
 * aggregates must all read amounts in the store's own currency.
 *
 * Both stores hold the fixture catalog with prices 1000 + 500·k minor units (k = 0..11): JPY 1,000 to 6,500,
 * KWD 1.000 to 6.500.
 */
type Tenant = Awaited<ReturnType<TestApp['createTenant']>>;
const SCOPES = ['recommendations:read', 'interactions:write', 'models:manage', 'analytics:read', 'catalog:read', 'profiles:read'];
let t: TestApp;
const stores: Record<'JPY' | 'KWD', { tenant: Tenant; key: string }> = {} as never;

async function store(currency: 'JPY' | 'KWD') {
  const tenant = await t.createTenant(`${currency} store`);
  await seedTenant(t, tenant.tenantId);
  // Same items, priced in the store's currency (the fixture writes USD).
  await t.modules.catalog.upsertItems(
    tenant.tenantId,
    CATS.flatMap((cat, c) =>
      Array.from({ length: 12 }, (_, k) => ({
        itemId: itemId(c, k),
        name: `${cat} thing ${k}`,
        category: cat,
        priceMinor: BigInt(1000 + k * 500),
        currency,
      })),
    ),
  );
  const key = await tenant.apiKey(SCOPES);
  const start = await t.request('POST', '/api/v1/train', { token: key, body: { model_type: 'item_knn' } });
  expect(start.status).toBe(202);
  const done = await waitJob(t, key, start.body.job_id);
  expect(done.status, JSON.stringify(done)).toBe('completed');
  return { tenant, key };
}

const recommend = (key: string, body: Record<string, unknown>) =>
  t.request('POST', '/api/v1/recommendations', { token: key, body: { count: 20, ...body } });

beforeAll(async () => {
  t = await createTestApp();
  t.jobs.start({ concurrency: 1 });
  stores.JPY = await store('JPY');
  stores.KWD = await store('KWD');
}, 180_000);
afterAll(async () => {
  await t?.close();
});

describe('recommendation price filters in the item’s currency', () => {
  it('JPY: max_price 2000 means ¥2,000, not 200,000 minor units', async () => {
    const r = await recommend(stores.JPY.key, { user_id: 'U1', filters: { max_price: 2000 } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const prices = r.body.recommendations.map((i: { price: number; currency: string }) => [i.price, i.currency]);
    expect(prices.length).toBeGreaterThan(0);
    for (const [price, currency] of prices) {
      expect(currency).toBe('JPY');
      expect(price).toBeLessThanOrEqual(2000);
    }
    const range = await recommend(stores.JPY.key, { user_id: 'U1', filters: { price_range: { min: 2500, max: 3000 } } });
    expect(range.status).toBe(200);
    expect(new Set(range.body.recommendations.map((i: { price: number }) => i.price))).toEqual(new Set([2500, 3000]));
  });

  it('KWD: min_price 5.5 means KWD 5.500, not 550 minor units; a bound between two fils rounds inward', async () => {
    const r = await recommend(stores.KWD.key, { user_id: 'U1', filters: { min_price: 5.5 } });
    expect(r.status).toBe(200);
    const prices = r.body.recommendations.map((i: { price: number }) => i.price);
    expect(new Set(prices)).toEqual(new Set([5.5, 6, 6.5]));
    // 5.9995 KWD: the minimum is above 5.999, so 6.000 is the cheapest item that qualifies.
    const between = await recommend(stores.KWD.key, { user_id: 'U1', filters: { min_price: 5.9995, max_price: 6.0005 } });
    expect(between.status).toBe(200);
    expect(new Set(between.body.recommendations.map((i: { price: number }) => i.price))).toEqual(new Set([6]));
  });
});

describe('revenue attributed to recommendations in the store’s currency', () => {
  for (const [currency, price, quantity, expected] of [
    ['JPY', '1500', 2, 3000],
    ['KWD', '1.234', 1, 1.234],
  ] as const) {
    it(`${currency}: a purchase of ${quantity} × ${price} counts ${expected} ${currency}`, async () => {
      const { tenant, key } = stores[currency];
      const rec = await recommend(key, { user_id: 'U7' });
      expect(rec.status).toBe(200);
      const item = rec.body.recommendations[0].item_id as string;
      const buy = await t.request('POST', '/api/v1/interactions', {
        token: key,
        body: {
          user_id: 'U7',
          item_id: item,
          interaction_type: 'purchase',
          recommendation_id: rec.body.recommendation_id,
          metadata: { order_id: `rec-order-${currency}`, price, currency, quantity },
        },
      });
      expect(buy.status, JSON.stringify(buy.body)).toBe(201);
      const dash = await t.request('GET', `/api/v1/analytics/tenant/${tenant.tenantId}/dashboard`, { token: key });
      expect(dash.status).toBe(200);
      expect(dash.body.metrics.revenue_impact).toMatchObject({
        attributed_revenue: expected,
        attributed_orders: 1,
        average_order_value: expected,
        currency,
      });
    });
  }
});

describe('Customer 360 aggregates in the store’s currency', () => {
  const buy = (key: string, user: string, order: string, price: string, currency: string) =>
    t.request('POST', '/api/v1/interactions', {
      token: key,
      body: { user_id: user, item_id: itemId(0, 1), interaction_type: 'purchase', metadata: { order_id: order, price, currency } },
    });

  /** Posts `orders` ([order id, price]) as purchases of `user`, then reads that user's Customer 360 profile. */
  async function profileAfter(currency: 'JPY' | 'KWD', user: string, orders: readonly (readonly [string, string])[]) {
    const { key } = stores[currency];
    for (const [order, price] of orders) expect((await buy(key, user, order, price, currency)).status).toBe(201);
    const p = await t.request('GET', `/api/v1/profiles/lookup?user_id=${user}`, { token: key });
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    return p.body;
  }

  it('JPY: three orders of ¥1,000 in total average ¥333, with no fraction of a yen', async () => {
    const orders = [
      ['j-1', '300'],
      ['j-2', '300'],
      ['j-3', '400'],
    ] as const;
    expect(await profileAfter('JPY', 'jp-shopper', orders)).toMatchObject({
      currency: 'JPY',
      total_orders: 3,
      lifetime_value: 1000,
      lifetime_value_minor: '1000',
      average_order_value: 333,
    });
  });

  it('KWD: orders of 1.234 and 1.001 give a lifetime value of 2.235 and an average of 1.118 (three decimals kept)', async () => {
    const orders = [
      ['k-1', '1.234'],
      ['k-2', '1.001'],
    ] as const;
    expect(await profileAfter('KWD', 'kw-shopper', orders)).toMatchObject({
      currency: 'KWD',
      total_orders: 2,
      lifetime_value: 2.235,
      lifetime_value_minor: '2235',
      average_order_value: 1.118,
    });
  });

  it('a vendor event in a currency ISO 4217 does not list stores no price and leaves the profile readable', async () => {
    const { key } = stores.KWD;
    const basic = { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` };
    const body = {
      userId: 'odd-currency-shopper',
      event: 'Order Completed',
      messageId: 'odd-1',
      properties: { order_id: 'odd-1', currency: 'XYZ', products: [{ product_id: itemId(0, 2), price: 12.5, quantity: 1 }] },
    };
    const sent = await t.request('POST', '/v1/track', { headers: basic, body });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const p = await t.request('GET', '/api/v1/profiles/lookup?user_id=odd-currency-shopper', { token: key });
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body).toMatchObject({ lifetime_value_minor: '0', lifetime_value: 0 });
    expect(p.body.recent_events[0]).toMatchObject({ type: 'purchase', price_minor: null });
  });

  it('refuses an amount with more decimals than the currency has, and an unknown currency, by field', async () => {
    const { key } = stores.JPY;
    const fraction = await buy(key, 'jp-shopper', 'j-4', '12.5', 'JPY');
    expect(fraction.status).toBe(400);
    expect(JSON.stringify(fraction.body.error)).toMatch(/more than 0 decimal places for JPY/);
    const unknown = await buy(key, 'jp-shopper', 'j-5', '12', 'ABC');
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body.error)).toMatch(/ISO 4217/);
  });
});
