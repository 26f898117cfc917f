import type { IdentifierInput } from '../../identity/index.ts';
import { idText, identityInput, revenueOf, toMinorUnits, type PendingEvent } from '../ingest.core.ts';
import type { NewInteraction } from '../interactions.core.ts';
import { arr, dateOr, int, obj, text, type MappedDelivery, type Obj } from './connector.types.ts';

/** Shopify webhook topics Loupe maps; others are acknowledged and ignored. */

function customerIdentifiers(customer: Obj, extra: { email?: unknown; phone?: unknown } = {}): IdentifierInput[] {
  const out: IdentifierInput[] = [];
  const cid = idText(customer.id);
  if (cid) out.push({ type: 'shopify_customer_id', value: cid });
  for (const e of [extra.email, customer.email]) {
    const v = text(e, 320);
    if (v) out.push({ type: 'email', value: v });
  }
  for (const p of [extra.phone, customer.phone, obj(customer.default_address).phone]) {
    const v = text(p, 40);
    if (v) out.push({ type: 'phone', value: v });
  }
  return out;
}

function traitsOf(customer: Obj): Record<string, unknown> {
  const t: Record<string, unknown> = {};
  const first = text(customer.first_name);
  const last = text(customer.last_name);
  if (first) t.first_name = first;
  if (last) t.last_name = last;
  const country = text(obj(customer.default_address).country_code, 2);
  if (country) t.country = country;
  return t;
}

/** The note attribute by which a Shopify order names the Loupe commerce order it is (set by the store's sync). */
export const LOUPE_ORDER_ATTRIBUTE = 'loupe_order_id';

/**
 * The Loupe commerce order a Shopify order is, if it says so: the `note_attributes` entry named
 * `loupe_order_id` (Shopify's documented `{name, value}` pairs). Null when absent or not a plausible id.
 */
export function loupeOrderOf(order: Obj): string | null {
  for (const raw of arr(order.note_attributes)) {
    const a = obj(raw);
    if (text(a.name) !== LOUPE_ORDER_ATTRIBUTE) continue;
    // Checked whole (not truncated): an id cut short would name no order yet still silence Shopify's purchase.
    return typeof a.value === 'string' && /^[A-Za-z0-9_-]{1,100}$/.test(a.value) ? a.value : null;
  }
  return null;
}

/**
 * Maps a Shopify webhook (topic + parsed body, ids as strings) to Loupe events. Orders become one purchase per
 * line item with its unit price in minor units; `orders/create` and `orders/paid` of one order share event ids
 * (order + line), so an order is counted once whichever arrives first. Customers become identity updates;
 * carts become add_to_cart per (cart, variant, quantity) state, keyed to the cart token as an anonymous id.
 * An order that names a Loupe commerce order (`loupeOrderOf`) is that order: commerce owns its purchase (written
 * once when it is paid, keys `order:<id>:<item>`), so Shopify's delivery adds only the customer's identity, in
 * whichever order the two channels arrive.
 */
