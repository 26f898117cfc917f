import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryOne } from '../../platform/index.ts';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { startStripeServer, type StripeTestServer } from '../../../test/fakes/stripe-server.ts';

/** The races Medusa and Saleor users report, on whichever database LOUPE_TEST_DB names (PGlite or PostgreSQL). */
let t: TestApp;
let stripe: StripeTestServer;
let tenantId: string;
let owner: string;
let key: string;

beforeAll(async () => {
  stripe = await startStripeServer();
  t = await createTestApp({ STRIPE_API_URL: stripe.url });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (t.app.server.address() as { port: number }).port;
  const a = await t.createTenant('Race store');
  tenantId = a.tenantId;
  owner = a.ownerToken;
  key = await a.apiKey(['commerce:write']);
  const secret = stripe.addWebhookEndpoint(`http://127.0.0.1:${port}/api/v1/commerce/stripe/webhook/${tenantId}`);
  await t.request('PUT', '/api/v1/commerce/settings', {
    token: owner,
    body: { tax_rate_bp: 0, tax_inclusive: false, shipping_options: [], stripe_secret_key: 'sk_test_race', stripe_webhook_secret: secret },
  });
  await t.modules.catalog.upsertItems(tenantId, [
    { itemId: 'hot', name: 'Hot item', priceMinor: 3000n, currency: 'USD', stock: 50 },
    { itemId: 'last', name: 'Last unit', priceMinor: 9900n, currency: 'USD', stock: 1 },
    { itemId: 'promo', name: 'Promo item', priceMinor: 1000n, currency: 'USD' },
  ]);
}, 60_000);
afterAll(async () => {
  await t?.close();
  await stripe?.close();
});

const count = async (query: ReturnType<typeof sql>) => (await queryOne<{ n: number }>(t.database.db, query))!.n;
const add = (user: string, itemId: string, quantity = 1) =>
  t.request('POST', '/api/v1/cart/items', { token: key, body: { user_id: user, item_id: itemId, quantity } });
const complete = (cartId: string) =>
  t.request('POST', '/api/v1/cart/complete', { token: key, body: { cart_id: cartId, payment_method: 'pm_card_visa' } });

