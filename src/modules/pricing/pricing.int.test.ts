import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, pollUntil, multipartBody } from '../../../test/helpers.ts';

// A movable clock: price history and Omnibus savings need days to pass. It starts at the real time because
// sign-in tokens are checked against it.
let now = new Date();
const advanceDays = (d: number) => {
  now = new Date(now.getTime() + d * 86_400_000);
};

let t: TestApp;
let key: string;
let otherKey: string;
let single: { tenantId: string; key: string };
beforeAll(async () => {
  t = await createTestApp({}, { clock: () => now });
  const a = await t.createTenant('Aggregator');
  key = await a.apiKey(['catalog:read', 'catalog:write']);
  const b = await t.createTenant('Other tenant');
  otherKey = await b.apiKey(['catalog:read', 'catalog:write']);
  const c = await t.createTenant('Single store');
  single = { tenantId: c.tenantId, key: await c.apiKey(['catalog:read', 'catalog:write']) };
  t.jobs.start({ concurrency: 1 });
});
afterAll(async () => {
  await t?.close();
});

const api = (method: string, url: string, body?: unknown, k = key) =>
  t.request(method, url, { token: k, ...(body !== undefined ? { body } : {}) });

async function createStore(name: string, k = key): Promise<string> {
  const r = await api('POST', '/api/v1/pricing/stores', { name, network: 'feed' }, k);
  expect(r.status).toBe(201);
  return r.body.id;
}

async function uploadFeed(storeId: string, file: string, fileName: string, k = key) {
  const m = multipartBody(file, {}, fileName);
  return t.request('POST', `/api/v1/pricing/stores/${storeId}/feeds`, {
    token: k,
    body: m.body as unknown as string,
    headers: { 'content-type': m.contentType },
  });
}

