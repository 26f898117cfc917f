/**
 * The `/predict/*` serving cache against the real app: repeated predictions are served from memory, and the next
 * answer after a change is right at once: a new order (through the events API and through identity), an erasure
 * (404), a merge (the survivor with every order), an unmerge (each its own again); another tenant never reaches
 * an entry. On PostgreSQL, a second app on the same database (another process: no announcement reaches it) sees
 * a write within about a second through the change marker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app.ts';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

const DAY = 86_400_000;
const NOW = Date.now();
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let keyA: string;
let writeA: string;
let keyB: string;

const predict = (body: object, token = keyA, app: Pick<TestApp, 'app'> = t) =>
  app.app.inject({ method: 'POST', url: '/api/v1/predict/all', headers: { authorization: `Bearer ${token}` }, payload: body });
const stats = () => t.modules.predictions.servingCache.stats();
/** A purchase through the events API (the one write door): identity records the order inside that transaction. */
const purchase = (user: string, orderId: string, price: string, daysAgo: number) =>
  t.request('POST', '/api/v1/interactions', {
    token: writeA,
    body: {
      user_id: user,
      item_id: 'item-1',
      interaction_type: 'purchase',
      timestamp: new Date(NOW - daysAgo * DAY).toISOString(),
      metadata: { order_id: orderId, price, currency: 'USD' },
    },
  });
/**
 * Until a write is kept: reads right after it are answered but not kept (the settle window); on PostgreSQL
 * the change marker also drops what changed in its overlap (before the last look), so kept entries wait longer.
 */
const SETTLE_MS = 500;
const OVERLAP_MS = 1500;
const settle = () => new Promise((r) => setTimeout(r, t.database.kind === 'postgres' ? OVERLAP_MS + 600 : SETTLE_MS + 100));

beforeAll(async () => {
  // Short consistency windows (the defaults are 2 s and 5 s) so the waits below stay short; the rules are the same.
  t = await createTestApp({ LOUPE_PREDICTIONS_CACHE_SETTLE_MS: String(SETTLE_MS), LOUPE_PREDICTIONS_CACHE_OVERLAP_MS: String(OVERLAP_MS) });
  A = await t.createTenant('Cache A');
  B = await t.createTenant('Cache B');
  keyA = await A.apiKey(['profiles:read']);
  writeA = await A.apiKey(['interactions:write']);
  keyB = await B.apiKey(['profiles:read']);
}, 180_000);
afterAll(async () => {
  await t?.close();
});

