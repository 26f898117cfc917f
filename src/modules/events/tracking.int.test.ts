import { sql } from 'drizzle-orm';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';

let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let keyA: string;
let keyB: string;
beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Muse');
  B = await t.createTenant('Other');
  keyA = await A.apiKey(['interactions:write']);
  keyB = await B.apiKey(['interactions:write']);
});
afterAll(async () => {
  await t?.close();
});

const post = (url: string, body: object, token = keyA) => t.request('POST', url, { token, body });
const interactions = (tenantId: string, where = sql`true`) =>
  queryRows<{
    type: string;
    itemId: string | null;
    userId: string | null;
    anonymousId: string | null;
    orderId: string | null;
    priceMinor: string | null;
    quantity: number | null;
    eventKey: string;
    sessionId: string | null;
    source: string;
    occurredAt: Date;
    metadata: any;
  }>(
    t.database.db,
    sql`SELECT type, item_id AS "itemId", user_id AS "userId", anonymous_id AS "anonymousId", order_id AS "orderId", price_minor::text AS "priceMinor", quantity,
               dedupe_key AS "eventKey", session_id AS "sessionId", source, occurred_at AS "occurredAt", metadata
        FROM interactions WHERE tenant_id = ${tenantId} AND ${where} ORDER BY occurred_at, dedupe_key`,
  );

