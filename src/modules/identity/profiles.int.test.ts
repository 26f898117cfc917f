import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../platform/index.ts';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import type { ResolveInput } from './index.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const ev = (identifiers: [string, string][], extra: Partial<ResolveInput> = {}): ResolveInput => ({
  identifiers: identifiers.map(([type, value]) => ({ type, value })),
  channel: 'api',
  occurredAt: new Date('2026-01-02T10:00:00Z'),
  ...extra,
});
const one = async (tenantId: string, identifiers: [string, string][], extra: Partial<ResolveInput> = {}) =>
  (await t.modules.identity.resolveMany(tenantId, [ev(identifiers, extra)]))[0]!;

/** Stores events the way the events module does (interactions table), then records their activity. */
async function track(
  tenantId: string,
  profileId: string,
  events: {
    type: string;
    userId?: string;
    anonymousId?: string;
    orderId?: string;
    revenue?: bigint;
    currency?: string;
    source?: string;
    at: string;
    itemId?: string;
  }[],
) {
  const res = await t.modules.events.interactions.appendMany(
    tenantId,
    events.map((e) => ({
      profileId,
      userId: e.userId ?? null,
      anonymousId: e.anonymousId ?? null,
      itemId: e.itemId ?? 'sku-1',
      type: e.type,
      orderId: e.orderId ?? null,
      priceMinor: e.revenue ?? null,
      currency: e.currency ?? null,
      source: e.source ?? 'api',
      occurredAt: new Date(e.at),
    })),
  );
  await t.modules.identity.recordActivity(
    tenantId,
    events.map((e) => ({
      profileId,
      type: e.type,
      revenueMinor: e.revenue ?? null,
      currency: e.currency ?? null,
      orderId: e.orderId ?? null,
      channel: e.source ?? 'api',
      occurredAt: new Date(e.at),
    })),
  );
  return res.ids;
}

