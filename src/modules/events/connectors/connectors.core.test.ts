import { readFileSync } from 'node:fs';
import Stripe from 'stripe';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { sharedPath } from '../../../../test/shared-data.ts';
import { parseJsonLossless } from '../ingest.core.ts';
import { loupeOrderOf, mapShopify } from './shopify.core.ts';
import { signHmacSha256Base64, verifyHmacSha256Base64, verifyStripe, verifyTwilio } from './signatures.core.ts';
import { mapStripe } from './stripe.core.ts';
import { mapTwilio, whatsappNumber } from './twilio.core.ts';
import { mapWooCommerce } from './woocommerce.core.ts';

const now = new Date('2026-06-01T12:00:00Z');
const FIXTURE = sharedPath('fixtures/shopify/orders_create.json');

describe('signatures', () => {
  it('HMAC-SHA256 base64 (Shopify, WooCommerce): accepts the exact bytes only', () => {
    const body = Buffer.from('{"id":1}');
    const sig = signHmacSha256Base64('secret', body);
    expect(verifyHmacSha256Base64('secret', body, sig)).toEqual({ ok: true });
    expect(verifyHmacSha256Base64('secret', Buffer.from('{"id":2}'), sig)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyHmacSha256Base64('other', body, sig)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyHmacSha256Base64('secret', body, undefined)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verifyHmacSha256Base64('secret', body, '!!!not base64')).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('Stripe: verifies what the official library signs, within a 5-minute tolerance', () => {
    const stripe = new Stripe('sk_test_x');
    const payload = '{"id":"evt_1"}';
    const t = Math.floor(now.getTime() / 1000);
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_1', timestamp: t });
    expect(verifyStripe('whsec_1', Buffer.from(payload), header, now).ok).toBe(true);
    expect(verifyStripe('whsec_1', Buffer.from(payload), header, new Date(now.getTime() + 299_000)).ok).toBe(true);
    expect(verifyStripe('whsec_1', Buffer.from(payload), header, new Date(now.getTime() + 301_000))).toMatchObject({
      ok: false,
      reason: 'stale_timestamp',
    });
    expect(verifyStripe('whsec_2', Buffer.from(payload), header, now)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(verifyStripe('whsec_1', Buffer.from(payload), 'v1=abc', now)).toMatchObject({ ok: false, reason: 'malformed_signature' });
    // Several v1 signatures (secret rotation): one matching is enough.
    const [tPart, v1] = header.split(',');
    expect(verifyStripe('whsec_1', Buffer.from(payload), `${tPart},v1=${'0'.repeat(64)},${v1}`, now).ok).toBe(true);
  });

  it('Twilio: agrees with the official helpers, including the default-port variant', () => {
    const token = 'tok_0123456789';
    const url = 'https://loupe.example.com/api/v1/webhooks/twilio/abc?x=1';
    const params = { Body: 'hi', From: 'whatsapp:+14155550123', MessageSid: 'SM1', To: 'whatsapp:+1415' };
    const sig = twilio.getExpectedTwilioSignature(token, url, params);
    expect(verifyTwilio(token, url, new URLSearchParams(params), sig)).toEqual({ ok: true });
    expect(verifyTwilio(token, 'https://loupe.example.com:443/api/v1/webhooks/twilio/abc?x=1', new URLSearchParams(params), sig)).toEqual({
      ok: true,
    });
    expect(verifyTwilio(token, 'https://proxy.internal/api/v1/webhooks/twilio/abc?x=1', new URLSearchParams(params), sig).ok).toBe(false);
    expect(verifyTwilio(token, url, new URLSearchParams({ ...params, Body: 'changed' }), sig).ok).toBe(false);
    expect(twilio.validateRequest(token, sig, url, params)).toBe(true);
  });
});

describe('Shopify mapping', () => {
  it.skipIf(!FIXTURE)('maps the orders/create fixture to two purchases with exact ids, prices and the customer’s identifiers', () => {
    const body = parseJsonLossless(readFileSync(FIXTURE!, 'utf8'));
    const out = mapShopify('orders/create', body, now);
    expect(out.events.map((e) => [e.row.eventId, e.row.itemId, e.row.priceMinor, e.row.quantity, e.row.orderId, e.revenueMinor])).toEqual([
      ['shopify:order:820982911946154508:line:866550311766439020', '9313716535612', 88595n, 1, '820982911946154508', 88595n],
      ['shopify:order:820982911946154508:line:141249953214522974', '9313716601148', 69995n, 1, '820982911946154508', 69995n],
    ]);
    const ids = out.events[0]!.identity!.identifiers;
    expect(ids).toContainEqual({ type: 'shopify_customer_id', value: '115310627314723954' });
    expect(ids).toContainEqual({ type: 'email', value: 'jon@example.com' });
    expect(ids).toContainEqual({ type: 'phone', value: '123-123-1234' });
    expect(out.events[0]!.identity!.traits).toMatchObject({ first_name: 'John', last_name: 'Smith' });
    // orders/paid of the same order maps to the same event ids (counted once).
    expect(mapShopify('orders/paid', body, now).events.map((e) => e.row.eventId)).toEqual(out.events.map((e) => e.row.eventId));
  });
  it('customers become identity updates; carts become add_to_cart per cart state; unknown topics are ignored', () => {
    expect(mapShopify('customers/update', { id: 5, email: 'A@b.co', first_name: 'A' }, now)).toMatchObject({
      events: [],
      profiles: [
        {
          identifiers: [
            { type: 'shopify_customer_id', value: '5' },
            { type: 'email', value: 'A@b.co' },
          ],
          traits: { first_name: 'A' },
        },
      ],
    });
    const cart = mapShopify(
      'carts/update',
      { token: 'tok', line_items: [{ variant_id: 7, product_id: 3, quantity: 2, price: '5.00' }] },
      now,
    );
    expect(cart.events[0]!.row).toMatchObject({
      eventId: 'shopify:cart:tok:7:2',
      anonymousId: 'shopify_cart:tok',
      itemId: '3',
      type: 'add_to_cart',
      quantity: 2,
    });
    expect(mapShopify('products/create', {}, now).ignored).toMatch(/not used/);
    expect(mapShopify('orders/create', 'garbage', now).ignored).toBeDefined();
  });
  it('an order naming a Loupe commerce order (note_attributes loupe_order_id) writes no purchase, only identity', () => {
    const order = {
      id: 9,
      email: 'a@b.co',
      customer: { id: 4 },
      line_items: [{ id: 1, product_id: 3, price: '5.00', quantity: 1 }],
      note_attributes: [
        { name: 'gift', value: 'yes' },
        { name: 'loupe_order_id', value: '01a2-ord' },
      ],
    };
    for (const topic of ['orders/create', 'orders/paid']) {
      const out = mapShopify(topic, order, now);
      expect(out.events).toEqual([]);
      expect(out.profiles[0]!.identifiers).toContainEqual({ type: 'shopify_customer_id', value: '4' });
      expect(out.ignored).toMatch(/Loupe commerce/);
    }
    expect(loupeOrderOf(order)).toBe('01a2-ord');
    // No link, a malformed or hostile value, or a non-list: the order is Shopify's own and counted from Shopify.
    for (const note_attributes of [
      undefined,
      'x',
      [{ name: 'loupe_order_id', value: '' }],
      [{ name: 'loupe_order_id', value: "x' OR 1=1" }],
      [{ name: 'loupe_order_id', value: 'x'.repeat(101) }],
    ]) {
      expect(loupeOrderOf({ note_attributes })).toBeNull();
      expect(mapShopify('orders/create', { ...order, note_attributes }, now).events).toHaveLength(1);
    }
  });
});

describe('WooCommerce, Stripe and Twilio mapping', () => {
  it('WooCommerce: unpaid orders give no purchase; refunds are positive amounts keyed by refund id', () => {
    const pending = mapWooCommerce(
      'order.created',
      { id: 1, status: 'pending', billing: { email: 'x@y.z' }, line_items: [{ id: 1, product_id: 2, quantity: 1, price: 3 }] },
      now,
    );
    expect(pending.events).toEqual([]);
    expect(pending.profiles).toHaveLength(1);
    const done = mapWooCommerce(
      'order.updated',
      {
        id: 1,
        status: 'completed',
        currency: 'usd',
        line_items: [{ id: 1, product_id: 2, quantity: 4, total: '10.00' }],
        refunds: [{ id: 9, total: '-2.50' }],
      },
      now,
    );
    expect(done.events.map((e) => [e.row.type, e.row.priceMinor, e.row.eventId, e.revenueMinor])).toEqual([
      ['purchase', 250n, 'woocommerce:order:1:line:1', 1000n],
      ['refund', 250n, 'woocommerce:refund:9', 250n],
    ]);
  });
  it('Stripe: a paid checkout is one purchase of amount_total; unpaid and unknown events are ignored', () => {
    const ev = (type: string, object: object) => ({ id: 'evt', type, created: 1767225600, data: { object } });
    const paid = mapStripe(
      ev('checkout.session.completed', { id: 'cs_1', amount_total: 1234, currency: 'usd', payment_status: 'paid', customer: 'cus_1' }),
      now,
    );
    expect(paid.events[0]!.row).toMatchObject({
      eventId: 'stripe:checkout:cs_1',
      type: 'purchase',
      priceMinor: 1234n,
      currency: 'USD',
      orderId: 'cs_1',
    });
    expect(paid.events[0]!.identity!.identifiers).toContainEqual({ type: 'stripe_customer_id', value: 'cus_1' });
    expect(mapStripe(ev('checkout.session.completed', { id: 'cs_2', payment_status: 'unpaid' }), now).ignored).toBeDefined();
    expect(mapStripe(ev('charge.refunded', { id: 'ch_1', amount_refunded: 700, currency: 'usd' }), now).events[0]!.row).toMatchObject({
      type: 'refund',
      priceMinor: 700n,
      eventId: 'stripe:charge:ch_1:refunded:700',
    });
    expect(mapStripe(ev('invoice.paid', {}), now).ignored).toMatch(/not used/);
    // A charge of a Loupe commerce order (PaymentIntent metadata inherited by the charge) is commerce's refund.
    const own = mapStripe(
      ev('charge.refunded', { id: 'ch_2', amount_refunded: 700, currency: 'usd', metadata: { loupe_order_id: 'o1' } }),
      now,
    );
    expect(own).toMatchObject({ events: [], profiles: [] });
    expect(own.ignored).toMatch(/Loupe commerce order/);
  });
  it('Twilio: inbound messages and status callbacks, without storing the message text', () => {
    expect(whatsappNumber('whatsapp:+14155550123')).toBe('+14155550123');
    expect(whatsappNumber('+14155550123')).toBeNull();
    const inbound = mapTwilio(
      new URLSearchParams({
        MessageSid: 'SM1',
        From: 'whatsapp:+14155550123',
        To: 'whatsapp:+1999',
        Body: 'secret words',
        ProfileName: 'Ana',
      }),
      now,
    );
    expect(inbound.events[0]!.row).toMatchObject({ eventId: 'twilio:SM1', type: 'whatsapp_message' });
    expect(JSON.stringify(inbound.events[0]!.row)).not.toContain('secret words');
    expect(inbound.events[0]!.identity).toMatchObject({
      identifiers: [{ type: 'whatsapp', value: '+14155550123' }],
      traits: { name: 'Ana' },
    });
    const status = mapTwilio(
      new URLSearchParams({ MessageSid: 'SM2', From: 'whatsapp:+1999', To: 'whatsapp:+14155550123', MessageStatus: 'read' }),
      now,
    );
    expect(status.events[0]!.row).toMatchObject({ eventId: 'twilio:SM2:read', type: 'whatsapp_message_status' });
    expect(mapTwilio(new URLSearchParams({ MessageSid: 'SM3', From: '+1555', Body: 'sms' }), now).ignored).toBeDefined();
  });
});
