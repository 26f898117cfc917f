import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/helpers.ts';
import { buildApp } from '../../../app.ts';
import { CATS, itemId, seedTenant, waitJob } from '../../../../test/recs-fixtures.ts';
import { newId, queryRows } from '../../../platform/index.ts';
import { createRecsRepository } from '../recs.repository.ts';
import type { RecsPorts } from '../recs.types.ts';

/** recordServedMany writes recs' own table only: no other module is asked. */
const UNUSED_PORTS = { events: {}, catalog: {}, tenantSettings: async () => ({}) } as unknown as RecsPorts;

/**
 * Serving from memory stays exact: catalog changes made through the API, interactions posted now, the
 * batched served log, and per-tenant caches that never mix two tenants holding the same item and user ids.
 */
type Tenant = Awaited<ReturnType<TestApp['createTenant']>>;
const SCOPES = ['recommendations:read', 'interactions:write', 'models:manage', 'analytics:read', 'catalog:read', 'catalog:write'];
let t: TestApp;
let A: Tenant;
let B: Tenant;
let keyA: string;
let keyB: string;

async function trainAndDeploy(token: string) {
  const start = await t.request('POST', '/api/v1/train', { token, body: { model_type: 'item_knn' } });
  expect(start.status).toBe(202);
  const done = await waitJob(t, token, start.body.job_id);
  expect(done.status, JSON.stringify(done)).toBe('completed');
  expect(done.deployment_status).toBe('deployed');
}

const recommend = (token: string, body: Record<string, unknown>) =>
  t.request('POST', '/api/v1/recommendations', { token, body: { count: 5, ...body } });
const similar = (token: string, body: Record<string, unknown>) =>
  t.request('POST', '/api/v1/recommendations/similar', { token, body: { count: 5, ...body } });
const ids = (items: { item_id: string }[]) => items.map((i) => i.item_id);

