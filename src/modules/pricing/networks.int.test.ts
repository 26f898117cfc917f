import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProduct } from '../../../test/fakes/affiliate-networks.ts';
import { pollUntil, type TestApp } from '../../../test/helpers.ts';
import { type NetworksApp, RAKUTEN, startNetworksApp } from '../../../test/pricing-networks.ts';
import { cjClient, cjProductRecord, rakutenClient, rakutenItemRecord } from './networks.client.ts';

// Affiliate network connections against a local server speaking Rakuten's and CJ's product APIs.
const CJ_TOKEN = 'cj-personal-access-token';
let fake: NetworksApp['fake'];
let t: TestApp;
let key: string;
let otherKey: string;

const products = (prefix: string, n: number, price = '10.00'): FakeProduct[] =>
  Array.from({ length: n }, (_, k) => ({
    id: `${prefix}${k}`,
    title: `${prefix} product ${k}`,
    price,
    currency: 'USD',
    brand: 'Acme',
    mpn: `${prefix}-M${k}`,
  }));

let app: NetworksApp;
beforeAll(async () => {
  app = await startNetworksApp(CJ_TOKEN);
  ({ fake, t, key, otherKey } = app);
});
afterAll(async () => {
  await app?.close();
});

const api = (method: string, url: string, body?: unknown, k = key) => app.api(method, url, body, k);

async function store(name: string, k = key): Promise<string> {
  const r = await api('POST', '/api/v1/pricing/stores', { name, network: 'feed' }, k);
  expect(r.status).toBe(201);
  return r.body.id;
}
const rakutenBody = (mid: string, extra: Record<string, unknown> = {}) => ({
  network: 'rakuten',
  client_id: RAKUTEN.clientId,
  client_secret: RAKUTEN.clientSecret,
  sid: RAKUTEN.sid,
  mid,
  schedule: 'off',
  ...extra,
});
async function runToEnd(sourceId: string) {
  const r = await api('POST', `/api/v1/pricing/sources/${sourceId}/runs`);
  expect(r.status).toBe(202);
  return pollUntil(
    'network import',
    async () => (await api('GET', r.body.status_url)).body as { id: string; status: string; failure: string | null },
    (run) => run.status === 'succeeded' || run.status === 'failed',
  );
}

describe('network clients (pure parts)', () => {
  it('maps Rakuten items and CJ products to feed records (sale price wins; amounts with their currency)', () => {
    expect(
      rakutenItemRecord({
        linkid: '42',
        productname: 'A',
        price: { '#text': '9.99', '@_currency': 'AUD' },
        saleprice: { '#text': '8.00', '@_currency': 'AUD' },
        upccode: '',
      }),
    ).toEqual({ id: '42', title: 'A', price: '9.99 AUD', sale_price: '8.00 AUD' });
    expect(
      cjProductRecord({ id: 'x', title: 'B', price: { amount: '5', currency: 'EUR' }, availability: 'OUT_OF_STOCK', salePrice: null }),
    ).toEqual({
      id: 'x',
      title: 'B',
      price: '5 EUR',
      availability: 'out_of_stock',
    });
  });
  it('Rakuten: an expired access token is replaced once; refused credentials are an auth error', async () => {
    fake.setProducts('900', products('E', 3));
    const client = rakutenClient({ baseUrl: fake.origin, ...RAKUTEN, mid: '900' }, { sleep: async () => undefined });
    const first = await client.pages().next();
    expect(first.value?.records).toHaveLength(3);
    fake.expireTokens();
    const again = await client.pages().next();
    expect(again.value?.records).toHaveLength(3);
    const bad = rakutenClient({ baseUrl: fake.origin, ...RAKUTEN, clientSecret: 'wrong', mid: '900' }, { sleep: async () => undefined });
    await expect(bad.pages().next()).rejects.toThrow(/refused the credentials/);
  });
  it('CJ: offset paging reads every product once, page by page, and stops at the total', async () => {
    fake.setProducts('6001', products('Q', 230));
    const before = fake.calls.filter((x) => x.path === '/query').length;
    const client = cjClient(
      { baseUrl: fake.origin, token: CJ_TOKEN, companyId: '7654321', partnerIds: ['6001'], pageSize: 100 },
      { sleep: async () => undefined },
    );
    const pages: { ids: string[]; total: number | null }[] = [];
    for await (const page of client.pages()) pages.push({ ids: page.records.map((r) => String(r.id)), total: page.total });
    expect(pages.map((p) => p.ids.length)).toEqual([100, 100, 30]);
    expect(pages.every((p) => p.total === 230)).toBe(true);
    const ids = pages.flatMap((p) => p.ids);
    expect(new Set(ids).size).toBe(230);
    expect(ids).toContain('Q229');
    expect(fake.calls.filter((x) => x.path === '/query').length - before).toBe(3); // no fourth, empty page asked for
  });
});

