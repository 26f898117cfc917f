import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import Stripe from 'stripe';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, sharedPath, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';
import { signHmacSha256Base64 } from './connectors/signatures.core.ts';

const FIXTURE = sharedPath('fixtures/shopify/orders_create.json');
const PUBLIC_URL = 'https://loupe.example.com';

let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
beforeAll(async () => {
  t = await createTestApp({ PUBLIC_URL });
  A = await t.createTenant('Snowboards');
  B = await t.createTenant('Rival');
});
afterAll(async () => {
  await t?.close();
});

async function connect(tenant: typeof A, body: object) {
  const res = await t.request('POST', '/api/v1/integrations', { token: tenant.ownerToken, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; webhook_url: string; secret: string; secret_masked: string };
}

/** Posts raw bytes, exactly as a vendor would. */
async function deliver(path: string, raw: Buffer | string, headers: Record<string, string>) {
  const res = await t.app.inject({ method: 'POST', url: path, payload: raw, headers: { 'content-type': 'application/json', ...headers } });
  let body: any = res.body;
  try {
    body = JSON.parse(res.body);
  } catch {
    /* TwiML */
  }
  return { status: res.statusCode, body, headers: res.headers };
}

const interactions = (tenantId: string, source: string) =>
  queryRows<{
    type: string;
    itemId: string | null;
    orderId: string | null;
    priceMinor: string | null;
    quantity: number | null;
    currency: string | null;
    metadata: Record<string, unknown> | null;
    eventKey: string;
  }>(
    t.database.db,
    sql`SELECT type, item_id AS "itemId", order_id AS "orderId", price_minor::text AS "priceMinor", quantity, currency, metadata, dedupe_key AS "eventKey"
        FROM interactions WHERE tenant_id = ${tenantId} AND source = ${source} ORDER BY dedupe_key`,
  );

const deliveries = async (tenant: typeof A, id: string) =>
  (await t.request('GET', `/api/v1/integrations/${id}/deliveries`, { token: tenant.ownerToken })).body.data as {
    status: string;
    reason: string | null;
    delivery_id: string | null;
    events_written: number;
  }[];

describe('integrations', () => {
  it('creates a connection, shows the secret once, then only masked; lists, gets and deletes', async () => {
    const c = await connect(A, { type: 'woocommerce', name: 'Woo store' });
    expect(c.secret).toMatch(/^whsec_[A-Za-z0-9]{40}$/);
    expect(c.webhook_url).toBe(`${PUBLIC_URL}/api/v1/webhooks/woocommerce/${c.id}`);
    expect(c.secret_masked).toBe(`********${c.secret.slice(-4)}`);
    const got = await t.request('GET', `/api/v1/integrations/${c.id}`, { token: A.ownerToken });
    expect(got.status).toBe(200);
    expect(got.body.secret).toBeUndefined();
    const list = await t.request('GET', '/api/v1/integrations', { token: A.ownerToken });
    expect(JSON.stringify(list.body)).not.toContain(c.secret);
    expect(list.body.data.map((x: { id: string }) => x.id)).toContain(c.id);
    expect((await t.request('DELETE', `/api/v1/integrations/${c.id}`, { token: A.ownerToken })).status).toBe(204);
    expect((await t.request('GET', `/api/v1/integrations/${c.id}`, { token: A.ownerToken })).status).toBe(404);
    // A deleted connection's webhook URL stops answering.
    const gone = await deliver(`/api/v1/webhooks/woocommerce/${c.id}`, '{}', {
      'x-wc-webhook-signature': signHmacSha256Base64(c.secret, '{}'),
    });
    expect(gone.status).toBe(404);
  });

  it('validates the body: Shopify needs a shop domain, unknown fields are named, API keys without integrations:manage are refused', async () => {
    const noDomain = await t.request('POST', '/api/v1/integrations', {
      token: A.ownerToken,
      body: { type: 'shopify', name: 'x', secret: 'abcdefgh' },
    });
    expect(noDomain.status).toBe(400);
    expect(JSON.stringify(noDomain.body)).toContain('shop_domain');
    const unknown = await t.request('POST', '/api/v1/integrations', {
      token: A.ownerToken,
      body: { type: 'stripe', name: 'x', colour: 'red' },
    });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('colour');
    expect((await t.request('POST', '/api/v1/integrations', { token: A.ownerToken, body: { type: 'paypal', name: 'x' } })).status).toBe(
      400,
    );
    const key = await A.apiKey(['interactions:write']);
    expect((await t.request('GET', '/api/v1/integrations', { token: key })).status).toBe(403);
  });

  it('keeps tenants apart: B addressing A’s connection gets the same 404 as a missing id; B’s secret cannot sign for A', async () => {
    const a = await connect(A, { type: 'stripe', name: 'Stripe A', secret: 'whsec_tenantA_secret' });
    const b = await connect(B, { type: 'stripe', name: 'Stripe B', secret: 'whsec_tenantB_secret' });
    const missing = await t.request('GET', '/api/v1/integrations/0190a000-0000-7000-8000-000000000999', { token: B.ownerToken });
    for (const [method, url] of [
      ['GET', `/api/v1/integrations/${a.id}`],
      ['GET', `/api/v1/integrations/${a.id}/deliveries`],
      ['DELETE', `/api/v1/integrations/${a.id}`],
    ] as const) {
      const res = await t.request(method, url, { token: B.ownerToken });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe(missing.body.error.code);
    }
    const keyB = await B.apiKey(['admin']);
    expect((await t.request('GET', `/api/v1/integrations/${a.id}`, { token: keyB })).status).toBe(404);
    const payload = JSON.stringify({
      id: 'evt_cross',
      type: 'checkout.session.completed',
      created: 1,
      data: { object: { id: 'cs_cross', amount_total: 100, currency: 'usd' } },
    });
    const header = new Stripe('sk_test_x').webhooks.generateTestHeaderString({ payload, secret: 'whsec_tenantB_secret' });
    const res = await deliver(`/api/v1/webhooks/stripe/${a.id}`, payload, { 'stripe-signature': header });
    expect(res.status).toBe(401);
    expect((await interactions(A.tenantId, 'stripe')).filter((r) => r.orderId === 'cs_cross')).toHaveLength(0);
    expect(b.id).not.toBe(a.id);
  });
});

describe('Shopify webhooks', () => {
  it.skipIf(!FIXTURE)(
    'orders/create: Shopify’s own test body, byte for byte, becomes one purchase per line item with exact ids and prices',
    async () => {
      const raw = readFileSync(FIXTURE!);
      const secret = 'shpss_0123456789abcdef';
      const c = await connect(A, {
        type: 'shopify',
        name: 'Snowboard shop',
        settings: { shop_domain: 'Snowboards.myshopify.com' },
        secret,
      });
      const headers = (id: string, topic = 'orders/create') => ({
        'x-shopify-topic': topic,
        'x-shopify-hmac-sha256': signHmacSha256Base64(secret, raw),
        'x-shopify-shop-domain': 'snowboards.myshopify.com',
        'x-shopify-webhook-id': id,
        'x-shopify-api-version': '2024-07',
      });
      const first = await deliver(`/api/v1/webhooks/shopify/${c.id}`, raw, headers('wh-1'));
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ status: 'processed', delivery_id: 'wh-1', events_written: 2 });
      const rows = await interactions(A.tenantId, 'shopify');
      expect(rows).toHaveLength(2);
      // Ids beyond 2^53 stay exact (JSON.parse would turn 820982911946154508 into 820982911946154500).
      expect(rows.map((r) => r.orderId)).toEqual(['820982911946154508', '820982911946154508']);
      expect(rows.map((r) => r.eventKey).sort()).toEqual([
        'e:shopify:order:820982911946154508:line:141249953214522974',
        'e:shopify:order:820982911946154508:line:866550311766439020',
      ]);
      expect(rows.map((r) => [r.itemId, r.priceMinor, r.quantity, r.currency]).sort()).toEqual([
        ['9313716535612', '88595', 1, 'USD'],
        ['9313716601148', '69995', 1, 'USD'],
      ]);

      // A replay of the same delivery is a duplicate; orders/paid of the same order adds nothing.
      const replay = await deliver(`/api/v1/webhooks/shopify/${c.id}`, raw, headers('wh-1'));
      expect(replay.body).toEqual({ status: 'duplicate', delivery_id: 'wh-1', events_written: 0 });
      const paid = await deliver(`/api/v1/webhooks/shopify/${c.id}`, raw, headers('wh-2', 'orders/paid'));
      expect(paid.body).toEqual({ status: 'processed', delivery_id: 'wh-2', events_written: 0 });
      // Seed 002's path finds the connection by shop domain.
      const legacy = await deliver('/api/integrations/shopify', raw, headers('wh-3'));
      expect(legacy.status).toBe(200);
      expect(legacy.body.delivery_id).toBe('wh-3');
      expect(await interactions(A.tenantId, 'shopify')).toHaveLength(2);

      // A valid signature over a modified body, a wrong one and none at all are refused and logged.
      const tampered = Buffer.from(raw.toString('utf8').replace('"885.95"', '"0.01"'));
      expect((await deliver(`/api/v1/webhooks/shopify/${c.id}`, tampered, headers('wh-4'))).status).toBe(401);
      expect(
        (
          await deliver(`/api/v1/webhooks/shopify/${c.id}`, raw, {
            ...headers('wh-5'),
            'x-shopify-hmac-sha256': signHmacSha256Base64('other', raw),
          })
        ).status,
      ).toBe(401);
      const { 'x-shopify-hmac-sha256': _omit, ...unsigned } = headers('wh-6');
      const none = await deliver(`/api/v1/webhooks/shopify/${c.id}`, raw, unsigned);
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('WEBHOOK_SIGNATURE_INVALID');
      // The legacy path with an unknown shop, or a forged signature, is refused the same way.
      expect(
        (await deliver('/api/integrations/shopify', raw, { ...headers('wh-7'), 'x-shopify-shop-domain': 'nobody.myshopify.com' })).status,
      ).toBe(401);
      expect(await interactions(A.tenantId, 'shopify')).toHaveLength(2);
      const log = await deliveries(A, c.id);
      expect(log.map((d) => d.status)).toEqual(['rejected', 'rejected', 'rejected', 'processed', 'processed', 'duplicate', 'processed']);
      expect(log.filter((d) => d.status === 'rejected').map((d) => d.reason)).toEqual([
        'missing_signature',
        'bad_signature',
        'bad_signature',
      ]);
      // A forged request reusing a real delivery id never blocks it: wh-4 still processes when genuinely signed.
      expect((await deliver(`/api/v1/webhooks/shopify/${c.id}`, raw, headers('wh-4'))).body.status).toBe('processed');
    },
  );

  it('tolerates unknown and missing fields, ignores unused topics, refuses signed non-JSON, and stores concurrent copies once', async () => {
    const secret = 'shpss_second_secret';
    const c = await connect(A, { type: 'shopify', name: 'Second shop', settings: { shop_domain: 'second.myshopify.com' }, secret });
    const send = (body: string, id: string, topic = 'orders/create') =>
      deliver(`/api/v1/webhooks/shopify/${c.id}`, body, {
        'x-shopify-topic': topic,
        'x-shopify-hmac-sha256': signHmacSha256Base64(secret, body),
        'x-shopify-webhook-id': id,
      });
    const odd =
      '{"id": 9007199254740993123, "brand_new_field": {"x": [1,2]}, "currency": "EUR", "line_items": [{"id": 18446744073709551615, "product_id": 9007199254740993, "quantity": 3, "price": "10.005"}]}';
    const res = await send(odd, 'odd-1');
    expect(res.body).toMatchObject({ status: 'processed', events_written: 1 });
    const row = (await interactions(A.tenantId, 'shopify')).find((r) => r.orderId === '9007199254740993123')!;
    expect(row).toMatchObject({ itemId: '9007199254740993', quantity: 3, priceMinor: '1000', currency: 'EUR' }); // 10.005 rounds half to even
    expect(row.eventKey).toBe('e:shopify:order:9007199254740993123:line:18446744073709551615');
    expect((await send('{"line_items": []}', 'no-id')).body).toMatchObject({ status: 'ignored' });
    expect((await send('{"id": 5}', 'topic-1', 'products/update')).body).toMatchObject({ status: 'ignored' });
    const notJson = await send('{"id": 5,', 'bad-json');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('MALFORMED_JSON');

    const race = '{"id": 777, "line_items": [{"id": 1, "product_id": 2, "quantity": 1, "price": "5.00"}]}';
    const answers = await Promise.all(Array.from({ length: 6 }, () => send(race, 'race-1')));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.filter((a) => a.body.status === 'processed')).toHaveLength(1);
    expect((await interactions(A.tenantId, 'shopify')).filter((r) => r.orderId === '777')).toHaveLength(1);
  });
});