describe('Customer 360', () => {
  it('aggregates: distinct orders, revenue net of refunds, AOV, channels, first/last seen, strength', async () => {
    const { tenantId, ownerToken } = await t.createTenant();
    const p = await one(
      tenantId,
      [
        ['email', 'Buyer@Shop.test'],
        ['phone', '+1 202 555 0111'],
        ['user_id', 'b-1'],
      ],
      { channel: 'shopify', traits: { first_name: 'Bea' } },
    );
    await track(tenantId, p, [
      { type: 'view', at: '2026-01-01T09:00:00Z', source: 'web' },
      // two line items of one order: one order, revenue adds up
      { type: 'purchase', orderId: 'o-1', revenue: 3000n, currency: 'USD', at: '2026-01-03T09:00:00Z', source: 'shopify', itemId: 'sku-1' },
      { type: 'purchase', orderId: 'o-1', revenue: 2000n, currency: 'USD', at: '2026-01-03T09:00:00Z', source: 'shopify', itemId: 'sku-2' },
      { type: 'purchase', orderId: 'o-2', revenue: 3000n, currency: 'USD', at: '2026-01-05T09:00:00Z', source: 'pos' },
      { type: 'refund', orderId: 'o-2', revenue: 1000n, currency: 'USD', at: '2026-01-06T09:00:00Z', source: 'stripe' },
    ]);
    const r = await t.request('GET', `/api/v1/profiles/${p}`, { token: ownerToken });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: p,
      brand_id: tenantId,
      identifiers: { email: 'buyer@shop.test', phone: '+12025550111', user_id: 'b-1' },
      total_orders: 2,
      lifetime_value: 70,
      lifetime_value_minor: '7000',
      currency: 'USD',
      average_order_value: 35,
      event_count: 5,
      first_seen_at: '2026-01-01T09:00:00.000Z',
      last_seen_at: '2026-01-06T09:00:00.000Z',
      traits: { first_name: 'Bea' },
      redirected: false,
    });
    expect(r.body.channels).toEqual(['pos', 'shopify', 'stripe', 'web']);
    expect(r.body.profile_strength).toBeGreaterThan(80);
    expect(r.body.profile_strength).toBeLessThanOrEqual(100);
    expect(r.body.recent_events).toHaveLength(5);
    expect(r.body.recent_events[0].type).toBe('refund');

    // The person's orders, newest first, a page at a time, with totals over all of them.
    const page1 = await t.request('GET', `/api/v1/profiles/${p}/orders?limit=1`, { token: ownerToken });
    expect(page1.status).toBe(200);
    expect(page1.body.data).toEqual([
      {
        order_id: 'o-2',
        occurred_at: '2026-01-05T09:00:00.000Z',
        currency: 'USD',
        revenue_minor: '3000',
        refunded_minor: '1000',
        net_minor: '2000',
      },
    ]);
    expect(page1.body.totals).toEqual([{ currency: 'USD', orders: 2, revenue_minor: '8000', refunded_minor: '1000', net_minor: '7000' }]);
    const page2 = await t.request('GET', `/api/v1/profiles/${p}/orders?limit=1&cursor=${page1.body.next_cursor}`, { token: ownerToken });
    expect(page2.body.data.map((o: { order_id: string }) => o.order_id)).toEqual(['o-1']);
    expect(page2.body.data[0].revenue_minor).toBe('5000');
    expect(page2.body.next_cursor).toBeNull();
    for (const bad of ['cursor=zzz', `cursor=${Buffer.from('["not a time","x"]').toString('base64url')}`, 'limit=0', 'limit=501', 'x=1'])
      expect((await t.request('GET', `/api/v1/profiles/${p}/orders?${bad}`, { token: ownerToken })).status, bad).toBe(400);
    const other = await t.createTenant();
    expect((await t.request('GET', `/api/v1/profiles/${p}/orders`, { token: other.ownerToken })).status).toBe(404);

    const lookup = await t.request('GET', `/api/v1/profiles/lookup?phone=${encodeURIComponent('(202) 555-0111')}`, { token: ownerToken });
    expect(lookup.status).toBe(200);
    expect(lookup.body.id).toBe(p);
    expect((await t.request('GET', '/api/v1/profiles/lookup?email=BUYER%2Bx@shop.test', { token: ownerToken })).body.id).toBe(p);
    expect((await t.request('GET', '/api/v1/profiles/lookup?user_id=nobody', { token: ownerToken })).status).toBe(404);
    expect((await t.request('GET', '/api/v1/profiles/lookup?email=test@test.com', { token: ownerToken })).status).toBe(404);
    expect((await t.request('GET', '/api/v1/profiles/lookup', { token: ownerToken })).status).toBe(400);
    expect((await t.request('GET', '/api/v1/profiles/lookup?email=a@b.co&phone=1', { token: ownerToken })).status).toBe(400);
    expect((await t.request('GET', '/api/v1/profiles/lookup?ssn=1', { token: ownerToken })).status).toBe(400);
  });

  it('lists, searches by identifier, filters and paginates with a cursor', async () => {
    const { tenantId, ownerToken } = await t.createTenant();
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push(await one(tenantId, [['email', `list${n}@shop.test`]], { channel: n % 2 ? 'pos' : 'web' }));
    const page1 = await t.request('GET', '/api/v1/profiles?limit=2', { token: ownerToken });
    expect(page1.status).toBe(200);
    expect(page1.body.data.map((p: { id: string }) => p.id)).toEqual([ids[4], ids[3]]);
    const page2 = await t.request('GET', `/api/v1/profiles?limit=2&cursor=${page1.body.next_cursor}`, { token: ownerToken });
    expect(page2.body.data.map((p: { id: string }) => p.id)).toEqual([ids[2], ids[1]]);
    const found = await t.request('GET', '/api/v1/profiles?email=LIST3@shop.test', { token: ownerToken });
    expect(found.body.data.map((p: { id: string }) => p.id)).toEqual([ids[3]]);
    const pos = await t.request('GET', '/api/v1/profiles?channel=pos', { token: ownerToken });
    expect(pos.body.data).toHaveLength(2);
    expect((await t.request('GET', '/api/v1/profiles?cursor=garbage', { token: ownerToken })).status).toBe(400);
    expect((await t.request('GET', '/api/v1/profiles?limit=100000', { token: ownerToken })).status).toBe(400);
  });

  it('merge re-links events; merged-away id redirects; merge history on both paths; unmerge splits it back', async () => {
    const { tenantId, ownerToken } = await t.createTenant();
    const a = await one(
      tenantId,
      [
        ['email', 'ann@shop.test'],
        ['user_id', 'ann'],
      ],
      { channel: 'web' },
    );
    const b = await one(
      tenantId,
      [
        ['phone', '+1 202 555 0177'],
        ['anonymous_id', 'ck-ann'],
      ],
      { channel: 'pos' },
    );
    await track(tenantId, a, [
      { type: 'purchase', orderId: 'A-1', revenue: 2000n, currency: 'EUR', at: '2026-01-02T10:00:00Z', userId: 'ann', source: 'web' },
    ]);
    const bEvents = await track(tenantId, b, [
      {
        type: 'purchase',
        orderId: 'B-1',
        revenue: 4000n,
        currency: 'EUR',
        at: '2026-01-03T10:00:00Z',
        anonymousId: 'ck-ann',
        source: 'pos',
      },
      { type: 'view', at: '2026-01-04T10:00:00Z', anonymousId: 'ck-ann', source: 'pos' },
    ]);
    const s = await one(
      tenantId,
      [
        ['email', 'ann@shop.test'],
        ['phone', '2025550177'],
      ],
      { eventRef: 'evt-link' },
    );
    expect(s).toBe(a);
    const moved = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${tenantId} AND profile_id = ${a}`,
    );
    expect(moved[0]!.n).toBe(3);

    const viaOld = await t.request('GET', `/api/v1/profiles/${b}`, { token: ownerToken });
    expect(viaOld.status).toBe(200);
    expect(viaOld.body).toMatchObject({
      id: a,
      requested_id: b,
      redirected: true,
      total_orders: 2,
      lifetime_value_minor: '6000',
      currency: 'EUR',
    });
    expect(viaOld.body.merges[0]).toMatchObject({
      kind: 'merge',
      survivor_profile_id: a,
      merged_profile_id: b,
      rule: 'auto:shared_identifier',
      event_ref: 'evt-link',
      events_moved: 2,
    });
    // The identifier that joined them is named by a hash, never in clear (a random hash may contain any
    // three digits, so the check is on the whole number).
    expect(viaOld.body.merges[0].identifier_hash).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(viaOld.body.merges)).not.toContain('2025550177');

    for (const path of [`/api/profiles/${b}/merge-history`, `/api/v1/profiles/${a}/merge-history`]) {
      const h = await t.request('GET', path, { token: ownerToken });
      expect(h.status).toBe(200);
      expect(h.body.profile_id).toBe(a);
      expect(h.body.merges).toHaveLength(1);
    }

    const un = await t.request('POST', `/api/v1/profiles/${b}/unmerge`, { token: ownerToken, body: {} });
    expect(un.status).toBe(200);
    expect(un.body.restored).toMatchObject({ id: b, status: 'active', total_orders: 1, lifetime_value_minor: '4000' });
    expect(un.body.restored.identifiers).toMatchObject({ phone: '+12025550177', anonymous_id: 'ck-ann', cookie_id: 'ck-ann' });
    expect(un.body.survivor).toMatchObject({ id: a, total_orders: 1, lifetime_value_minor: '2000' });
    expect(un.body.survivor.identifiers.phone).toBeUndefined();
    const bRows = await queryRows<{ id: string }>(
      t.database.db,
      sql`SELECT id FROM interactions WHERE tenant_id = ${tenantId} AND profile_id = ${b} ORDER BY id`,
    );
    expect(bRows.map((r) => r.id).sort()).toEqual([...bEvents].sort());
    // The log is append-only: the merge stays, an unmerge row reverts it.
    const h = await t.request('GET', `/api/v1/profiles/${a}/merge-history`, { token: ownerToken });
    expect(h.body.merges.map((m: { kind: string }) => m.kind).sort()).toEqual(['merge', 'unmerge']);
    const notMerged = await t.request('POST', `/api/v1/profiles/${a}/unmerge`, { token: ownerToken, body: { profile_id: b } });
    expect([notMerged.status, notMerged.body.error.code]).toEqual([409, 'PROFILE_NOT_MERGED']);
    expect((await t.request('POST', `/api/v1/profiles/${b}/unmerge`, { token: ownerToken, body: {} })).body.error.code).toBe(
      'UNMERGE_TARGET_REQUIRED',
    );
    expect((await t.request('POST', `/api/v1/profiles/${a}/unmerge`, { token: ownerToken, body: { unknown: 1 } })).status).toBe(400);
    // The phone now leads to b again.
    expect(await one(tenantId, [['phone', '202 555 0177']])).toBe(b);
  });

  it('activity recorded against a merged-away id (a race with a merge) lands on the survivor, events included', async () => {
    const { tenantId, ownerToken } = await t.createTenant();
    const a = await one(tenantId, [['email', 'late@shop.test']]);
    const b = await one(tenantId, [['phone', '+1 202 555 0166']]);
    expect(
      await one(tenantId, [
        ['email', 'late@shop.test'],
        ['phone', '202-555-0166'],
      ]),
    ).toBe(a);
    await track(tenantId, b, [
      { type: 'purchase', orderId: 'late-1', revenue: 900n, currency: 'USD', at: '2026-01-05T10:00:00Z', source: 'pos' },
    ]);
    const r = await t.request('GET', `/api/v1/profiles/${a}`, { token: ownerToken });
    expect(r.body).toMatchObject({ total_orders: 1, lifetime_value_minor: '900', event_count: 1 });
    expect(r.body.recent_events).toHaveLength(1);
    const stale = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${tenantId} AND profile_id = ${b}`,
    );
    expect(stale[0]!.n).toBe(0);
  });

  it('export returns everything; erasure removes identifiers and events and keeps anonymous aggregates', async () => {
    const { tenantId, ownerToken, apiKey } = await t.createTenant();
    const p = await one(tenantId, [
      ['email', 'forget.me@shop.test'],
      ['user_id', 'fm-1'],
      ['anonymous_id', 'ck-fm'],
    ]);
    const other = await one(tenantId, [['email', 'keep.me@shop.test']]);
    await track(tenantId, p, [
      { type: 'purchase', orderId: 'F-1', revenue: 1500n, currency: 'USD', at: '2026-01-02T10:00:00Z', userId: 'fm-1', itemId: 'sku-9' },
      { type: 'view', at: '2026-01-02T11:00:00Z', anonymousId: 'ck-fm', itemId: 'sku-9' },
    ]);
    await track(tenantId, other, [{ type: 'view', at: '2026-01-02T11:00:00Z', itemId: 'sku-9' }]);
    // An event of the person stored before resolution (no profile id) is also theirs.
    await t.modules.events.interactions.appendMany(tenantId, [
      { userId: 'fm-1', itemId: 'sku-2', type: 'view', source: 'upload', occurredAt: new Date('2025-12-01T00:00:00Z') },
    ]);

    const x = await t.request('GET', `/api/v1/profiles/${p}/export`, { token: ownerToken });
    expect(x.status).toBe(200);
    expect(x.body.identifiers.map((i: { value: string }) => i.value).sort()).toEqual(['ck-fm', 'fm-1', 'forget.me@shop.test']);
    expect(x.body.events).toHaveLength(2);
    expect(x.body.orders).toEqual([expect.objectContaining({ order_id: 'F-1', revenue_minor: '1500' })]);

    const reader = await apiKey(['profiles:read']);
    expect((await t.request('DELETE', `/api/v1/profiles/${p}`, { token: reader })).status).toBe(403);

    const del = await t.request('DELETE', `/api/v1/profiles/${p}`, { token: ownerToken });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ profile_id: p, status: 'erased', identifiers_deleted: 3, events_anonymized: 3 });
    expect((await t.request('GET', `/api/v1/profiles/${p}`, { token: ownerToken })).status).toBe(404);
    expect((await t.request('GET', '/api/v1/profiles/lookup?email=forget.me@shop.test', { token: ownerToken })).status).toBe(404);
    const left = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${tenantId} AND (profile_id = ${p} OR user_id = 'fm-1' OR anonymous_id = 'ck-fm' OR order_id = 'F-1')`,
    );
    expect(left[0]!.n).toBe(0);
    expect(
      (
        await queryRows<{ n: number }>(
          t.database.db,
          sql`SELECT count(*)::int AS n FROM profile_identifiers WHERE tenant_id = ${tenantId} AND profile_id = ${p}`,
        )
      )[0]!.n,
    ).toBe(0);
    // Item-level anonymous aggregates survive: sku-9 still has its three events; the other person is untouched.
    expect(
      (
        await queryRows<{ n: number }>(
          t.database.db,
          sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${tenantId} AND item_id = 'sku-9'`,
        )
      )[0]!.n,
    ).toBe(3);
    expect((await t.request('GET', `/api/v1/profiles/${other}`, { token: ownerToken })).body.event_count).toBe(1);
    // A new event with the same e-mail starts a new, unrelated profile.
    expect(await one(tenantId, [['email', 'forget.me@shop.test']])).not.toBe(p);
    // Audited.
    const audit = await queryRows<{ action: string }>(
      t.database.db,
      sql`SELECT action FROM audit_logs WHERE tenant_id = ${tenantId} AND action = 'profile.erase' AND outcome = 'success'`,
    );
    expect(audit).toHaveLength(1);
  });

  it('tenant isolation: tenant B cannot read, search, export, unmerge or delete A profiles (404 like a missing id)', async () => {
    const A = await t.createTenant();
    const B = await t.createTenant();
    const pa = await one(A.tenantId, [
      ['email', 'iso@shop.test'],
      ['phone', '+1 202 555 0188'],
    ]);
    const pa2 = await one(A.tenantId, [['device_id', 'iso-dev']]);
    await one(A.tenantId, [
      ['phone', '+1 202 555 0188'],
      ['device_id', 'iso-dev'],
    ]);
    const missing = '01900000-0000-7000-8000-000000000000';
    for (const id of [pa, pa2, missing, 'not-a-uuid']) {
      for (const [method, path] of [
        ['GET', `/api/v1/profiles/${id}`],
        ['GET', `/api/v1/profiles/${id}/export`],
        ['GET', `/api/v1/profiles/${id}/merge-history`],
        ['GET', `/api/profiles/${id}/merge-history`],
        ['POST', `/api/v1/profiles/${id}/unmerge`],
        ['DELETE', `/api/v1/profiles/${id}`],
      ] as const) {
        const r = await t.request(method, path, { token: B.ownerToken, ...(method === 'POST' ? { body: {} } : {}) });
        expect([method, path, r.status]).toEqual([method, path, 404]);
        expect(r.body.error.code).toBe('PROFILE_NOT_FOUND');
      }
    }
    expect((await t.request('GET', '/api/v1/profiles/lookup?email=iso@shop.test', { token: B.ownerToken })).status).toBe(404);
    expect((await t.request('GET', '/api/v1/profiles?email=iso@shop.test', { token: B.ownerToken })).body.data).toEqual([]);
    expect((await t.request('POST', `/api/v1/profiles/${pa}/unmerge`, { token: B.ownerToken, body: { profile_id: pa2 } })).status).toBe(
      404,
    );
    // A's own view is intact.
    expect((await t.request('GET', `/api/v1/profiles/${pa2}`, { token: A.ownerToken })).body.id).toBe(pa);
    const q = await t.request('GET', '/api/v1/profiles/review-queue', { token: B.ownerToken });
    expect(q.body.data).toEqual([]);
  });

  it('permissions: API keys need profiles:read to read and profiles:write to change', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const p = await one(tenantId, [['email', 'perm@shop.test']]);
    const writer = await apiKey(['interactions:write']);
    expect((await t.request('GET', `/api/v1/profiles/${p}`, { token: writer })).status).toBe(403);
    const reader = await apiKey(['profiles:read']);
    expect((await t.request('GET', `/api/v1/profiles/${p}`, { token: reader })).status).toBe(200);
    expect((await t.request('POST', `/api/v1/profiles/${p}/unmerge`, { token: reader, body: {} })).status).toBe(403);
    expect((await t.request('PUT', '/api/v1/profiles/settings', { token: reader, body: { max_auto_merge: 2 } })).status).toBe(403);
    expect((await t.request('GET', `/api/v1/profiles/${p}`)).status).toBe(401);
  });
});
