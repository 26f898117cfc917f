import type { IdentifierInput, ResolveInput } from '../identity/index.ts';
import { arr, obj, text, type Obj } from './connectors/connector.types.ts';
import { customTypeOf, identityInput, revenueOf, toMinorUnits, type PendingEvent } from './ingest.core.ts';
import type { NewInteraction } from './interactions.core.ts';

/** Segment's e-commerce spec events mapped to Loupe interaction types; other events become custom types. */
export const SEGMENT_EVENT_TYPES: Readonly<Record<string, string>> = {
  'Product Viewed': 'view',
  'Product Clicked': 'click',
  'Product Added': 'add_to_cart',
  'Product Removed': 'remove_from_cart',
  'Product Added to Wishlist': 'like',
  'Product Reviewed': 'rating',
  'Products Searched': 'search',
  'Order Completed': 'purchase',
  'Order Refunded': 'refund',
};

export type SegmentKind = 'track' | 'identify' | 'page' | 'screen' | 'alias' | 'group';

/** A Segment message (Segment's own field names); read defensively, as libraries add fields of their own. */
export interface SegmentMessage {
  type: SegmentKind;
  messageId?: string | undefined;
  userId?: string | number | null | undefined;
  anonymousId?: string | number | null | undefined;
  previousId?: string | number | null | undefined;
  event?: string | undefined;
  name?: string | null | undefined;
  category?: string | null | undefined;
  properties?: Record<string, unknown> | undefined;
  traits?: Record<string, unknown> | undefined;
  context?: Record<string, unknown> | undefined;
  timestamp?: string | undefined;
  sentAt?: string | undefined;
}

export interface MappedSegment {
  events: PendingEvent[];
  profiles: ResolveInput[];
}

const idOf = (v: unknown) => (typeof v === 'number' ? String(v) : text(v));

/**
 * When the event happened, corrected for the sender's clock as Segment does: the device's `timestamp` shifted
 * by the difference between our receipt time and the device's `sentAt`.
 */
export function segmentTime(m: Pick<SegmentMessage, 'timestamp' | 'sentAt'>, batchSentAt: string | undefined, now: Date): Date {
  const ts = m.timestamp ? new Date(m.timestamp) : null;
  if (!ts || !Number.isFinite(ts.getTime())) return now;
  const sentRaw = m.sentAt ?? batchSentAt;
  const sent = sentRaw ? new Date(sentRaw) : null;
  if (!sent || !Number.isFinite(sent.getTime())) return ts;
  return new Date(now.getTime() - (sent.getTime() - ts.getTime()));
}

function identifiersOf(m: SegmentMessage, traits: Obj): IdentifierInput[] {
  const out: IdentifierInput[] = [];
  const user = idOf(m.userId);
  const anon = idOf(m.anonymousId);
  if (user) out.push({ type: 'user_id', value: user });
  if (anon) out.push({ type: 'anonymous_id', value: anon });
  const email = text(traits.email, 320);
  if (email) out.push({ type: 'email', value: email });
  const phone = text(traits.phone, 40);
  if (phone) out.push({ type: 'phone', value: phone });
  return out;
}

/** Maps one Segment message to Loupe events and identity updates (pure; `now` is the receipt time). */
export function mapSegmentMessage(m: SegmentMessage, opts: { now: Date; batchSentAt?: string | undefined }): MappedSegment {
  const occurredAt = segmentTime(m, opts.batchSentAt, opts.now);
  const context = obj(m.context);
  const traits = { ...obj(context.traits), ...obj(m.traits) };
  const ids = identifiersOf(m, traits);
  const traitOut: Record<string, unknown> = {};
  for (const k of ['name', 'first_name', 'last_name', 'firstName', 'lastName']) if (text(traits[k])) traitOut[k] = text(traits[k]);
  const identity = identityInput(ids, 'segment', occurredAt, { traits: traitOut, ...(m.messageId ? { eventRef: m.messageId } : {}) });
  const base = {
    userId: idOf(m.userId),
    anonymousId: idOf(m.anonymousId),
    source: 'segment',
    // The Loupe tracker's session (30 minutes idle); Segment's own libraries send none.
    sessionId: text(context.session_id, 200) ?? null,
    context: Object.keys(context).length ? pickContext(context) : null,
    occurredAt,
  };

  if (m.type === 'identify') return { events: [], profiles: identity ? [identity] : [] };
  if (m.type === 'alias') {
    const prev = idOf(m.previousId);
    const alias = identityInput(
      [...ids, prev ? { type: 'anonymous_id', value: prev } : null],
      'segment',
      occurredAt,
      m.messageId ? { eventRef: m.messageId } : {},
    );
    return { events: [], profiles: alias ? [alias] : [] };
  }
  if (m.type === 'group') return { events: [], profiles: [] };
  if (!identity) return { events: [], profiles: [] };

  const props = obj(m.properties);
  if (m.type === 'page' || m.type === 'screen') {
    const page = obj(context.page);
    const row: NewInteraction = {
      ...base,
      eventId: m.messageId ?? null,
      type: m.type === 'page' ? 'page_view' : 'screen_view',
      metadata: {
        name: text(m.name),
        category: text(m.category),
        url: text(props.url ?? page.url, 2000),
        path: text(props.path ?? page.path, 2000),
        title: text(props.title ?? page.title, 500),
        referrer: text(props.referrer ?? page.referrer, 2000),
      },
    };
    return { events: [{ row, identity }], profiles: [] };
  }

  const name = m.event ?? '';
  const type = SEGMENT_EVENT_TYPES[name] ?? customTypeOf(name);
  const currency = text(props.currency, 3)?.toUpperCase() ?? null;
  const orderId = text(props.order_id);
  const recommendationId = text(props.recommendation_id);
  const line = (p: Obj, i: number | null): PendingEvent => {
    const row: NewInteraction = {
      ...base,
      eventId: m.messageId ? (i === null ? m.messageId : `${m.messageId}#${i}`) : null,
      itemId: text(p.product_id) ?? text(p.sku) ?? text(p.id),
      type,
      value: type === 'rating' && typeof p.rating === 'number' ? p.rating : null,
      quantity: typeof p.quantity === 'number' && Number.isInteger(p.quantity) ? p.quantity : null,
      priceMinor: toMinorUnits(typeof p.price === 'number' || typeof p.price === 'string' ? p.price : null, currency),
      currency,
      orderId,
      recommendationId: text(p.recommendation_id) ?? recommendationId,
      metadata: {
        event: name.slice(0, 200),
        ...(type === 'search' ? { query: text(props.query, 500) } : {}),
        ...(text(p.name) ? { name: text(p.name, 300) } : {}),
      },
    };
    return { row, identity, revenueMinor: revenueOf(row) };
  };
  if (type === 'purchase' || type === 'refund') {
    const products = arr(props.products).map(obj);
    if (products.length) return { events: products.map((p, i) => line(p, i)), profiles: [] };
    // An order without products: one row for the whole order (revenue, else total).
    const amount = props.revenue ?? props.total;
    const whole = line({ ...props, price: amount, quantity: 1 }, null);
    return { events: [whole], profiles: [] };
  }
  return { events: [line(props, null)], profiles: [] };
}

/** The context fields worth keeping (device, os, page, campaign, locale); never the IP or the full traits. */
function pickContext(c: Obj): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['device', 'os', 'page', 'campaign', 'locale', 'library', 'app', 'screen', 'timezone', 'userAgent'])
    if (c[k] !== undefined) out[k] = c[k];
  return JSON.stringify(out).length <= 8192 ? out : {};
}
