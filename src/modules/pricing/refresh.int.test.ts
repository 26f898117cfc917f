/**
 * Stale-price refresh on open (seed 000), on the real app and a local Rakuten server, both databases: opening a
 * product whose prices are older than the tenant's freshness setting queues one price-only run of the stale store's
 * network in the background; the page never waits for it (a slow network) and says `stale` / `refreshed_at`; 20
 * concurrent opens queue one run; a failed fetch keeps the last price; the tenant's hourly budget bounds the runs;
 * another tenant's product never triggers one; the settings are validated and per tenant.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProduct } from '../../../test/fakes/affiliate-networks.ts';
import { pollUntil, type TestApp } from '../../../test/helpers.ts';
import { type NetworksApp, RAKUTEN, startNetworksApp } from '../../../test/pricing-networks.ts';
import { queryRows } from '../../platform/index.ts';
import { CHECK_MS } from './products.cache.ts';

let fake: NetworksApp['fake'];
let t: TestApp;
let key: string;
let otherKey: string;

let app: NetworksApp;
beforeAll(async () => {
  app = await startNetworksApp('cj-token');
  ({ fake, t, key, otherKey } = app);
});
afterAll(async () => {
  await app?.close();
});

const api = (method: string, url: string, body?: unknown, k = key) => app.api(method, url, body, k);

const product = (id: string, price: string, mpn: string): FakeProduct => ({
  id,
  title: `Widget ${mpn}`,
  price,
  currency: 'USD',
  brand: 'Acme',
  mpn,
});

type Run = { id: string; status: string; mode: string };
const runsOf = (storeId: string, mode = 'prices') =>
  queryRows<Run>(
    t.database.db,
    sql`SELECT id, status, mode FROM pricing_feed_runs WHERE store_id = ${storeId} AND mode = ${mode} ORDER BY started_at`,
  );

/** A store on Rakuten merchant `mid` with one imported product (a full import); answers its ids and group. */
async function store(mid: string, price: string, k = key) {
  fake.setProducts(mid, [product(`${mid}-1`, price, `M${mid}`)]);
  const s = await api('POST', '/api/v1/pricing/stores', { name: `Store ${mid}`, network: 'feed' }, k);
  expect(s.status).toBe(201);
  const c = await api(
    'PUT',
    `/api/v1/pricing/stores/${s.body.id}/network`,
    { network: 'rakuten', client_id: RAKUTEN.clientId, client_secret: RAKUTEN.clientSecret, sid: RAKUTEN.sid, mid, schedule: 'off' },
    k,
  );
  expect(c.status).toBe(200);
  const r = await api('POST', `/api/v1/pricing/sources/${c.body.id}/runs`, undefined, k);
  expect(r.status).toBe(202);
  await pollUntil(
    'full import',
    async () => (await api('GET', r.body.status_url, undefined, k)).body as Run,
    (x) => x.status === 'succeeded' || x.status === 'failed',
  );
  const o = await api('GET', `/api/v1/pricing/offers?store_id=${s.body.id}`, undefined, k);
  const groupId = (o.body.data as { match_group_id: string }[])[0]!.match_group_id;
  return { storeId: s.body.id as string, sourceId: c.body.id as string, groupId };
}

/**
 * Ages the store's prices and its last successful run by `hours` (in SQL, as if that time had passed). The groups'
 * summary rows are stamped as a write through the door would, and the product page cache's bound is waited for: it
 * keeps the offers' price times (time passing moves nothing it keeps, but this edit does).
 */
async function age(storeId: string, hours: number) {
  const at = new Date(Date.now() - hours * 3_600_000).toISOString();
  await t.database.db.execute(sql`UPDATE pricing_offers SET price_updated_at = ${at}::timestamptz WHERE store_id = ${storeId}`);
  await t.database.db.execute(sql`UPDATE pricing_network_sources SET last_success_at = ${at}::timestamptz WHERE store_id = ${storeId}`);
  await t.database.db.execute(
    sql`UPDATE pricing_group_summaries SET write_xid = pg_current_xact_id()
        WHERE group_id IN (SELECT match_group_id FROM pricing_offers WHERE store_id = ${storeId})`,
  );
  await new Promise((r) => setTimeout(r, CHECK_MS + 50));
}

const settled = (storeId: string) =>
  pollUntil(
    'refresh run',
    () => runsOf(storeId),
    (rs) => rs.length > 0 && rs.every((r) => r.status === 'succeeded' || r.status === 'failed'),
  );

