/**
 * Price-only runs (seed 000's hourly update between daily full imports) on the real app, both databases: known offers'
 * prices and availability change with their history, nothing else is written (no offer, group, key, match log or
 * review); a network answering 429/500 mid-run is retried, one that breaks halfway keeps the last good prices; a
 * price-only run and a full import of the same store never run at once; the scheduler queues price-only slots; bad
 * input and another tenant's ids are refused.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProduct } from '../../../test/fakes/affiliate-networks.ts';
import { multipartBody, pollUntil, type TestApp } from '../../../test/helpers.ts';
import { type NetworksApp, RAKUTEN, startNetworksApp } from '../../../test/pricing-networks.ts';
import { queryRows } from '../../platform/index.ts';

let fake: NetworksApp['fake'];
let t: TestApp;
let key: string;
let otherKey: string;

const products = (prefix: string, n: number, price = (k: number) => `${10 + k}.00`): FakeProduct[] =>
  Array.from({ length: n }, (_, k) => ({
    id: `${prefix}${k}`,
    title: `${prefix} product ${k}`,
    price: price(k),
    currency: 'USD',
    brand: 'Acme',
    mpn: `${prefix}-M${k}`,
  }));

let app: NetworksApp;
beforeAll(async () => {
  app = await startNetworksApp('cj-token');
  ({ fake, t, key, otherKey } = app);
});
afterAll(async () => {
  await app?.close();
});

const api = (method: string, url: string, body?: unknown, k = key) => app.api(method, url, body, k);

type Run = {
  id: string;
  status: string;
  mode: string;
  failure: string | null;
  rows_read: number;
  offers_created: number;
  prices_changed: number;
  offers_unknown: number;
  errors: { row: number; field: string; message: string; level: string }[];
};
const finished = (url: string) =>
  pollUntil(
    'pricing run',
    async () => (await api('GET', url)).body as Run,
    (r) => r.status === 'succeeded' || r.status === 'failed',
  );

async function connected(mid: string, list: FakeProduct[], extra: Record<string, unknown> = {}) {
  fake.setProducts(mid, list);
  const s = await api('POST', '/api/v1/pricing/stores', { name: `Store ${mid}`, network: 'feed' });
  expect(s.status).toBe(201);
  const c = await api('PUT', `/api/v1/pricing/stores/${s.body.id}/network`, {
    network: 'rakuten',
    client_id: RAKUTEN.clientId,
    client_secret: RAKUTEN.clientSecret,
    sid: RAKUTEN.sid,
    mid,
    schedule: 'off',
    ...extra,
  });
  expect(c.status).toBe(200);
  return { storeId: s.body.id as string, sourceId: c.body.id as string };
}
async function run(sourceId: string, mode: 'full' | 'prices') {
  const r = await api('POST', `/api/v1/pricing/sources/${sourceId}/runs${mode === 'prices' ? '?mode=prices' : ''}`);
  expect(r.status).toBe(202);
  return finished(r.body.status_url);
}
async function offerPrices(storeId: string): Promise<Map<string, { price: string; title: string; availability: string }>> {
  const r = await api('GET', `/api/v1/pricing/offers?store_id=${storeId}&limit=500`);
  expect(r.status).toBe(200);
  return new Map(
    (r.body.data as { external_id: string; price: string; title: string; availability: string }[]).map((o) => [o.external_id, o]),
  );
}
/** What only a full import writes: groups, blocking keys, match-log entries and review pairs of the store's offers. */
async function matchingFootprint() {
  const [row] = await queryRows<{ groups: number; keys: number; log: number; reviews: number; history: number }>(
    t.database.db,
    sql`SELECT (SELECT count(*)::int FROM pricing_match_groups) AS groups, (SELECT count(*)::int FROM pricing_offer_keys) AS keys,
          (SELECT count(*)::int FROM pricing_match_log) AS log, (SELECT count(*)::int FROM pricing_match_reviews) AS reviews,
          (SELECT count(*)::int FROM pricing_price_history) AS history`,
  );
  return row!;
}

