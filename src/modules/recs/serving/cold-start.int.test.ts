import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/helpers.ts';
import { CATS, itemId } from '../../../../test/recs-fixtures.ts';

/**
 * Before the first model: a tenant with a catalog gets a non-empty list (catalog order, then trending once
 * shoppers interact) and content-based similar items; the response says which strategy made it.
 */
type Tenant = Awaited<ReturnType<TestApp['createTenant']>>;
let t: TestApp;
let A: Tenant;
let B: Tenant;
let keyA: string;
let keyB: string;

const recommend = (token: string, body: Record<string, unknown>) =>
  t.request('POST', '/api/v1/recommendations', { token, body: { count: 5, ...body } });
const similar = (token: string, body: Record<string, unknown>) =>
  t.request('POST', '/api/v1/recommendations/similar', { token, body: { count: 5, ...body } });
const ids = (items: { item_id: string }[]) => items.map((i) => i.item_id);

const catalog = (prefix: string) =>
  CATS.flatMap((cat, c) =>
    Array.from({ length: 6 }, (_, k) => ({
      itemId: itemId(c, k),
      name: `${prefix} ${cat} ${k % 2 ? 'wireless' : 'classic'} ${k}`,
      category: cat,
      brand: k % 3 ? 'Acme' : 'Globex',
      priceMinor: BigInt(1000 + k * 1000),
      currency: 'USD',
    })),
  );

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Cold store A');
  B = await t.createTenant('Cold store B');
  await t.modules.catalog.upsertItems(A.tenantId, catalog('A'));
  keyA = await A.apiKey(['recommendations:read', 'interactions:write']);
  keyB = await B.apiKey(['recommendations:read', 'interactions:write']);
}, 240_000);
afterAll(async () => {
  await t?.close();
});

describe('before the first model', () => {
  it('a catalog without interactions is served in catalog order, filters and exclusions applied, and says so', async () => {
    const r = await recommend(keyA, { user_id: 'nobody' });
    expect(r.status).toBe(200);
    expect(r.body.recommendations).toHaveLength(5);
    expect(r.body.metadata).toMatchObject({ strategy: 'catalog', model_version: null });
    expect(r.body.metadata.algorithm).toMatch(/no model yet/);
    const f = await recommend(keyA, { filters: { category: 'Computers', max_price: 25 }, context: { current_item: itemId(1, 0) } });
    expect(f.status).toBe(200);
    expect(ids(f.body.recommendations)).toEqual([itemId(1, 1)]); // 10.00 is the current item, 20.00 the only other under 25
    expect(f.body.recommendations[0].reason).toBe('Popular in Computers');
  });

  it('similar items are content neighbours (category, brand, name) before any model', async () => {
    const r = await similar(keyA, { item_id: itemId(2, 1), count: 4 });
    expect(r.status).toBe(200);
    expect(r.body.metadata.strategy).toBe('content_similarity');
    expect(r.body.similar_items).toHaveLength(4);
    expect(ids(r.body.similar_items)).not.toContain(itemId(2, 1));
    // same category and the shared "wireless" first
    expect(r.body.similar_items[0].category).toBe('Wearables');
    expect(r.body.similar_items[0].name).toMatch(/wireless/);
    expect(r.body.similar_items[0].similarity_score).toBeGreaterThan(0);
    // filters still hold; an unknown item is a 404; hostile ids are refused or unknown, never a 500
    const cheap = await similar(keyA, { item_id: itemId(2, 1), filters: { max_price: 20 } });
    for (const i of cheap.body.similar_items) expect(i.price).toBeLessThanOrEqual(20);
    expect((await similar(keyA, { item_id: 'NOPE' })).status).toBe(404);
    for (const bad of ['a\u0000b', '\ud800', 'x'.repeat(5000)])
      expect([400, 404]).toContain((await similar(keyA, { item_id: bad })).status);
  });
});

describe('trending before a model, on a fresh app', () => {
  it('ranks by recent interactions and excludes what the user bought; tenants stay apart', async () => {
    const t2 = await createTestApp();
    try {
      const C = await t2.createTenant('Cold store C');
      const D = await t2.createTenant('Cold store D');
      await t2.modules.catalog.upsertItems(C.tenantId, catalog('C'));
      await t2.modules.catalog.upsertItems(D.tenantId, catalog('D').slice(0, 3));
      const base = Date.now() - 3_600_000;
      const rows = [];
      for (let u = 0; u < 8; u++) {
        rows.push({ userId: `S${u}`, itemId: itemId(0, 4), type: 'purchase', source: 'test', occurredAt: new Date(base + u * 1000) });
        if (u < 5)
          rows.push({ userId: `S${u}`, itemId: itemId(1, 3), type: 'view', source: 'test', occurredAt: new Date(base + u * 1000 + 500) });
      }
      await t2.modules.events.interactions.appendMany(C.tenantId, rows);
      const kC = await C.apiKey(['recommendations:read']);
      const kD = await D.apiKey(['recommendations:read']);
      const req = (token: string, body: Record<string, unknown>) =>
        t2.request('POST', '/api/v1/recommendations', { token, body: { count: 3, ...body } });
      const anon = await req(kC, {});
      expect(anon.status).toBe(200);
      expect(anon.body.metadata.strategy).toBe('trending');
      expect(ids(anon.body.recommendations).slice(0, 2)).toEqual([itemId(0, 4), itemId(1, 3)]);
      expect(anon.body.recommendations[0].reason).toBe('Trending');
      expect(anon.body.recommendations).toHaveLength(3); // filled from the catalog past the two touched items
      const buyer = await req(kC, { user_id: 'S0' });
      expect(ids(buyer.body.recommendations)).not.toContain(itemId(0, 4));
      expect(buyer.body.recommendations[0].item_id).toBe(itemId(1, 3));
      // D holds the same item ids but nobody interacted there: its own catalog, in catalog order
      const d = await req(kD, {});
      expect(d.body.metadata.strategy).toBe('catalog');
      expect(d.body.recommendations.every((i: { name: string }) => i.name.startsWith('D '))).toBe(true);
    } finally {
      await t2.close();
    }
  }, 240_000);

  it('a tenant without a catalog gets an empty list, not another tenant\u2019s items', async () => {
    const r = await recommend(keyB, { user_id: 'S0' });
    expect(r.status).toBe(200);
    expect(r.body.recommendations).toEqual([]);
    expect(r.body.metadata.strategy).toBe('catalog');
    expect((await similar(keyB, { item_id: itemId(0, 4) })).status).toBe(404);
  });
});
