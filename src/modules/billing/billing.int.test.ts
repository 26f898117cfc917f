import { sql } from 'drizzle-orm';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryOne } from '../../platform/index.ts';
import { startStripeServer, stripeSignatureHeader, type StripeTestServer } from '../../../test/fakes/stripe-server.ts';

/** Tiny plans so the limits are reached in a few calls. */
const PLANS = [
  {
    id: 'free',
    name: 'Free',
    monthly_price_minor: 0,
    currency: 'USD',
    limits: { api_calls_per_month: 5, catalog_items: 2, feed_pushes_per_month: 0 },
  },
  {
    id: 'pro',
    name: 'Pro',
    monthly_price_minor: 4900,
    currency: 'USD',
    limits: { api_calls_per_month: 1000, catalog_items: 100, feed_pushes_per_month: 10 },
  },
  {
    id: 'business',
    name: 'Business',
    monthly_price_minor: 19900,
    currency: 'USD',
    limits: { api_calls_per_month: null, catalog_items: null, feed_pushes_per_month: null },
  },
];

let stripe: StripeTestServer;
let t: TestApp;
let endpointSecret: string;

beforeAll(async () => {
  stripe = await startStripeServer();
  stripe.addPrice('price_pro', 4900, 'usd');
  stripe.addPrice('price_business', 19900, 'usd');
  t = await createTestApp({
    STRIPE_API_URL: stripe.url,
    PUBLIC_URL: 'https://loupe.example',
    LOUPE_BILLING_STRIPE_SECRET_KEY: 'sk_test_loupe_billing',
    LOUPE_BILLING_WEBHOOK_SECRET: 'whsec_placeholder',
    LOUPE_BILLING_PRICES: 'pro=price_pro,business=price_business',
    LOUPE_BILLING_PLANS: JSON.stringify(PLANS),
  });
  // Stripe delivers to the running server over HTTP, signed with the endpoint's secret.
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  endpointSecret = stripe.addWebhookEndpoint(`http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/stripe/webhook`);
  (t.config.billing as { webhookSecret: string }).webhookSecret = endpointSecret;
}, 60_000);
afterAll(async () => {
  await t?.close();
  await stripe?.close();
});

/** Delivers an event as Stripe would (signed now), through app.inject. */
function deliver(event: object, opts: { secret?: string; t?: number; raw?: string } = {}) {
  const payload = opts.raw ?? JSON.stringify(event);
  return t.request('POST', '/stripe/webhook', {
    body: payload,
    headers: {
      'content-type': 'application/json',
      'stripe-signature': stripeSignatureHeader(payload, opts.secret ?? endpointSecret, opts.t),
    },
  });
}

let seq = 0;
/** A Stripe event of `type` about `object`, created at unix time `created`. */
const event = (type: string, object: object, created: number) => ({
  id: `evt_test_${++seq}_${Date.now()}`,
  object: 'event',
  type,
  api_version: '2025-01-27',
  created,
  livemode: false,
  pending_webhooks: 1,
  data: { object },
});
const subscription = (id: string, tenantId: string, status: string, price = 'price_pro', extra: object = {}) => ({
  id,
  object: 'subscription',
  customer: 'cus_test_1',
  status,
  cancel_at_period_end: false,
  current_period_end: 1_900_000_000,
  items: { object: 'list', data: [{ id: 'si_1', price: { id: price } }] },
  metadata: { tenant_id: tenantId, plan: 'pro' },
  ...extra,
});

async function subscribe(tenantId: string, subId: string, created: number) {
  const r = await deliver(event('customer.subscription.created', subscription(subId, tenantId, 'active'), created));
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}
const billing = async (token: string) => (await t.request('GET', '/api/v1/billing', { token })).body;

