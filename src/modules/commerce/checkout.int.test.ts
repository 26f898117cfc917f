import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryOne } from '../../platform/index.ts';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { startStripeServer, stripeSignatureHeader, type StripeTestServer } from '../../../test/fakes/stripe-server.ts';

let t: TestApp;
let stripe: StripeTestServer;
let tenantId: string;
let owner: string;
let key: string;
let other: { tenantId: string; ownerToken: string; key: string };
let webhookSecret: string;

beforeAll(async () => {
  stripe = await startStripeServer();
  t = await createTestApp({ STRIPE_API_URL: stripe.url });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (t.app.server.address() as { port: number }).port;
  const a = await t.createTenant('Checkout store');
  tenantId = a.tenantId;
  owner = a.ownerToken;
  key = await a.apiKey(['commerce:write']);
  const b = await t.createTenant('Other checkout store');
  other = { tenantId: b.tenantId, ownerToken: b.ownerToken, key: await b.apiKey(['commerce:write']) };
  webhookSecret = stripe.addWebhookEndpoint(`http://127.0.0.1:${port}/api/v1/commerce/stripe/webhook/${tenantId}`);
  const s = await t.request('PUT', '/api/v1/commerce/settings', {
    token: owner,
    body: {
      tax_rate_bp: 1000,
      tax_inclusive: false,
      shipping_options: [{ id: 'std', name: 'Standard', amount: 500, currency: 'USD' }],
      stripe_secret_key: 'sk_test_checkout',
      stripe_webhook_secret: webhookSecret,
    },
  });
  expect(s.status).toBe(200);
  await t.modules.catalog.upsertItems(tenantId, [
    { itemId: 'lamp', name: 'Lamp', priceMinor: 5000n, currency: 'USD', stock: 10 },
    { itemId: 'book', name: 'Book', priceMinor: 1999n, currency: 'USD' },
  ]);
}, 60_000);
afterAll(async () => {
  await t?.close();
  await stripe?.close();
});

const add = (shopper: string, itemId: string, quantity = 1) =>
  t.request('POST', '/api/v1/cart/items', { token: key, body: { user_id: shopper, item_id: itemId, quantity } });
const complete = (cartId: string, pm = 'pm_card_visa', headers: Record<string, string> = {}) =>
  t.request('POST', '/api/v1/cart/complete', { token: key, body: { cart_id: cartId, payment_method: pm }, headers });
const stockOf = async (itemId: string) =>
  (await queryOne<{ stock: number }>(t.database.db, sql`SELECT stock FROM items WHERE tenant_id = ${tenantId} AND item_id = ${itemId}`))!
    .stock;