describe('price-only runs', () => {
  it('update the prices and availability of known offers only: no offer, group, key, log entry or review is written', async () => {
    const { storeId, sourceId } = await connected('2001', products('P', 30));
    expect(await run(sourceId, 'full')).toMatchObject({ status: 'succeeded', mode: 'full', offers_created: 30 });
    const before = await matchingFootprint();

    // Next hour: 5 prices move, one title changes (not a price: ignored), one new product appears. (Rakuten's product
    // search carries no availability: the uploaded feed below covers it.)
    const next = products('P', 30, (k) => (k < 5 ? `${5 + k}.50` : `${10 + k}.00`));
    next[8] = { ...next[8]!, title: 'A renamed product' };
    next.push({ id: 'NEW1', title: 'Brand new', price: '3.00', currency: 'USD', brand: 'Acme', mpn: 'NEW-1' });
    fake.setProducts('2001', next);
    const r = await run(sourceId, 'prices');
    expect(r).toMatchObject({
      status: 'succeeded',
      mode: 'prices',
      rows_read: 31,
      offers_created: 0,
      prices_changed: 5,
      offers_unknown: 1,
    });
    expect(r.errors).toContainEqual(
      expect.objectContaining({ row: 31, field: 'id', level: 'warning', message: expect.stringMatching(/NEW1/) }),
    );

    const offers = await offerPrices(storeId);
    expect(offers.size).toBe(30);
    expect(offers.has('NEW1')).toBe(false);
    expect(offers.get('P0')?.price).toBe('5.50');
    expect(offers.get('P4')?.price).toBe('9.50');
    expect(offers.get('P5')?.price).toBe('15.00');
    expect(offers.get('P8')?.title).toBe('P product 8');
    const after = await matchingFootprint();
    expect(after).toEqual({ ...before, history: before.history + 5 });

    // The same answer again changes nothing.
    const again = await run(sourceId, 'prices');
    expect(again).toMatchObject({ status: 'succeeded', prices_changed: 0, offers_unknown: 1 });
    expect(await matchingFootprint()).toEqual(after);
  });

  it('a network answering 429 then 500 mid-run is retried and the run completes', async () => {
    const { storeId, sourceId } = await connected('2002', products('Q', 230)); // 3 pages of 100
    expect(await run(sourceId, 'full')).toMatchObject({ status: 'succeeded', offers_created: 230 });
    fake.setProducts(
      '2002',
      products('Q', 230, () => '1.25'),
    );
    fake.passNext(1); // page 1 answers, then page 2 meets the faults
    fake.failNext({ status: 429, retryAfter: '0' }, { status: 500 });
    const calls = fake.calls.length;
    const r = await run(sourceId, 'prices');
    expect(r).toMatchObject({ status: 'succeeded', prices_changed: 230, offers_unknown: 0 });
    const statuses = fake.calls
      .slice(calls)
      .filter((c) => c.path === '/productsearch/1.0')
      .map((c) => c.status);
    expect(statuses).toEqual([200, 429, 500, 200, 200]);
    expect([...(await offerPrices(storeId)).values()].every((o) => o.price === '1.25')).toBe(true);
  });

  it('a network that breaks halfway keeps the last good prices (a failed fetch is never a price change)', async () => {
    const { storeId, sourceId } = await connected('2003', products('H', 230));
    expect(await run(sourceId, 'full')).toMatchObject({ status: 'succeeded' });
    const before = await matchingFootprint();
    fake.setProducts(
      '2003',
      products('H', 230, () => '0.99'),
    );
    fake.breakAfter(1); // page 1 of the first attempt answers; every product call after it answers 500
    try {
      const r = await run(sourceId, 'prices');
      expect(r.status).toBe('failed');
      expect(r.failure).toMatch(/HTTP 500.*last good prices are kept/);
      const src = await api('GET', `/api/v1/pricing/sources/${sourceId}`);
      expect(src.body.last_run).toMatchObject({ id: r.id, status: 'failed' });
    } finally {
      fake.restore();
    }
    const offers = await offerPrices(storeId);
    expect(offers.get('H0')?.price).toBe('10.00');
    expect(offers.get('H229')?.price).toBe('239.00');
    expect(await matchingFootprint()).toEqual(before);
  });

  it('a price-only run and a full import of one store never run at once (409), and the store ends as the one that ran', async () => {
    const { storeId, sourceId } = await connected('2004', products('C', 20));
    expect(await run(sourceId, 'full')).toMatchObject({ status: 'succeeded' });
    fake.setProducts('2004', [...products('C', 20, () => '7.00'), { id: 'C-NEW', title: 'New', price: '1.00', currency: 'USD' }]);
    const [a, b] = await Promise.all([
      api('POST', `/api/v1/pricing/sources/${sourceId}/runs`),
      api('POST', `/api/v1/pricing/sources/${sourceId}/runs?mode=prices`),
    ]);
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    const won = a.status === 202 ? a : b;
    const lost = a.status === 202 ? b : a;
    expect(lost.body.error?.code ?? lost.body.code).toBe('PRICING_IMPORT_RUNNING');
    const r = await finished(won.body.status_url);
    expect(r.status).toBe('succeeded');
    const offers = await offerPrices(storeId);
    expect(offers.get('C3')?.price).toBe('7.00');
    expect(offers.has('C-NEW')).toBe(r.mode === 'full');

    // An uploaded price-only feed while the network's full import is queued: refused the same way.
    const full = await api('POST', `/api/v1/pricing/sources/${sourceId}/runs`);
    expect(full.status).toBe(202);
    const m = multipartBody('id,title,price\nC1,x,2.00 USD\n', {}, 'prices.csv');
    const up = await t.request('POST', `/api/v1/pricing/stores/${storeId}/feeds?mode=prices`, {
      token: key,
      body: m.body as unknown as string,
      headers: { 'content-type': m.contentType },
    });
    expect(up.status).toBe(409);
    await finished(full.body.status_url);
  });

  it('an uploaded feed can be price-only; bad rows are row errors and a bad mode is refused', async () => {
    const { storeId, sourceId } = await connected('2005', products('U', 3));
    expect(await run(sourceId, 'full')).toMatchObject({ status: 'succeeded' });
    const csv =
      'id,title,price,availability\nU0,ignored title,4.00 USD,in stock\nU1,x,0 USD,in stock\nU1,x,-1 USD,in stock\nU2,x,12.00 USD,out of stock\nZZ,x,1.00 USD,in stock\n';
    const upload = (qs: string) => {
      const m = multipartBody(csv, {}, 'prices.csv');
      return t.request('POST', `/api/v1/pricing/stores/${storeId}/feeds${qs}`, {
        token: key,
        body: m.body as unknown as string,
        headers: { 'content-type': m.contentType },
      });
    };
    expect((await upload('?mode=cheap')).status).toBe(400);
    const up = await upload('?mode=prices');
    expect(up.status).toBe(202);
    const r = await finished(up.body.status_url);
    expect(r).toMatchObject({ status: 'succeeded', mode: 'prices', rows_read: 5, prices_changed: 2, offers_unknown: 1, offers_created: 0 });
    expect(r.errors.filter((e) => e.level === 'error').map((e) => e.row)).toEqual([2, 3]);
    const offers = await offerPrices(storeId);
    expect(offers.get('U0')).toMatchObject({ price: '4.00', title: 'U product 0' });
    expect(offers.get('U1')?.price).toBe('11.00');
    expect(offers.get('U2')).toMatchObject({ price: '12.00', availability: 'out_of_stock' });
  });

  it('the scheduler queues price-only runs on their own hourly slot, and leaves a slot to a full import due with it', async () => {
    const { sourceId } = await connected('2006', products('S', 4), { schedule: 'daily', price_schedule: 'hourly' });
    const src = (await api('GET', `/api/v1/pricing/sources/${sourceId}`)).body;
    expect(src).toMatchObject({ schedule: 'daily', price_schedule: 'hourly' });
    expect(Date.parse(src.next_price_run_at) - Date.parse(src.next_run_at)).toBeGreaterThan(55 * 60_000);
    // First sweep: the full import is due now, the price slot an hour later.
    expect(await t.modules.pricing.queueDueNetworkImports()).toBeGreaterThanOrEqual(1);
    const first = await pollUntil(
      'scheduled full import',
      async () => (await api('GET', `/api/v1/pricing/sources/${sourceId}`)).body as { last_run: { id: string; status: string } | null },
      (s) => s.last_run?.status === 'succeeded',
    );
    expect((await api('GET', `/api/v1/pricing/feed-runs/${first.last_run!.id}`)).body.mode).toBe('full');
    // An hour on: only the price slot is due.
    await t.database.db.execute(
      sql`UPDATE pricing_network_sources SET next_price_run_at = now() - interval '1 minute' WHERE id = ${sourceId}`,
    );
    fake.setProducts(
      '2006',
      products('S', 4, () => '2.00'),
    );
    expect(await t.modules.pricing.queueDueNetworkImports()).toBe(1);
    const second = await pollUntil(
      'scheduled price-only run',
      async () => (await api('GET', `/api/v1/pricing/sources/${sourceId}`)).body as { last_run: { id: string; status: string } },
      (s) => s.last_run.id !== first.last_run!.id && s.last_run.status === 'succeeded',
    );
    expect((await api('GET', `/api/v1/pricing/feed-runs/${second.last_run.id}`)).body).toMatchObject({ mode: 'prices', prices_changed: 4 });
    // Both due at once: one full import, no price-only run beside it.
    await t.database.db.execute(
      sql`UPDATE pricing_network_sources SET next_price_run_at = now() - interval '1 minute', next_run_at = now() - interval '1 minute'
          WHERE id = ${sourceId}`,
    );
    expect(await t.modules.pricing.queueDueNetworkImports()).toBe(1);
    const third = await pollUntil(
      'scheduled full import',
      async () => (await api('GET', `/api/v1/pricing/sources/${sourceId}`)).body as { last_run: { id: string; status: string } },
      (s) => s.last_run.id !== second.last_run.id && s.last_run.status === 'succeeded',
    );
    expect((await api('GET', `/api/v1/pricing/feed-runs/${third.last_run.id}`)).body.mode).toBe('full');
  });

  it("refuses bad modes and schedules, and another tenant's sources and stores", async () => {
    const { storeId, sourceId } = await connected('2007', products('X', 2));
    expect(await run(sourceId, 'full')).toMatchObject({ status: 'succeeded' });
    expect((await api('POST', `/api/v1/pricing/sources/${sourceId}/runs?mode=everything`)).status).toBe(400);
    const bad = await api('PUT', `/api/v1/pricing/stores/${storeId}/network`, {
      network: 'rakuten',
      client_id: 'a',
      client_secret: 'b',
      sid: '1',
      mid: '1',
      price_schedule: 'daily',
    });
    expect(bad.status).toBe(400);
    expect((await api('POST', `/api/v1/pricing/sources/${sourceId}/runs?mode=prices`, undefined, otherKey)).status).toBe(404);
    const m = multipartBody('id,title,price\nX0,x,1.00 USD\n', {}, 'prices.csv');
    const up = await t.request('POST', `/api/v1/pricing/stores/${storeId}/feeds?mode=prices`, {
      token: otherKey,
      body: m.body as unknown as string,
      headers: { 'content-type': m.contentType },
    });
    expect(up.status).toBe(404);
    expect((await offerPrices(storeId)).get('X0')?.price).toBe('10.00');
  });
});