describe('POST /stripe/checkout and the webhook, end to end through the Stripe-protocol server', () => {
  it('a checkout session in subscription mode; paying it moves the tenant to the plan', async () => {
    const a = await t.createTenant('Checkout store');
    const before = await billing(a.ownerToken);
    expect(before.plan.id).toBe('free');
    expect(before.plans.map((p: { id: string; purchasable: boolean }) => [p.id, p.purchasable])).toEqual([
      ['free', false],
      ['pro', true],
      ['business', true],
    ]);
    const co = await t.request('POST', '/stripe/checkout', { token: a.ownerToken, body: { plan: 'pro' } });
    expect(co.status, JSON.stringify(co.body)).toBe(200);
    expect(co.body.id).toMatch(/^cs_test_/);
    expect(co.body.url).toContain(co.body.id);
    const session = stripe.checkoutSessions.get(co.body.id)!;
    expect(session.mode).toBe('subscription');
    expect(session.client_reference_id).toBe(a.tenantId);
    expect(session.success_url).toBe('https://loupe.example/billing?checkout=success');
    expect(session.subscription_metadata).toEqual({ tenant_id: a.tenantId, plan: 'pro' });

    const { subscription: subId } = stripe.completeCheckout(co.body.id);
    await stripe.drain();
    const after = await billing(a.ownerToken);
    expect(after.plan.id).toBe('pro');
    expect(after.subscription).toMatchObject({ plan: 'pro', status: 'active', cancel_at_period_end: false });

    // A renewal declined: past_due keeps the plan while Stripe retries, and says what to do.
    stripe.failRenewal(subId);
    await stripe.drain();
    const late = await billing(a.ownerToken);
    expect(late.subscription.status).toBe('past_due');
    expect(late.plan.id).toBe('pro');
    expect(late.subscription.last_payment_error).toMatch(/renewal payment failed/);

    // Cancelled in Stripe: back to the free plan's limits.
    const res = await fetch(`${stripe.url}/v1/subscriptions/${subId}`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer sk_test_x' },
    });
    expect(res.status).toBe(200);
    await stripe.drain();
    const gone = await billing(a.ownerToken);
    expect(gone.subscription.status).toBe('canceled');
    expect(gone.plan.id).toBe('free');

    // Every delivery again, five times at once: nothing changes, each counts once.
    const ids = stripe.events.map((e) => e.id);
    const statuses = (await Promise.all(ids.map((id) => stripe.resend(id, 5)))).flat();
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect((await billing(a.ownerToken)).subscription.status).toBe('canceled');
    const stored = await queryOne<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM billing_stripe_events WHERE event_id = ANY(${`{${ids.join(',')}}`}::text[])`,
    );
    expect(stored?.n).toBe(ids.length);
  });

  it('refuses unknown plans, foreign redirects, a second subscription, API keys and hostile bodies', async () => {
    const a = await t.createTenant('Picky store');
    const post = (body: unknown, token = a.ownerToken) =>
      t.request('POST', '/stripe/checkout', { token, body, headers: { 'content-type': 'application/json' } });
    expect((await post({ plan: 'gold' })).body.error.code).toBe('PLAN_UNKNOWN');
    expect((await post({ plan: 'free' })).body.error.code).toBe('PLAN_UNKNOWN');
    const evil = await post({ plan: 'pro', success_url: 'https://evil.example/phish' });
    expect(evil.status).toBe(400);
    expect(evil.body.error.code).toBe('REDIRECT_NOT_ALLOWED');
    expect((await post({ plan: 'pro', success_url: 'javascript:alert(1)' })).status).toBe(400);
    expect((await post({ plan: 'pro', extra: 1 })).status).toBe(400);
    expect((await post({ plan: 'x'.repeat(41) })).status).toBe(400);
    expect((await post('{"plan":12345678901234567890}')).status).toBe(400);
    expect((await post('{"plan":"pro\\u0000"}')).status).toBe(400);
    expect((await post('{"plan":"\\ud800"}')).status).toBe(400);
    expect((await post(`${'{"a":'.repeat(200)}1${'}'.repeat(200)}`)).status).toBe(400);
    expect((await post('{"plan":')).status).toBe(400);
    const key = await a.apiKey(['catalog:read']);
    expect((await post({ plan: 'pro' }, key)).status).toBe(403);

    await subscribe(a.tenantId, 'sub_picky', Math.floor(Date.now() / 1000));
    expect((await post({ plan: 'pro' })).body.error.code).toBe('PLAN_ALREADY_ACTIVE');
    expect((await post({ plan: 'business' })).body.error.code).toBe('SUBSCRIPTION_EXISTS');
  });
});

describe('PATCH /api/v1/billing/subscription: changing plan while subscribed', () => {
  it("moves the Stripe subscription's one item to the new price; the plan follows Stripe's webhook, and back again", async () => {
    const a = await t.createTenant('Growing store');
    const co = await t.request('POST', '/stripe/checkout', { token: a.ownerToken, body: { plan: 'pro' } });
    const { subscription: subId } = stripe.completeCheckout(co.body.id);
    await stripe.drain();
    expect((await billing(a.ownerToken)).plan.id).toBe('pro');

    const up = await t.request('PATCH', '/api/v1/billing/subscription', { token: a.ownerToken, body: { plan: 'business' } });
    expect(up.status, JSON.stringify(up.body)).toBe(202);
    expect(up.body).toEqual({ plan: 'business', subscription_status: 'active', pending: true });
    const sub = stripe.subscriptions.get(subId)!;
    // the one item changed price (an item without its id would have been added beside the old one, billing both)
    expect(sub.items.data.map((i) => i.price.id)).toEqual(['price_business']);
    expect(sub.metadata).toMatchObject({ tenant_id: a.tenantId, plan: 'business' });
    await stripe.drain();
    const after = await billing(a.ownerToken);
    expect(after.plan.id).toBe('business');
    expect(after.subscription).toMatchObject({ plan: 'business', status: 'active' });

    // and back down: the same door
    const down = await t.request('PATCH', '/api/v1/billing/subscription', { token: a.ownerToken, body: { plan: 'pro' } });
    expect(down.status).toBe(202);
    await stripe.drain();
    expect((await billing(a.ownerToken)).plan.id).toBe('pro');
    expect(stripe.subscriptions.get(subId)!.items.data.map((i) => i.price.id)).toEqual(['price_pro']);

    // the webhook of the change replayed: nothing moves
    const updates = stripe.events.filter(
      (e) => e.type === 'customer.subscription.updated' && (e.data.object as { id: string }).id === subId,
    );
    expect(updates.length).toBe(2);
    await stripe.resend(updates[0]!.id, 3);
    expect((await billing(a.ownerToken)).plan.id).toBe('pro');

    // a second checkout names the way to change plan
    const again = await t.request('POST', '/stripe/checkout', { token: a.ownerToken, body: { plan: 'business' } });
    expect(again.body.error.code).toBe('SUBSCRIPTION_EXISTS');
    expect(again.body.error.message).toContain('PATCH /api/v1/billing/subscription');
  });

  it('refuses the same plan, unknown or free plans, no subscription, a cancelled one, API keys and other tenants', async () => {
    const a = await t.createTenant('Careful store');
    const patch = (body: unknown, token = a.ownerToken) => t.request('PATCH', '/api/v1/billing/subscription', { token, body });
    const none = await patch({ plan: 'pro' });
    expect(none.status).toBe(409);
    expect(none.body.error.code).toBe('SUBSCRIPTION_NOT_ACTIVE');
    expect(none.body.error.message).toContain('POST /stripe/checkout');

    const co = await t.request('POST', '/stripe/checkout', { token: a.ownerToken, body: { plan: 'pro' } });
    const { subscription: subId } = stripe.completeCheckout(co.body.id);
    await stripe.drain();
    expect((await patch({ plan: 'pro' })).body.error.code).toBe('PLAN_ALREADY_ACTIVE');
    expect((await patch({ plan: 'gold' })).body.error.code).toBe('PLAN_UNKNOWN');
    expect((await patch({ plan: 'free' })).body.error.code).toBe('PLAN_UNKNOWN');
    expect((await patch({ plan: 'business', extra: true })).status).toBe(400);
    expect((await patch({})).status).toBe(400);
    const key = await a.apiKey(['catalog:read']);
    expect((await patch({ plan: 'business' }, key)).status).toBe(403);

    // another tenant cannot reach this subscription: it has none of its own
    const b = await t.createTenant('Other store');
    expect((await patch({ plan: 'business' }, b.ownerToken)).body.error.code).toBe('SUBSCRIPTION_NOT_ACTIVE');
    expect(stripe.subscriptions.get(subId)!.items.data[0]!.price.id).toBe('price_pro');

    const res = await fetch(`${stripe.url}/v1/subscriptions/${subId}`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer sk_test_x' },
    });
    expect(res.status).toBe(200);
    await stripe.drain();
    expect((await patch({ plan: 'business' })).body.error.code).toBe('SUBSCRIPTION_NOT_ACTIVE');
  });
});

describe('POST /stripe/webhook', () => {
  it('refuses unsigned, wrongly signed, tampered, stale and malformed deliveries', async () => {
    const a = await t.createTenant('Signed store');
    const e = event('customer.subscription.created', subscription('sub_signed', a.tenantId, 'active'), Math.floor(Date.now() / 1000));
    const payload = JSON.stringify(e);
    const unsigned = await t.request('POST', '/stripe/webhook', { body: payload, headers: { 'content-type': 'application/json' } });
    expect(unsigned.status).toBe(400);
    expect(unsigned.body.error.code).toBe('SIGNATURE_INVALID');
    expect((await deliver(e, { secret: 'whsec_wrong' })).status).toBe(400);
    // Signed, then changed: the plan in the body is not what Stripe signed.
    const header = stripeSignatureHeader(payload, endpointSecret);
    const tampered = payload.replace('"status":"active"', '"status":"trialing"');
    expect(
      (
        await t.request('POST', '/stripe/webhook', {
          body: tampered,
          headers: { 'content-type': 'application/json', 'stripe-signature': header },
        })
      ).status,
    ).toBe(400);
    // A captured delivery replayed ten minutes later (beyond the 5-minute tolerance).
    expect((await deliver(e, { t: Math.floor(Date.now() / 1000) - 600 })).status).toBe(400);
    for (const h of ['t=,v1=', 'garbage', `t=1,v1=${'0'.repeat(64)}`, 'x'.repeat(5000)])
      expect(
        (
          await t.request('POST', '/stripe/webhook', {
            body: payload,
            headers: { 'content-type': 'application/json', 'stripe-signature': h },
          })
        ).status,
      ).toBe(400);
    // Correctly signed but not JSON, or hostile JSON: refused or ignored, never a 500.
    expect((await deliver({}, { raw: 'not json' })).status).toBe(400);
    const hostile = event(
      'customer.subscription.updated',
      subscription('sub_hostile\u0000', a.tenantId, 'active\ud800', 'price_pro', {
        metadata: { tenant_id: `${a.tenantId}\u0000`, plan: 'pro' },
      }),
      1,
    );
    expect((await deliver(hostile)).status).toBe(200);
    expect((await billing(a.ownerToken)).subscription).toBeNull();
    const huge = event(
      'customer.subscription.updated',
      subscription('sub_huge', a.tenantId, 'active', 'price_pro', { current_period_end: 1e308 }),
      2,
    );
    expect((await deliver(huge)).status).toBe(200);
    expect((await billing(a.ownerToken)).subscription.current_period_end).toBeNull();
    expect((await billing(a.ownerToken)).plan.id).toBe('pro');
  });

  it('applies out-of-order events by their time: an older update never revives a cancelled subscription', async () => {
    const a = await t.createTenant('Ordered store');
    const t0 = Math.floor(Date.now() / 1000) - 100;
    const created = event('customer.subscription.created', subscription('sub_order', a.tenantId, 'active'), t0);
    const upgraded = event('customer.subscription.updated', subscription('sub_order', a.tenantId, 'active', 'price_business'), t0 + 10);
    const deleted = event('customer.subscription.deleted', subscription('sub_order', a.tenantId, 'canceled', 'price_business'), t0 + 20);
    for (const e of [deleted, upgraded, created]) expect((await deliver(e)).status).toBe(200);
    const st = await billing(a.ownerToken);
    expect(st.subscription.status).toBe('canceled');
    expect(st.plan.id).toBe('free');

    // A new subscription after the cancellation starts over; late events of the old one change nothing.
    await subscribe(a.tenantId, 'sub_order_2', t0 + 5);
    expect((await billing(a.ownerToken)).plan.id).toBe('pro');
    expect((await deliver(event('customer.subscription.deleted', subscription('sub_order', a.tenantId, 'canceled'), t0 + 30))).status).toBe(
      200,
    );
    expect((await billing(a.ownerToken)).plan.id).toBe('pro');
  });

  it('concurrent deliveries of different events for one tenant end in the newest state', async () => {
    const a = await t.createTenant('Busy webhook store');
    const t0 = Math.floor(Date.now() / 1000) - 1000;
    const evs = Array.from({ length: 12 }, (_, i) =>
      event(
        'customer.subscription.updated',
        subscription('sub_conc', a.tenantId, i % 2 ? 'past_due' : 'active', i % 3 ? 'price_pro' : 'price_business'),
        t0 + i,
      ),
    );
    const last = evs[evs.length - 1]!;
    const res = await Promise.all([...evs, ...evs].map((e) => deliver(e)));
    expect(res.every((r) => r.status === 200)).toBe(true);
    expect(res.filter((r) => r.body.duplicate === false)).toHaveLength(evs.length);
    const st = await billing(a.ownerToken);
    expect(st.subscription.status).toBe((last.data.object as { status: string }).status);
    expect(st.subscription.plan).toBe('pro');
  });

  it("another tenant never sees nor changes the tenant's subscription", async () => {
    const a = await t.createTenant('Tenant A billing');
    const b = await t.createTenant('Tenant B billing');
    await subscribe(a.tenantId, 'sub_tenant_a', Math.floor(Date.now() / 1000));
    expect((await billing(a.ownerToken)).plan.id).toBe('pro');
    expect((await billing(b.ownerToken)).plan.id).toBe('free');
    expect((await t.request('GET', '/api/v1/billing', { token: b.ownerToken, headers: { 'x-tenant-id': a.tenantId } })).status).toBe(404);
    expect(
      (
        await t.request('POST', '/stripe/checkout', {
          token: b.ownerToken,
          headers: { 'x-tenant-id': a.tenantId },
          body: { plan: 'business' },
        })
      ).status,
    ).toBe(404);
    // An event naming tenant B's id for A's subscription still applies to A: Loupe trusts the subscription it knows.
    const e = event(
      'customer.subscription.updated',
      subscription('sub_tenant_a', b.tenantId, 'active', 'price_business'),
      Math.floor(Date.now() / 1000) + 1,
    );
    expect((await deliver(e)).status).toBe(200);
    expect((await billing(a.ownerToken)).plan.id).toBe('business');
    expect((await billing(b.ownerToken)).subscription).toBeNull();
  });
});

describe('plan limits', () => {
  it('API calls past the allowance are refused with 402 naming the limit and the upgrade; the dashboard still works', async () => {
    const a = await t.createTenant('Metered store');
    const key = await a.apiKey(['catalog:read', 'catalog:write']);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await t.request('GET', '/api/v1/items', { token: key })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 402, 402]);
    const refused = await t.request('GET', '/api/v1/items', { token: key });
    expect(refused.body.error.code).toBe('PLAN_LIMIT_REACHED');
    expect(refused.body.error.message).toMatch(/Free plan allows 5 API calls this month; you have used 5\. Upgrade to Pro/);
    expect(refused.body.error.details[0]).toMatchObject({ field: 'api_calls_per_month', used: 5, allowed: 5, upgrade_to: 'pro' });
    expect((await t.request('GET', '/api/v1/items', { token: a.ownerToken })).status).toBe(200);
    const st = await billing(a.ownerToken);
    expect(st.usage.find((u: { limit: string }) => u.limit === 'api_calls_per_month')).toMatchObject({ used: 5, allowed: 5 });
    // Another tenant's allowance is its own.
    const b = await t.createTenant('Unmetered neighbour');
    expect((await t.request('GET', '/api/v1/items', { token: await b.apiKey(['catalog:read']) })).status).toBe(200);
    // Upgrading lifts the limit at once.
    await subscribe(a.tenantId, 'sub_metered', Math.floor(Date.now() / 1000));
    expect((await t.request('GET', '/api/v1/items', { token: key })).status).toBe(200);
  });

  it('the catalog stops growing at the plan size (updates still pass), and feed pushes past the allowance are refused', async () => {
    const a = await t.createTenant('Small catalog');
    const item = (id: string) => ({ item_id: id, name: `Item ${id}` });
    expect((await t.request('POST', '/api/v1/items', { token: a.ownerToken, body: item('a') })).status).toBeLessThan(300);
    expect((await t.request('POST', '/api/v1/items', { token: a.ownerToken, body: item('b') })).status).toBeLessThan(300);
    const third = await t.request('POST', '/api/v1/items', { token: a.ownerToken, body: item('c') });
    expect(third.status).toBe(402);
    expect(third.body.error.message).toMatch(/2 active catalog items/);
    expect((await t.request('PUT', '/api/v1/items/a', { token: a.ownerToken, body: { name: 'Renamed' } })).status).toBeLessThan(300);
    const push = await t.request('POST', `/api/v1/tenants/${a.tenantId}/feed/push`, { token: a.ownerToken, body: {} });
    expect(push.status).toBe(402);
    expect(push.body.error.details[0]).toMatchObject({ field: 'feed_pushes_per_month', allowed: 0, upgrade_to: 'pro' });
  });
});
