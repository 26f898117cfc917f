import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryOne } from '../../platform/index.ts';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { startStripeServer, stripeSignatureHeader, type StripeTestServer } from '../../../test/fakes/stripe-server.ts';

/**
 * Issue 14 leftovers through the API, against the local Stripe-protocol server:
 * - promotion rules on customer segments (predictions' scored RFM segment of the shopper's profile, read through
 *   the port wired in src/app.ts): only shoppers in the segment get it, in the cart and at checkout; another
 *   tenant's score of the same user id counts for nothing;
 * - a budgeted promotion whose discount would exceed what its budget has left shows as refused in the cart (no
 *   discount shown) and checkout refuses the code; an automatic one is simply not applied;
 * - the stock reservation TTL is a tenant setting (and the most a storefront may ask for);
 * - a refund made in Stripe's Dashboard (`charge.refunded`) is reflected on the order once, however many times the
 *   event arrives, and the echo of Loupe's own refund changes nothing.
 */
let t: TestApp;
let stripe: StripeTestServer;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let keyA: string;
let keyB: string;
let secretA: string;

const settings = (webhookSecret?: string, extra: Record<string, unknown> = {}) => ({
  tax_rate_bp: 0,
  tax_inclusive: false,
  shipping_options: [],
  stripe_secret_key: 'sk_test_rules',
  ...(webhookSecret ? { stripe_webhook_secret: webhookSecret } : {}),
  ...extra,
});

beforeAll(async () => {
  stripe = await startStripeServer();
  t = await createTestApp({ STRIPE_API_URL: stripe.url });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (t.app.server.address() as { port: number }).port;
  A = await t.createTenant('Rules store');
  B = await t.createTenant('Other rules store');
  keyA = await A.apiKey(['commerce:write']);
  keyB = await B.apiKey(['commerce:write']);
  const secret = (secretA = stripe.addWebhookEndpoint(`http://127.0.0.1:${port}/api/v1/commerce/stripe/webhook/${A.tenantId}`));
  expect((await t.request('PUT', '/api/v1/commerce/settings', { token: A.ownerToken, body: settings(secret) })).status).toBe(200);
  expect((await t.request('PUT', '/api/v1/commerce/settings', { token: B.ownerToken, body: settings() })).status).toBe(200);
  for (const tenant of [A, B])
    await t.modules.catalog.upsertItems(tenant.tenantId, [
      { itemId: 'lamp', name: 'Lamp', priceMinor: 5000n, currency: 'USD', stock: 50 },
      { itemId: 'mug', name: 'Mug', priceMinor: 1000n, currency: 'USD' },
    ]);
}, 60_000);
afterAll(async () => {
  await t?.close();
  await stripe?.close();
});

const add = (user: string, item: string, quantity = 1, key = keyA) =>
  t.request('POST', '/api/v1/cart/items', { token: key, body: { user_id: user, item_id: item, quantity } });
const apply = (user: string, code: string, key = keyA) =>
  t.request('POST', '/api/v1/cart/promotions', { token: key, body: { user_id: user, code } });
const cartOf = (user: string, key = keyA) => t.request('GET', `/api/v1/cart?user_id=${encodeURIComponent(user)}`, { token: key });
const complete = (cartId: string, key = keyA) =>
  t.request('POST', '/api/v1/cart/complete', { token: key, body: { cart_id: cartId, payment_method: 'pm_card_visa' } });
const promotion = (body: Record<string, unknown>, token = A.ownerToken) => t.request('POST', '/api/v1/promotions', { token, body });

/** What predictions' training writes for a scored profile (the columns segment rules read). */
async function score(tenantId: string, userId: string, segment: string) {
  const [profileId] = await t.modules.identity.resolveMany(tenantId, [
    { identifiers: [{ type: 'user_id', value: userId }], channel: 'api', occurredAt: new Date() },
  ]);
  await t.database.db.execute(
    sql`INSERT INTO prediction_scores (tenant_id, profile_id, rfm_r, rfm_f, rfm_m, segment, scored_at)
        VALUES (${tenantId}, ${profileId}, 5, 5, 5, ${segment}, now())`,
  );
}