describe("seed 000's user journey through /api/v1/analytics", () => {
  it('records session, page views with time on page and scroll depth, funnel stages and cart events; session metrics add up', async () => {
    const iphone =
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
    const start = await post('/api/v1/analytics/session/start', {
      session_id: 'sess-1',
      user_id: 'muse-user-7',
      user_agent: iphone,
      landing_url: 'https://muse.example/feed?utm_source=instagram&utm_medium=social&utm_campaign=spring_sale',
      referrer: 'https://instagram.com/',
      started_at: '2026-03-01T10:00:00Z',
    });
    expect(start.status).toBe(201);
    expect(start.body).toMatchObject({
      session_id: 'sess-1',
      device_type: 'mobile',
      browser: 'Safari',
      os: 'iOS',
      utm_source: 'instagram',
      utm_medium: 'social',
      utm_campaign: 'spring_sale',
      pages_viewed: 0,
    });
    // A retried start changes nothing.
    expect(
      (await post('/api/v1/analytics/session/start', { session_id: 'sess-1', started_at: '2026-03-01T10:00:00Z' })).body.started_at,
    ).toBe('2026-03-01T10:00:00.000Z');

    const feed = await post('/api/v1/analytics/page-view', {
      session_id: 'sess-1',
      page_view_id: 'pv-1',
      page_url: 'https://muse.example/feed',
      type: 'feed',
      viewed_at: '2026-03-01T10:00:01Z',
    });
    expect(feed.status).toBe(201);
    await post('/api/v1/analytics/page-view', {
      session_id: 'sess-1',
      page_view_id: 'pv-1',
      page_url: 'https://muse.example/feed',
      viewed_at: '2026-03-01T10:00:01Z',
    }); // retry
    await post('/api/v1/analytics/funnel', { session_id: 'sess-1', stage: 'browse', reached_at: '2026-03-01T10:00:01Z' });
    const end1 = await post('/api/v1/analytics/page-view/end', {
      page_view_id: 'pv-1',
      ended_at: '2026-03-01T10:00:46Z',
      scroll_depth_percent: 62.4,
    });
    expect(end1.body).toMatchObject({ time_on_page_seconds: 45, scroll_depth_percent: 62 });
    await post('/api/v1/analytics/page-view', {
      session_id: 'sess-1',
      page_view_id: 'pv-2',
      page_url: 'https://muse.example/p/boots',
      type: 'product',
      product_id: 'BOOTS-1',
      viewed_at: '2026-03-01T10:00:46Z',
    });
    await post('/api/v1/analytics/funnel', { session_id: 'sess-1', stage: 'view_product', product_id: 'BOOTS-1', event_id: 'f-2' });
    await post('/api/v1/analytics/funnel', { session_id: 'sess-1', stage: 'view_product', product_id: 'BOOTS-1', event_id: 'f-2' }); // retry
    const added = await post('/api/v1/analytics/cart-event', {
      session_id: 'sess-1',
      type: 'item_added',
      user_id: 'muse-user-7',
      product_id: 'BOOTS-1',
      quantity: 1,
      price: '45.00',
      currency: 'USD',
      event_id: 'c-1',
      occurred_at: '2026-03-01T10:01:00Z',
    });
    expect(added.status).toBe(201);
    expect(added.body.interaction_id).toMatch(/^[0-9a-f-]{36}$/);
    const retried = await post('/api/v1/analytics/cart-event', {
      session_id: 'sess-1',
      type: 'item_added',
      user_id: 'muse-user-7',
      product_id: 'BOOTS-1',
      quantity: 1,
      price: '45.00',
      currency: 'USD',
      event_id: 'c-1',
      occurred_at: '2026-03-01T10:01:00Z',
    });
    expect(retried.body).toEqual(added.body);
    await post('/api/v1/analytics/funnel', { session_id: 'sess-1', stage: 'checkout', event_id: 'f-3' });
    await post('/api/v1/analytics/cart-event', {
      session_id: 'sess-1',
      type: 'converted',
      user_id: 'muse-user-7',
      value_cents: 4500,
      currency: 'USD',
      event_id: 'c-2',
    });
    const end = await post('/api/v1/analytics/session/end', { session_id: 'sess-1', ended_at: '2026-03-01T10:05:00Z' });
    expect(end.status).toBe(200);
    expect(end.body).toMatchObject({
      pages_viewed: 2,
      cart_adds: 1,
      purchases: 1,
      revenue_cents: 4500,
      duration_seconds: 300,
      bounce: false,
      exit_page_url: 'https://muse.example/p/boots',
    });

    const funnel = await queryRows<{ stage: string }>(
      t.database.db,
      sql`SELECT stage FROM funnel_events WHERE tenant_id = ${A.tenantId} ORDER BY reached_at, stage`,
    );
    expect(funnel.map((f) => f.stage).sort()).toEqual(['browse', 'checkout', 'view_product']);
    const rows = await interactions(A.tenantId, sql`session_id = 'sess-1'`);
    expect(rows.map((r) => [r.type, r.itemId, r.priceMinor, r.userId])).toEqual([['add_to_cart', 'BOOTS-1', '4500', 'muse-user-7']]);
  });

  it('handles out-of-order and hostile input: page view before session start, unknown ids, bad values, other tenants', async () => {
    const early = await post('/api/v1/analytics/page-view', {
      session_id: 'sess-late',
      page_url: '/home',
      viewed_at: '2026-03-02T09:00:00Z',
    });
    expect(early.status).toBe(201);
    const late = await post('/api/v1/analytics/session/start', {
      session_id: 'sess-late',
      device_type: 'desktop',
      utm: { source: 'newsletter' },
      started_at: '2026-03-02T09:00:05Z',
    });
    expect(late.body).toMatchObject({
      pages_viewed: 1,
      device_type: 'desktop',
      utm_source: 'newsletter',
      started_at: '2026-03-02T09:00:00.000Z',
    });
    expect((await post('/api/v1/analytics/session/end', { session_id: 'nope' })).status).toBe(404);
    expect((await post('/api/v1/analytics/page-view/end', { page_view_id: 'nope' })).status).toBe(404);
    expect(
      (await post('/api/v1/analytics/page-view/end', { page_view_id: early.body.page_view_id, scroll_depth_percent: 140 })).status,
    ).toBe(400);
    expect((await post('/api/v1/analytics/funnel', { session_id: 's', stage: 'DROP TABLE' })).status).toBe(400);
    expect((await post('/api/v1/analytics/cart-event', { session_id: 's', type: 'item_added', hacker: true })).status).toBe(400);
    // Tenant B cannot end or see tenant A's session or page view: the same 404 as unknown ids.
    expect((await post('/api/v1/analytics/session/end', { session_id: 'sess-late' }, keyB)).status).toBe(404);
    expect((await post('/api/v1/analytics/page-view/end', { page_view_id: early.body.page_view_id }, keyB)).status).toBe(404);
  });
});

