import { sql } from 'drizzle-orm';
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
  A = await t.createTenant('Electronics');
  B = await t.createTenant('Other store');
  keyA = await A.apiKey(['recommendations:read', 'interactions:write']);
  keyB = await B.apiKey(['interactions:write']);
});
afterAll(async () => {
  await t?.close();
});

const rows = (tenantId: string, where = sql`true`) =>
  queryRows<{
    id: string;
    userId: string;
    itemId: string;
    type: string;
    priceMinor: string | null;
    quantity: number | null;
    orderId: string | null;
    profileId: string | null;
    source: string;
    recommendationId: string | null;
  }>(
    t.database.db,
    sql`SELECT id, user_id AS "userId", item_id AS "itemId", type, price_minor::text AS "priceMinor", quantity, order_id AS "orderId", profile_id AS "profileId", source, recommendation_id AS "recommendationId"
        FROM interactions WHERE tenant_id = ${tenantId} AND ${where} ORDER BY occurred_at, id`,
  );

describe('POST /api/v1/interactions (seed 003 steps 8b, 8d, 8e)', () => {
  it('tracks a view, an add to cart and a purchase as written in the seed', async () => {
    const view = await t.request('POST', '/api/v1/interactions', {
      token: keyA,
      body: {
        user_id: 'USER_JOHN_001',
        item_id: 'PROD_001',
        interaction_type: 'view',
        timestamp: '2024-01-16T19:23:45Z',
        context: { source: 'homepage_recommendations', device: 'mobile' },
      },
    });
    expect(view.status).toBe(201);
    expect(view.body).toEqual({
      status: 'tracked',
      interaction_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      processed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });
    const cart = await t.request('POST', '/api/v1/interactions', {
      token: keyA,
      body: { user_id: 'USER_JOHN_001', item_id: 'PROD_001', interaction_type: 'add_to_cart', timestamp: '2024-01-16T19:25:30Z' },
    });
    expect(cart.status).toBe(201);
    const buy = await t.request('POST', '/api/v1/interactions', {
      token: keyA,
      body: {
        user_id: 'USER_JOHN_001',
        item_id: 'PROD_001',
        interaction_type: 'purchase',
        timestamp: '2024-01-16T19:30:00Z',
        metadata: { order_id: 'ORD_98765', price: 99.99, quantity: 1 },
      },
    });
    expect(buy.status).toBe(201);
    const stored = await rows(A.tenantId, sql`user_id = 'USER_JOHN_001'`);
    expect(stored.map((r) => r.type)).toEqual(['view', 'add_to_cart', 'purchase']);
    expect(stored[0]).toMatchObject({ id: view.body.interaction_id, source: 'homepage_recommendations' });
    expect(stored[2]).toMatchObject({ id: buy.body.interaction_id, priceMinor: '9999', quantity: 1, orderId: 'ORD_98765' });
    // Whatever identity resolution does, one person's events land on one profile (null while unresolved).
    expect(new Set(stored.map((r) => r.profileId)).size).toBe(1);
  });

  it('answers a retry (same event_id, or same Idempotency-Key) with the first answer and stores one row', async () => {
    const body = { event_id: 'evt-retry-1', user_id: 'u-retry', item_id: 'i1', interaction_type: 'like' };
    const first = await t.request('POST', '/api/v1/interactions', { token: keyA, body });
    const again = await t.request('POST', '/api/v1/interactions', { token: keyA, body });
    expect(again.status).toBe(first.status);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');

    const h = { 'idempotency-key': 'req-42' };
    const k1 = await t.request('POST', '/api/v1/interactions', {
      token: keyA,
      headers: h,
      body: { user_id: 'u-retry', item_id: 'i2', interaction_type: 'view' },
    });
    const k2 = await t.request('POST', '/api/v1/interactions', {
      token: keyA,
      headers: h,
      body: { user_id: 'u-retry', item_id: 'i2', interaction_type: 'view' },
    });
    expect(k2.body).toEqual(k1.body);
    expect(await rows(A.tenantId, sql`user_id = 'u-retry'`)).toHaveLength(2);
  });

  it('stores concurrent identical events once and gives every request the same id', async () => {
    const body = { event_id: 'evt-race', user_id: 'u-race', item_id: 'i1', interaction_type: 'view', timestamp: '2025-03-01T10:00:00Z' };
    const answers = await Promise.all(Array.from({ length: 25 }, () => t.request('POST', '/api/v1/interactions', { token: keyA, body })));
    expect(answers.every((a) => a.status === 201)).toBe(true);
    expect(new Set(answers.map((a) => a.body.interaction_id)).size).toBe(1);
    expect(await rows(A.tenantId, sql`user_id = 'u-race'`)).toHaveLength(1);
  });

  it('accepts tenant-defined custom types and refuses hostile or malformed input with named fields', async () => {
    expect(
      (
        await t.request('POST', '/api/v1/interactions', {
          token: keyA,
          body: { user_id: 'u1', interaction_type: 'wishlist_add', item_id: 'i9' },
        })
      ).status,
    ).toBe(201);
    const bad = async (body: unknown, field: string) => {
      const res = await t.request('POST', '/api/v1/interactions', { token: keyA, body: body as object });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(res.body.error)).toContain(field);
    };
    await bad({ user_id: 'u1', interaction_type: 'Robert"); DROP TABLE' }, 'interaction_type');
    await bad({ user_id: 'u1', interaction_type: 'view', favourite_colour: 'red' }, 'favourite_colour');
    await bad({ interaction_type: 'view', item_id: 'i1' }, 'user_id');
    await bad({ user_id: 'u1', interaction_type: 'view', timestamp: 'yesterday' }, 'timestamp');
    await bad({ user_id: 'u1', interaction_type: 'view', timestamp: '2999-01-01T00:00:00Z' }, 'timestamp');
    await bad({ user_id: 'u1', interaction_type: 'purchase', metadata: { price: '12,50' } }, 'price');
    await bad({ user_id: 'x'.repeat(201), interaction_type: 'view' }, 'user_id');
    await bad({ user_id: 'u1', interaction_type: 'view', context: { blob: 'x'.repeat(9000) } }, 'context');
    const malformed = await t.request('POST', '/api/v1/interactions', {
      token: keyA,
      headers: { 'content-type': 'application/json' },
      body: '{"user_id": "u1", "interaction_type": ',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('MALFORMED_JSON');
  });

  it('needs interactions:write; tenants never see or collide with each other’s events', async () => {
    const readOnly = await A.apiKey(['recommendations:read']);
    const denied = await t.request('POST', '/api/v1/interactions', { token: readOnly, body: { user_id: 'u1', interaction_type: 'view' } });
    expect(denied.status).toBe(403);
    expect((await t.request('POST', '/api/v1/interactions', { body: { user_id: 'u1', interaction_type: 'view' } })).status).toBe(401);
    // Same event id in two tenants: two rows, two ids.
    const body = { event_id: 'evt-shared', user_id: 'u-shared', interaction_type: 'view' };
    const a = await t.request('POST', '/api/v1/interactions', { token: keyA, body });
    const b = await t.request('POST', '/api/v1/interactions', { token: keyB, body });
    expect(a.body.interaction_id).not.toBe(b.body.interaction_id);
    expect(await rows(B.tenantId, sql`user_id = 'u-shared'`)).toHaveLength(1);
    // Tenant B naming tenant A in the header is refused like an unknown tenant.
    const cross = await t.request('POST', '/api/v1/interactions', { token: keyB, headers: { 'x-tenant-id': A.tenantId }, body });
    expect(cross.status).toBe(404);
  });
});

describe('POST /api/v1/interactions/batch', () => {
  it('answers each event on its own: tracked, duplicate or rejected with reasons', async () => {
    const res = await t.request('POST', '/api/v1/interactions/batch', {
      token: keyA,
      body: {
        events: [
          { event_id: 'b-1', user_id: 'ub', item_id: 'i1', interaction_type: 'view' },
          { event_id: 'b-1', user_id: 'ub', item_id: 'i1', interaction_type: 'view' },
          {
            user_id: 'ub',
            item_id: 'i2',
            interaction_type: 'purchase',
            metadata: { price: '9007199254740.99', quantity: 2, currency: 'USD', order_id: 'o1' },
          },
          { user_id: 'ub', interaction_type: 'NOT A TYPE' },
          { user_id: 'ub', interaction_type: 'view', surprise: 1 },
          'not an object',
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 2, duplicates: 1, rejected: 3 });
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual([
      'tracked',
      'duplicate',
      'tracked',
      'rejected',
      'rejected',
      'rejected',
    ]);
    expect(res.body.results[1].interaction_id).toBe(res.body.results[0].interaction_id);
    expect(res.body.results[3].errors[0].field).toBe('interaction_type');
    expect(res.body.results[4].errors[0].message).toContain('surprise');
    const stored = await rows(A.tenantId, sql`user_id = 'ub'`);
    expect(stored).toHaveLength(2);
    // Beyond 2^53 minor units, exact.
    expect(stored.find((r) => r.type === 'purchase')!.priceMinor).toBe('900719925474099');

    const replay = await t.request('POST', '/api/v1/interactions/batch', {
      token: keyA,
      body: { events: [{ event_id: 'b-1', user_id: 'ub', item_id: 'i1', interaction_type: 'view' }] },
    });
    expect(replay.body).toMatchObject({
      accepted: 0,
      duplicates: 1,
      results: [{ status: 'duplicate', interaction_id: res.body.results[0].interaction_id }],
    });
  });

  it('refuses oversize and empty batches as a whole', async () => {
    const events = Array.from({ length: 1001 }, (_, i) => ({ user_id: `u${i}`, interaction_type: 'view' }));
    const big = await t.request('POST', '/api/v1/interactions/batch', { token: keyA, body: { events } });
    expect(big.status).toBe(400);
    expect(big.body.error.details[0].field).toBe('events');
    expect((await t.request('POST', '/api/v1/interactions/batch', { token: keyA, body: { events: [] } })).status).toBe(400);
    expect(await rows(A.tenantId, sql`user_id = 'u1000'`)).toHaveLength(0);
  });

  it('takes 1,000 events in one request', async () => {
    const events = Array.from({ length: 1000 }, (_, i) => ({
      event_id: `bulk-${i}`,
      user_id: `bulk-u${i % 50}`,
      item_id: `i${i % 97}`,
      interaction_type: i % 10 === 0 ? 'purchase' : 'view',
    }));
    const res = await t.request('POST', '/api/v1/interactions/batch', { token: keyA, body: { events } });
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(1000);
    expect(await rows(A.tenantId, sql`user_id LIKE 'bulk-u%'`)).toHaveLength(1000);
  }, 180_000); // identity resolution of 1,000 events dominates this test's time
});