async function importFeed(storeId: string, file: string, fileName: string) {
  const up = await uploadFeed(storeId, file, fileName);
  expect(up.status).toBe(202);
  const run = await pollUntil(
    'feed import',
    () => api('GET', up.body.status_url),
    (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
  );
  return run.body;
}

// EAN-13s with valid GS1 check digits (computed with gs1CheckDigit, verified against GS1's online calculator for the first).
const EAN_HEADPHONES = '4006381333931';
const UPC_SPEAKER = '036000291452';

describe('pricing: feeds, matching and the seed 000 product page', () => {
  let storeA: string;
  let storeB: string;
  let storeC: string;

  it('imports a CSV with 10% malformed rows: row-level errors, the rest imported', async () => {
    storeA = await createStore('Nordstrom');
    const rows = ['id,title,brand,gtin,mpn,price,availability,link'];
    rows.push(`A-HP,Sony WH-1000XM4 Headphones,Sony,${EAN_HEADPHONES},WH1000XM4,75.00 USD,in stock,https://nordstrom.example/hp`);
    rows.push(`A-SP,JBL Flip Speaker,JBL,${UPC_SPEAKER},FLIP5,99.00 USD,in stock,https://nordstrom.example/sp`);
    for (let i = 0; i < 16; i++) rows.push(`A-${i},Widget ${i},Acme,,W${i}00,${10 + i}.00 USD,in stock,`);
    rows.push('A-BAD1,Zero price,Acme,,,0 USD,in stock,'); // refused: price 0
    rows.push('A-BAD2,Negative,Acme,,,-5.00 USD,in stock,'); // refused: negative
    const run = await importFeed(storeA, `${rows.join('\n')}\n`, 'nordstrom.csv');
    expect(run).toMatchObject({
      status: 'succeeded',
      rows_read: 20,
      rows_accepted: 18,
      rows_rejected: 2,
      offers_created: 18,
      prices_changed: 0,
    });
    expect(
      run.errors.filter((e: { level: string }) => e.level === 'error').map((e: { row: number; message: string }) => [e.row, e.message]),
    ).toEqual([
      [19, 'must be greater than zero'],
      [20, 'must not be negative'],
    ]);
  });

  it('imports Google XML and JSON feeds of other stores and groups offers by GTIN (UPC = EAN) and brand + MPN', async () => {
    storeB = await createStore('Nordstrom Rack');
    const xml = `<?xml version="1.0"?><rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>
      <item><g:id>B-HP</g:id><title>Sony WH1000XM4 Wireless</title><g:gtin>0${EAN_HEADPHONES}</g:gtin><g:price>45.00 USD</g:price><g:brand>SONY</g:brand><link>https://rack.example/hp</link></item>
      <item><g:id>B-SP</g:id><title>JBL Flip 5</title><g:brand>jbl</g:brand><g:mpn>flip-5</g:mpn><g:price>89.00 USD</g:price></item>
      <item><g:id>B-BADGTIN</g:id><title>Something</title><g:gtin>4006381333932</g:gtin><g:price>5.00 USD</g:price></item>
    </channel></rss>`;
    const runB = await importFeed(storeB, xml, 'rack.xml');
    expect(runB).toMatchObject({ status: 'succeeded', rows_accepted: 3, rows_rejected: 0 });
    expect(runB.errors).toEqual([
      { row: 3, field: 'gtin', message: 'has a wrong check digit (expected 1): the offer is kept without it', level: 'warning' },
    ]);

    storeC = await createStore('Euro Shop');
    const json = JSON.stringify([
      { id: 'C-HP', title: 'Sony WH-1000XM4', gtin: `00${UPC_SPEAKER}`.slice(0, 0) + EAN_HEADPHONES, price: '60.00 EUR' },
      { id: 'C-HP2', title: 'dup', price: '1.00 EUR' },
      { id: 'C-HP2', title: 'Sony case', price: '9.00 EUR' },
    ]);
    const runC = await importFeed(storeC, json, 'euro.json');
    expect(runC).toMatchObject({ status: 'succeeded', rows_read: 3, rows_accepted: 3, offers_created: 2 });

    const hp = await api('GET', `/api/v1/pricing/offers?q=${EAN_HEADPHONES.padStart(14, '0')}`);
    expect(hp.body.data).toHaveLength(3);
    const groups = new Set(hp.body.data.map((o: { match_group_id: string }) => o.match_group_id));
    expect(groups.size).toBe(1);
    const sp = await api('GET', '/api/v1/pricing/offers?q=flip');
    expect(sp.body.data.map((o: { match_method: string }) => o.match_method).sort()).toEqual(['brand_mpn', 'new']);
    expect(new Set(sp.body.data.map((o: { match_group_id: string }) => o.match_group_id)).size).toBe(1);
  });

  it('GET /api/v1/products/:id answers as seed 000 writes it: best offer, savings, other offers, range; other currencies apart', async () => {
    const hp = await api('GET', `/api/v1/pricing/offers?q=B-HP`);
    const groupId = hp.body.data[0].match_group_id;
    const r = await api('GET', `/api/v1/products/${groupId}`);
    expect(r.status).toBe(200);
    expect(r.body.product).toMatchObject({ id: groupId, kind: 'match_group', gtin: `0${EAN_HEADPHONES}` });
    expect(r.body.pricing.best_offer).toMatchObject({
      store: 'Nordstrom Rack',
      price: '$45.00',
      savings: '$0.00',
      is_best_price: true,
      was_price: null,
    });
    expect(
      r.body.pricing.other_offers.map((o: { store: string; price: string; is_best_price: boolean }) => [o.store, o.price, o.is_best_price]),
    ).toEqual([['Nordstrom', '$75.00', false]]);
    expect(r.body.pricing.price_range).toMatchObject({ min: '$45.00', max: '$75.00' });
    expect(r.body.pricing.offers_in_other_currencies.map((o: { store: string; price: string }) => [o.store, o.price])).toEqual([
      ['Euro Shop', '€60.00'],
    ]);
  });

  it('appends price history on change only, and computes Omnibus savings from the 30 previous days', async () => {
    const feedB = (price: string) =>
      `<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>B-HP</g:id><title>Sony WH1000XM4 Wireless</title><g:gtin>0${EAN_HEADPHONES}</g:gtin><g:price>${price} USD</g:price><g:brand>SONY</g:brand></item></channel></rss>`;
    advanceDays(1);
    expect(await importFeed(storeB, feedB('45.00'), 'b.xml')).toMatchObject({ prices_changed: 0 });
    advanceDays(5);
    expect(await importFeed(storeB, feedB('70.00'), 'b.xml')).toMatchObject({ prices_changed: 1 });
    advanceDays(5);
    expect(await importFeed(storeB, feedB('40.00'), 'b.xml')).toMatchObject({ prices_changed: 1 });
    const hp = await api('GET', `/api/v1/pricing/offers?q=B-HP`);
    const groupId = hp.body.data[0].match_group_id;
    const r = await api('GET', `/api/v1/products/${groupId}`);
    // History of B-HP: 45.00 (day 0), 70.00 (day 6, an inflated "list" price), 40.00 (day 11). Omnibus: the lowest of the
    // 30 days before day 11 is 45.00, never 70.00: savings 5.00.
    expect(r.body.pricing.best_offer).toMatchObject({ store: 'Nordstrom Rack', price: '$40.00', was_price: '$45.00', savings: '$5.00' });

    const h = await api('GET', `/api/v1/products/${groupId}/price-history?days=12&points=12`);
    expect(h.status).toBe(200);
    expect(h.body.currency).toBe('USD');
    expect(h.body.series).toHaveLength(2);
    const rack = h.body.series.find((x: { store: string }) => x.store === 'Nordstrom Rack');
    expect(rack.points.map((p: { price: number | null }) => p.price)).toEqual([null, 45, 45, 45, 45, 45, 45, 70, 70, 70, 70, 70]);
    expect(h.body.best_price.map((p: { price: number | null }) => p.price)).toEqual(
      [null, 45, 45, 45, 45, 45, 45, 70, 70, 70, 70, 70].map((v) => (v === null ? null : Math.min(v, 75))),
    );
  });

  it('a feed that cannot be read changes nothing; two imports of one store at once: the second is refused', async () => {
    const run = await importFeed(storeB, '<rss><channel><item><g:id>B-HP', 'broken.xml');
    expect(run.status).toBe('failed');
    expect(run.failure).toMatch(/could not be read/);
    const hp = await api('GET', `/api/v1/pricing/offers?q=B-HP`);
    expect(hp.body.data[0].price).toBe('40.00');

    await t.jobs.stop();
    const first = await uploadFeed(storeA, 'id,title,price\nX,x,1.00 USD\n', 'a.csv');
    const second = await uploadFeed(storeA, 'id,title,price\nY,y,1.00 USD\n', 'a.csv');
    expect(first.status).toBe(202);
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('PRICING_IMPORT_RUNNING');
    t.jobs.start({ concurrency: 1 });
  });

  it("another tenant's store, group, product and run ids answer 404 like unknown ones", async () => {
    const hp = await api('GET', `/api/v1/pricing/offers?q=B-HP`);
    const groupId = hp.body.data[0].match_group_id;
    for (const url of [
      `/api/v1/products/${groupId}`,
      `/api/v1/products/${groupId}/price-history`,
      `/api/v1/pricing/groups/${groupId}`,
      `/api/v1/pricing/stores/${storeA}`,
    ]) {
      const r = await api('GET', url, undefined, otherKey);
      expect(r.status, url).toBe(404);
    }
    expect((await uploadFeed(storeA, 'id,title,price\nZ,z,1 USD\n', 'x.csv', otherKey)).status).toBe(404);
    expect((await api('GET', `/api/v1/pricing/offers?store_id=${storeA}`, undefined, otherKey)).body.data).toEqual([]);
    expect((await api('GET', '/api/v1/pricing/groups', undefined, otherKey)).body.data).toEqual([]);
    expect((await api('GET', '/api/v1/products/not-a-thing')).status).toBe(404);
  });

  it('a single-store tenant: a catalog item is its own best offer', async () => {
    const k = single.key;
    await t.modules.catalog.upsertItems(single.tenantId, [{ itemId: 'SKU-1', name: 'Tea', priceMinor: 1500n, currency: 'JPY' }]);
    const r = await api('GET', '/api/v1/products/SKU-1', undefined, k);
    expect(r.status).toBe(200);
    expect(r.body.product).toMatchObject({ kind: 'catalog_item', name: 'Tea', catalog_item_id: 'SKU-1', match_group_id: null });
    expect(r.body.pricing.best_offer).toMatchObject({ store: 'Single store', price: '¥1,500', is_best_price: true, store_id: null });
  });

  it('an operator merges, splits and reverts; every decision is logged; another tenant cannot touch the groups', async () => {
    const hp = (await api('GET', '/api/v1/pricing/offers?q=B-HP')).body.data[0].match_group_id as string;
    const sp = (await api('GET', '/api/v1/pricing/offers?q=flip')).body.data[0].match_group_id as string;
    const count = async (g: string) => (await api('GET', `/api/v1/pricing/offers?group_id=${g}`)).body.data.length as number;
    const [hpCount, spCount] = [await count(hp), await count(sp)];
    expect([hpCount, spCount]).toEqual([3, 2]);

    expect((await api('POST', `/api/v1/pricing/groups/${hp}/merge`, { from_group_id: sp }, otherKey)).status).toBe(404);
    expect((await api('POST', `/api/v1/pricing/groups/${hp}/merge`, { from_group_id: hp })).status).toBe(400);
    const merge = await api('POST', `/api/v1/pricing/groups/${hp}/merge`, { from_group_id: sp });
    expect(merge.status).toBe(200);
    expect(merge.body.moved_offer_ids).toHaveLength(2);
    expect([await count(hp), await count(sp)]).toEqual([5, 0]);
    expect((await api('POST', `/api/v1/pricing/match-log/${merge.body.log_id}/revert`, undefined, otherKey)).status).toBe(404);
    expect((await api('POST', `/api/v1/pricing/match-log/${merge.body.log_id}/revert`)).status).toBe(200);
    expect([await count(hp), await count(sp)]).toEqual([3, 2]);
    expect((await api('POST', `/api/v1/pricing/match-log/${merge.body.log_id}/revert`)).status).toBe(409);

    const euro = (await api('GET', '/api/v1/pricing/offers?q=C-HP')).body.data.find(
      (o: { external_id: string }) => o.external_id === 'C-HP',
    );
    expect((await api('POST', `/api/v1/pricing/groups/${sp}/split`, { offer_ids: [euro.id] })).status).toBe(400); // not an offer of that group
    const split = await api('POST', `/api/v1/pricing/groups/${hp}/split`, { offer_ids: [euro.id] });
    expect(split.status).toBe(200);
    expect(split.body.group_id).not.toBe(hp);
    expect([await count(hp), await count(split.body.group_id)]).toEqual([2, 1]);
    // The group ids of everything else never changed.
    expect((await api('GET', '/api/v1/pricing/offers?q=B-HP')).body.data[0].match_group_id).toBe(hp);
    expect((await api('POST', `/api/v1/pricing/match-log/${split.body.log_id}/revert`)).status).toBe(200);
    expect(await count(hp)).toBe(3);
  });
});