describe('checkout under concurrency', () => {
  it('100 parallel completions of one cart + 20 duplicate payment_intent.succeeded webhooks: one order, one capture, one stock decrement', async () => {
    const cart = (await add('racer', 'hot', 3)).body;
    const capturedBefore = stripe.counters.captured;
    const completions = Promise.all(Array.from({ length: 100 }, () => complete(cart.id)));
    // As soon as Stripe has sent the success event, deliver it 20 more times, concurrently with the completions.
    const webhooks = (async () => {
      for (let i = 0; i < 2000; i++) {
        const ev = stripe.events.find(
          (e) => e.type === 'payment_intent.succeeded' && (e.data.object as any).metadata?.loupe_cart_id === cart.id,
        );
        if (ev) return stripe.resend(ev.id, 20);
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error('no payment_intent.succeeded event');
    })();
    const [answers, statuses] = await Promise.all([completions, webhooks]);
    await stripe.drain();
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.every((a) => a.status === 200 || a.status === 201)).toBe(true);
    const orderIds = new Set(answers.map((a) => a.body.order.id));
    expect(orderIds.size).toBe(1);
    const [orderId] = [...orderIds];
    expect(await count(sql`SELECT count(*)::int AS n FROM orders WHERE tenant_id = ${tenantId} AND cart_id = ${cart.id}`)).toBe(1);
    expect(stripe.counters.captured - capturedBefore).toBe(1);
    expect(await count(sql`SELECT stock AS n FROM items WHERE tenant_id = ${tenantId} AND item_id = 'hot'`)).toBe(47);
    expect(
      await count(
        sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${tenantId} AND order_id = ${orderId} AND type = 'purchase'`,
      ),
    ).toBe(1);
    const detail = await t.request('GET', `/api/v1/orders/${orderId}`, { token: owner });
    expect(detail.body.status).toBe('paid');
    expect(detail.body.timeline.filter((e: any) => e.type === 'payment_captured')).toHaveLength(1);
  }, 120_000);

  it('two shoppers racing for the last unit: one order, the other a clear INSUFFICIENT_STOCK', async () => {
    const a = (await add('shopper-a', 'last')).body;
    const b = (await add('shopper-b', 'last')).body;
    const [ra, rb] = await Promise.all([complete(a.id), complete(b.id)]);
    const statuses = [ra.status, rb.status].sort();
    expect(statuses).toEqual([201, 409]);
    const loser = ra.status === 409 ? ra : rb;
    expect(loser.body.error.code).toBe('INSUFFICIENT_STOCK');
    expect(await count(sql`SELECT stock AS n FROM items WHERE tenant_id = ${tenantId} AND item_id = 'last'`)).toBe(0);
  }, 60_000);

  it('a promotion with a usage budget of 10 under 50 concurrent checkouts is used exactly 10 times', async () => {
    const promo = await t.request('POST', '/api/v1/promotions', {
      token: owner,
      body: { code: 'TEN', type: 'fixed', target: 'order', value: 100, currency: 'USD', usage_limit: 10 },
    });
    expect(promo.status).toBe(201);
    const carts: string[] = [];
    for (let i = 0; i < 50; i++) {
      const c = (await add(`promo-${i}`, 'promo')).body;
      const applied = await t.request('POST', '/api/v1/cart/promotions', { token: key, body: { cart_id: c.id, code: 'TEN' } });
      expect(applied.body.discount_total).toBe(100);
      carts.push(c.id);
    }
    const answers = await Promise.all(carts.map((id) => complete(id)));
    const won = answers.filter((a) => a.status === 201);
    expect(won).toHaveLength(10);
    expect(won.every((a) => a.body.order.discount_total === 100 && a.body.order.total === 900)).toBe(true);
    expect(answers.filter((a) => a.status === 409).every((a) => a.body.error.code === 'PROMOTION_USED_UP')).toBe(true);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(40);
    expect(await count(sql`SELECT usage_count AS n FROM promotions WHERE tenant_id = ${tenantId} AND id = ${promo.body.id}`)).toBe(10);
    const list = await t.request('GET', '/api/v1/promotions', { token: owner });
    expect(list.body.data.find((p: any) => p.code === 'TEN')).toMatchObject({ usage_count: 10, usage_limit: 10 });
    // A cart still holding the exhausted code says so on read.
    const loserCart = carts[answers.findIndex((a) => a.status === 409)]!;
    const read = await t.request('GET', `/api/v1/cart?cart_id=${loserCart}`, { token: key });
    expect(read.body.refused_promotions).toEqual([{ code: 'TEN', reason: 'has been used up' }]);
    // An exhausted code is refused clearly when applied.
    const late = (await add('promo-late', 'promo')).body;
    const refused = await t.request('POST', '/api/v1/cart/promotions', { token: key, body: { cart_id: late.id, code: 'TEN' } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('used up');
  }, 120_000);

  it('a promotion with a spend budget of 1,000 (100 off each) under 50 concurrent checkouts gives exactly 1,000', async () => {
    const promo = await t.request('POST', '/api/v1/promotions', {
      token: owner,
      body: { code: 'SPEND', type: 'fixed', target: 'order', value: 100, currency: 'USD', budget: 1000 },
    });
    expect(promo.status, JSON.stringify(promo.body)).toBe(201);
    const carts: string[] = [];
    for (let i = 0; i < 50; i++) {
      const c = (await add(`spend-${i}`, 'promo')).body;
      await t.request('POST', '/api/v1/cart/promotions', { token: key, body: { cart_id: c.id, code: 'SPEND' } });
      carts.push(c.id);
    }
    const answers = await Promise.all(carts.map((id) => complete(id)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(10);
    const lost = answers.filter((a) => a.status !== 201);
    expect(lost).toHaveLength(40);
    expect(lost.every((a) => a.body.error.code === 'PROMOTION_USED_UP')).toBe(true);
    const list = await t.request('GET', '/api/v1/promotions', { token: owner });
    expect(list.body.data.find((p: any) => p.code === 'SPEND')).toMatchObject({ budget: 1000, budget_used: 1000, usage_count: 10 });
    const loser = carts[answers.findIndex((a) => a.status !== 201)]!;
    const read = await t.request('GET', `/api/v1/cart?cart_id=${loser}`, { token: key });
    expect(read.body.refused_promotions).toEqual([{ code: 'SPEND', reason: 'has spent its budget' }]);
  }, 120_000);

  it('a declined payment gives the promotion its spend back', async () => {
    const promo = await t.request('POST', '/api/v1/promotions', {
      token: owner,
      body: { code: 'BACK', type: 'percentage', target: 'order', value: 1500, currency: 'USD', budget: 500 },
    });
    const c = (await add('declined-spender', 'promo', 2)).body;
    const applied = await t.request('POST', '/api/v1/cart/promotions', { token: key, body: { cart_id: c.id, code: 'BACK' } });
    expect(applied.body.discount_total).toBe(300);
    const r = await t.request('POST', '/api/v1/cart/complete', {
      token: key,
      body: { cart_id: c.id, payment_method: 'pm_card_chargeDeclined' },
    });
    expect(r.body.error.code).toBe('PAYMENT_FAILED');
    expect(
      await count(sql`SELECT budget_used_minor::int AS n FROM promotions WHERE tenant_id = ${tenantId} AND id = ${promo.body.id}`),
    ).toBe(0);
    // A budget smaller than the cart's discount refuses the checkout rather than overspending.
    const small = await t.request('POST', '/api/v1/promotions', {
      token: owner,
      body: { code: 'TINY', type: 'fixed', target: 'order', value: 100, currency: 'USD', budget: 50 },
    });
    expect(small.status).toBe(201);
    const d = (await add('tiny-spender', 'promo')).body;
    await t.request('POST', '/api/v1/cart/promotions', { token: key, body: { cart_id: d.id, code: 'TINY' } });
    expect((await complete(d.id)).body.error.code).toBe('PROMOTION_USED_UP');
    // Bad budgets are refused.
    for (const body of [
      { code: 'B1', type: 'fixed', target: 'order', value: 1, currency: 'USD', budget: 0 },
      { code: 'B2', type: 'percentage', target: 'order', value: 1, budget: 10 },
      { code: 'B3', type: 'fixed', target: 'order', value: 1, currency: 'USD', budget: 1e300 },
      { code: 'B4', type: 'fixed', target: 'order', value: 1, currency: 'USD', max_applications: 2 },
    ])
      expect((await t.request('POST', '/api/v1/promotions', { token: owner, body })).status, JSON.stringify(body)).toBe(400);
  }, 60_000);
});