export function mapShopify(topic: string, body: unknown, now: Date): MappedDelivery {
  const p = obj(body);
  if (topic === 'orders/create' || topic === 'orders/paid') {
    const orderId = idText(p.id);
    if (!orderId) return { events: [], profiles: [], ignored: 'order without id' };
    const customer = obj(p.customer);
    const currency = text(p.currency, 3)?.toUpperCase() ?? null;
    const occurredAt = dateOr(p.processed_at ?? p.created_at, now);
    const ids = customerIdentifiers(customer, { email: p.email ?? p.contact_email, phone: p.phone ?? obj(p.billing_address).phone });
    const identity = identityInput(ids, 'shopify', occurredAt, { traits: traitsOf(customer), eventRef: `shopify:order:${orderId}` });
    if (loupeOrderOf(p))
      return {
        events: [],
        profiles: identity ? [identity] : [],
        ignored: 'order placed through Loupe commerce, which records its purchase',
      };
    const events: PendingEvent[] = arr(p.line_items).map((raw, i) => {
      const li = obj(raw);
      const lineId = idText(li.id) ?? String(i);
      const row: NewInteraction = {
        eventId: `shopify:order:${orderId}:line:${lineId}`,
        userId: idText(customer.id),
        itemId: idText(li.product_id) ?? idText(li.variant_id) ?? text(li.sku),
        type: 'purchase',
        quantity: int(li.quantity) ?? 1,
        priceMinor: toMinorUnits(text(li.price, 40), currency),
        currency,
        orderId,
        source: 'shopify',
        metadata: {
          order_number: text(p.order_number) ?? text(p.name),
          variant_id: idText(li.variant_id),
          sku: text(li.sku),
          title: text(li.title, 300),
          financial_status: text(p.financial_status),
          topic,
        },
        occurredAt,
      };
      return { row, identity, revenueMinor: revenueOf(row) };
    });
    return { events, profiles: events.length || !identity ? [] : [identity] };
  }
  if (topic === 'customers/create' || topic === 'customers/update') {
    const occurredAt = dateOr(p.updated_at ?? p.created_at, now);
    const identity = identityInput(customerIdentifiers(p), 'shopify', occurredAt, {
      traits: traitsOf(p),
      ...(idText(p.id) ? { eventRef: `shopify:customer:${idText(p.id)}` } : {}),
    });
    return identity ? { events: [], profiles: [identity] } : { events: [], profiles: [], ignored: 'customer without identifiers' };
  }
  if (topic === 'carts/create' || topic === 'carts/update') {
    const token = text(p.token) ?? idText(p.id);
    if (!token) return { events: [], profiles: [], ignored: 'cart without token' };
    const occurredAt = dateOr(p.updated_at ?? p.created_at, now);
    const anonymousId = `shopify_cart:${token}`;
    const identity = identityInput([{ type: 'anonymous_id', value: anonymousId }], 'shopify', occurredAt);
    const events: PendingEvent[] = arr(p.line_items).map((raw) => {
      const li = obj(raw);
      const variant = idText(li.variant_id) ?? idText(li.id) ?? 'unknown';
      const quantity = int(li.quantity) ?? 1;
      const row: NewInteraction = {
        eventId: `shopify:cart:${token}:${variant}:${quantity}`,
        anonymousId,
        itemId: idText(li.product_id) ?? idText(li.variant_id),
        type: 'add_to_cart',
        quantity,
        priceMinor: toMinorUnits(text(li.price, 40), null),
        source: 'shopify',
        metadata: { variant_id: idText(li.variant_id), cart_token: token, topic },
        occurredAt,
      };
      return { row, identity };
    });
    return { events, profiles: [] };
  }
  if (topic === SHOPIFY_TEST_TOPIC) return { events: [], profiles: [], ignored: 'test event: received and verified' };
  return { events: [], profiles: [], ignored: `topic ${topic} is not used` };
}

/** The topic of the dashboard's "Send test event": verified and logged like any delivery, writes nothing. */
export const SHOPIFY_TEST_TOPIC = 'loupe/test';

/**
 * The Shopify webhook topics Loupe uses, with what each brings: the list a merchant subscribes to in the Shopify
 * admin (Settings → Notifications → Webhooks, JSON format), all on the connection's webhook URL.
 */
export const SHOPIFY_TOPICS: readonly { topic: string; why: string }[] = [
  { topic: 'orders/create', why: 'purchases as they are placed' },
  { topic: 'orders/paid', why: 'purchases of orders paid later (counted once with orders/create)' },
  { topic: 'customers/create', why: 'new customers and their identifiers' },
  { topic: 'customers/update', why: 'changed e-mail, phone or name' },
  { topic: 'carts/create', why: 'add-to-cart signals of shoppers' },
  { topic: 'carts/update', why: 'cart changes' },
];