describe('network connections', () => {
  it('Rakuten: pages of products are imported; credentials are never answered', async () => {
    fake.setProducts('1001', products('R', 230));
    const storeId = await store('Rakuten store');
    const c = await api('PUT', `/api/v1/pricing/stores/${storeId}/network`, rakutenBody('1001'));
    expect(c.status).toBe(200);
    expect(JSON.stringify(c.body)).not.toContain(RAKUTEN.clientSecret);
    expect(c.body).toMatchObject({
      network: 'rakuten',
      store_id: storeId,
      schedule: 'off',
      next_run_at: null,
      account: { sid: RAKUTEN.sid, mid: '1001' },
    });
    const before = fake.calls.filter((x) => x.path === '/productsearch/1.0').length;
    const run = await runToEnd(c.body.id);
    expect(run).toMatchObject({ status: 'succeeded', rows_read: 230, offers_created: 230, format: 'rakuten' });
    expect(fake.calls.filter((x) => x.path === '/productsearch/1.0').length - before).toBe(3); // 100 + 100 + 30
    const src = await api('GET', `/api/v1/pricing/sources/${c.body.id}`);
    expect(src.body.last_run).toMatchObject({ id: run.id, status: 'succeeded', error: null });
    // Stored sealed: the clear secret is nowhere in the table.
    const raw = await t.database.db.execute(`SELECT credentials FROM pricing_network_sources WHERE id = '${c.body.id}'` as never);
    expect(JSON.stringify(raw)).not.toContain(RAKUTEN.clientSecret);
  });

  it('CJ: a 429 with Retry-After and a 500 are retried; revoked credentials fail the run and keep the last good prices', async () => {
    fake.setProducts('5001', products('C', 40, '20.00'));
    const storeId = await store('CJ store');
    const c = await api('PUT', `/api/v1/pricing/stores/${storeId}/network`, {
      network: 'cj',
      token: CJ_TOKEN,
      company_id: '7654321',
      partner_ids: ['5001', '5001'],
      schedule: 'off',
    });
    expect(c.status).toBe(200);
    expect(c.body.account).toEqual({ company_id: '7654321', partner_ids: ['5001'] });
    fake.failNext({ status: 429, retryAfter: '1' }, { status: 500 });
    const t0 = Date.now();
    const ok = await runToEnd(c.body.id);
    expect(ok).toMatchObject({ status: 'succeeded', rows_read: 40, offers_created: 40 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000); // Retry-After honoured
    expect(
      fake.calls
        .filter((x) => x.path === '/query')
        .map((x) => x.status)
        .slice(-3),
    ).toEqual([429, 500, 200]);

    fake.setProducts('5001', products('C', 40, '1.00'));
    fake.revoke();
    try {
      const failed = await runToEnd(c.body.id);
      expect(failed.status).toBe('failed');
      expect(failed.failure).toMatch(/refused the credentials.*last good prices are kept/);
      const src = await api('GET', `/api/v1/pricing/sources/${c.body.id}`);
      expect(src.body.last_run).toMatchObject({ status: 'failed' });
      expect(src.body.last_run.error).toMatch(/credentials/);
      const offers = await api('GET', `/api/v1/pricing/offers?store_id=${storeId}&limit=100`);
      expect(offers.body.data).toHaveLength(40);
      expect(offers.body.data.every((o: { price: string }) => o.price === '20.00')).toBe(true);
    } finally {
      fake.restore();
    }
  });

  it('scheduled: a due hourly connection is queued once per slot by the scheduler sweep', async () => {
    fake.setProducts('1002', products('H', 5));
    const storeId = await store('Hourly store');
    const c = await api('PUT', `/api/v1/pricing/stores/${storeId}/network`, rakutenBody('1002', { schedule: 'hourly' }));
    expect(c.body.next_run_at).not.toBeNull();
    const queued = await t.modules.pricing.queueDueNetworkImports();
    expect(queued).toBeGreaterThanOrEqual(1);
    expect(await t.modules.pricing.queueDueNetworkImports()).toBe(0); // next slot is an hour away
    const src = await pollUntil(
      'scheduled import',
      async () =>
        (await api('GET', `/api/v1/pricing/sources/${c.body.id}`)).body as { next_run_at: string; last_run: { status: string } | null },
      (s) => s.last_run?.status === 'succeeded',
    );
    expect(Date.parse(src.next_run_at) - Date.now()).toBeGreaterThan(55 * 60_000);
  });

  it('two runs of one store at once: one is queued, the other answers 409', async () => {
    fake.setProducts('1003', products('D', 2));
    const storeId = await store('Twice store');
    const c = await api('PUT', `/api/v1/pricing/stores/${storeId}/network`, rakutenBody('1003'));
    const [a, b] = await Promise.all([
      api('POST', `/api/v1/pricing/sources/${c.body.id}/runs`),
      api('POST', `/api/v1/pricing/sources/${c.body.id}/runs`),
    ]);
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    const run = a.status === 202 ? a : b;
    await pollUntil(
      'run',
      async () => (await api('GET', run.body.status_url)).body,
      (r: { status: string }) => r.status === 'succeeded',
    );
  });

  it('refuses malformed and hostile bodies', async () => {
    const storeId = await store('Bad input store');
    const url = `/api/v1/pricing/stores/${storeId}/network`;
    const bad = [
      {},
      { network: 'amazon' },
      rakutenBody('not-a-number'),
      rakutenBody('1', { sid: '9'.repeat(400) }),
      rakutenBody('1', { client_secret: 'a\u0000b' }),
      rakutenBody('1', { client_id: 'x\uD800' }),
      rakutenBody('1', { schedule: 'every minute' }),
      rakutenBody('1', { extra: true }),
      { network: 'cj', token: 't', company_id: '1', partner_ids: [] },
      { network: 'cj', token: 't', company_id: '1', partner_ids: Array.from({ length: 101 }, (_, k) => String(k)) },
      { network: 'cj', token: 't', company_id: 1e300, partner_ids: ['1'] },
      { network: 'cj', token: { a: { b: { c: { d: [[[[1]]]] } } } }, company_id: '1', partner_ids: ['1'] },
    ];
    for (const body of bad) expect((await api('PUT', url, body)).status, JSON.stringify(body).slice(0, 80)).toBe(400);
    expect((await api('PUT', url, rakutenBody('1', { client_secret: 'x'.repeat(200_000) }))).status).toBeGreaterThanOrEqual(400);
    expect((await api('PUT', '/api/v1/pricing/stores/not-a-uuid/network', rakutenBody('1'))).status).toBe(404);
    expect((await api('POST', '/api/v1/pricing/sources/not-a-uuid/runs')).status).toBe(404);
  });

  it("another tenant can neither see nor touch a tenant's connections", async () => {
    const storeId = await store('Private store');
    const c = await api('PUT', `/api/v1/pricing/stores/${storeId}/network`, rakutenBody('1004'));
    expect((await api('PUT', `/api/v1/pricing/stores/${storeId}/network`, rakutenBody('1004'), otherKey)).status).toBe(404);
    expect((await api('GET', `/api/v1/pricing/sources/${c.body.id}`, undefined, otherKey)).status).toBe(404);
    expect((await api('POST', `/api/v1/pricing/sources/${c.body.id}/runs`, undefined, otherKey)).status).toBe(404);
    expect((await api('DELETE', `/api/v1/pricing/sources/${c.body.id}`, undefined, otherKey)).status).toBe(404);
    expect((await api('GET', '/api/v1/pricing/sources', undefined, otherKey)).body.data).toEqual([]);
    expect((await api('DELETE', `/api/v1/pricing/sources/${c.body.id}`)).status).toBe(204);
    expect((await api('GET', `/api/v1/pricing/sources/${c.body.id}`)).status).toBe(404);
  });
});
