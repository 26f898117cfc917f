import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { signHmacSha256Base64 } from '../events/connectors/signatures.core.ts';

/**
 * Events that reached Loupe through its connectors count as experiment metrics without a second call: a Shopify
 * order (signed webhook, orders/create then orders/paid) and a Segment track land in an experiment's report
 * through metrics defined with `sources`; tracked-only metrics do not see them; events before a unit's exposure,
 * of other channels or of another tenant do not count.
 */
describe('connector events as experiment metrics', () => {
  let t: TestApp;
  let a: Awaited<ReturnType<TestApp['createTenant']>>;
  let b: Awaited<ReturnType<TestApp['createTenant']>>;
  let key: string;
  let bKey: string;
  let experimentId: string;
  const secret = 'shpss_experiments_0123';
  let shopifyUrl = '';

  const order = (id: number, customer: number, at: string) =>
    JSON.stringify({
      id,
      currency: 'USD',
      processed_at: at,
      customer: { id: customer, email: `c${customer}@shop.example` },
      line_items: [
        { id: id * 10 + 1, product_id: 501, price: '10.00', quantity: 2 },
        { id: id * 10 + 2, product_id: 502, price: '5.50', quantity: 1 },
      ],
    });
  const deliver = async (raw: string, webhookId: string, topic = 'orders/create') =>
    (
      await t.app.inject({
        method: 'POST',
        url: shopifyUrl,
        payload: raw,
        headers: {
          'content-type': 'application/json',
          'x-shopify-topic': topic,
          'x-shopify-hmac-sha256': signHmacSha256Base64(secret, raw),
          'x-shopify-shop-domain': 'exp-shop.myshopify.com',
          'x-shopify-webhook-id': webhookId,
          'x-shopify-api-version': '2024-07',
        },
      })
    ).statusCode;
  const basic = (k: string) => ({ authorization: `Basic ${Buffer.from(`${k}:`).toString('base64')}` });
  const report = async () => (await t.request('GET', `/api/v1/admin/experiments/${experimentId}/report?refresh=true`, { token: key })).body;
  const sumOf = (r: any, metric: string) => {
    const m = r.metrics.find((x: { name: string }) => x.name === metric);
    return [m.control, ...m.variants].reduce((s: number, v: { mean: number; n: number }) => s + v.mean * v.n, 0);
  };

  beforeAll(async () => {
    t = await createTestApp();
    a = await t.createTenant('Connector shop');
    b = await t.createTenant('Other shop');
    key = await a.apiKey(['interactions:write', 'analytics:read', 'experiments:manage']);
    bKey = await b.apiKey(['interactions:write']);
    const c = await t.request('POST', '/api/v1/integrations', {
      token: a.ownerToken,
      body: { type: 'shopify', name: 'Shop', settings: { shop_domain: 'exp-shop.myshopify.com' }, secret },
    });
    expect(c.status).toBe(201);
    shopifyUrl = `/api/v1/webhooks/shopify/${c.body.id}`;
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('refuses bad sources in plain words', async () => {
    const metric = { name: 'orders', type: 'binomial', event: 'purchase' };
    for (const sources of [
      [],
      ['Shopify'],
      ['shop\u0000ify'],
      ['\ud800'],
      ['shopify', 'shopify'],
      Array.from({ length: 11 }, (_, i) => `s${i}`),
      'shopify',
      [1],
    ]) {
      const r = await t.request('POST', '/api/v1/admin/experiments', {
        token: key,
        body: { name: 'Bad', metrics: [{ ...metric, sources }] },
      });
      expect({ sources, status: r.status }).toEqual({ sources, status: 400 });
    }
  });

  it('counts Shopify orders (once per order, revenue in the experiment currency) and Segment tracks in the report', async () => {
    const created = await t.request('POST', '/api/v1/admin/experiments', {
      token: key,
      body: {
        key: 'checkout_copy',
        name: 'Checkout copy',
        primary_metric: 'orders',
        variants: [{ key: 'control' }, { key: 'short' }],
        metrics: [
          { name: 'orders', type: 'binomial', event: 'purchase', sources: ['shopify'] },
          { name: 'shopify_revenue', type: 'mean', event: 'purchase', value: 'value', sources: ['shopify'] },
          { name: 'signups', type: 'binomial', event: 'signed_up', sources: ['segment', 'api'] },
          { name: 'tracked_purchases', type: 'binomial', event: 'purchase' },
        ],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.metrics[0]).toMatchObject({ name: 'orders', sources: ['shopify'] });
    expect(created.body.metrics[3].sources).toBeNull();
    experimentId = created.body.id;
    expect((await t.request('POST', `/api/v1/admin/experiments/${experimentId}/start`, { token: key })).status).toBe(200);

    // An order placed before anyone was exposed does not count.
    expect(await deliver(order(100, 9001, '2020-01-01T00:00:00Z'), 'old-1')).toBe(200);
    for (let i = 0; i < 20; i++) {
      const r = await t.request('POST', '/api/v1/experiments/assign', { token: key, body: { user_id: String(9000 + i) } });
      expect(r.body.assignments[0].in_experiment).toBe(true);
    }
    const now = new Date().toISOString();
    // 6 customers order (one of them twice); every order is delivered as orders/create and again as orders/paid.
    const orders: [number, number][] = [
      [1, 9001],
      [2, 9002],
      [3, 9003],
      [4, 9004],
      [5, 9005],
      [6, 9006],
      [7, 9006],
    ];
    for (const [id, customer] of orders) {
      expect(await deliver(order(id, customer, now), `create-${id}`)).toBe(200);
      expect(await deliver(order(id, customer, now), `paid-${id}`, 'orders/paid')).toBe(200);
    }
    // a customer outside the experiment
    expect(await deliver(order(50, 7777, now), 'create-50')).toBe(200);
    // Segment: 4 signups of exposed users, one signup of an outsider
    for (const u of ['9010', '9011', '9012', '9013', 'outsider'])
      expect(
        (await t.request('POST', '/v1/track', { headers: basic(key), body: { userId: u, event: 'Signed Up', messageId: `su-${u}` } }))
          .status,
      ).toBe(200);
    // Another tenant's events for the same ids never reach this tenant's report.
    for (const u of ['9014', '9015'])
      expect(
        (await t.request('POST', '/v1/track', { headers: basic(bKey), body: { userId: u, event: 'Signed Up', messageId: `b-${u}` } }))
          .status,
      ).toBe(200);

    const r = await report();
    expect(r.units.reduce((s: number, u: { n: number }) => s + u.n, 0)).toBe(20);
    expect(sumOf(r, 'orders')).toBeCloseTo(6, 9); // six customers converted (9006 twice: one unit)
    expect(sumOf(r, 'shopify_revenue')).toBeCloseTo(7 * 25.5, 6); // 2 × 10.00 + 5.50 per order, each order once
    expect(sumOf(r, 'signups')).toBeCloseTo(4, 9);
    expect(sumOf(r, 'tracked_purchases')).toBe(0);
  });

  it('keeps tenants apart: the other tenant cannot read the report', async () => {
    const other = await b.apiKey(['analytics:read', 'experiments:manage']);
    expect((await t.request('GET', `/api/v1/admin/experiments/${experimentId}/report`, { token: other })).status).toBe(404);
  });
});
