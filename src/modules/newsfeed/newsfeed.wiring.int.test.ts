import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, pollUntil, multipartBody } from '../../../test/helpers.ts';

/**
 * The feed's ports wired to their owners (src/app.ts), end to end: Pricing's best offers beside feed items and
 * its "Price drops on things you watched" module, and the module order from a running Experiments variant.
 * Tenant B sees none of tenant A's offers or experiments.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let keyA: string;
let keyB: string;
let items: Record<string, string>[];

// EAN-13s with valid GS1 check digits (the pricing integration test's).
const EAN_1 = '4006381333931';
const UPC_2 = '036000291452';

async function importFeed(token: string, storeId: string, file: string) {
  const m = multipartBody(file, {}, 'feed.csv');
  const up = await t.request('POST', `/api/v1/pricing/stores/${storeId}/feeds`, {
    token,
    body: m.body as unknown as string,
    headers: { 'content-type': m.contentType },
  });
  expect(up.status).toBe(202);
  const run = await pollUntil(
    'feed import',
    () => t.request('GET', up.body.status_url, { token }),
    (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
  );
  if (run.body.status === 'failed') throw new Error(JSON.stringify(run.body));
  return run.body;
}

const feed = (key: string, user: string) => t.request('GET', `/api/v1/newsfeed?user_id=${encodeURIComponent(user)}`, { token: key });

beforeAll(async () => {
  t = await createTestApp();
  t.jobs.start({ concurrency: 1 });
  A = await t.createTenant('Wired store');
  B = await t.createTenant('Other store');
  keyA = await A.apiKey(['recommendations:read', 'interactions:write', 'profiles:read', 'profiles:write']);
  keyB = await B.apiKey(['recommendations:read', 'interactions:write', 'profiles:read', 'profiles:write']);
  items = Array.from({ length: 30 }, (_, k) => ({
    item_id: `w-${k}`,
    name: `Wired ${k}`,
    category: `Cat ${k % 6}`,
    brand: `Brand ${k % 5}`,
    price: '80.00',
    currency: 'USD',
    ...(k === 0 ? { gtin: EAN_1 } : k === 1 ? { gtin: UPC_2 } : {}),
  }));
  expect((await t.request('POST', '/api/v1/items/bulk', { token: A.ownerToken, body: items })).body.inserted).toBe(30);
  expect(
    (await t.request('POST', '/api/v1/items/bulk', { token: B.ownerToken, body: [{ ...items[0], item_id: 'w-0', gtin: EAN_1 }] })).body
      .inserted,
  ).toBe(1);
  // Two stores sell w-0 (by GTIN) and one sells w-1; the first store then drops w-0 from 60.00 to 45.00.
  const store1 = (await t.request('POST', '/api/v1/pricing/stores', { token: A.ownerToken, body: { name: 'Outlet', network: 'feed' } }))
    .body.id;
  const store2 = (await t.request('POST', '/api/v1/pricing/stores', { token: A.ownerToken, body: { name: 'Mall', network: 'feed' } })).body
    .id;
  await importFeed(A.ownerToken, store1, `id,title,price,gtin\nO-1,Wired zero,60.00 USD,${EAN_1}\n`);
  await importFeed(A.ownerToken, store2, `id,title,price,gtin\nM-1,Wired zero,55.00 USD,${EAN_1}\nM-2,Wired one,70.00 USD,${UPC_2}\n`);
  await new Promise((r) => setTimeout(r, 5));
  await importFeed(A.ownerToken, store1, `id,title,price,gtin\nO-1,Wired zero,45.00 USD,${EAN_1}\n`);
}, 180_000);
afterAll(async () => {
  await t?.close();
});

type Item = { item_id: string; best_offer: { price: string; store: string | null; was_price: string | null } | null };
type Module = { type: string; title: string; source: string; item_ids: string[] };

describe('newsfeed wiring: pricing', () => {
  it('shows each item with its best store offer, and a price-drop module of watched items', async () => {
    // The shopper watched w-0 (dropped), w-1 (not dropped) and w-2 (no store sells it).
    for (const item_id of ['w-0', 'w-1', 'w-2'])
      expect(
        (await t.request('POST', '/api/v1/interactions', { token: keyA, body: { user_id: 'watcher', item_id, interaction_type: 'view' } }))
          .status,
      ).toBeLessThan(300);
    const r = await feed(keyA, 'watcher');
    expect(r.status).toBe(200);
    const drops = (r.body.modules as Module[]).find((m) => m.type === 'price_drops');
    expect(drops).toMatchObject({ title: 'Price drops on things you watched', source: 'pricing.price_drops', item_ids: ['w-0'] });
    const items = r.body.items as Item[];
    // The was price is the best offer's own 30-day low (Omnibus, as on the product page): Outlet's 60.00.
    expect(items.find((i) => i.item_id === 'w-0')!.best_offer).toMatchObject({ price: '45.00', store: 'Outlet', was_price: '60.00' });
    // Offers of items elsewhere in the feed are there too (no drop: no was price); unsold items have none.
    for (const i of items) if (!['w-0', 'w-1'].includes(i.item_id)) expect(i.best_offer).toBeNull();
    const one = items.find((i) => i.item_id === 'w-1');
    if (one) expect(one.best_offer).toMatchObject({ price: '70.00', store: 'Mall', was_price: null });
  });

  it('a shopper with no history gets no price-drop module; tenant B never sees tenant A offers for the same GTIN', async () => {
    const fresh = await feed(keyA, 'newcomer');
    expect((fresh.body.modules as Module[]).some((m) => m.type === 'price_drops')).toBe(false);
    await t.request('POST', '/api/v1/interactions', {
      token: keyB,
      body: { user_id: 'watcher', item_id: 'w-0', interaction_type: 'view' },
    });
    const b = await feed(keyB, 'watcher');
    expect(b.status).toBe(200);
    expect((b.body.modules as Module[]).some((m) => m.type === 'price_drops')).toBe(false);
    for (const i of b.body.items as Item[]) expect(i.best_offer).toBeNull();
  });
});

describe('newsfeed wiring: price changes', () => {
  it("a store's new price and a catalog price change show on the next page, not after the feed's cache interval", async () => {
    const told: string[] = [];
    t.modules.pricing.onOffersChanged((tenantId) => told.push(tenantId));
    // a new watcher of w-0 per page (a shopper's own earlier pages are not repeated to them)
    const w0 = async (user: string) => {
      await t.request('POST', '/api/v1/interactions', { token: keyA, body: { user_id: user, item_id: 'w-0', interaction_type: 'view' } });
      return ((await feed(keyA, user)).body.items as Item[]).find((i) => i.item_id === 'w-0')!;
    };
    expect((await w0('pc-1')).best_offer).toMatchObject({ price: '45.00', store: 'Outlet' });
    // a third store undercuts (a drop from its own 50.00): pricing tells its listeners once each import committed
    const store3 = (await t.request('POST', '/api/v1/pricing/stores', { token: A.ownerToken, body: { name: 'Corner', network: 'feed' } }))
      .body.id;
    await importFeed(A.ownerToken, store3, `id,title,price,gtin\nC-1,Wired zero,50.00 USD,${EAN_1}\n`);
    await new Promise((r) => setTimeout(r, 5));
    await importFeed(A.ownerToken, store3, `id,title,price,gtin\nC-1,Wired zero,30.00 USD,${EAN_1}\n`);
    expect(told).toContain(A.tenantId);
    expect(told).not.toContain(B.tenantId);
    expect((await w0('pc-2')).best_offer).toMatchObject({ price: '30.00', store: 'Corner' });
    // a catalog price change of an item of the lists every new shopper shares (the catalog's newest)
    const first = (await feed(keyA, 'pc-3')).body.items as (Item & { price: string; sponsored: boolean })[];
    const shared = first.find((i) => !i.sponsored && i.item_id !== 'w-0')!;
    expect(shared.price).toBe('80.00');
    const up = await t.request('POST', '/api/v1/items/bulk', {
      token: A.ownerToken,
      body: [{ ...items[Number(shared.item_id.slice(2))]!, price: '77.00' }],
    });
    expect(up.status).toBeLessThan(300);
    const next = (await feed(keyA, 'pc-4')).body.items as (Item & { price: string })[];
    expect(next.find((i) => i.item_id === shared.item_id)?.price).toBe('77.00');
    // tenant B's feed is untouched by A's changes
    for (const i of (await feed(keyB, 'watcher')).body.items as Item[]) expect(i.best_offer).toBeNull();
  });
});

describe('newsfeed wiring: recs', () => {
  it('with no model deployed, pages rank nothing in recs (a cold start the feed never shows) and still fill', async () => {
    const stats = t.modules.recs.servingStats;
    const before = stats.cacheHits + stats.cacheMisses;
    const pages = await Promise.all(['cold-1', 'cold-2', 'cold-3'].map((u) => feed(keyA, u)));
    for (const p of pages) {
      expect(p.status).toBe(200);
      expect((p.body.items as Item[]).length).toBeGreaterThan(0);
    }
    expect(stats.cacheHits + stats.cacheMisses).toBe(before);
    // the recs API itself still answers with its cold start
    const api = await t.request('POST', '/api/v1/recommendations', {
      token: keyA,
      body: { tenant_id: A.tenantId, user_id: 'cold-1', count: 5 },
    });
    expect(api.status).toBe(200);
    expect(api.body.recommendations.length).toBeGreaterThan(0);
    expect(stats.cacheHits + stats.cacheMisses).toBe(before + 1);
  });
});

describe('newsfeed wiring: experiments', () => {
  it("orders modules by the running experiment's variant for this shopper", async () => {
    const key = await A.apiKey(['interactions:write']);
    const created = await t.request('POST', '/api/v1/admin/experiments', {
      token: A.ownerToken,
      body: {
        key: 'newsfeed_module_order',
        name: 'Feed order',
        variants: [
          { key: 'control', config: {} },
          { key: 'trending_first', config: { module_order: ['trending', 'not_a_module', 'for_you'] } },
        ],
      },
    });
    expect(created.status).toBe(201);
    expect((await t.request('POST', `/api/v1/admin/experiments/${created.body.id}/start`, { token: A.ownerToken })).status).toBe(200);
    const orders = new Set<string>();
    for (const user of ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8']) {
      const asg = await t.request('POST', '/api/v1/experiments/assign', {
        token: key,
        body: { user_id: user, experiments: ['newsfeed_module_order'] },
      });
      const variant = asg.body.assignments[0].variant_key as string;
      const r = await feed(keyA, user);
      expect(r.body.experiment.experiment_id).toBe(created.body.id);
      expect(r.body.experiment.variant).toBe(variant);
      const expected =
        variant === 'trending_first'
          ? ['trending', 'for_you', 'new_from_brands', 'because_you_viewed', 'price_drops']
          : ['for_you', 'new_from_brands', 'because_you_viewed', 'price_drops', 'trending'];
      expect(r.body.experiment.module_order).toEqual(expected);
      orders.add(variant);
    }
    expect(orders.size).toBe(2); // 8 shoppers at 50/50: both arms seen (a 1-in-128 chance of one arm; deterministic hashing)
    // Tenant B has no such experiment: the default order.
    expect((await feed(keyB, 'u1')).body.experiment).toMatchObject({ experiment_id: null, variant: 'default' });
  });
});
