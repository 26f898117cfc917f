/**
 * The product page cache (`products.cache.ts`) on the real app, both databases: a kept page answers byte for byte what
 * the uncached read answered; a price-only run, a merge and a split drop the pages they touch, at once in the writing
 * process and within the look's bound in another app on the same database (another process: nothing announced to
 * it); a catalog link shows; tenants with the same group id never see each other's page; a kept page turns stale
 * with time alone and still hands its offers' sources to the stale-price refresh. The text served, kept or read, fresh
 * or stale, is what the route's serializer writes of the page; its ETag answers If-None-Match with a 304 until the page
 * changes, in either app.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type LoupeApp } from '../../app.ts';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { importFeedCsv } from '../../../test/pricing-networks.ts';
import { type PlatformServices, newId } from '../../platform/index.ts';
import { createResponseSerializers } from '../../platform/serializer.ts';
import { productResponse } from './pricing.schemas.ts';
import { CHECK_MS } from './products.cache.ts';
import { createProductsService } from './products.service.ts';
import { refreshGroupSummaries } from './summary.service.ts';
import { priceFreshness } from './refresh.core.ts';

let t: TestApp;
let other: LoupeApp;
let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };

beforeAll(async () => {
  t = await createTestApp();
  const ta = await t.createTenant('Cache A');
  a = { tenantId: ta.tenantId, key: await ta.apiKey(['catalog:read', 'catalog:write']) };
  const tb = await t.createTenant('Cache B');
  b = { tenantId: tb.tenantId, key: await tb.apiKey(['catalog:read', 'catalog:write']) };
  t.jobs.start({ concurrency: 1 });
  // Another "process": a second app on the same database, its own caches, no job workers, hears no announcement.
  other = await buildApp(t.config, { database: t.database });
}, 120_000);
afterAll(async () => {
  await other?.close();
  await t?.close();
});

/** The raw answer (bytes compared, not parsed JSON). */
const page = async (app: LoupeApp, id: string, key = a.key, ifNoneMatch?: string) => {
  const r = await app.app.inject({
    method: 'GET',
    url: `/api/v1/products/${id}`,
    headers: { authorization: `Bearer ${key}`, ...(ifNoneMatch ? { 'if-none-match': ifNoneMatch } : {}) },
  });
  return {
    status: r.statusCode,
    text: r.body,
    json: r.statusCode === 200 ? JSON.parse(r.body) : undefined,
    etag: r.headers.etag as string | undefined,
    cacheControl: r.headers['cache-control'],
    type: r.headers['content-type'],
  };
};
/** What the app's serializer of the route (fast-json-stringify from `productResponse`) writes of a page. */
const serialize = createResponseSerializers().compiler({
  schema: productResponse,
  method: 'GET',
  url: '/api/v1/products/:id',
  httpStatus: '200',
}) as (body: unknown) => string;
const api = (method: string, url: string, body?: unknown, key = a.key) =>
  t.request(method, url, { token: key, ...(body !== undefined ? { body } : {}) });
const stats = (app: LoupeApp) => app.modules.pricing.productPageCacheStats();