describe('stale-price refresh on open', () => {
  it('a fresh page queues nothing; a stale one answers at once (slow network) and its store is refreshed in the background', async () => {
    const { storeId, groupId } = await store('7001', '20.00');
    const fresh = await api('GET', `/api/v1/products/${groupId}`);
    expect(fresh.status).toBe(200);
    expect(fresh.body.pricing).toMatchObject({ stale: false });
    await new Promise((r) => setTimeout(r, 300));
    expect(await runsOf(storeId)).toHaveLength(0);

    await age(storeId, 48);
    fake.setProducts('7001', [product('7001-1', '17.50', 'M7001')]);
    fake.slowDown(3000);
    try {
      const started = Date.now();
      const page = await api('GET', `/api/v1/products/${groupId}`);
      const took = Date.now() - started;
      expect(page.status).toBe(200);
      expect(page.body.pricing.best_offer.price_amount).toBe('20.00'); // what it has
      expect(page.body.pricing.stale).toBe(true);
      expect(Date.now() - Date.parse(page.body.pricing.refreshed_at)).toBeGreaterThan(47 * 3_600_000);
      expect(took).toBeLessThan(2000); // the network answers after 3 s: the page did not wait for it
      expect((await settled(storeId)).map((r) => r.status)).toEqual(['succeeded']);
    } finally {
      fake.slowDown(0);
    }
    const after = await api('GET', `/api/v1/products/${groupId}`);
    expect(after.body.pricing.best_offer.price_amount).toBe('17.50');
    expect(after.body.pricing.stale).toBe(false);
    expect(Date.now() - Date.parse(after.body.pricing.refreshed_at)).toBeLessThan(60_000);
  });

  it('20 concurrent opens of a stale product queue one refresh, and reopening within the interval queues none', async () => {
    const { storeId, groupId } = await store('7002', '30.00');
    await age(storeId, 30);
    const pages = await Promise.all(Array.from({ length: 20 }, () => api('GET', `/api/v1/products/${groupId}`)));
    expect(pages.every((p) => p.status === 200 && p.body.pricing.stale === true)).toBe(true);
    await settled(storeId);
    await age(storeId, 30); // stale again, but its source was claimed a moment ago
    await Promise.all(Array.from({ length: 20 }, () => api('GET', `/api/v1/products/${groupId}`)));
    await new Promise((r) => setTimeout(r, 500));
    expect(await runsOf(storeId)).toHaveLength(1);
  });

  it('a failed fetch keeps the last price and the page stays stale', async () => {
    const { storeId, groupId } = await store('7003', '40.00');
    await age(storeId, 30);
    fake.setProducts('7003', [product('7003-1', '1.00', 'M7003')]);
    fake.breakAfter(0); // every product call answers 500
    try {
      await api('GET', `/api/v1/products/${groupId}`);
      expect((await settled(storeId)).map((r) => r.status)).toEqual(['failed']);
    } finally {
      fake.restore();
    }
    const page = await api('GET', `/api/v1/products/${groupId}`);
    expect(page.body.pricing.best_offer.price_amount).toBe('40.00');
    expect(page.body.pricing.stale).toBe(true);
    const [src] = await queryRows<{ lastStatus: string }>(
      t.database.db,
      sql`SELECT last_status AS "lastStatus" FROM pricing_network_sources WHERE store_id = ${storeId}`,
    );
    expect(src!.lastStatus).toBe('failed');
  });

  it("the tenant's hourly budget bounds the refreshes; the freshness setting decides what is stale", async () => {
    const tenantKey = await (await t.createTenant('Budgeted')).apiKey(['catalog:read', 'catalog:write']);
    const a = await store('7004', '10.00', tenantKey);
    const b = await store('7005', '11.00', tenantKey);
    expect((await api('PUT', '/api/v1/pricing/settings', { refreshes_per_hour: 1, freshness_minutes: 120 }, tenantKey)).body).toEqual({
      refreshes_per_hour: 1,
      freshness_minutes: 120,
    });
    await age(a.storeId, 1.5); // younger than 2 h: fresh for this tenant
    expect((await api('GET', `/api/v1/products/${a.groupId}`, undefined, tenantKey)).body.pricing.stale).toBe(false);
    await age(a.storeId, 3);
    await age(b.storeId, 3);
    expect((await api('GET', `/api/v1/products/${a.groupId}`, undefined, tenantKey)).body.pricing.stale).toBe(true);
    await settled(a.storeId);
    expect((await api('GET', `/api/v1/products/${b.groupId}`, undefined, tenantKey)).body.pricing.stale).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(await runsOf(b.storeId)).toHaveLength(0); // the hour's one refresh went to store a
  });

  it("another tenant's product never triggers a refresh; settings are per tenant and validated", async () => {
    const { storeId, sourceId, groupId } = await store('7006', '50.00');
    await age(storeId, 30);
    expect((await api('GET', `/api/v1/products/${groupId}`, undefined, otherKey)).status).toBe(404);
    expect((await api('GET', `/api/v1/products/${groupId}/price-history`, undefined, otherKey)).status).toBe(404);
    await new Promise((r) => setTimeout(r, 500));
    expect(await runsOf(storeId)).toHaveLength(0);
    const [src] = await queryRows<{ at: Date | null }>(
      t.database.db,
      sql`SELECT last_refresh_at AS at FROM pricing_network_sources WHERE id = ${sourceId}`,
    );
    expect(src!.at).toBeNull();

    expect((await api('PUT', '/api/v1/pricing/settings', { freshness_minutes: 60 })).status).toBe(200);
    expect((await api('GET', '/api/v1/pricing/settings', undefined, otherKey)).body).toEqual({
      freshness_minutes: 1440,
      refreshes_per_hour: 60,
    });
    for (const bad of [{ freshness_minutes: -1 }, { freshness_minutes: 'soon' }, { refreshes_per_hour: 1.5 }, { other: 1 }]) {
      const r = await api('PUT', '/api/v1/pricing/settings', bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
    }
    expect((await api('GET', '/api/v1/pricing/settings')).body).toEqual({ freshness_minutes: 60, refreshes_per_hour: 60 });
  });
});
