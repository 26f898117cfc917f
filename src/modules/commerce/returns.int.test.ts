import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryOne } from '../../platform/index.ts';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { startStripeServer, type StripeTestServer } from '../../../test/fakes/stripe-server.ts';

/** Returns of paid orders through the API: refund share, restock, never twice, concurrency, other tenants, bad input. */
let t: TestApp;
let stripe: StripeTestServer;
let tenantId: string;
let owner: string;
let key: string;
let otherOwner: string;

beforeAll(async () => {
  stripe = await startStripeServer();
  t = await createTestApp({ STRIPE_API_URL: stripe.url });
  const a = await t.createTenant('Returns store');
  tenantId = a.tenantId;
  owner = a.ownerToken;
  key = await a.apiKey(['commerce:write']);
  otherOwner = (await t.createTenant('Other returns store')).ownerToken;
  await t.request('PUT', '/api/v1/commerce/settings', {
    token: owner,
    body: { tax_rate_bp: 0, tax_inclusive: false, shipping_options: [], stripe_secret_key: 'sk_test_returns' },
  });
  await t.modules.catalog.upsertItems(tenantId, [
    { itemId: 'lamp', name: 'Lamp', priceMinor: 5000n, currency: 'USD', stock: 100 },
    { itemId: 'cup', name: 'Cup', priceMinor: 1000n, currency: 'USD', stock: 100 },
  ]);
}, 60_000);
afterAll(async () => {
  await t?.close();
  await stripe?.close();
});

async function order(user: string, lines: [string, number][]) {
  let cartId = '';
  for (const [item, quantity] of lines)
    cartId = (await t.request('POST', '/api/v1/cart/items', { token: key, body: { user_id: user, item_id: item, quantity } })).body.id;
  const done = await t.request('POST', '/api/v1/cart/complete', { token: key, body: { cart_id: cartId, payment_method: 'pm_card_visa' } });
  expect(done.status).toBe(201);
  return done.body.order as { id: string; total: number };
}
const ret = (orderId: string, body: unknown, token = owner, headers: Record<string, string> = {}) =>
  t.request('POST', `/api/v1/orders/${orderId}/returns`, { token, body, headers });
const stockOf = async (itemId: string) =>
  (await queryOne<{ stock: number }>(t.database.db, sql`SELECT stock FROM items WHERE tenant_id = ${tenantId} AND item_id = ${itemId}`))!
    .stock;

