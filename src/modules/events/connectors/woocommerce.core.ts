import type { IdentifierInput } from '../../identity/index.ts';
import { idText, identityInput, revenueOf, toMinorUnits, type PendingEvent } from '../ingest.core.ts';
import type { NewInteraction } from '../interactions.core.ts';
import { arr, dateOr, int, obj, text, type MappedDelivery, type Obj } from './connector.types.ts';

/** Order statuses that mean the customer paid (WooCommerce's "paid" statuses). */
const PAID = new Set(['processing', 'completed', 'on-hold']);

function identifiers(customerId: unknown, billing: Obj, email?: unknown): IdentifierInput[] {
  const out: IdentifierInput[] = [];
  const cid = idText(customerId);
  if (cid && cid !== '0') out.push({ type: 'woocommerce_customer_id', value: cid }); // 0 = guest checkout
  const e = text(email ?? billing.email, 320);
  if (e) out.push({ type: 'email', value: e });
  const ph = text(billing.phone, 40);
  if (ph) out.push({ type: 'phone', value: ph });
  return out;
}

/**
 * Maps a WooCommerce webhook (`X-WC-Webhook-Topic` + body) to Loupe events. A paid order gives one purchase
 * per line item (event id order + line: `order.created` then `order.updated` count once); each refund in the
 * order's `refunds` becomes a `refund` event keyed by the refund id. Customers become identity updates.
 */
export function mapWooCommerce(topic: string, body: unknown, now: Date): MappedDelivery {
  const p = obj(body);
  if (topic === 'order.created' || topic === 'order.updated') {
    const orderId = idText(p.id);
    if (!orderId) return { events: [], profiles: [], ignored: 'order without id' };
    const billing = obj(p.billing);
    const currency = text(p.currency, 3)?.toUpperCase() ?? null;
    const occurredAt = dateOr(p.date_paid_gmt ?? p.date_created_gmt ?? p.date_created, now);
    const traits: Record<string, unknown> = {};
    if (text(billing.first_name)) traits.first_name = text(billing.first_name);
    if (text(billing.last_name)) traits.last_name = text(billing.last_name);
    const identity = identityInput(identifiers(p.customer_id, billing), 'woocommerce', occurredAt, {
      traits,
      eventRef: `woocommerce:order:${orderId}`,
    });
    const userId = idText(p.customer_id) && idText(p.customer_id) !== '0' ? idText(p.customer_id) : null;
    const events: PendingEvent[] = [];
    const status = text(p.status) ?? '';
    if (PAID.has(status)) {
      arr(p.line_items).forEach((raw, i) => {
        const li = obj(raw);
        const quantity = int(li.quantity) ?? 1;
        // `price` is the unit price after discounts (a number); fall back to total / quantity.
        const unit =
          li.price != null ? toMinorUnits(typeof li.price === 'number' || typeof li.price === 'string' ? li.price : null, currency) : null;
        const total = toMinorUnits(text(li.total, 40), currency);
        const row: NewInteraction = {
          eventId: `woocommerce:order:${orderId}:line:${idText(li.id) ?? i}`,
          userId,
          itemId:
            idText(li.variation_id) && idText(li.variation_id) !== '0' ? idText(li.product_id) : (idText(li.product_id) ?? text(li.sku)),
          type: 'purchase',
          quantity,
          priceMinor: unit ?? (total != null && quantity ? total / BigInt(quantity) : null),
          currency,
          orderId,
          source: 'woocommerce',
          metadata: { sku: text(li.sku), variation_id: idText(li.variation_id), name: text(li.name, 300), status, topic },
          occurredAt,
        };
        events.push({ row, identity, revenueMinor: revenueOf(row) });
      });
    }
    for (const raw of arr(p.refunds)) {
      const r = obj(raw);
      const refundId = idText(r.id);
      const amount = toMinorUnits(text(r.total, 40), currency);
      if (!refundId || amount == null) continue;
      const positive = amount < 0n ? -amount : amount;
      const row: NewInteraction = {
        eventId: `woocommerce:refund:${refundId}`,
        userId,
        type: 'refund',
        quantity: 1,
        priceMinor: positive,
        currency,
        orderId,
        source: 'woocommerce',
        metadata: { reason: text(r.reason, 300), topic },
        occurredAt: dateOr(p.date_modified_gmt, now),
      };
      events.push({ row, identity, revenueMinor: positive });
    }
    if (!events.length)
      return identity
        ? { events: [], profiles: [identity] }
        : { events: [], profiles: [], ignored: `order status ${status || 'unknown'} carries no purchase` };
    return { events, profiles: [] };
  }
  if (topic === 'customer.created' || topic === 'customer.updated') {
    const billing = obj(p.billing);
    const traits: Record<string, unknown> = {};
    if (text(p.first_name)) traits.first_name = text(p.first_name);
    if (text(p.last_name)) traits.last_name = text(p.last_name);
    const identity = identityInput(
      identifiers(p.id, billing, p.email),
      'woocommerce',
      dateOr(p.date_modified_gmt ?? p.date_created_gmt, now),
      { traits },
    );
    return identity ? { events: [], profiles: [identity] } : { events: [], profiles: [], ignored: 'customer without identifiers' };
  }
  return { events: [], profiles: [], ignored: `topic ${topic} is not used` };
}
