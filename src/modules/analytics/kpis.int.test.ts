/**
 * One item's sales (GET /api/v1/analytics/items/:itemId/sales) over May, apart from the KPIs' April.
 * Commerce KPIs with the previous period, over purchases and refunds sent through the interactions API (identity
 * turns them into profile_orders) and sessions sent through the tracking API. Expected values by hand below.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

let t: TestApp;
let read: string;
let readB: string;
let write: string;
beforeAll(async () => {
  t = await createTestApp();
  const A = await t.createTenant('Shop');
  const B = await t.createTenant('Other');
  write = await A.apiKey(['interactions:write']);
  read = await A.apiKey(['analytics:read']);
  readB = await B.apiKey(['analytics:read']);
  const buy = async (user: string, order: string, day: string, price: string, currency = 'USD', type = 'purchase') => {
    const r = await t.request('POST', '/api/v1/interactions', {
      token: write,
      body: {
        user_id: user,
        item_id: `SKU-${order}`,
        interaction_type: type,
        timestamp: `${day}T12:00:00Z`,
        metadata: { order_id: order, price, currency },
      },
    });
    expect(r.status).toBeLessThan(300);
  };
  await buy('u1', 'o1', '2026-04-02', '10.00');
  await buy('u1', 'o2', '2026-04-12', '30.00');
  await buy('u2', 'o3', '2026-04-11', '20.00');
  await buy('u2', 'o4', '2026-04-15', '40.00');
  await buy('u3', 'o5', '2026-04-18', '50.00', 'EUR');
  await buy('u4', 'o6', '2026-04-05', '15.00');
  await buy('u2', 'o3', '2026-04-13', '5.00', 'USD', 'refund');
  for (const [id, day] of [
    ['s1', '2026-04-10'],
    ['s2', '2026-04-12'],
    ['s3', '2026-04-15'],
    ['s4', '2026-04-18'],
    ['p1', '2026-04-01'],
    ['p2', '2026-04-08'],
  ] as const) {
    const r = await t.request('POST', '/api/v1/analytics/session/start', {
      token: write,
      body: { session_id: id, started_at: `${day}T09:00:00Z` },
    });
    expect(r.status).toBe(201);
  }
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('GET /api/v1/analytics/kpis', () => {
  it('reports revenue, orders, AOV, conversion, new vs returning and repeat rate against the previous period', async () => {
    const r = await t.request('GET', '/api/v1/analytics/kpis?from=2026-04-10&to=2026-04-19&tz=UTC', { token: read });
    expect(r.status).toBe(200);
    expect(r.body.previous_range).toEqual({ from: '2026-03-31T00:00:00.000Z', to: '2026-04-10T00:00:00.000Z', tz: 'UTC' });
    expect(r.body.currency).toBe('USD');
    // Current: USD orders o2 30 + o3 20 + o4 40 - refund 5 = 85.00 over 3 USD orders (AOV 28.33, floored minor units);
    // 4 orders in all (o5 in EUR) over 4 sessions; customers u1 (returning: ordered 04-02), u2 and u3 (new); u2 ordered twice.
    expect(r.body.current).toEqual({
      revenue: 85,
      revenue_minor: '8500',
      refunds_minor: '500',
      orders: 4,
      average_order_value: 28.33,
      sessions: 4,
      conversion_rate: 1,
      customers: 3,
      new_customers: 2,
      returning_customers: 1,
      repeat_rate: 0.3333,
    });
    // Previous: o1 10 + o6 15 = 25.00 over 2 orders, 2 sessions, u1 and u4 both new.
    expect(r.body.previous).toMatchObject({
      revenue: 25,
      orders: 2,
      sessions: 2,
      customers: 2,
      new_customers: 2,
      returning_customers: 0,
      repeat_rate: 0,
    });
    expect(r.body.change).toMatchObject({
      revenue: 2.4,
      orders: 1,
      sessions: 1,
      new_customers: 0,
      returning_customers: null,
      repeat_rate: null,
    });
    expect(r.body.revenue_by_currency).toEqual([
      { currency: 'USD', amount: 85, amount_minor: '8500', count: 3 },
      { currency: 'EUR', amount: 50, amount_minor: '5000', count: 1 },
    ]);
    expect(r.body.series).toHaveLength(10);
    const day = (d: string) => r.body.series.find((x: { bucket: string }) => x.bucket === d);
    expect(day('2026-04-12')).toEqual({
      bucket: '2026-04-12',
      revenue: 30,
      orders: 1,
      sessions: 1,
      conversion_rate: 1,
      new_customers: 0,
      returning_customers: 1,
    });
    expect(day('2026-04-18')).toMatchObject({ revenue: 0, orders: 1, new_customers: 1 });
    expect(r.body.series.reduce((a: number, x: { orders: number }) => a + x.orders, 0)).toBe(4);
  });

  it('shows another tenant none of it, and refuses bad ranges', async () => {
    const r = await t.request('GET', '/api/v1/analytics/kpis?from=2026-04-10&to=2026-04-19&tz=UTC', { token: readB });
    expect(r.status).toBe(200);
    expect(r.body.current).toMatchObject({ orders: 0, revenue: 0, sessions: 0, customers: 0 });
    expect(r.body.currency).toBeNull();
    expect((await t.request('GET', '/api/v1/analytics/kpis?tz=Nowhere/City', { token: read })).status).toBe(400);
    expect((await t.request('GET', '/api/v1/analytics/kpis?from=2026-04-10&to=2026-04-01', { token: read })).status).toBe(400);
  });
});

describe('GET /api/v1/analytics/items/:itemId/sales', () => {
  beforeAll(async () => {
    const send = async (user: string, type: string, day: string, metadata?: Record<string, unknown>) => {
      const r = await t.request('POST', '/api/v1/interactions', {
        token: write,
        body: {
          user_id: user,
          item_id: 'KETTLE/2L',
          interaction_type: type,
          timestamp: `${day}T12:00:00Z`,
          ...(metadata ? { metadata } : {}),
        },
      });
      expect(r.status).toBeLessThan(300);
    };
    await send('u1', 'view', '2026-05-10');
    await send('u2', 'view', '2026-05-10');
    await send('u3', 'view', '2026-05-11');
    await send('u1', 'purchase', '2026-05-10', { order_id: 'k1', price: '12.50', currency: 'USD', quantity: 2 });
    await send('u2', 'purchase', '2026-05-11', { order_id: 'k2', price: '12.50', currency: 'USD', quantity: 1 });
    await send('u2', 'purchase', '2026-05-11', { order_id: 'k3', price: '10.00', currency: 'EUR', quantity: 1 });
    await send('u1', 'refund', '2026-05-12', { order_id: 'k1', price: '12.50', currency: 'USD', quantity: 1 });
  }, 60_000);

  const url = (item: string, query = 'from=2026-05-10&to=2026-05-12&tz=UTC') =>
    `/api/v1/analytics/items/${encodeURIComponent(item)}/sales?${query}`;

  it('adds up units, revenue per currency, refunds, orders, buyers and views, with a daily series', async () => {
    const r = await t.request('GET', url('KETTLE/2L'), { token: read });
    expect(r.status).toBe(200);
    expect(r.body.item_id).toBe('KETTLE/2L');
    // USD: 2 x 12.50 + 12.50 = 37.50 over two orders; EUR 10.00 in one; refund 12.50; buyers u1, u2 of 3 viewers.
    expect(r.body.currency).toBe('USD');
    expect(r.body.summary).toEqual({
      units: 4,
      revenue: 37.5,
      revenue_minor: '3750',
      refunds_minor: '1250',
      orders: 3,
      buyers: 2,
      views: 3,
      viewers: 3,
      view_to_purchase_rate: 0.6667, // u1 and u2 viewed and bought, u3 only viewed (rounded to 4 places, as every rate)
    });
    expect(r.body.revenue_by_currency).toEqual([
      { currency: 'EUR', amount: 10, amount_minor: '1000', count: 1 },
      { currency: 'USD', amount: 37.5, amount_minor: '3750', count: 2 },
    ]);
    expect(r.body.series).toEqual([
      { bucket: '2026-05-10', units: 2, revenue: 25, orders: 1, views: 2 },
      { bucket: '2026-05-11', units: 2, revenue: 12.5, orders: 2, views: 1 },
      { bucket: '2026-05-12', units: 0, revenue: 0, orders: 0, views: 0 },
    ]);
    // Outside the window, and an item nobody bought: zeros, not an error.
    const none = await t.request('GET', url('NOTHING'), { token: read });
    expect(none.status).toBe(200);
    expect(none.body.summary).toMatchObject({ units: 0, orders: 0, buyers: 0, views: 0, view_to_purchase_rate: 0 });
    expect(none.body.currency).toBeNull();
  });

  it('shows another tenant none of it, needs analytics:read, and refuses bad input by field', async () => {
    const other = await t.request('GET', url('KETTLE/2L'), { token: readB });
    expect(other.status).toBe(200);
    expect(other.body.summary).toMatchObject({ units: 0, orders: 0, views: 0 });
    expect((await t.request('GET', url('KETTLE/2L'), { token: write })).status).toBe(403);
    expect((await t.request('GET', url('KETTLE/2L', 'tz=Nowhere/City'), { token: read })).body.error.code).toBe(
      'ANALYTICS_UNKNOWN_TIME_ZONE',
    );
    expect((await t.request('GET', url('KETTLE/2L', 'granularity=minute'), { token: read })).status).toBe(400);
    expect((await t.request('GET', url('KETTLE/2L', 'from=2000-01-01&to=2026-01-01&granularity=hour'), { token: read })).status).toBe(400);
    expect((await t.request('GET', url('x'.repeat(256)), { token: read })).status).toBe(400);
    const nul = await t.request('GET', url('a\u0000b'), { token: read });
    expect(nul.status).toBe(400);
    expect(nul.body.error).toMatchObject({ code: 'UNSAFE_TEXT', details: [{ field: 'itemId', location: 'path' }] });
    const lone = await t.request('GET', url('KETTLE/2L', 'tz=%ED%A0%80'), { token: read });
    expect(lone.status).toBe(400);
    expect((await t.request('GET', url('KETTLE/2L', 'from=2026-05-10&extra=1'), { token: read })).status).toBe(400);
  });
});