describe('returns', () => {
  it('returns units in parts: each refunds its share, restocks, and the whole line comes back exactly once', async () => {
    const o = await order('ann', [
      ['lamp', 3],
      ['cup', 1],
    ]);
    const before = await stockOf('lamp');
    const one = await ret(o.id, { items: [{ item_id: 'lamp', quantity: 1 }], reason: 'broken' });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ status: 'partially_refunded', refunded_total: 5000 });
    expect(one.body.timeline.at(-1)).toMatchObject({
      type: 'returned',
      amount: 5000,
      detail: { items: [{ item_id: 'lamp', quantity: 1 }], restocked: true },
    });
    expect(await stockOf('lamp')).toBe(before + 1);

    const tooMany = await ret(o.id, { items: [{ item_id: 'lamp', quantity: 3 }] });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.code).toBe('RETURN_INVALID');

    const rest = await ret(o.id, {
      items: [
        { item_id: 'lamp', quantity: 2 },
        { item_id: 'cup', quantity: 1 },
      ],
      restock: false,
    });
    expect(rest.body).toMatchObject({ status: 'refunded', refunded_total: 16000 });
    expect(await stockOf('lamp')).toBe(before + 1); // not restocked this time
    expect((await ret(o.id, { items: [{ item_id: 'cup', quantity: 1 }] })).body.error.code).toBe('RETURN_INVALID');
  });

  it('concurrent returns of the last unit: one refund, one restock', async () => {
    const o = await order('ben', [['cup', 1]]);
    const before = await stockOf('cup');
    const answers = await Promise.all(Array.from({ length: 6 }, () => ret(o.id, { items: [{ item_id: 'cup', quantity: 1 }] })));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 200))
      expect(['ORDER_CHANGED', 'RETURN_INVALID', 'ORDER_NOT_REFUNDABLE']).toContain(a.body.error.code);
    expect(await stockOf('cup')).toBe(before + 1);
    const d = await t.request('GET', `/api/v1/orders/${o.id}`, { token: owner });
    expect(d.body.refunded_total).toBe(1000);
    expect(d.body.timeline.filter((e: any) => e.type === 'returned')).toHaveLength(1);
  });

  it('an Idempotency-Key replays the first answer: one refund', async () => {
    const o = await order('cat', [['cup', 2]]);
    const body = { items: [{ item_id: 'cup', quantity: 1 }] };
    const a = await ret(o.id, body, owner, { 'idempotency-key': 'ret-1' });
    const b = await ret(o.id, body, owner, { 'idempotency-key': 'ret-1' });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body.refunded_total).toBe(1000);
    const other = await ret(o.id, { items: [{ item_id: 'cup', quantity: 2 }] }, owner, { 'idempotency-key': 'ret-1' });
    expect(other.status).toBe(400);
    expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it("records each line's reason and restocks only the lines that go back on the shelf", async () => {
    const o = await order('eve', [
      ['lamp', 2],
      ['cup', 2],
    ]);
    const [lampBefore, cupBefore] = [await stockOf('lamp'), await stockOf('cup')];
    const r = await ret(o.id, {
      items: [
        { item_id: 'lamp', quantity: 1, reason: 'damaged', restock: false },
        { item_id: 'cup', quantity: 2, reason: 'no_longer_needed' },
      ],
      reason: 'box crushed in transit',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect([await stockOf('lamp'), await stockOf('cup')]).toEqual([lampBefore, cupBefore + 2]);
    const entry = r.body.timeline.find((e: { type: string }) => e.type === 'returned');
    expect(entry.detail).toEqual({
      items: [
        { item_id: 'lamp', quantity: 1, reason: 'damaged', restocked: false },
        { item_id: 'cup', quantity: 2, reason: 'no_longer_needed', restocked: true },
      ],
      restocked: false,
      reason: 'box crushed in transit',
      // This store charges no shipping: nothing of it to refund.
      items_refunded: '7000',
      shipping_refunded: '0',
    });
    // A return that keeps nothing: restock false for the whole return, a line may still put its units back.
    const two = await ret(o.id, { items: [{ item_id: 'lamp', quantity: 1, reason: 'wrong_item', restock: true }], restock: false });
    expect(two.status).toBe(200);
    expect(await stockOf('lamp')).toBe(lampBefore + 1);
    for (const bad of [{ reason: 'because' }, { reason: '' }, { restock: 'no' }, { reason: 'damaged\u0000' }])
      expect((await ret(o.id, { items: [{ item_id: 'cup', quantity: 1, ...bad }] })).status, JSON.stringify(bad)).toBe(400);
  });

  it("refuses bad input, an unknown item and another tenant's order, changing nothing", async () => {
    const o = await order('dan', [['cup', 1]]);
    for (const body of [
      { items: [] },
      { items: [{ item_id: 'cup', quantity: 0 }] },
      { items: [{ item_id: 'cup', quantity: 1e9 }] },
      { items: [{ item_id: 'cup', quantity: 1.5 }] },
      { items: [{ item_id: 'cup', quantity: 1, extra: true }] },
      { items: [{ item_id: 'cup', quantity: 1 }], restock: 'yes' },
    ])
      expect((await ret(o.id, body)).status).toBe(400);
    const dup = await ret(o.id, {
      items: [
        { item_id: 'cup', quantity: 1 },
        { item_id: 'cup', quantity: 1 },
      ],
    });
    expect(dup.body.error.code).toBe('RETURN_INVALID');
    expect((await ret(o.id, { items: [{ item_id: 'lamp', quantity: 1 }] })).body.error.code).toBe('RETURN_INVALID');
    expect((await ret(o.id, { items: [{ item_id: 'cup', quantity: 1 }] }, otherOwner)).status).toBe(404);
    expect((await ret(o.id, { items: [{ item_id: 'cup', quantity: 1 }] }, key)).status).toBe(403);
    const d = await t.request('GET', `/api/v1/orders/${o.id}`, { token: owner });
    expect(d.body).toMatchObject({ status: 'paid', refunded_total: 0 });
  });
});

describe('return shipping', () => {
  it('JPY: a damaged unit refunds its share and the shipping once (merchant pays the label); a change of mind pays its label; exact yen', async () => {
    const yen = await t.createTenant('Yen store');
    await t.request('PUT', '/api/v1/commerce/settings', {
      token: yen.ownerToken,
      body: {
        tax_rate_bp: 0,
        tax_inclusive: false,
        shipping_options: [{ id: 'post', name: 'Post', amount: 800, currency: 'JPY' }],
        stripe_secret_key: 'sk_test_yen',
      },
    });
    await t.modules.catalog.upsertItems(yen.tenantId, [{ itemId: 'bowl', name: 'Bowl', priceMinor: 1500n, currency: 'JPY', stock: 50 }]);
    const k = await yen.apiKey(['commerce:write']);
    const cartId = (await t.request('POST', '/api/v1/cart/items', { token: k, body: { user_id: 'yoko', item_id: 'bowl', quantity: 3 } }))
      .body.id;
    expect(
      (await t.request('POST', '/api/v1/cart/shipping', { token: k, body: { cart_id: cartId, shipping_option_id: 'post' } })).status,
    ).toBe(200);
    const done = await t.request('POST', '/api/v1/cart/complete', { token: k, body: { cart_id: cartId, payment_method: 'pm_card_visa' } });
    expect(done.body.order).toMatchObject({ total: 5300, shipping_total: 800, currency_code: 'JPY' });
    const id = done.body.order.id as string;
    const back = (body: unknown, token = yen.ownerToken) => t.request('POST', `/api/v1/orders/${id}/returns`, { token, body });

    // Bad input and another tenant change nothing.
    for (const bad of [
      { items: [{ item_id: 'bowl', quantity: 1 }], return_shipping: { amount: -1 } },
      { items: [{ item_id: 'bowl', quantity: 1 }], return_shipping: { amount: 1e20 } },
      { items: [{ item_id: 'bowl', quantity: 1 }], return_shipping: { amount: 1.5 } },
      { items: [{ item_id: 'bowl', quantity: 1 }], return_shipping: { amount: 100, paid_by: 'nobody' } },
      { items: [{ item_id: 'bowl', quantity: 1 }], refund_shipping: 'maybe' },
    ])
      expect((await back(bad)).status).toBe(400);
    expect((await back({ items: [{ item_id: 'bowl', quantity: 1 }] }, owner)).status).toBe(404);

    const r1 = await back({ items: [{ item_id: 'bowl', quantity: 1, reason: 'damaged' }], return_shipping: { amount: 600 } });
    expect(r1.status).toBe(200);
    expect(r1.body).toMatchObject({ refunded_total: 2300, shipping_refunded_total: 800 });
    const e1 = r1.body.timeline.find((e: { type: string }) => e.type === 'returned');
    expect(e1.detail).toMatchObject({
      shipping_refunded: '800',
      items_refunded: '1500',
      return_shipping: { paid_by: 'merchant', deducted: '0' },
    });

    // The rest, for a change of mind: the customer's label comes off; the shipping is not refunded twice.
    const r2 = await back({ items: [{ item_id: 'bowl', quantity: 2, reason: 'no_longer_needed' }], return_shipping: { amount: 600 } });
    expect(r2.body).toMatchObject({ refunded_total: 4700, shipping_refunded_total: 800, status: 'partially_refunded' });
    const e2 = r2.body.timeline.filter((e: { type: string }) => e.type === 'returned').at(-1);
    expect(e2.detail).toMatchObject({ shipping_refunded: '0', return_shipping: { amount: '600', paid_by: 'customer', deducted: '600' } });
    expect(e2.amount).toBe(2400);
  });
});