describe('promotion rules on customer segments', () => {
  it('only shoppers scored in the segment get it, in the cart and at checkout; unscored and other tenants get nothing', async () => {
    const code = await promotion({ code: 'CHAMPS20', type: 'percentage', target: 'items', value: 2000, target_segments: ['champions'] });
    expect(code.status, JSON.stringify(code.body)).toBe(201);
    expect(code.body.target_segments).toEqual(['champions']);
    const auto = await promotion({
      automatic: true,
      type: 'fixed',
      currency: 'USD',
      target: 'order',
      value: 300,
      target_segments: ['loyal'],
    });
    expect(auto.status).toBe(201);

    await score(A.tenantId, 'seg-champ', 'champions');
    await score(A.tenantId, 'seg-loyal', 'loyal');
    await score(A.tenantId, 'seg-risk', 'at_risk');
    // Tenant B scores a user of the same id as a champion: that says nothing about tenant A's shopper.
    await score(B.tenantId, 'seg-new', 'champions');

    await add('seg-champ', 'lamp');
    const champ = await apply('seg-champ', 'CHAMPS20');
    expect(champ.status, JSON.stringify(champ.body)).toBe(200);
    expect(champ.body).toMatchObject({ discount_total: 1000, total: 4000, refused_promotions: [] });

    // The automatic loyal-only promotion reaches the loyal shopper and nobody else.
    expect((await add('seg-loyal', 'lamp')).body).toMatchObject({ discount_total: 300, total: 4700 });
    expect((await add('seg-risk', 'lamp')).body).toMatchObject({ discount_total: 0, total: 5000 });

    for (const user of ['seg-risk', 'seg-new', 'seg-unscored']) {
      await add(user, 'lamp');
      const r = await apply(user, 'CHAMPS20');
      expect(r.status, user).toBe(409);
      expect(r.body.error).toMatchObject({ code: 'PROMOTION_NOT_APPLICABLE' });
      expect(r.body.error.message).toContain('is for selected customers only');
      expect((await cartOf(user)).body.discount_total).toBe(0);
    }

    // Checkout gives the champion exactly what the cart showed.
    const paid = await complete(champ.body.id);
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    expect(paid.body.order).toMatchObject({ status: 'paid', discount_total: 1000, total: 4000 });

    // A shopper who drops out of the segment loses the code at the next read; checkout refuses it until removed.
    await add('seg-champ', 'mug');
    await apply('seg-champ', 'CHAMPS20');
    await t.database.db.execute(sql`UPDATE prediction_scores SET segment = 'hibernating' WHERE tenant_id = ${A.tenantId}
      AND profile_id = (SELECT profile_id FROM profile_identifiers WHERE tenant_id = ${A.tenantId} AND value = 'seg-champ' LIMIT 1)`);
    const dropped = await cartOf('seg-champ');
    expect(dropped.body).toMatchObject({
      discount_total: 0,
      refused_promotions: [{ code: 'CHAMPS20', reason: 'is for selected customers only' }],
    });
    const refused = await complete(dropped.body.id);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('PROMOTION_NOT_APPLICABLE');
  });

  it('refuses malformed segment rules', async () => {
    for (const target_segments of [[], [''], ['x'.repeat(101)], ['a\u0000b'], Array.from({ length: 51 }, (_, i) => `s${i}`), 'champions'])
      expect(
        (
          await promotion({
            code: `SEG${Math.random().toString(36).slice(2, 8)}`,
            type: 'percentage',
            target: 'items',
            value: 100,
            target_segments,
          })
        ).status,
      ).toBe(400);
  });
});

describe('budgeted promotions the cart can no longer give', () => {
  it('a code whose discount would exceed the budget left shows as refused, with no discount; checkout refuses it', async () => {
    const p = await promotion({ code: 'BUDGET15', type: 'fixed', currency: 'USD', target: 'order', value: 1500, budget: 2000 });
    expect(p.status).toBe(201);
    await add('budget-1', 'mug', 3);
    const first = await apply('budget-1', 'BUDGET15');
    expect(first.body).toMatchObject({ discount_total: 1500, refused_promotions: [] });
    expect((await complete(first.body.id)).status).toBe(201);
    // 500 of the 2000 left: this cart's 1500 would overspend it. The cart says so instead of showing the discount.
    await add('budget-2', 'mug', 3);
    const second = await apply('budget-2', 'BUDGET15');
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body).toMatchObject({
      discount_total: 0,
      total: 3000,
      promotions: [],
      refused_promotions: [{ code: 'BUDGET15', reason: 'has not enough budget left for this cart' }],
    });
    const refused = await complete(second.body.id);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('PROMOTION_USED_UP');
    const left = await t.request('GET', '/api/v1/promotions', { token: A.ownerToken });
    expect(left.body.data.find((x: any) => x.code === 'BUDGET15')).toMatchObject({ usage_count: 1, budget_used: 1500 });
  });

  it('an automatic budgeted promotion is left out once this cart would overspend it, and checkout goes through without it', async () => {
    const auto = await promotion({
      automatic: true,
      type: 'fixed',
      currency: 'USD',
      target: 'items',
      value: 800,
      budget: 1000,
      target_item_ids: ['mug'],
    });
    expect(auto.status).toBe(201);
    const a = await add('auto-1', 'mug');
    expect(a.body.discount_total).toBe(800);
    expect((await complete(a.body.id)).status).toBe(201);
    const b = await add('auto-2', 'mug');
    expect(b.body).toMatchObject({ discount_total: 0, total: 1000, promotions: [] });
    const paid = await complete(b.body.id);
    expect(paid.status).toBe(201);
    expect(paid.body.order).toMatchObject({ discount_total: 0, total: 1000 });
    await t.request('POST', `/api/v1/promotions/${auto.body.id}/deactivate`, { token: A.ownerToken });
  });
});

