import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { startStripeServer, type StripeTestServer } from '../../../test/fakes/stripe-server.ts';
import { STEP_UP_WINDOW_SECONDS } from '../../platform/index.ts';

/**
 * Refund, return and cancel move money back: the dashboard's actions on an order need a signed-in person with a
 * recent password check (step-up), as the issue asks. An API key, whatever its scopes, is refused; a stale sign-in
 * is asked to step up and nothing moves; after the step-up the action goes through, once.
 */
let t: TestApp;
let stripe: StripeTestServer;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let shopKey: string;
let offsetMs = 0;

beforeAll(async () => {
  stripe = await startStripeServer();
  t = await createTestApp({ STRIPE_API_URL: stripe.url }, { clock: () => new Date(Date.now() + offsetMs) });
  A = await t.createTenant('Step-up orders');
  shopKey = await A.apiKey(['commerce:write']);
  const s = await t.request('PUT', '/api/v1/commerce/settings', {
    token: A.ownerToken,
    body: { tax_rate_bp: 0, tax_inclusive: false, shipping_options: [], stripe_secret_key: 'sk_test_stepup' },
  });
  expect(s.status, JSON.stringify(s.body)).toBe(200);
  await t.modules.catalog.upsertItems(A.tenantId, [{ itemId: 'lamp', name: 'Lamp', priceMinor: 5000n, currency: 'USD', stock: 10 }]);
}, 240_000);
afterAll(async () => {
  await t?.close();
  await stripe?.close();
});

async function paidOrder(shopper: string): Promise<string> {
  const cart = await t.request('POST', '/api/v1/cart/items', { token: shopKey, body: { user_id: shopper, item_id: 'lamp', quantity: 1 } });
  const done = await t.request('POST', '/api/v1/cart/complete', {
    token: shopKey,
    body: { cart_id: cart.body.id, payment_method: 'pm_card_visa' },
  });
  expect(done.status, JSON.stringify(done.body)).toBe(201);
  return done.body.order.id as string;
}
/** The money-moving actions on an order, with a body each would accept. */
const ACTIONS: readonly [string, Record<string, unknown>][] = [
  ['refunds', { amount: 100 }],
  ['returns', { items: [{ item_id: 'lamp', quantity: 1, reason: 'damaged' }] }],
  ['cancel', {}],
];
const act = (token: string, orderId: string, action: string, body: Record<string, unknown>) =>
  t.request('POST', `/api/v1/orders/${orderId}/${action}`, { token, body });
const orderOf = async (orderId: string) => (await t.request('GET', `/api/v1/orders/${orderId}`, { token: A.ownerToken })).body;

describe('refund, return and cancel need a signed-in person with a recent password check', () => {
  it('an orders:manage API key is refused every one of them, and nothing moves', async () => {
    const orderId = await paidOrder('key-buyer');
    const key = await A.apiKey(['orders:manage', 'orders:read']);
    const refundsBefore = stripe.counters.refunded;
    for (const [action, body] of ACTIONS) {
      const r = await act(key, orderId, action, body);
      expect(r.status, action).toBe(403);
      expect(r.body.error.code, action).toBe('USER_SESSION_REQUIRED');
    }
    expect(await orderOf(orderId)).toMatchObject({ status: 'paid', refunded_total: 0 });
    expect(stripe.counters.refunded).toBe(refundsBefore);
  });

  it('a stale sign-in is asked to step up and nothing moves; after the step-up the refund and the cancel go through once', async () => {
    const refunded = await paidOrder('stale-buyer');
    const cancelled = await paidOrder('stale-buyer-2');
    const refundsBefore = stripe.counters.refunded;
    offsetMs = (STEP_UP_WINDOW_SECONDS + 60) * 1000;
    try {
      for (const orderId of [refunded, cancelled])
        for (const [action, body] of ACTIONS) {
          const r = await act(A.ownerToken, orderId, action, body);
          expect(r.status, action).toBe(403);
          expect(r.body.error.code, action).toBe('STEP_UP_REQUIRED');
          expect(await orderOf(orderId)).toMatchObject({ status: 'paid', refunded_total: 0 });
        }
      expect(stripe.counters.refunded).toBe(refundsBefore);
      const up = await t.request('POST', '/api/v1/auth/step-up', { token: A.ownerToken, body: { password: 'Owner-Password-1' } });
      expect(up.status).toBe(200);
      const refund = await act(up.body.access_token, refunded, 'refunds', { amount: 100 });
      expect(refund.status, JSON.stringify(refund.body)).toBeLessThan(300);
      expect(await orderOf(refunded)).toMatchObject({ status: 'partially_refunded', refunded_total: 100 });
      const cancel = await act(up.body.access_token, cancelled, 'cancel', {});
      expect(cancel.status, JSON.stringify(cancel.body)).toBeLessThan(300);
      // A paid order cancelled is refunded in full.
      expect(await orderOf(cancelled)).toMatchObject({ status: 'cancelled', refunded_total: 5000 });
      expect(stripe.counters.refunded).toBe(refundsBefore + 2);
    } finally {
      offsetMs = 0;
    }
  });
});
