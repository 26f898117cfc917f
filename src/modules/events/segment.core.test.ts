import { describe, expect, it } from 'vitest';
import { mapSegmentMessage, segmentTime } from './segment.core.ts';

const now = new Date('2026-06-01T12:00:00Z');

describe('Segment mapping', () => {
  it('maps the e-commerce spec events to Loupe types', () => {
    const t = (event: string, properties: Record<string, unknown> = {}) =>
      mapSegmentMessage({ type: 'track', userId: 'u', event, properties, messageId: 'm' }, { now }).events;
    expect(t('Product Viewed', { product_id: 'p' })[0]!.row).toMatchObject({ type: 'view', itemId: 'p', eventId: 'm' });
    expect(t('Product Added', { sku: 's', quantity: 2, price: '3.50' })[0]!.row).toMatchObject({
      type: 'add_to_cart',
      itemId: 's',
      quantity: 2,
      priceMinor: 350n,
    });
    expect(t('Product Removed', { id: 'x' })[0]!.row.type).toBe('remove_from_cart');
    expect(t('Products Searched', { query: 'boots' })[0]!.row).toMatchObject({ type: 'search', metadata: { query: 'boots' } });
    expect(t('Newsletter Subscribed')[0]!.row.type).toBe('newsletter_subscribed');
    const order = t('Order Completed', {
      order_id: 'o',
      currency: 'eur',
      products: [
        { product_id: 'a', price: 2, quantity: 3 },
        { product_id: 'b', price: 1 },
      ],
    });
    expect(order.map((e) => [e.row.eventId, e.row.itemId, e.row.priceMinor, e.revenueMinor, e.row.currency])).toEqual([
      ['m#0', 'a', 200n, 600n, 'EUR'],
      ['m#1', 'b', 100n, 100n, 'EUR'],
    ]);
    expect(t('Order Completed', { order_id: 'o', revenue: 12.5 })[0]!.row).toMatchObject({ itemId: null, priceMinor: 1250n, quantity: 1 });
  });
  it('identify and alias are identity updates; anonymous-only events resolve on the anonymous id', () => {
    const id = mapSegmentMessage({ type: 'identify', userId: 'u', anonymousId: 'a', traits: { email: 'E@x.io', name: 'E' } }, { now });
    expect(id.events).toEqual([]);
    expect(id.profiles[0]!.identifiers).toEqual([
      { type: 'user_id', value: 'u' },
      { type: 'anonymous_id', value: 'a' },
      { type: 'email', value: 'E@x.io' },
    ]);
    expect(mapSegmentMessage({ type: 'alias', userId: 'u', previousId: 'a' }, { now }).profiles[0]!.identifiers).toEqual([
      { type: 'user_id', value: 'u' },
      { type: 'anonymous_id', value: 'a' },
    ]);
    expect(mapSegmentMessage({ type: 'page', anonymousId: 7, name: 'Home' }, { now }).events[0]!.row).toMatchObject({
      type: 'page_view',
      anonymousId: '7',
    });
  });
  it('corrects device clock skew with sentAt, as Segment does', () => {
    // The device clock is 1 hour fast: the event happened 10 s before it was sent.
    expect(segmentTime({ timestamp: '2026-06-01T12:59:50Z', sentAt: '2026-06-01T13:00:00Z' }, undefined, now).toISOString()).toBe(
      '2026-06-01T11:59:50.000Z',
    );
    expect(segmentTime({ timestamp: '2026-06-01T10:00:00Z' }, undefined, now).toISOString()).toBe('2026-06-01T10:00:00.000Z');
    expect(segmentTime({ timestamp: 'garbage' }, undefined, now)).toEqual(now);
  });

  it("keeps the Loupe tracker's session id (context.session_id), and none from Segment's libraries", () => {
    const row = (context: Record<string, unknown>) =>
      mapSegmentMessage({ type: 'page', anonymousId: 'a', context, messageId: 'm' }, { now }).events[0]!.row;
    expect(row({ session_id: 's-1', campaign: { source: 'news' } })).toMatchObject({
      sessionId: 's-1',
      context: { campaign: { source: 'news' } },
    });
    expect(row({}).sessionId).toBeNull();
    expect(row({ session_id: { id: 'x' } }).sessionId).toBeNull();
    expect(row({ session_id: 'x'.repeat(500) }).sessionId).toHaveLength(200);
  });
});