describe('reservation TTL as a tenant setting', () => {
  it("holds for the tenant's TTL, never longer than it; the setting is validated and kept when omitted", async () => {
    const get = await t.request('GET', '/api/v1/commerce/settings', { token: B.ownerToken });
    expect(get.body.reservation_ttl_seconds).toBe(900);
    const put = await t.request('PUT', '/api/v1/commerce/settings', {
      token: B.ownerToken,
      body: settings(undefined, { reservation_ttl_seconds: 120 }),
    });
    expect(put.status).toBe(200);
    expect(put.body.reservation_ttl_seconds).toBe(120);
    for (const bad of [0, 59, 3601, 1.5, '600'])
      expect(
        (
          await t.request('PUT', '/api/v1/commerce/settings', {
            token: B.ownerToken,
            body: settings(undefined, { reservation_ttl_seconds: bad }),
          })
        ).status,
      ).toBe(400);
    // Omitted: kept.
    expect(
      (await t.request('PUT', '/api/v1/commerce/settings', { token: B.ownerToken, body: settings() })).body.reservation_ttl_seconds,
    ).toBe(120);
    // Tenant A is untouched.
    expect((await t.request('GET', '/api/v1/commerce/settings', { token: A.ownerToken })).body.reservation_ttl_seconds).toBe(900);

    const cart = (await add('ttl-1', 'lamp', 1, keyB)).body;
    const seconds = async (body: Record<string, unknown>) => {
      const r = await t.request('POST', '/api/v1/cart/reservation', { token: keyB, body: { cart_id: cart.id, ...body } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return Math.round((Date.parse(r.body.expires_at) - Date.now()) / 1000);
    };
    expect(Math.abs((await seconds({})) - 120)).toBeLessThanOrEqual(5);
    expect(Math.abs((await seconds({ ttl_seconds: 60 })) - 60)).toBeLessThanOrEqual(5);
    // A storefront asking for longer than the store allows gets the store's TTL.
    expect(Math.abs((await seconds({ ttl_seconds: 3600 })) - 120)).toBeLessThanOrEqual(5);
  });
});

describe("refunds made in Stripe's Dashboard (charge.refunded)", () => {
  const orderRow = async (id: string) => {
    const body = (await t.request('GET', `/api/v1/orders/${id}`, { token: A.ownerToken })).body;
    return {
      order: body as { status: string; refunded_total: number; paid_total: number },
      timeline: body.timeline as { type: string; amount: number | null }[],
    };
  };
  const refundEvents = async (orderId: string) =>
    (await queryOne<{ n: number; s: string }>(
      t.database.db,
      sql`SELECT count(*)::int AS n, coalesce(sum(price_minor), 0)::text AS s FROM interactions
          WHERE tenant_id = ${A.tenantId} AND order_id = ${orderId} AND type = 'refund'`,
    ))!;

  it('are reflected on the order once, however often the event arrives; the echo of our own refund changes nothing', async () => {
    const cart = (await add('dash-1', 'lamp', 2)).body;
    const paid = (await complete(cart.id)).body.order;
    await stripe.drain();
    const pi = [...stripe.paymentIntents.values()].find((p) => p.metadata.loupe_order_id === paid.id)!;

    // Partial refund in the Dashboard, the event delivered once, then 5 more times at once.
    stripe.refundFromDashboard(pi.id, 3000);
    await stripe.drain();
    const event = stripe.events.filter((e) => e.type === 'charge.refunded').at(-1)!;
    expect((await stripe.resend(event.id, 5)).every((s) => s === 200)).toBe(true);
    let o = await orderRow(paid.id);
    expect(o.order).toMatchObject({ status: 'partially_refunded', refunded_total: 3000 });
    expect(o.timeline.filter((e) => e.type === 'refunded').map((e) => e.amount)).toEqual([3000]);
    expect(await refundEvents(paid.id)).toEqual({ n: 1, s: '3000' });

    // Loupe's own refund of 2000 through the API: Stripe echoes charge.refunded (cumulative 5000): nothing more.
    const own = await t.request('POST', `/api/v1/orders/${paid.id}/refunds`, { token: A.ownerToken, body: { amount: 2000 } });
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    await stripe.drain();
    o = await orderRow(paid.id);
    expect(o.order).toMatchObject({ status: 'partially_refunded', refunded_total: 5000 });
    expect(o.timeline.filter((e) => e.type === 'refunded').map((e) => e.amount)).toEqual([3000, 2000]);
    expect(await refundEvents(paid.id)).toEqual({ n: 2, s: '5000' });

    // The rest in the Dashboard: fully refunded; an old (smaller) cumulative event arriving late changes nothing.
    stripe.refundFromDashboard(pi.id);
    await stripe.drain();
    expect((await stripe.resend(event.id, 2)).every((s) => s === 200)).toBe(true);
    o = await orderRow(paid.id);
    expect(o.order).toMatchObject({ status: 'refunded', refunded_total: o.order.paid_total });
    expect(o.timeline.filter((e) => e.type === 'refunded').map((e) => e.amount)).toEqual([3000, 2000, 5000]);
    expect(await refundEvents(paid.id)).toEqual({ n: 3, s: '10000' });
    // A refund larger than paid is refused through the API (the Dashboard cannot make one either).
    expect((await t.request('POST', `/api/v1/orders/${paid.id}/refunds`, { token: A.ownerToken, body: { amount: 1 } })).status).toBe(409);
  });
});

describe('bad input and where orders go', () => {
  it('an expired promotion code is refused clearly and changes nothing', async () => {
    const past = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
    const p = await promotion({ code: 'GONE10', type: 'percentage', target: 'items', value: 1000, starts_at: past(48), ends_at: past(1) });
    expect(p.status).toBe(201);
    const cart = (await add('expired-1', 'mug')).body;
    const r = await apply('expired-1', 'GONE10');
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'PROMOTION_NOT_APPLICABLE' });
    expect(r.body.error.message).toContain('has expired');
    expect((await cartOf('expired-1')).body).toMatchObject({ id: cart.id, discount_total: 0, promotions: [], refused_promotions: [] });
  });

  it('a dispute goes on the order timeline once, however often Stripe delivers it', async () => {
    const cart = (await add('dispute-1', 'mug')).body;
    const order = (await complete(cart.id)).body.order;
    await stripe.drain();
    const pi = [...stripe.paymentIntents.values()].find((x) => x.metadata.loupe_order_id === order.id)!;
    const payload = JSON.stringify({
      id: 'evt_dispute_1',
      object: 'event',
      type: 'charge.dispute.created',
      created: Math.floor(Date.now() / 1000),
      data: { object: { id: 'dp_1', object: 'dispute', payment_intent: pi.id, amount: 1000, reason: 'fraudulent' } },
    });
    const send = () =>
      t.request('POST', `/api/v1/commerce/stripe/webhook/${A.tenantId}`, {
        headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignatureHeader(payload, secretA) },
        body: payload,
      });
    const answers = await Promise.all([send(), send(), send()]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const d = await t.request('GET', `/api/v1/orders/${order.id}`, { token: A.ownerToken });
    expect(d.body.timeline.filter((e: any) => e.type === 'disputed')).toHaveLength(1);
    expect(d.body.status).toBe('paid');
  });

  it('an order is counted once in analytics (KPIs) and on the profile, whoever completes it how often', async () => {
    const cart = (await add('kpi-1', 'lamp', 1, keyB)).body;
    const first = await complete(cart.id, keyB);
    const again = await complete(cart.id, keyB);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(again.body.order.id).toBe(first.body.order.id);
    const day = new Date().toISOString().slice(0, 10);
    const k = await t.request('GET', `/api/v1/analytics/kpis?from=${day}&to=${day}&tz=UTC`, { token: B.ownerToken });
    expect(k.status, JSON.stringify(k.body)).toBe(200);
    expect(k.body.current).toMatchObject({ orders: 1, revenue_minor: '5000' });
    const profiles = await t.request('GET', '/api/v1/profiles?user_id=kpi-1', { token: B.ownerToken });
    expect(profiles.body.data).toHaveLength(1);
    expect(profiles.body.data[0]).toMatchObject({ total_orders: 1 });
    // Tenant A's analytics do not see tenant B's order.
    const a = await t.request('GET', `/api/v1/analytics/kpis?from=${day}&to=${day}&tz=UTC`, { token: A.ownerToken });
    expect(a.body.current.revenue_minor).not.toBe('5000');
  });
});