const purchases = async (orderId: string) =>
  (await queryOne<{ n: number }>(
    t.database.db,
    sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${tenantId} AND order_id = ${orderId} AND type = 'purchase'`,
  ))!.n;

describe('checkout', () => {
  it('completes a cart: order paid through Stripe, tax and shipping in the totals, stock taken, purchases in events once', async () => {
    const cart = (await add('buyer-1', 'lamp', 2)).body;
    await add('buyer-1', 'book');
    const shipped = await t.request('POST', '/api/v1/cart/shipping', {
      token: key,
      body: { cart_id: cart.id, shipping_option_id: 'std', email: 'buyer1@example.com' },
    });
    // items 10000 + 1999 = 11999, tax 10% on items and shipping: 1199.9 -> 1200 and 50; total 11999 + 500 + 1250.
    expect(shipped.body).toMatchObject({ item_subtotal: 11999, shipping_total: 550, tax_total: 1250, total: 13749 });
    const r = await complete(cart.id);
    expect(r.status).toBe(201);
    expect(r.body.order).toMatchObject({ status: 'paid', total: 13749, paid_total: 13749, email: 'buyer1@example.com' });
    expect(await stockOf('lamp')).toBe(8);
    await stripe.drain();
    const d = await t.request('GET', `/api/v1/orders/${r.body.order.id}`, { token: owner });
    expect(d.body.timeline.map((e: any) => e.type)).toEqual(['placed', 'payment_captured']);
    expect(d.body.items).toHaveLength(2);
    expect(await purchases(r.body.order.id)).toBe(2);
    // The order is on the customer's profile once: one order, its revenue (line totals with tax, no shipping).
    const profiles = await t.request('GET', '/api/v1/profiles?user_id=buyer-1', { token: owner });
    expect(profiles.body.data, JSON.stringify(profiles.body)).toHaveLength(1);
    expect(profiles.body.data[0]).toMatchObject({ total_orders: 1, currency: 'USD' });
    expect(profiles.body.data[0].lifetime_value_minor).toBe(String(11000 + 2199));
    // The cart is closed: a new add starts a new cart.
    expect((await add('buyer-1', 'book')).body.id).not.toBe(cart.id);
  });

  it('the payment webhook handled before the API call that paid returns: one capture on the timeline, one purchase, the answer paid', async () => {
    stripe.webhooksBeforeResponses(true);
    try {
      const before = { captured: stripe.counters.captured, stock: await stockOf('lamp') };
      const cart = (await add('early-hook', 'lamp')).body;
      const r = await complete(cart.id);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.order).toMatchObject({ status: 'paid', total: 5500, paid_total: 5500 });
      const d = await t.request('GET', `/api/v1/orders/${r.body.order.id}`, { token: owner });
      // The webhook got there first (Stripe answered only after the endpoint had), so the capture is the webhook's.
      expect(d.body.timeline.map((e: any) => [e.type, e.detail?.via ?? null])).toEqual([
        ['placed', null],
        ['payment_captured', 'webhook'],
      ]);
      expect(d.body.paid_total).toBe(5500);
      expect(stripe.counters.captured).toBe(before.captured + 1);
      expect(await stockOf('lamp')).toBe(before.stock - 1);
      expect(await purchases(r.body.order.id)).toBe(1);
    } finally {
      stripe.webhooksBeforeResponses(false);
    }
  });

  it('Idempotency-Key: the first answer is replayed; the same key with another body is refused', async () => {
    const cart = (await add('buyer-2', 'book')).body;
    const first = await complete(cart.id, 'pm_card_visa', { 'idempotency-key': 'k-1' });
    const again = await complete(cart.id, 'pm_card_visa', { 'idempotency-key': 'k-1' });
    expect(again.status).toBe(first.status);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const other = await complete(cart.id, 'pm_card_mastercard', { 'idempotency-key': 'k-1' });
    expect(other.status).toBe(400);
    expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('a declined card: PAYMENT_FAILED, stock back, the cart open again; another card then pays', async () => {
    const before = await stockOf('lamp');
    const cart = (await add('buyer-3', 'lamp')).body;
    const r = await complete(cart.id, 'pm_card_chargeDeclined');
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('PAYMENT_FAILED');
    expect(await stockOf('lamp')).toBe(before);
    expect((await t.request('GET', `/api/v1/cart?cart_id=${cart.id}`, { token: key })).body.status).toBe('active');
    const ok = await complete(cart.id, 'pm_card_visa');
    expect(ok.status).toBe(201);
    expect(ok.body.order.status).toBe('paid');
    expect(await stockOf('lamp')).toBe(before - 1);
  });

  it('refunds: partial, never more than paid, then the rest; cancel of a paid order refunds it and returns stock', async () => {
    const cart = (await add('buyer-4', 'lamp')).body;
    const order = (await complete(cart.id)).body.order;
    const refund = (body: unknown) => t.request('POST', `/api/v1/orders/${order.id}/refunds`, { token: owner, body });
    const part = await refund({ amount: 1000, reason: 'scratched' });
    expect(part.status).toBe(200);
    expect(part.body).toMatchObject({ status: 'partially_refunded', refunded_total: 1000 });
    const tooMuch = await refund({ amount: order.paid_total });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.error.code).toBe('REFUND_EXCEEDS_PAID');
    const rest = await refund({});
    expect(rest.body).toMatchObject({ status: 'refunded', refunded_total: order.paid_total });
    expect((await refund({ amount: 1 })).body.error.code).toBe('ORDER_NOT_REFUNDABLE');

    const before = await stockOf('lamp');
    const c2 = (await add('buyer-4', 'lamp')).body;
    const o2 = (await complete(c2.id)).body.order;
    expect(await stockOf('lamp')).toBe(before - 1);
    const cancelled = await t.request('POST', `/api/v1/orders/${o2.id}/cancel`, { token: owner });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', refunded_total: o2.paid_total });
    expect(cancelled.body.timeline.map((e: any) => e.type)).toEqual(['placed', 'payment_captured', 'refunded', 'cancelled']);
    expect(await stockOf('lamp')).toBe(before);
    // API keys cannot refund (step-up is for signed-in people).
    const adminKey = await (async () => {
      const k = await t.request('POST', '/api/v1/api-keys', { token: owner, body: { name: 'orders', scopes: ['orders:manage'] } });
      return k.body.api_key as string;
    })();
    expect((await t.request('POST', `/api/v1/orders/${order.id}/refunds`, { token: adminKey, body: {} })).status).toBe(403);
  });

  it('fulfils a paid order; the order list filters by status and text', async () => {
    const cart = (await add('buyer-5', 'book')).body;
    const order = (await complete(cart.id)).body.order;
    const f = await t.request('POST', `/api/v1/orders/${order.id}/fulfil`, { token: owner });
    expect(f.body.status).toBe('fulfilled');
    const list = await t.request('GET', '/api/v1/orders?status=fulfilled', { token: owner });
    expect(list.body.data.map((o: any) => o.id)).toContain(order.id);
    expect(list.body.data.every((o: any) => o.status === 'fulfilled')).toBe(true);
    const search = await t.request('GET', '/api/v1/orders?q=buyer-5', { token: owner });
    expect(search.body.data.map((o: any) => o.id)).toEqual([order.id]);
    const history = await t.request('GET', '/api/v1/cart/orders?user_id=buyer-5', { token: key });
    expect(history.body.data.map((o: any) => o.id)).toEqual([order.id]);
  });

  it('refuses an empty cart and a webhook with a bad signature', async () => {
    const cart = (await add('buyer-6', 'book')).body;
    await t.request('DELETE', `/api/v1/cart/items/${cart.items[0].id}?cart_id=${cart.id}`, { token: key });
    expect((await complete(cart.id)).body.error.code).toBe('CART_EMPTY');
    const payload = JSON.stringify({ id: 'evt_forged', type: 'payment_intent.succeeded', data: { object: {} } });
    const bad = await t.request('POST', `/api/v1/commerce/stripe/webhook/${tenantId}`, {
      headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignatureHeader(payload, 'whsec_wrong') },
      body: payload,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('SIGNATURE_INVALID');
    const good = await t.request('POST', `/api/v1/commerce/stripe/webhook/${tenantId}`, {
      headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignatureHeader(payload, webhookSecret) },
      body: payload,
    });
    expect(good.status).toBe(200);
  });
});

describe('tenant isolation of orders and promotions', () => {
  it("another tenant cannot see, change or count this tenant's orders or promotions", async () => {
    const cart = (await add('iso-buyer', 'book')).body;
    const order = (await complete(cart.id)).body.order;
    expect((await t.request('GET', `/api/v1/orders/${order.id}`, { token: other.ownerToken })).status).toBe(404);
    expect((await t.request('POST', `/api/v1/orders/${order.id}/refunds`, { token: other.ownerToken, body: {} })).status).toBe(404);
    expect((await t.request('POST', `/api/v1/orders/${order.id}/fulfil`, { token: other.ownerToken })).status).toBe(404);
    expect((await t.request('GET', '/api/v1/orders', { token: other.ownerToken })).body.data).toEqual([]);
    expect(
      (await t.request('POST', '/api/v1/cart/complete', { token: other.key, body: { cart_id: cart.id, payment_method: 'pm_card_visa' } }))
        .status,
    ).toBe(404);
    const promo = await t.request('POST', '/api/v1/promotions', {
      token: owner,
      body: { code: 'MINE10', type: 'percentage', target: 'items', value: 1000 },
    });
    expect(promo.status).toBe(201);
    expect((await t.request('GET', '/api/v1/promotions', { token: other.ownerToken })).body.data).toEqual([]);
    expect((await t.request('POST', `/api/v1/promotions/${promo.body.id}/deactivate`, { token: other.ownerToken })).status).toBe(404);
    // Their shopper cannot use our code: it answers like an unknown code.
    await t.modules.catalog.upsertItems(other.tenantId, [{ itemId: 'book', name: 'Their book', priceMinor: 100n, currency: 'USD' }]);
    const theirs = (await t.request('POST', '/api/v1/cart/items', { token: other.key, body: { user_id: 'x', item_id: 'book' } })).body;
    const use = await t.request('POST', '/api/v1/cart/promotions', { token: other.key, body: { cart_id: theirs.id, code: 'MINE10' } });
    expect(use.status).toBe(404);
    expect(use.body.error.code).toBe('PROMOTION_NOT_FOUND');
  });
});