beforeAll(async () => {
  t = await createTestApp();
  t.jobs.start({ concurrency: 1 });
  A = await t.createTenant('Serving store A');
  B = await t.createTenant('Serving store B');
  // Both tenants hold the same item ids and user ids; B's catalog fields and histories differ.
  await seedTenant(t, A.tenantId);
  await seedTenant(t, B.tenantId);
  await t.modules.catalog.upsertItems(
    B.tenantId,
    CATS.flatMap((cat, c) =>
      Array.from({ length: 12 }, (_, k) => ({
        itemId: itemId(c, k),
        name: `B-only ${cat} ${k}`,
        category: `B ${cat}`,
        brand: 'Initech',
        priceMinor: 99_900n,
        currency: 'EUR',
      })),
    ),
  );
  await t.modules.events.interactions.appendMany(
    B.tenantId,
    Array.from({ length: 6 }, (_, k) => ({
      userId: 'U0',
      itemId: itemId(2, k),
      type: 'purchase',
      source: 'test',
      occurredAt: new Date(Date.parse('2026-10-30T00:00:00Z') + k * 60_000),
    })),
  );
  keyA = await A.apiKey(SCOPES);
  keyB = await B.apiKey(SCOPES);
  await trainAndDeploy(keyA);
  await trainAndDeploy(keyB);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('serving from memory', () => {
  it('stops serving an item made unavailable through the catalog API at once, and serves it again when it is back', async () => {
    const before = await recommend(keyA, { user_id: 'U3' });
    expect(before.status).toBe(200);
    const gone = before.body.recommendations[0].item_id as string;
    expect((await t.request('PUT', `/api/v1/items/${gone}`, { token: keyA, body: { availability: 'out_of_stock' } })).status).toBe(200);
    const after = await recommend(keyA, { user_id: 'U3' });
    expect(after.body.metadata.cache_hit).toBe(false);
    expect(ids(after.body.recommendations)).not.toContain(gone);
    expect(after.body.recommendations).toHaveLength(5);

    const anchor = itemId(0, 1);
    const sim = await similar(keyA, { item_id: anchor });
    expect(sim.status).toBe(200);
    const neighbour = sim.body.similar_items[0].item_id as string;
    expect((await t.request('PUT', `/api/v1/items/${neighbour}`, { token: keyA, body: { availability: 'discontinued' } })).status).toBe(
      200,
    );
    expect(ids((await similar(keyA, { item_id: anchor })).body.similar_items)).not.toContain(neighbour);
    const deleted = sim.body.similar_items[1].item_id as string;
    expect((await t.request('DELETE', `/api/v1/items/${deleted}`, { token: keyA })).status).toBe(204);
    expect(ids((await similar(keyA, { item_id: anchor })).body.similar_items)).not.toContain(deleted);

    expect(
      (await t.request('PUT', `/api/v1/items/${neighbour}`, { token: keyA, body: { availability: 'in_stock', name: 'Renamed neighbour' } }))
        .status,
    ).toBe(200);
    const back = (await similar(keyA, { item_id: anchor })).body.similar_items.find((i: { item_id: string }) => i.item_id === neighbour);
    expect(back?.name).toBe('Renamed neighbour');
  });

  it('changes a user’s next recommendations as soon as they interact', async () => {
    const cold = await recommend(keyA, { user_id: 'NEWCOMER' });
    expect(cold.body.metadata.algorithm).toMatch(/^popularity \(cold start/);
    const viewed = itemId(2, 5);
    const post = await t.request('POST', '/api/v1/interactions', {
      token: keyA,
      body: { user_id: 'NEWCOMER', item_id: viewed, interaction_type: 'add_to_cart' },
    });
    expect(post.status).toBe(201);
    const warm = await recommend(keyA, { user_id: 'NEWCOMER' });
    expect(warm.body.metadata.cache_hit).toBe(false);
    expect(warm.body.metadata.algorithm).toBe('item_knn + real-time history');
    expect(ids(warm.body.recommendations)).not.toEqual(ids(cold.body.recommendations));
    expect(warm.body.recommendations.some((i: { reason: string }) => i.reason === `Because you added Wearables thing 5`)).toBe(true);

    const bought = warm.body.recommendations[0].item_id as string;
    await t.request('POST', '/api/v1/interactions', {
      token: keyA,
      body: { user_id: 'NEWCOMER', item_id: bought, interaction_type: 'purchase' },
    });
    expect(ids((await recommend(keyA, { user_id: 'NEWCOMER' })).body.recommendations)).not.toContain(bought);
  });

  it('writes a served row per response (in batches) and attributes a click citing its recommendation id', async () => {
    const responses = [];
    for (const user of ['U4', 'U5', 'U4']) responses.push((await recommend(keyB, { user_id: user })).body);
    responses.push((await similar(keyB, { item_id: itemId(1, 2) })).body);
    await t.modules.recs.flushServed();
    const rows = await queryRows<{ id: string; kind: string; userId: string | null; itemIds: string[]; cacheHit: boolean }>(
      t.database.db,
      sql`SELECT id::text, kind, user_id AS "userId", item_ids AS "itemIds", cache_hit AS "cacheHit" FROM recs_served WHERE tenant_id = ${B.tenantId} ORDER BY created_at, id`,
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const r of responses) {
      const row = byId.get(r.recommendation_id);
      expect(row, r.recommendation_id).toBeDefined();
      expect(row!.itemIds).toEqual(ids(r.recommendations ?? r.similar_items));
    }
    expect(byId.get(responses[2].recommendation_id)!.cacheHit).toBe(true);
    expect(byId.get(responses[3].recommendation_id)!.kind).toBe('similar');

    const clicked = responses[0].recommendations[0].item_id as string;
    const click = await t.request('POST', '/api/v1/interactions', {
      token: keyB,
      body: { user_id: 'U4', item_id: clicked, interaction_type: 'click', recommendation_id: responses[0].recommendation_id },
    });
    expect(click.status).toBe(201);
    const dash = await t.request('GET', `/api/v1/analytics/tenant/${B.tenantId}/dashboard`, { token: keyB });
    expect(dash.body.metrics.total_api_calls).toBe(rows.length);
    expect(dash.body.metrics.click_through_rate).toBeCloseTo(1 / rows.length, 4);
  });

  it('stores served item ids exactly, whatever characters they hold', async () => {
    const id = newId();
    const itemIds = ['plain', 'with "quotes"', 'back\\slash', 'comma,{braces}', ' spaced ', 'NULL', ''];
    await createRecsRepository(UNUSED_PORTS).recordServedMany(t.database.db, B.tenantId, [
      { id, kind: 'similar', userId: null, modelVersionId: null, itemIds, latencyMs: 1.5, cacheHit: false, createdAt: new Date() },
    ]);
    const [row] = await queryRows<{ itemIds: string[] }>(
      t.database.db,
      sql`SELECT item_ids AS "itemIds" FROM recs_served WHERE tenant_id = ${B.tenantId} AND id = ${id}`,
    );
    expect(row!.itemIds).toEqual(itemIds);
  });

  it('keeps each tenant’s catalog fields and histories apart, though they share item and user ids', async () => {
    const a = await recommend(keyA, { user_id: 'U0' });
    const b = await recommend(keyB, { user_id: 'U0' });
    for (const i of a.body.recommendations) expect(i.name).toMatch(/^(Audio|Computers|Wearables) thing \d+$|^Renamed neighbour$/);
    for (const i of b.body.recommendations) {
      expect(i.name).toMatch(/^B-only /);
      expect(i.currency).toBe('EUR');
      expect(i.price).toBe(999);
    }
    // B's U0 bought Wearables 0-5 (excluded for B only); A's U0 never did
    for (const k of [0, 1, 2, 3, 4, 5]) expect(ids(b.body.recommendations)).not.toContain(itemId(2, k));
    const simA = await similar(keyA, { item_id: itemId(1, 3) });
    const simB = await similar(keyB, { item_id: itemId(1, 3) });
    for (const i of simA.body.similar_items) expect(i.name).not.toMatch(/^B-only /);
    for (const i of simB.body.similar_items) expect(i.name).toMatch(/^B-only /);

    // A's writes change nothing in B: B's next answer is the same, straight from its response cache
    const bFirst = b.body.recommendations[0].item_id as string;
    await t.request('POST', '/api/v1/interactions', {
      token: keyA,
      body: { user_id: 'U0', item_id: bFirst, interaction_type: 'purchase' },
    });
    let hidden: string | undefined; // one of B's recommendations that A still holds (the first test deleted one of A's items)
    for (const id of ids(b.body.recommendations).slice(1))
      if (!hidden && (await t.request('GET', `/api/v1/items/${id}`, { token: keyA })).status === 200) hidden = id;
    expect((await t.request('PUT', `/api/v1/items/${hidden}`, { token: keyA, body: { availability: 'out_of_stock' } })).status).toBe(200);
    const bAgain = await recommend(keyB, { user_id: 'U0' });
    expect(bAgain.body.metadata.cache_hit).toBe(true);
    expect(ids(bAgain.body.recommendations)).toEqual(ids(b.body.recommendations));
    const aAgain = await recommend(keyA, { user_id: 'U0' });
    expect(ids(aAgain.body.recommendations)).not.toContain(bFirst);
    expect(ids(aAgain.body.recommendations)).not.toContain(hidden);
  });

  it('sees writes made by another process within about a second (PostgreSQL: no announcement reaches it)', async (ctx) => {
    if (t.database.kind !== 'postgres') ctx.skip(); // PGlite is embedded: one process holds the database
    const other = await buildApp(t.config, { database: t.database });
    try {
      const elsewhere = (method: string, url: string, body: object) =>
        other.app.inject({ method: method as 'PUT', url, headers: { authorization: `Bearer ${keyA}` }, payload: body });
      const first = await recommend(keyA, { user_id: 'U7' });
      const gone = first.body.recommendations[0].item_id as string;
      expect((await elsewhere('PUT', `/api/v1/items/${gone}`, { availability: 'out_of_stock' })).statusCode).toBe(200);
      const bought = first.body.recommendations[1].item_id as string;
      expect(
        (await elsewhere('POST', '/api/v1/interactions', { user_id: 'U7', item_id: bought, interaction_type: 'purchase' })).statusCode,
      ).toBe(201);
      // a deletion moves no updated_at: the catalog's count of deleted items tells the serving process
      const deleted = first.body.recommendations[2].item_id as string;
      expect((await elsewhere('DELETE', `/api/v1/items/${deleted}`, {})).statusCode).toBe(204);
      await new Promise((r) => setTimeout(r, 1200));
      const next = ids((await recommend(keyA, { user_id: 'U7' })).body.recommendations);
      expect(next).not.toContain(gone);
      expect(next).not.toContain(bought);
      expect(next).not.toContain(deleted);
    } finally {
      await other.close();
    }
  });
});