async function createStore(name: string): Promise<string> {
  const r = await api('POST', '/api/v1/pricing/stores', { name, network: 'feed' });
  expect(r.status).toBe(201);
  return r.body.id;
}
/** Pages through `app` until `ok` holds or `ms` passed; answers how long it took. */
async function within(app: LoupeApp, id: string, ok: (p: Awaited<ReturnType<typeof page>>) => boolean, ms: number) {
  const started = Date.now();
  for (;;) {
    const p = await page(app, id);
    if (ok(p)) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`not seen within ${ms} ms: ${p.text.slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const EAN = '4006381333931';
const EAN2 = '036000291452';
const header = 'id,title,brand,gtin,mpn,price,availability,link';

describe('product page cache', () => {
  let storeA: string;
  let storeB: string;
  let group: string;

  it('serves a kept page byte for byte as read, in each app', async () => {
    storeA = await createStore('Alpha');
    storeB = await createStore('Beta');
    await importFeedCsv(
      t,
      a.key,
      storeA,
      [header, `A1,Sony Headphones,Sony,${EAN},WH1,75.00 USD,in stock,https://alpha.example/1`].join('\n'),
    );
    await importFeedCsv(
      t,
      a.key,
      storeB,
      [
        header,
        `B1,Sony WH Headphones,Sony,${EAN},WH1,79.00 USD,in stock,https://beta.example/1`,
        `B2,Speaker,Acme,${EAN2},SP1,20.00 USD,in stock,https://beta.example/2`,
      ].join('\n'),
    );
    const offers = await api('GET', `/api/v1/pricing/offers?store_id=${storeA}`);
    group = offers.body.data[0].match_group_id;
    for (const app of [t, other]) {
      const s0 = stats(app);
      const first = await page(app, group);
      expect(first.status).toBe(200);
      expect(first.json.pricing.best_offer).toMatchObject({ store: 'Alpha', price_amount: '75.00' });
      const second = await page(app, group);
      expect(second.text).toBe(first.text);
      expect(stats(app)).toMatchObject({ misses: s0.misses + 1, hits: s0.hits + 1, pages: s0.pages + 1 });
      // byte for byte what the route's serializer writes of the page, kept or read; one ETag for one text
      expect(first.json.pricing.refreshed_at).not.toBeNull();
      expect(first.text).toBe(serialize(first.json));
      expect(first).toMatchObject({ type: 'application/json; charset=utf-8', cacheControl: 'private, no-cache' });
      expect(second.etag).toMatch(/^"[\w.-]+"$/);
      expect(second.etag).toBe(first.etag);
    }
    // the app and the other "process" give the same text the same ETag
    expect((await page(other, group)).etag).toBe((await page(t, group)).etag);
  }, 120_000);

  it('answers If-None-Match with 304 until the page changes, in this app and in another', async () => {
    const tag = (await page(t, group)).etag!;
    for (const app of [t, other]) {
      const same = await page(app, group, a.key, `W/"nope", ${tag}`);
      expect([same.status, same.text, same.etag, same.cacheControl]).toEqual([304, '', tag, 'private, no-cache']);
      expect((await page(app, group, a.key, '"nope"')).status).toBe(200);
    }
    // another tenant's key never gets a 304 for A's page (it is not found there)
    expect((await page(t, group, b.key, tag)).status).toBe(404);
    await importFeedCsv(
      t,
      a.key,
      storeA,
      [header, `A1,Sony Headphones,Sony,${EAN},WH1,74.00 USD,in stock,https://alpha.example/1`].join('\n'),
      'prices',
    );
    for (const app of [t, other]) {
      await within(app, group, (p) => p.json.pricing.best_offer.price_amount === '74.00', 5000);
      const changed = await page(app, group, a.key, tag);
      expect(changed.status).toBe(200);
      expect(changed.etag).not.toBe(tag);
      expect(changed.text).toBe(serialize(changed.json));
    }
  }, 120_000);

  it('a price-only run drops the page at once in its process and within the bound in another', async () => {
    await page(other, group); // kept in the other app
    await importFeedCsv(
      t,
      a.key,
      storeA,
      [header, `A1,Sony Headphones,Sony,${EAN},WH1,70.00 USD,in stock,https://alpha.example/1`].join('\n'),
      'prices',
    );
    expect((await page(t, group)).json.pricing.best_offer.price_amount).toBe('70.00');
    const took = await within(other, group, (p) => p.json.pricing.best_offer.price_amount === '70.00', 5000);
    expect(took).toBeLessThan(CHECK_MS + 1500);
    // and the answer is what an uncached read gives: a third app, nothing kept
    const fresh = await buildApp(t.config, { database: t.database });
    try {
      expect((await page(other, group)).text).toBe((await page(fresh, group)).text);
    } finally {
      await fresh.close();
    }
  }, 120_000);

  it('a split and a merge drop both groups in both apps', async () => {
    const offers = await api('GET', `/api/v1/pricing/offers?group_id=${group}`);
    const beta = (offers.body.data as { id: string; store_id: string }[]).find((o) => o.store_id === storeB)!;
    await page(other, group);
    const split = await api('POST', `/api/v1/pricing/groups/${group}/split`, { offer_ids: [beta.id] });
    expect(split.status).toBe(200);
    const newGroup = split.body.group_id as string;
    expect((await page(t, group)).json.pricing.offer_count).toBe(1);
    await within(other, group, (p) => p.json.pricing.offer_count === 1, 5000);
    expect((await page(other, newGroup)).json.pricing.best_offer.store).toBe('Beta');

    const merge = await api('POST', `/api/v1/pricing/groups/${group}/merge`, { from_group_id: newGroup });
    expect(merge.status).toBe(200);
    expect((await page(t, group)).json.pricing.offer_count).toBe(2);
    await within(other, group, (p) => p.json.pricing.offer_count === 2, 5000);
    await within(other, newGroup, (p) => p.json.pricing.offer_count === 0, 5000);
  }, 120_000);

  it('tenants never see each other’s kept page, even under the same group id', async () => {
    expect((await page(t, group, b.key)).status).toBe(404); // A's page is kept: B's request never reaches it
    // B gets a group with the very same id (its own store and offer), summarized through the door.
    const store = newId();
    await t.database.db.execute(
      sql`INSERT INTO pricing_stores (tenant_id, id, name, network) VALUES (${b.tenantId}, ${store}, 'Gamma', 'feed')`,
    );
    await t.database.db.execute(
      sql`INSERT INTO pricing_match_groups (tenant_id, id, canonical_name) VALUES (${b.tenantId}, ${group}, 'B product')`,
    );
    await t.database.db.execute(
      sql`INSERT INTO pricing_offers (tenant_id, id, store_id, external_id, title, price_minor, currency, match_group_id, price_updated_at)
          VALUES (${b.tenantId}, ${newId()}, ${store}, 'g1', 'B product', 999, 'USD', ${group}, now())`,
    );
    await t.database.db.transaction((tx) => refreshGroupSummaries(tx, b.tenantId, [group], new Date()));
    for (const app of [t, other]) {
      await page(app, group); // A's, kept
      await within(app, group, (p) => p.json.product.name === 'B product', 5000).catch(() => undefined);
      const pb = await page(app, group, b.key);
      const pa = await page(app, group);
      expect(pb.json.product.name).toBe('B product');
      expect(pb.json.pricing.best_offer).toMatchObject({ store: 'Gamma', price_amount: '9.99' });
      expect(pa.json.product.name).not.toBe('B product');
      expect(pa.json.pricing.offer_count).toBe(2);
    }
  }, 120_000);
});

