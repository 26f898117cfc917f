import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryOne } from '../../platform/index.ts';
import { shippedMatcher } from './matching.service.ts';

/**
 * Feed imports run the shipped learned matcher after identifiers: a sure pair joins the group, an uncertain one
 * waits in the review queue, a re-import changes nothing, and groups are linked to the tenant's own catalog item
 * of the same GTIN, never across tenants.
 */
let t: TestApp;
let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };
beforeAll(async () => {
  t = await createTestApp();
  const ta = await t.createTenant('Aggregator A');
  const tb = await t.createTenant('Aggregator B');
  a = { tenantId: ta.tenantId, key: await ta.apiKey(['catalog:read', 'catalog:write']) };
  b = { tenantId: tb.tenantId, key: await tb.apiKey(['catalog:read', 'catalog:write']) };
  t.jobs.start({ concurrency: 1 });
}, 240_000);
afterAll(async () => {
  await t?.close();
}, 120_000);

const api = (method: string, url: string, k: string, body?: unknown) =>
  t.request(method, url, { token: k, ...(body !== undefined ? { body } : {}) });

async function importFeed(k: string, storeId: string, file: string) {
  const boundary = `----loupe${Math.random().toString(16).slice(2)}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="feed.csv"\r\nContent-Type: text/csv\r\n\r\n`),
    Buffer.from(file),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const up = await t.request('POST', `/api/v1/pricing/stores/${storeId}/feeds`, {
    token: k,
    body: body as unknown as string,
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  });
  expect(up.status).toBe(202);
  for (let i = 0; i < 600; i++) {
    const run = await api('GET', up.body.status_url, k);
    if (run.body.status === 'succeeded') return run.body;
    if (run.body.status === 'failed') throw new Error(run.body.failure);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`feed import did not finish: ${JSON.stringify((await api('GET', up.body.status_url, k)).body)}`);
}

const store = async (k: string, name: string) => (await api('POST', '/api/v1/pricing/stores', k, { name })).body.id as string;
const offerBy = async (k: string, externalId: string) =>
  (await api('GET', `/api/v1/pricing/offers?q=${externalId}`, k)).body.data.find(
    (o: { external_id: string }) => o.external_id === externalId,
  );