describe('WooCommerce webhooks', () => {
  it('maps a paid order and its refund; acknowledges the unsigned ping; dedupes on the delivery id', async () => {
    const c = await connect(A, { type: 'woocommerce', name: 'Woo' });
    const order = {
      id: 4242,
      status: 'processing',
      currency: 'GBP',
      customer_id: 0,
      date_created_gmt: '2025-05-01T10:00:00',
      billing: { email: 'Jane@Example.com', phone: '+44 20 7946 0958', first_name: 'Jane' },
      line_items: [{ id: 11, product_id: 99, variation_id: 0, quantity: 2, price: 12.5, total: '25.00', sku: 'MUG' }],
      refunds: [{ id: 501, total: '-12.50', reason: 'broken' }],
      meta_data: [{ whatever: true }],
    };
    const raw = JSON.stringify(order);
    const h = (id: string) => ({
      'x-wc-webhook-topic': 'order.updated',
      'x-wc-webhook-signature': signHmacSha256Base64(c.secret, raw),
      'x-wc-webhook-delivery-id': id,
    });
    const res = await deliver(`/api/v1/webhooks/woocommerce/${c.id}`, raw, h('d-1'));
    expect(res.body).toEqual({ status: 'processed', delivery_id: 'd-1', events_written: 2 });
    const rows = await interactions(A.tenantId, 'woocommerce');
    expect(rows.map((r) => [r.type, r.itemId, r.priceMinor, r.quantity, r.orderId])).toEqual([
      ['purchase', '99', '1250', 2, '4242'],
      ['refund', null, '1250', 1, '4242'],
    ]);
    expect((await deliver(`/api/v1/webhooks/woocommerce/${c.id}`, raw, h('d-1'))).body.status).toBe('duplicate');
    const ping = await deliver(`/api/v1/webhooks/woocommerce/${c.id}`, 'webhook_id=17', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(ping.body.status).toBe('ignored');
    expect((await deliver(`/api/v1/webhooks/woocommerce/${c.id}`, raw, { ...h('d-2'), 'x-wc-webhook-signature': 'bm90IGl0' })).status).toBe(
      401,
    );
    // The path's type must match the connection's.
    expect((await deliver(`/api/v1/webhooks/shopify/${c.id}`, raw, h('d-3'))).status).toBe(404);
  });
});

describe('Stripe webhooks', () => {
  const stripe = new Stripe('sk_test_placeholder');
  it('checkout.session.completed is a purchase, charge.refunded a refund; stale and forged signatures are refused', async () => {
    const secret = 'whsec_test_stripe_secret';
    const c = await connect(A, { type: 'stripe', name: 'Stripe', secret });
    const url = `/api/v1/webhooks/stripe/${c.id}`;
    const session = JSON.stringify({
      id: 'evt_1',
      object: 'event',
      type: 'checkout.session.completed',
      created: Math.floor(Date.now() / 1000),
      data: {
        object: {
          id: 'cs_test_1',
          object: 'checkout.session',
          amount_total: 4999,
          currency: 'eur',
          payment_status: 'paid',
          client_reference_id: 'USER_9',
          customer_details: { email: 'buyer@example.com' },
          metadata: { item_id: 'SKU-9' },
        },
      },
    });
    const ok = await deliver(url, session, { 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: session, secret }) });
    expect(ok.body).toEqual({ status: 'processed', delivery_id: 'evt_1', events_written: 1 });
    // The official library accepts what we accepted.
    const header = stripe.webhooks.generateTestHeaderString({ payload: session, secret });
    expect(stripe.webhooks.constructEvent(session, header, secret).id).toBe('evt_1');

    const stale = await deliver(url, session, {
      'stripe-signature': stripe.webhooks.generateTestHeaderString({
        payload: session,
        secret,
        timestamp: Math.floor(Date.now() / 1000) - 600,
      }),
    });
    expect(stale.status).toBe(401);
    expect(stale.body.error.code).toBe('WEBHOOK_TIMESTAMP_STALE');
    const forged = await deliver(url, session.replace('4999', '1'), { 'stripe-signature': header });
    expect(forged.status).toBe(401);
    expect((await deliver(url, session, { 'stripe-signature': 't=abc,v1=zz' })).status).toBe(401);

    const refund = JSON.stringify({
      id: 'evt_2',
      type: 'charge.refunded',
      created: Math.floor(Date.now() / 1000),
      data: {
        object: {
          id: 'ch_1',
          amount_refunded: 1500,
          currency: 'eur',
          billing_details: { email: 'buyer@example.com' },
          refunds: {
            data: [
              { id: 're_1', amount: 1000 },
              { id: 're_2', amount: 500 },
            ],
          },
        },
      },
    });
    const r = await deliver(url, refund, { 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: refund, secret }) });
    expect(r.body.events_written).toBe(2);
    const rows = await interactions(A.tenantId, 'stripe');
    expect(rows.map((x) => [x.type, x.priceMinor, x.itemId, x.currency])).toEqual([
      ['purchase', '4999', 'SKU-9', 'EUR'],
      ['refund', '1000', null, 'EUR'],
      ['refund', '500', null, 'EUR'],
    ]);
    const log = await deliveries(A, c.id);
    expect(
      log
        .filter((d) => d.status === 'rejected')
        .map((d) => d.reason)
        .sort(),
    ).toEqual(['bad_signature', 'malformed_signature', 'stale_timestamp']);
  });
});