describe('kept pages and time', () => {
  it('a kept page turns stale with time alone, and each open hands its offers’ current sources to the refresh', async () => {
    let now = new Date();
    const quiet = { info() {}, warn() {}, error() {}, debug() {} };
    const platform = {
      db: t.database.db,
      reader: t.database.db,
      clock: () => now,
      log: quiet,
      jobs: { register() {} },
      databaseKind: t.database.kind,
    } as unknown as PlatformServices;
    const opened: { lastSuccess: (Date | null)[] }[] = [];
    const products = createProductsService({
      platform,
      findCatalogItem: async () => null,
      tenantName: async () => 'A',
      // refresh.onOpen's rule with a 60-minute setting; what it is handed is what it would queue refreshes for
      freshness: async (_tenant, offers) => {
        opened.push({ lastSuccess: offers.map((o) => o.sourceLastSuccessAt) });
        const last = new Map(offers.map((o) => [o.storeId, o.sourceLastSuccessAt]));
        const f = priceFreshness(offers, last, now, 60 * 60_000);
        return { stale: f.stale, refreshedAt: f.refreshedAt };
      },
      pageCacheBytes: 1 << 20,
    });
    const ctx = { tenantId: a.tenantId, actor: { type: 'api_key', id: 'test' } } as unknown as Parameters<typeof products.get>[0];
    const offers = await api('GET', '/api/v1/pricing/offers');
    const groupId = (offers.body.data as { match_group_id: string }[])[0]!.match_group_id;
    const first = await products.get(ctx, groupId);
    expect(first.pricing.stale).toBe(false);
    now = new Date(now.getTime() + 2 * 3_600_000); // two hours later: no write, the kept page is stale
    const later = await products.get(ctx, groupId);
    expect(products.cacheStats().hits).toBeGreaterThanOrEqual(1);
    expect(later.pricing.stale).toBe(true);
    expect({ ...later, pricing: { ...later.pricing, stale: false } }).toEqual(first);
    // the kept text turns stale too: byte for byte the serializer's, kept (second call) or made, with another ETag
    const made = await products.page(ctx, groupId, serialize);
    const kept = await products.page(ctx, groupId, serialize);
    expect(made.json).toBe(serialize(later));
    expect(kept).toEqual(made);
    now = new Date(now.getTime() - 2 * 3_600_000);
    const fresh = await products.page(ctx, groupId, serialize);
    expect(fresh.json).toBe(serialize(first));
    expect(fresh.etag).not.toBe(made.etag);
    now = new Date(now.getTime() + 2 * 3_600_000);
    // a network run confirming the prices (no price change, no group stamped) is seen by the next look
    const inGroup = await api('GET', `/api/v1/pricing/offers?group_id=${groupId}`);
    for (const storeId of new Set((inGroup.body.data as { store_id: string }[]).map((o) => o.store_id)))
      await t.database.db.execute(
        sql`INSERT INTO pricing_network_sources (tenant_id, id, store_id, network, credentials, last_success_at)
            VALUES (${a.tenantId}, ${newId()}, ${storeId}, 'rakuten', 'sealed', ${now.toISOString()}::timestamptz)`,
      );
    await new Promise((r) => setTimeout(r, CHECK_MS + 50));
    const confirmed = await products.get(ctx, groupId);
    expect(opened.at(-1)!.lastSuccess).toContainEqual(now);
    expect(products.cacheStats().hits).toBeGreaterThanOrEqual(2);
    expect(confirmed.pricing).toMatchObject({ stale: false, refreshed_at: now.toISOString() });
  }, 60_000);
});
