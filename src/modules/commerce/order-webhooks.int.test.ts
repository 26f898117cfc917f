import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryOne } from '../../platform/index.ts';
import { createTestApp, pollUntil, type TestApp } from '../../../test/helpers.ts';
import { startStripeServer, type StripeTestServer } from '../../../test/fakes/stripe-server.ts';

/**
 * Order state changes as outbound webhooks (commerce.order.*), end to end: checkout through the Stripe fake, its
 * webhooks back into Loupe, a local receiver for Loupe's webhooks, and a second tenant whose endpoint listens to
 * everything and must hear nothing of the first tenant's orders. Then webhook retention on what they left, with the
 * injected clock moved past LOUPE_WEBHOOKS_RETENTION_DAYS.
 */

interface Received {
  path: string;
  type: string;
  data: Record<string, any>;
}
const received: Received[] = [];
let receiver: http.Server;
let base = '';
let t: TestApp;
let stripe: StripeTestServer;
let clockOffsetMs = 0;
const A = { tenantId: '', owner: '', key: '' };
const B = { tenantId: '', owner: '', key: '' };

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; data: Record<string, unknown> };
      received.push({ path: req.url ?? '/', type: body.type, data: body.data });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  stripe = await startStripeServer();
  t = await createTestApp(
    { STRIPE_API_URL: stripe.url, LOUPE_WEBHOOKS_ALLOW_PRIVATE: '127.0.0.1/32', LOUPE_WEBHOOKS_RETENTION_DAYS: '30' },
    { clock: () => new Date(Date.now() + clockOffsetMs) },
  );
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (t.app.server.address() as AddressInfo).port;
  for (const [who, name] of [
    [A, 'Order hooks A'],
    [B, 'Order hooks B'],
  ] as const) {
    const x = await t.createTenant(name);
    who.tenantId = x.tenantId;
    who.owner = x.ownerToken;
    who.key = await x.apiKey(['commerce:write']);
    const secret = stripe.addWebhookEndpoint(`http://127.0.0.1:${port}/api/v1/commerce/stripe/webhook/${x.tenantId}`);
    const s = await t.request('PUT', '/api/v1/commerce/settings', {
      token: x.ownerToken,
      body: {
        tax_rate_bp: 0,
        tax_inclusive: false,
        shipping_options: [],
        stripe_secret_key: `sk_test_${name.slice(-1)}`,
        stripe_webhook_secret: secret,
      },
    });
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    await t.modules.catalog.upsertItems(x.tenantId, [{ itemId: 'mug', name: 'Mug', priceMinor: 1500n, currency: 'EUR', stock: 50 }]);
  }
  const hook = (who: typeof A, path: string, eventTypes: string[]) =>
    t.request('POST', '/api/v1/webhooks/endpoints', { token: who.owner, body: { url: `${base}${path}`, event_types: eventTypes } });
  expect((await hook(A, '/a', ['commerce.order.*'])).status).toBe(201);
  expect((await hook(B, '/b', ['*'])).status).toBe(201);
  t.jobs.start({ concurrency: 2 });
}, 120_000);

afterAll(async () => {
  await t?.close();
  await stripe?.close();
  await new Promise((r) => receiver?.close(r));
}, 60_000);