describe('Twilio WhatsApp webhooks', () => {
  it('verifies X-Twilio-Signature over the public URL and form parameters; inbound messages and status callbacks become events', async () => {
    const authToken = '0123456789abcdef0123456789abcdef';
    const c = await connect(A, {
      type: 'twilio',
      name: 'WhatsApp',
      secret: authToken,
      settings: { account_sid: 'AC0123456789abcdef0123456789abcdef' },
    });
    const path = `/api/v1/webhooks/twilio/${c.id}`;
    expect(c.webhook_url).toBe(`${PUBLIC_URL}${path}`);
    const send = (params: Record<string, string>, signature?: string) => {
      const sig = signature ?? twilio.getExpectedTwilioSignature(authToken, c.webhook_url, params);
      expect(twilio.validateRequest(authToken, sig, c.webhook_url, params)).toBe(signature === undefined);
      return deliver(path, new URLSearchParams(params).toString(), {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': sig,
      });
    };
    const inbound = {
      MessageSid: 'SM0001',
      AccountSid: 'AC0123456789abcdef0123456789abcdef',
      From: 'whatsapp:+14155550123',
      To: 'whatsapp:+14155238886',
      Body: 'Is the red one in stock?',
      NumMedia: '0',
      ProfileName: 'Ana',
      WaId: '14155550123',
    };
    const res = await send(inbound);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/xml');
    expect(String(res.body)).toContain('<Response>');
    const status = {
      MessageSid: 'SM0002',
      AccountSid: inbound.AccountSid,
      From: 'whatsapp:+14155238886',
      To: 'whatsapp:+14155550123',
      MessageStatus: 'delivered',
    };
    await send(status);
    await send(status); // Twilio retries: stored once
    expect(
      (await send({ ...inbound, Body: 'tampered' }, twilio.getExpectedTwilioSignature(authToken, c.webhook_url, inbound))).status,
    ).toBe(401);
    const rows = await interactions(A.tenantId, 'whatsapp');
    expect(rows.map((r) => r.type)).toEqual(['whatsapp_message', 'whatsapp_message_status']);
    // The message text is not kept in the event store.
    expect(JSON.stringify(rows)).not.toContain('red one');
    const otherAccount = { ...inbound, MessageSid: 'SM0003', AccountSid: 'AC' + 'f'.repeat(32) };
    expect((await send(otherAccount)).status).toBe(401);
  });
});