describe('predictions serving cache', () => {
  it('serves repeated predictions from memory; a new order through the events API changes the next answer', async () => {
    expect((await purchase('ann', 'ann-1', '20.00', 30)).status).toBeLessThan(300);
    await settle();
    const ref = { identifier: { type: 'user_id', value: 'ann' } };
    const first = await predict(ref);
    expect(first.statusCode).toBe(200);
    expect(first.json().orders).toBe(1);
    const before = stats();
    for (let i = 0; i < 5; i++) expect((await predict(ref)).json().orders).toBe(1);
    expect(stats().hits - before.hits).toBe(5);
    expect(stats().misses).toBe(before.misses);

    expect((await purchase('ann', 'ann-2', '35.00', 1)).status).toBeLessThan(300);
    const next = await predict(ref);
    expect(next.json()).toMatchObject({ profile_id: first.json().profile_id, orders: 2 });
    // by profile id too, and through identity's own write path
    const profileId = first.json().profile_id as string;
    await t.modules.identity.recordActivity(A.tenantId, [
      { profileId, type: 'purchase', revenueMinor: 999n, currency: 'USD', orderId: 'ann-3', channel: 'api', occurredAt: new Date(NOW) },
    ]);
    expect((await predict({ profile_id: profileId })).json().orders).toBe(3);
    expect((await predict(ref)).json().orders).toBe(3);
  }, 60_000);

  it("never gives another tenant an entry: the same profile id and identifier answer 404 for B's key", async () => {
    const ref = { identifier: { type: 'user_id', value: 'ann' } };
    await settle();
    const id = (await predict(ref)).json().profile_id as string;
    await predict({ profile_id: id });
    expect(t.modules.predictions.servingCache.size(A.tenantId)).toBeGreaterThan(0);
    expect((await predict({ profile_id: id }, keyB)).statusCode).toBe(404);
    expect((await predict(ref, keyB)).statusCode).toBe(404);
    expect(t.modules.predictions.servingCache.size(B.tenantId)).toBe(0);
  }, 60_000);

  it('an erased profile answers 404 at once, by id and by identifier, and is dropped from memory', async () => {
    await purchase('eve', 'eve-1', '10.00', 10);
    await settle();
    const ref = { identifier: { type: 'user_id', value: 'eve' } };
    const id = (await predict(ref)).json().profile_id as string;
    expect((await predict({ profile_id: id })).statusCode).toBe(200);
    const hits = stats().hits;
    expect((await predict({ profile_id: id })).statusCode).toBe(200);
    expect(stats().hits).toBe(hits + 1); // it was served from memory
    expect((await t.request('DELETE', `/api/v1/profiles/${id}`, { token: A.ownerToken })).status).toBe(200);
    expect((await predict({ profile_id: id })).statusCode).toBe(404);
    expect((await predict(ref)).statusCode).toBe(404);
  }, 60_000);

  it('a merge answers for the survivor with every order at once; an unmerge splits them again', async () => {
    const [a, b] = await t.modules.identity.resolveMany(A.tenantId, [
      { identifiers: [{ type: 'email', value: 'sam@shop.test' }], channel: 'api', occurredAt: new Date(NOW - 9 * DAY) },
      { identifiers: [{ type: 'device_id', value: 'dev-sam' }], channel: 'api', occurredAt: new Date(NOW - 8 * DAY) },
    ]);
    await t.modules.identity.recordActivity(A.tenantId, [
      {
        profileId: a!,
        type: 'purchase',
        revenueMinor: 1000n,
        currency: 'USD',
        orderId: 's1',
        channel: 'api',
        occurredAt: new Date(NOW - 7 * DAY),
      },
      {
        profileId: b!,
        type: 'purchase',
        revenueMinor: 2000n,
        currency: 'USD',
        orderId: 's2',
        channel: 'api',
        occurredAt: new Date(NOW - 6 * DAY),
      },
    ]);
    await settle();
    const devRef = { identifier: { type: 'device_id', value: 'dev-sam' } };
    for (const ref of [{ profile_id: a }, { profile_id: b }, devRef]) await predict(ref);
    expect((await predict({ profile_id: b })).json()).toMatchObject({ profile_id: b, orders: 1 });

    await t.modules.identity.resolveMany(A.tenantId, [
      {
        identifiers: [
          { type: 'email', value: 'sam@shop.test' },
          { type: 'device_id', value: 'dev-sam' },
        ],
        channel: 'api',
        occurredAt: new Date(NOW),
      },
    ]);
    for (const ref of [{ profile_id: b }, { profile_id: a }, devRef])
      expect((await predict(ref)).json()).toMatchObject({ profile_id: a, orders: 2 });

    await settle();
    for (const ref of [{ profile_id: b }, { profile_id: a }, devRef]) await predict(ref); // kept again
    const un = await t.request('POST', `/api/v1/profiles/${b}/unmerge`, { token: A.ownerToken, body: {} });
    expect(un.status).toBe(200);
    // the truth, read now: b is active again with its identifier (its orders were recorded without events, so
    // they stay with a: unmerge moves back the orders of the events it moves)
    const truth = async (id: string) => (await t.modules.identity.customerOrders.ofSurvivor(t.database.db, A.tenantId, id))!;
    const [ta, tb] = [await truth(a!), await truth(b!)];
    expect(tb.profileId).toBe(b);
    expect((await predict({ profile_id: a })).json()).toMatchObject({ profile_id: a, orders: ta.orders.length });
    expect((await predict({ profile_id: b })).json()).toMatchObject({ profile_id: b, orders: tb.orders.length });
    expect((await predict(devRef)).json()).toMatchObject({ profile_id: b, orders: tb.orders.length });
  }, 60_000);

  it('sees orders written by another process within about a second (PostgreSQL: no announcement reaches it)', async (ctx) => {
    if (t.database.kind !== 'postgres') ctx.skip(); // PGlite is embedded: one process holds the database
    const other = await buildApp(t.config, { database: t.database });
    try {
      await purchase('otto', 'otto-1', '12.00', 5);
      await settle(); // older than the marker's overlap: only a new change drops it
      const ref = { identifier: { type: 'user_id', value: 'otto' } };
      expect((await predict(ref, keyA, other)).json().orders).toBe(1);
      const hits = other.modules.predictions.servingCache.stats().hits;
      expect((await predict(ref, keyA, other)).json().orders).toBe(1);
      expect(other.modules.predictions.servingCache.stats().hits).toBe(hits + 1);
      // written through the first app: the second one hears nothing and must find it by the marker
      await purchase('otto', 'otto-2', '14.00', 1);
      const started = Date.now();
      let orders = 1;
      while (orders === 1 && Date.now() - started < 5000) {
        orders = (await predict(ref, keyA, other)).json().orders;
        if (orders === 1) await new Promise((r) => setTimeout(r, 100));
      }
      expect(orders).toBe(2);
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      await other.close();
    }
  }, 60_000);
});
