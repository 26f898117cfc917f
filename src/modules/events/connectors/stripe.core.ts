import type { IdentifierInput } from '../../identity/index.ts';
import { idText, identityInput, type PendingEvent } from '../ingest.core.ts';
import type { NewInteraction } from '../interactions.core.ts';
import { arr, dateOr, int, obj, text, type MappedDelivery, type Obj } from './connector.types.ts';

function identifiers(customer: unknown, details: Obj, clientReference?: unknown): IdentifierInput[] {
  const out: IdentifierInput[] = [];
  const ref = text(clientReference);
  if (ref) out.push({ type: 'user_id', value: ref });
  const cus = typeof customer === 'string' ? customer : text(obj(customer).id);
  if (cus) out.push({ type: 'stripe_customer_id', value: cus });
  const e = text(details.email, 320);
  if (e) out.push({ type: 'email', value: e });
  const ph = text(details.phone, 40);
  if (ph) out.push({ type: 'phone', value: ph });
  return out;
}

/**
 * Maps a Stripe event (the whole `{id, type, created, data: {object}}` body) to Loupe events.
 * `checkout.session.completed` is one purchase of the session's amount_total (Stripe sends no line items in the
 * event; `metadata.item_id` names the item when the store sets it). `charge.refunded` gives one `refund` per
 * refund listed on the charge; without a list (newer API versions), one refund of the cumulative amount refunded.
 * A charge of a Loupe commerce order (its PaymentIntent's `loupe_order_id` metadata, which the charge inherits) is
 * commerce's: its order records the refund once (its own Stripe webhook or refund call), so nothing is mapped here.
 */
export function mapStripe(body: unknown, now: Date): MappedDelivery {
  const p = obj(body);
  const type = text(p.type) ?? '';
  const o = obj(obj(p.data).object);
  const occurredAt = dateOr(p.created, now);
  const currency = text(o.currency, 3)?.toUpperCase() ?? null;
  const metadata = obj(o.metadata);
  if (type === 'checkout.session.completed') {
    const sessionId = text(o.id);
    if (!sessionId) return { events: [], profiles: [], ignored: 'session without id' };
    if (text(o.payment_status) === 'unpaid') return { events: [], profiles: [], ignored: 'session not paid yet' };
    const amount = typeof o.amount_total === 'number' && Number.isInteger(o.amount_total) ? BigInt(o.amount_total) : null;
    const identity = identityInput(identifiers(o.customer, obj(o.customer_details), o.client_reference_id), 'stripe', occurredAt, {
      eventRef: `stripe:${text(p.id) ?? sessionId}`,
    });
    const row: NewInteraction = {
      eventId: `stripe:checkout:${sessionId}`,
      userId: text(o.client_reference_id),
      itemId: text(metadata.item_id),
      type: 'purchase',
      quantity: 1,
      priceMinor: amount,
      currency,
      orderId: text(metadata.order_id) ?? sessionId,
      source: 'stripe',
      metadata: { payment_intent: text(o.payment_intent), stripe_event: text(p.id), mode: text(o.mode) },
      occurredAt,
    };
    const ev: PendingEvent = { row, identity, revenueMinor: amount };
    return { events: [ev], profiles: [] };
  }
  if (type === 'charge.refunded') {
    const chargeId = text(o.id);
    if (!chargeId) return { events: [], profiles: [], ignored: 'charge without id' };
    if (text(metadata.loupe_order_id)) return { events: [], profiles: [], ignored: 'refund of a Loupe commerce order, which records it' };
    const identity = identityInput(identifiers(o.customer, obj(o.billing_details)), 'stripe', occurredAt, {
      eventRef: `stripe:${text(p.id) ?? chargeId}`,
    });
    const orderId = text(metadata.order_id) ?? text(o.payment_intent) ?? chargeId;
    const refunds = arr(obj(o.refunds).data)
      .map(obj)
      .filter((r) => text(r.id) && int(r.amount) != null);
    const parts = refunds.length
      ? refunds.map((r) => ({ key: `stripe:refund:${text(r.id)}`, amount: BigInt(int(r.amount)!), at: dateOr(r.created, occurredAt) }))
      : typeof o.amount_refunded === 'number' && o.amount_refunded > 0
        ? [
            {
              key: `stripe:charge:${chargeId}:refunded:${o.amount_refunded}`,
              amount: BigInt(Math.trunc(o.amount_refunded)),
              at: occurredAt,
            },
          ]
        : [];
    const events: PendingEvent[] = parts.map((part) => ({
      row: {
        eventId: part.key,
        type: 'refund',
        quantity: 1,
        priceMinor: part.amount,
        currency,
        orderId,
        source: 'stripe',
        metadata: { charge: chargeId, stripe_event: text(p.id) },
        occurredAt: part.at,
      },
      identity,
      revenueMinor: part.amount,
    }));
    return events.length ? { events, profiles: [] } : { events: [], profiles: [], ignored: 'charge with nothing refunded' };
  }
  return { events: [], profiles: [], ignored: `event type ${type || 'unknown'} is not used` };
}

/** The parts of a Stripe event needed before mapping: its id (the delivery id) and type. */
export function stripeEnvelope(body: unknown): { id: string | null; type: string | null } {
  const p = obj(body);
  return { id: idText(p.id), type: text(p.type) };
}