const basic = (k: string) => ({ authorization: `Basic ${Buffer.from(`${k}:`).toString('base64')}` });
describe('Segment-compatible API', () => {
  it('takes what the official @segment/analytics-node client sends, with the API key as write key', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const errors: unknown[] = [];
    // The real client, unmodified: it sends the write key as HTTP basic auth.
    const analytics = new Analytics({ writeKey: keyA, host: address, flushAt: 20, flushInterval: 20, maxRetries: 0 });
    analytics.on('error', (e) => errors.push(e));
    analytics.identify({ userId: 'seg-user-1', anonymousId: 'anon-1', traits: { email: 'Seg.User@example.com', name: 'Seg User' } });
    analytics.track({
      userId: 'seg-user-1',
      event: 'Product Viewed',
      properties: { product_id: 'SKU-1', price: 19.99, currency: 'usd' },
      messageId: 'msg-view-1',
    });
    analytics.track({ userId: 'seg-user-1', event: 'Product Added', properties: { product_id: 'SKU-1', price: 19.99, quantity: 2 } });
    analytics.track({
      userId: 'seg-user-1',
      event: 'Order Completed',
      messageId: 'msg-order-1',
      properties: {
        order_id: 'ORD-1',
        currency: 'EUR',
        revenue: 59.97,
        products: [
          { product_id: 'SKU-1', price: 19.99, quantity: 2 },
          { sku: 'SKU-2', price: '19.99', quantity: 1 },
        ],
      },
    });
    analytics.track({ anonymousId: 'anon-1', event: 'Products Searched', properties: { query: 'red boots' } });
    analytics.track({ anonymousId: 'anon-1', event: 'Video Played!', properties: { length: 30 } });
    analytics.page({ anonymousId: 'anon-1', name: 'Home', properties: { url: 'https://shop.example/' } });
    analytics.alias({ userId: 'seg-user-1', previousId: 'anon-1' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);
    const rows = await interactions(A.tenantId, sql`source = 'segment'`);
    const byType = (type: string) => rows.filter((r) => r.type === type);
    expect(byType('view')).toMatchObject([{ itemId: 'SKU-1', priceMinor: '1999', userId: 'seg-user-1', eventKey: 'e:msg-view-1' }]);
    expect(byType('add_to_cart')).toMatchObject([{ itemId: 'SKU-1', quantity: 2 }]);
    expect(byType('purchase').map((r) => [r.itemId, r.priceMinor, r.quantity, r.orderId, r.eventKey])).toEqual([
      ['SKU-1', '1999', 2, 'ORD-1', 'e:msg-order-1#0'],
      ['SKU-2', '1999', 1, 'ORD-1', 'e:msg-order-1#1'],
    ]);
    expect(byType('search')[0]!.metadata.query).toBe('red boots');
    expect(byType('video_played')).toHaveLength(1);
    expect(byType('page_view')[0]!.metadata.url).toBe('https://shop.example/');
    expect(rows).toHaveLength(7);

    // The same messageId again is stored once (Segment retries).
    const again = new Analytics({ writeKey: keyA, host: address, flushAt: 1, maxRetries: 0 });
    again.track({ userId: 'seg-user-1', event: 'Product Viewed', properties: { product_id: 'SKU-1' }, messageId: 'msg-view-1' });
    await again.closeAndFlush({ timeout: 10_000 });
    expect(await interactions(A.tenantId, sql`source = 'segment'`)).toHaveLength(7);
  });

  it('authenticates the write key: wrong key 401, key of another tenant writes only to that tenant, key without interactions:write 403', async () => {
    const body = { userId: 'u-basic', event: 'Product Viewed', properties: { product_id: 'X' }, messageId: 'basic-1' };
    expect((await t.request('POST', '/v1/track', { headers: basic('sk_live_wrong'), body })).status).toBe(401);
    expect((await t.request('POST', '/v1/track', { body })).status).toBe(401);
    const readOnly = await A.apiKey(['recommendations:read']);
    expect((await t.request('POST', '/v1/track', { headers: basic(readOnly), body })).status).toBe(403);
    const ok = await t.request('POST', '/v1/track', { headers: basic(keyB), body });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ success: true, accepted: 1 });
    expect(await interactions(B.tenantId, sql`user_id = 'u-basic'`)).toHaveLength(1);
    expect(await interactions(A.tenantId, sql`user_id = 'u-basic'`)).toHaveLength(0);
    // A message naming nobody, or a track without event, is refused; in a batch it is reported and the rest stored.
    expect((await t.request('POST', '/v1/track', { headers: basic(keyB), body: { event: 'x' } })).status).toBe(400);
    const mixed = await t.request('POST', '/v1/batch', {
      headers: basic(keyB),
      body: { batch: [{ type: 'track', userId: 'u2', event: 'Signed Up' }, { type: 'track', userId: 'u2' }, { type: 'bogus' }] },
    });
    expect(mixed.body).toMatchObject({ success: true, accepted: 1, rejected: 2 });
    expect(
      (await t.request('POST', '/v1/batch', { headers: basic(keyB), body: { batch: Array.from({ length: 2501 }, () => ({})) } })).status,
    ).toBe(400);
  });

  it('validates messages and keeps tenants apart (write key as bearer token)', async () => {
    const body = { userId: 'u-bearer', event: 'Product Viewed', properties: { product_id: 'X' }, messageId: 'bearer-1' };
    expect((await t.request('POST', '/v1/track', { token: 'sk_live_wrong', body })).status).toBe(401);
    const readOnly = await A.apiKey(['recommendations:read']);
    expect((await t.request('POST', '/v1/track', { token: readOnly, body })).status).toBe(403);
    const ok = await t.request('POST', '/v1/track', { token: keyB, body });
    expect(ok.body).toMatchObject({ success: true, accepted: 1 });
    expect(await interactions(B.tenantId, sql`user_id = 'u-bearer'`)).toHaveLength(1);
    expect(await interactions(A.tenantId, sql`user_id = 'u-bearer'`)).toHaveLength(0);
    expect((await t.request('POST', '/v1/track', { token: keyB, body: { event: 'x' } })).status).toBe(400);
    const mixed = await t.request('POST', '/v1/batch', {
      token: keyB,
      body: {
        batch: [{ type: 'track', userId: 'u3', event: 'Signed Up', messageId: 'm-su' }, { type: 'track', userId: 'u3' }, { type: 'bogus' }],
      },
    });
    expect(mixed.body).toMatchObject({ success: true, accepted: 1, rejected: 2 });
    expect(mixed.body.errors.map((e: { index: number }) => e.index)).toEqual([1, 2]);
    expect(await interactions(B.tenantId, sql`type = 'signed_up' AND user_id = 'u3'`)).toHaveLength(1);
    expect((await t.request('POST', '/v1/batch', { token: keyB, body: { batch: Array.from({ length: 2501 }, () => ({})) } })).status).toBe(
      400,
    );
    const malformed = await t.request('POST', '/v1/batch', {
      token: keyB,
      headers: { 'content-type': 'application/json' },
      body: '{"batch": [',
    });
    expect(malformed.status).toBe(400);
  });
});