const count = async (table: string, tenantId: string) =>
  (await queryOne<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM ${sql.raw(table)} WHERE tenant_id = ${tenantId}`))!.n;

describe('learned matching in feed imports', () => {
  const feedA =
    'id,title,brand,price\n' +
    'A1,Denon Blu-ray Disc DVD/CD Player DVD3800BDCI,Denon,1999.00 USD\n' +
    'A2,Canon PowerShot SD1100IS 8.0 MP Digital Camera Silver,Canon,199.00 USD\n' +
    'A3,Sony Bravia KDL-40V5100 40in LCD TV,Sony,999.00 USD\n';
  const feedB =
    'id,title,brand,price\n' +
    'B1,Denon DVD-3800BDCI Blu-ray Player Black,Denon,1899.00 USD\n' +
    'B2,Canon PowerShot SD1200IS 10.0 MP Digital Camera Blue,Canon,179.00 USD\n' +
    'B3,Sony KDL40V5100 Bravia V Series 40" HDTV,Sony,899.00 USD\n';
  let storeB: string;

  it('joins a sure pair, keeps a sibling model apart, queues an uncertain pair for review', async () => {
    const storeA = await store(a.key, 'Abt');
    storeB = await store(a.key, 'Buy');
    await importFeed(a.key, storeA, feedA);
    await importFeed(a.key, storeB, feedB);
    const [a1, a2, a3, b1, b2, b3] = await Promise.all(['A1', 'A2', 'A3', 'B1', 'B2', 'B3'].map((x) => offerBy(a.key, x)));
    expect(b1.match_group_id).toBe(a1.match_group_id);
    expect(b1.match_method).toBe('model');
    expect(b2.match_group_id).not.toBe(a2.match_group_id);
    expect(b2.match_method).toBe('new');
    // The Sony pair scores in the uncertain band: B3 starts its own group and the pair waits for an operator.
    expect(b3.match_group_id).not.toBe(a3.match_group_id);
    const pending = (await api('GET', '/api/v1/pricing/reviews?status=pending', a.key)).body.data;
    const sony = pending.filter((r: { offer: { offer_id: string } }) => r.offer.offer_id === b3.id);
    expect(sony).toHaveLength(1);
    expect(sony[0].candidate).toMatchObject({ offer_id: a3.id, match_group_id: a3.match_group_id });
    const { points } = shippedMatcher();
    expect(sony[0].score).toBeGreaterThanOrEqual(points.review);
    expect(sony[0].score).toBeLessThan(points.auto);
    // Nothing of tenant A reaches tenant B.
    expect((await api('GET', '/api/v1/pricing/reviews', b.key)).body.data).toEqual([]);
  });

  it('an operator pins a group: a sure pair then waits for review instead of joining it; unpinned, it joins again', async () => {
    const a1 = await offerBy(a.key, 'A1');
    const g = a1.match_group_id as string;
    const url = `/api/v1/pricing/groups/${g}/pin`;
    for (const body of [{}, { pinned: 'yes' }, { pinned: true, extra: 1 }]) expect((await api('PUT', url, a.key, body)).status).toBe(400);
    expect((await api('PUT', url, b.key, { pinned: true })).status).toBe(404);
    expect((await api('PUT', '/api/v1/pricing/groups/not-a-uuid/pin', a.key, { pinned: true })).status).toBe(404);
    const pinned = await api('PUT', url, a.key, { pinned: true });
    expect(pinned.status).toBe(200);
    expect(pinned.body).toMatchObject({ id: g, pinned: true });
    const log = await count('pricing_match_log', a.tenantId);
    await importFeed(
      a.key,
      await store(a.key, 'Pinned C'),
      'id,title,brand,price\nC1,Denon DVD3800BDCI Blu-ray Disc Player,Denon,1850.00 USD\n',
    );
    const c1 = await offerBy(a.key, 'C1');
    expect(c1.match_group_id).not.toBe(g);
    const pending = (await api('GET', '/api/v1/pricing/reviews?status=pending', a.key)).body.data;
    expect(
      pending.some(
        (r: { offer: { offer_id: string }; candidate: { match_group_id: string } }) =>
          r.offer.offer_id === c1.id && r.candidate.match_group_id === g,
      ),
    ).toBe(true);
    expect((await api('PUT', url, a.key, { pinned: false })).body.pinned).toBe(false);
    await importFeed(
      a.key,
      await store(a.key, 'Unpinned D'),
      'id,title,brand,price\nD1,Denon Blu-ray Disc DVD/CD Player DVD3800BDCI,Denon,1990.00 USD\n',
    );
    // D1 is A1's listing word for word: the model joins it to A1's group, which it could not while pinned.
    expect(await offerBy(a.key, 'D1')).toMatchObject({ match_group_id: g, match_method: 'model' });
    // the pin and unpin are in the match log (with the imports' placements)
    expect(await count('pricing_match_log', a.tenantId)).toBeGreaterThan(log + 1);
  });

  it('a re-import of the same feed moves nothing, queues nothing and writes no keys, logs or groups', async () => {
    const before = {
      groups: await count('pricing_match_groups', a.tenantId),
      log: await count('pricing_match_log', a.tenantId),
      keys: await count('pricing_offer_keys', a.tenantId),
      reviews: await count('pricing_match_reviews', a.tenantId),
      offers: await Promise.all(['B1', 'B2', 'B3'].map((x) => offerBy(a.key, x))),
    };
    const run = await importFeed(a.key, storeB, feedB);
    expect(run).toMatchObject({ offers_created: 0, prices_changed: 0 });
    expect(await count('pricing_match_groups', a.tenantId)).toBe(before.groups);
    expect(await count('pricing_match_log', a.tenantId)).toBe(before.log);
    expect(await count('pricing_offer_keys', a.tenantId)).toBe(before.keys);
    expect(await count('pricing_match_reviews', a.tenantId)).toBe(before.reviews);
    const after = await Promise.all(['B1', 'B2', 'B3'].map((x) => offerBy(a.key, x)));
    expect(after.map((o) => o.match_group_id)).toEqual(before.offers.map((o) => o.match_group_id));
    // A new price only is a price change, not a re-match.
    await importFeed(a.key, storeB, feedB.replace('1899.00', '1799.00'));
    expect((await offerBy(a.key, 'B1')).match_group_id).toBe(before.offers[0].match_group_id);
    expect(await count('pricing_match_log', a.tenantId)).toBe(before.log);
  });
});

describe('catalog links by GTIN', () => {
  it('two tenants with the same GTIN: each group links to its own catalog item, and groups never cross tenants', async () => {
    // The same product: UPC-A 036000291452, written as UPC-A by one tenant and as EAN-13 by the other.
    await t.modules.catalog.upsertItems(a.tenantId, [
      { itemId: 'SKU-A', name: 'Tissues', priceMinor: 300n, currency: 'USD', gtin: '036000291452' },
    ]);
    await t.modules.catalog.upsertItems(b.tenantId, [
      { itemId: 'SKU-B', name: 'Tissues', priceMinor: 300n, currency: 'USD', gtin: '0036000291452' },
    ]);
    const feed = (p: string) => `id,title,gtin,price\nT1,Kleenex tissues 3 pack,036000291452,${p} USD\n`;
    const a1 = await store(a.key, 'Shop A1');
    const a2 = await store(a.key, 'Shop A2');
    const b1 = await store(b.key, 'Shop B1');
    await importFeed(a.key, a1, feed('2.99'));
    await importFeed(b.key, b1, feed('2.49'));
    await importFeed(a.key, a2, feed('2.79').replace('T1', 'T2'));
    const [oa1, oa2, ob1] = [await offerBy(a.key, 'T1'), await offerBy(a.key, 'T2'), await offerBy(b.key, 'T1')];
    expect(oa2.match_group_id).toBe(oa1.match_group_id);
    expect(ob1.match_group_id).not.toBe(oa1.match_group_id);
    const ga = (await api('GET', `/api/v1/pricing/groups/${oa1.match_group_id}`, a.key)).body;
    const gb = (await api('GET', `/api/v1/pricing/groups/${ob1.match_group_id}`, b.key)).body;
    expect(ga.catalog_item_id).toBe('SKU-A');
    expect(gb.catalog_item_id).toBe('SKU-B');
    expect((await api('GET', `/api/v1/pricing/groups/${oa1.match_group_id}`, b.key)).status).toBe(404);
    // The catalog item's product page shows its own tenant's offers only.
    const pa = (await api('GET', '/api/v1/products/SKU-A', a.key)).body;
    expect(pa.pricing.best_offer.store).toBe('Shop A2');
    const pb = (await api('GET', '/api/v1/products/SKU-B', b.key)).body;
    expect(pb.pricing.best_offer.store).toBe('Shop B1');
    // Its other offers: the tenant's own listing of the item, nothing of tenant A's stores.
    expect(pb.pricing.other_offers.map((o: { store: string }) => o.store)).toEqual(['Aggregator B']);
  });
});