/** A paid order of tenant `who` for `user`. */
async function paidOrder(who: typeof A, user: string, quantity = 2) {
  const cart = await t.request('POST', '/api/v1/cart/items', { token: who.key, body: { user_id: user, item_id: 'mug', quantity } });
  const r = await t.request('POST', '/api/v1/cart/complete', {
    token: who.key,
    body: { cart_id: cart.body.id, payment_method: 'pm_card_visa' },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.order as { id: string; total: number };
}
const deliveries = async (tenantId: string, orderId?: string) =>
  (await queryOne<{ n: number; open: number }>(
    t.database.db,
    sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE d.status NOT IN ('succeeded', 'failed'))::int AS open
        FROM webhook_outbound_deliveries d JOIN webhook_messages m ON m.tenant_id = d.tenant_id AND m.id = d.message_id
        WHERE d.tenant_id = ${tenantId} ${orderId ? sql`AND m.payload->>'order_id' = ${orderId}` : sql``}`,
  ))!;
const of = (orderId: string) => received.filter((r) => r.data.order_id === orderId);
const settled = (tenantId: string, orderId: string, n: number) =>
  pollUntil(
    `${n} deliveries of order ${orderId} settled`,
    () => deliveries(tenantId, orderId),
    (d) => d.n === n && d.open === 0,
  );

describe('commerce.order.* webhooks', () => {
  it('a paid then partially refunded order delivers exactly two webhooks; a replayed Stripe webhook delivers nothing new', async () => {
    const order = await paidOrder(A, 'hook-buyer-1');
    await stripe.drain();
    const refund = await t.request('POST', `/api/v1/orders/${order.id}/refunds`, { token: A.owner, body: { amount: 500 } });
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    await settled(A.tenantId, order.id, 2);

    // Stripe delivers payment_intent.succeeded again, 3 times at once, to both tenants' Stripe endpoints (the fake
    // posts to every registered one): the order is paid already and B's tenant does not own it, nothing is published.
    const succeeded = stripe.events.find(
      (e: any) => e.type === 'payment_intent.succeeded' && e.data.object.metadata?.loupe_order_id === order.id,
    );
    expect(succeeded).toBeDefined();
    expect(await stripe.resend(succeeded!.id, 3)).toEqual(Array(6).fill(200));
    expect(await deliveries(A.tenantId, order.id)).toEqual({ n: 2, open: 0 });

    const got = of(order.id);
    expect(got.map((r) => [r.path, r.type])).toEqual([
      ['/a', 'commerce.order.paid'],
      ['/a', 'commerce.order.refunded'],
    ]);
    expect(got[0]!.data).toEqual({
      order_id: order.id,
      status: 'paid',
      currency: 'EUR',
      total: order.total,
      paid_total: order.total,
      refunded_total: 0,
      customer_id: 'hook-buyer-1',
    });
    expect(got[1]!.data).toMatchObject({
      status: 'partially_refunded',
      paid_total: order.total,
      refunded_total: 500,
      refund: { id: expect.stringMatching(/^re_/), amount: 500 },
    });
    // Tenant B's endpoint subscribes to everything and heard nothing of tenant A's order.
    expect(received.filter((r) => r.path === '/b')).toEqual([]);
    expect((await deliveries(B.tenantId)).n).toBe(0);
  });

  it('fulfilled once under concurrent requests; cancel of a paid order: refunded then cancelled; a declined card: cancelled', async () => {
    const shipped = await paidOrder(A, 'hook-buyer-2', 1);
    const fulfils = await Promise.all([0, 1, 2].map(() => t.request('POST', `/api/v1/orders/${shipped.id}/fulfil`, { token: A.owner })));
    expect(fulfils.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    await settled(A.tenantId, shipped.id, 2);
    expect(of(shipped.id).map((r) => [r.type, r.data.status])).toEqual([
      ['commerce.order.paid', 'paid'],
      ['commerce.order.fulfilled', 'fulfilled'],
    ]);

    const dropped = await paidOrder(A, 'hook-buyer-3', 1);
    expect((await t.request('POST', `/api/v1/orders/${dropped.id}/cancel`, { token: A.owner })).status).toBe(200);
    await settled(A.tenantId, dropped.id, 3);
    expect(of(dropped.id).map((r) => [r.type, r.data.status, r.data.refunded_total])).toEqual([
      ['commerce.order.paid', 'paid', 0],
      ['commerce.order.refunded', 'refunded', dropped.total],
      ['commerce.order.cancelled', 'cancelled', dropped.total],
    ]);

    const cart = await t.request('POST', '/api/v1/cart/items', { token: A.key, body: { user_id: 'hook-buyer-4', item_id: 'mug' } });
    const declined = await t.request('POST', '/api/v1/cart/complete', {
      token: A.key,
      body: { cart_id: cart.body.id, payment_method: 'pm_card_chargeDeclined' },
    });
    expect(declined.body.error.code).toBe('PAYMENT_FAILED');
    const failed = await queryOne<{ id: string }>(
      t.database.db,
      sql`SELECT id FROM orders WHERE tenant_id = ${A.tenantId} AND cart_id = ${cart.body.id}`,
    );
    await settled(A.tenantId, failed!.id, 1);
    expect(of(failed!.id).map((r) => [r.type, r.data.status, r.data.paid_total])).toEqual([['commerce.order.cancelled', 'cancelled', 0]]);
    expect(received.filter((r) => r.path === '/b')).toEqual([]);
  });
});

describe('webhook retention', () => {
  const counts = async () =>
    (await queryOne<{ deliveries: number; attempts: number; messages: number }>(
      t.database.db,
      sql`SELECT (SELECT count(*) FROM webhook_outbound_deliveries)::int AS deliveries,
                 (SELECT count(*) FROM webhook_delivery_attempts)::int AS attempts,
                 (SELECT count(*) FROM webhook_messages)::int AS messages`,
    ))!;

  it('deletes finished deliveries, their attempts and messages past retention in batches, never a message with a pending delivery', async () => {
    // What the order tests left (every delivery settled), one delivery put back to wait for a retry tomorrow, and a
    // message no endpoint matched (tenant C has none).
    const c = await t.createTenant('Order hooks C');
    await t.modules.webhooks.publisher.publish(t.database.db, c.tenantId, [
      { type: 'commerce.order.paid', payload: { order_id: 'x' }, idempotencyKey: 'unmatched-1' },
    ]);
    const waiting = (await queryOne<{ id: string; messageId: string }>(
      t.database.db,
      sql`UPDATE webhook_outbound_deliveries SET status = 'pending', completed_at = NULL, next_attempt_at = now() + interval '1 day'
          WHERE (tenant_id, id) = (SELECT tenant_id, id FROM webhook_outbound_deliveries WHERE tenant_id = ${A.tenantId} ORDER BY id LIMIT 1)
          RETURNING id, message_id AS "messageId"`,
    ))!;
    const before = await counts();
    expect(before.deliveries).toBeGreaterThanOrEqual(7);
    const keptAttempts = (await queryOne<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM webhook_delivery_attempts WHERE delivery_id = ${waiting.id}`,
    ))!.n;
    expect(keptAttempts).toBe(1);

    try {
      clockOffsetMs = 29 * 86_400_000;
      expect(await t.modules.webhooks.purgeExpired(2)).toEqual({ deliveries: 0, attempts: 0, messages: 0 });
      expect(await counts()).toEqual(before);

      clockOffsetMs = 31 * 86_400_000;
      const purged = await t.modules.webhooks.purgeExpired(2);
      expect(purged).toEqual({
        deliveries: before.deliveries - 1,
        attempts: before.attempts - keptAttempts,
        messages: before.messages - 1,
      });
      expect(await counts()).toEqual({ deliveries: 1, attempts: keptAttempts, messages: 1 });
      const left = await queryOne<{ id: string }>(t.database.db, sql`SELECT id FROM webhook_messages`);
      expect(left!.id).toBe(waiting.messageId);
      expect(await t.modules.webhooks.purgeExpired(2)).toEqual({ deliveries: 0, attempts: 0, messages: 0 });
    } finally {
      clockOffsetMs = 0;
    }
    // the waiting delivery still shows with its log (sessions expire in 31 days, so the clock is back first)
    const kept = await t.request('GET', `/api/v1/webhooks/deliveries/${waiting.id}`, { token: A.owner });
    expect(kept.body).toMatchObject({ id: waiting.id, status: 'pending' });
    expect(kept.body.log).toHaveLength(keptAttempts);
  });
});
