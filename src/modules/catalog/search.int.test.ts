import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant();
  B = await t.createTenant();
  const items = [
    {
      itemId: 'h1',
      name: 'Sony WH-1000XM5 Wireless Headphones',
      brand: 'Sony',
      category: 'Electronics > Audio > Headphones',
      tags: ['noise cancelling'],
      priceMinor: 34999n,
      currency: 'USD',
      description: 'Industry leading noise cancellation',
    },
    {
      itemId: 'h2',
      name: 'Bose QuietComfort Headphones',
      brand: 'Bose',
      category: 'Electronics > Audio > Headphones',
      tags: ['wireless'],
      priceMinor: 29900n,
      currency: 'USD',
    },
    {
      itemId: 'h3',
      name: 'Studio Monitor Headphones',
      brand: 'Audio-Technica',
      category: 'Electronics > Audio > Headphones',
      priceMinor: 14900n,
      currency: 'USD',
      availability: 'out_of_stock' as const,
    },
    {
      itemId: 's1',
      name: 'Portable Bluetooth Speaker',
      brand: 'JBL',
      category: 'Electronics > Audio > Speakers',
      tags: ['wireless'],
      priceMinor: 9999n,
      currency: 'USD',
    },
    { itemId: 'c1', name: 'Headphone Cable Adapter', brand: 'Anker', category: 'Electronics > Cables', priceMinor: 999n, currency: 'USD' },
    {
      itemId: 'k1',
      name: 'Stainless Steel Kettle',
      brand: 'Sonya Home',
      category: 'Home > Kitchen',
      priceMinor: 4500n,
      currency: 'USD',
      description: 'Not headphones, a kettle',
    },
    { itemId: 'k2', name: 'Crème brûlée torch', brand: 'Sony', category: 'Home > Kitchen', priceMinor: 2500n, currency: 'USD' },
  ];
  await t.modules.catalog.upsertItems(A.tenantId, items);
  await t.modules.catalog.upsertItems(B.tenantId, [{ itemId: 'b1', name: 'Secret Headphones of B', brand: 'Sony' }]);
});
afterAll(async () => {
  await t?.close();
});

const search = async (qs: string, token = A.ownerToken) => t.request('GET', `/api/v1/items/search?${qs}`, { token });

describe('search', () => {
  it('ranks name matches above description mentions and returns facets', async () => {
    const r = await search('q=headphones');
    expect(r.status).toBe(200);
    expect(r.body.mode).toBe('fulltext');
    const ids = r.body.data.map((d: { item_id: string }) => d.item_id);
    // Every name match ranks above the kettle that mentions headphones only in its description.
    expect(ids.slice(0, 4).sort()).toEqual(['c1', 'h1', 'h2', 'h3']);
    expect(ids[4]).toBe('k1');
    expect(ids).not.toContain('b1');
    expect(r.body.total).toBe(ids.length);
    expect(r.body.facets.brands).toEqual(
      expect.arrayContaining([
        { value: 'Sony', count: 1 },
        { value: 'Bose', count: 1 },
      ]),
    );
    expect(r.body.facets.categories[0]).toMatchObject({ path: 'Electronics > Audio > Headphones', count: 3 });
    expect(r.body.facets.price_bands).toEqual(
      expect.arrayContaining([
        { key: '100-250', from: 100, to: 250, count: 1 },
        { key: '250-500', from: 250, to: 500, count: 2 },
      ]),
    );
  });

  it('tolerates typos: "hedphones" finds Headphones', async () => {
    const r = await search('q=hedphones');
    expect(r.status).toBe(200);
    expect(r.body.mode).toBe('fuzzy');
    const names = r.body.data.map((d: { name: string }) => d.name);
    expect(names.length).toBeGreaterThanOrEqual(3);
    for (const n of names.slice(0, 3)) expect(n).toMatch(/Headphone/);
    expect(names.join()).not.toContain('Secret');
  });

  it('applies the list filters and pages with a cursor', async () => {
    const inStock = await search('q=headphones&availability=in_stock&category=' + encodeURIComponent('Electronics > Audio'));
    expect(inStock.body.data.map((d: { item_id: string }) => d.item_id).sort()).toEqual(['h1', 'h2']);
    const cheap = await search('q=wireless&max_price=100');
    expect(cheap.body.data.map((d: { item_id: string }) => d.item_id)).toEqual(['s1']);
    const p1 = await search('q=headphones&limit=2');
    expect(p1.body.data).toHaveLength(2);
    const p2 = await search(`q=headphones&limit=2&cursor=${p1.body.next_cursor}`);
    const all = [...p1.body.data, ...p2.body.data].map((d: { item_id: string }) => d.item_id);
    expect(new Set(all).size).toBe(all.length);
    expect((await search('q=')).status).toBe(400);
    expect((await search('q=x&cursor=%%%')).status).toBe(400);
  });

  it('treats SQL and tsquery metacharacters as plain text', async () => {
    for (const q of [`'; DROP TABLE items; --`, 'head & | ! (:*', "=cmd|' /C calc'!A0", '%_\\']) {
      const r = await search(`q=${encodeURIComponent(q)}`);
      expect(r.status, q).toBe(200);
    }
    expect((await t.request('GET', '/api/v1/items/autocomplete?q=%25_', { token: A.ownerToken })).body.suggestions).toEqual([]);
  });

  it('is tenant-scoped: the seed 004 path of another tenant is not found', async () => {
    const r = await t.request('GET', `/api/v1/tenants/${A.tenantId}/inventory/search?q=headphones`, { token: B.ownerToken });
    expect(r.status).toBe(404);
    const own = await t.request('GET', `/api/v1/tenants/${B.tenantId}/inventory/search?q=headphones`, { token: B.ownerToken });
    expect(own.body.data.map((d: { item_id: string }) => d.item_id)).toEqual(['b1']);
  });
});

describe('autocomplete', () => {
  it('completes name prefixes, word prefixes inside names, brands, accents and case', async () => {
    const ac = async (q: string) =>
      (await t.request('GET', `/api/v1/items/autocomplete?q=${encodeURIComponent(q)}`, { token: A.ownerToken })).body;
    const son = await ac('Son');
    expect(son.suggestions.filter((s: { type: string }) => s.type === 'brand').map((s: { text: string }) => s.text)).toEqual([
      'Sony',
      'Sonya Home',
    ]);
    expect(son.suggestions).toContainEqual({ type: 'item', text: 'Sony WH-1000XM5 Wireless Headphones', item_id: 'h1' });
    expect(son.suggestions.map((s: { text: string }) => s.text).join()).not.toContain('Secret');
    const head = await ac('headph');
    expect(head.suggestions.map((s: { item_id: string }) => s.item_id).sort()).toEqual(['c1', 'h1', 'h2', 'h3']);
    expect((await ac('creme')).suggestions).toContainEqual({ type: 'item', text: 'Crème brûlée torch', item_id: 'k2' });
    expect((await ac('')).suggestions).toEqual([]);
    expect((await ac('zzzz')).suggestions).toEqual([]);
  });
});

describe('OpenAPI', () => {
  it('documents the catalog routes (recursive tree schema included)', async () => {
    const doc = await t.request('GET', '/docs/json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/items',
        '/api/v1/items/bulk',
        '/api/v1/items/search',
        '/api/v1/items/autocomplete',
        '/api/v1/items/{item_id}',
        '/api/v1/tenants/{tenantId}/inventory/{id}',
        '/api/v1/tenants/{tenantId}/categories',
        '/api/v1/tenants/{tenantId}/categories/{id}/align',
        '/api/v1/categories/{id}/align/suggestions',
      ]),
    );
  });
});

describe('search for a store with SKU ids (issue 20: Online Retail)', () => {
  let C: Awaited<ReturnType<TestApp['createTenant']>>;
  beforeAll(async () => {
    C = await t.createTenant();
    await t.modules.catalog.upsertItems(C.tenantId, [
      { itemId: '85123A', name: 'White Hanging Heart T-Light Holder', category: 'Home > Candles' },
      { itemId: '71053', name: 'White Metal Lantern', category: 'Home > Candles' },
      { itemId: '85123B', name: 'Red Hanging Heart T-Light Holder', category: 'Home > Candles' },
      { itemId: '21730', name: 'Glass Star Frosted T-Light Holder', description: 'Goes with 85123A' },
      { itemId: '22086', name: "Paper Chain Kit 50's Christmas", category: 'Home > Christmas' },
    ]);
  });
  const searchC = (q: string, extra = '') =>
    t.request('GET', `/api/v1/items/search?q=${encodeURIComponent(q)}${extra}`, { token: C.ownerToken });

  it('puts the item whose id is the query (a SKU) first, as typed or in lower case', async () => {
    for (const q of ['85123A', '85123a']) {
      const r = await searchC(q);
      expect(r.status).toBe(200);
      expect(r.body.data[0].item_id).toBe('85123A');
      expect(r.body.total).toBe(r.body.data.length);
    }
    // Another tenant's SKU is not found, and this tenant's is not found from elsewhere.
    const other = await t.request('GET', '/api/v1/items/search?q=85123A', { token: A.ownerToken });
    expect(other.body.total).toBe(0);
    const b = await t.request('GET', '/api/v1/items/search?q=b1', { token: C.ownerToken });
    expect(b.body.data.map((d: { item_id: string }) => d.item_id)).not.toContain('b1');
  });

  it('finds "lantren" (two letters swapped) and a doubled letter', async () => {
    for (const q of ['lantren', 'lanttern', 'white lantren']) {
      const r = await searchC(q);
      expect(r.status, q).toBe(200);
      expect(r.body.mode, q).toBe('fuzzy');
      expect(r.body.data[0]?.item_id, q).toBe('71053');
    }
    // Short words take no variants: "tea" does not turn into "t-light" or "star".
    expect((await searchC('cat')).body.total).toBe(0);
  });

  it('treats hostile queries as text: NUL bytes, lone surrogates, tsquery syntax, 200 characters', async () => {
    // NUL (which PostgreSQL text cannot hold) is refused in words; a lone surrogate's bytes are replaced.
    const nul = await t.request('GET', '/api/v1/items/search?q=lant%00ren', { token: C.ownerToken });
    expect(nul.status).toBe(400);
    expect(nul.body.error.message).toMatch(/NUL|invalid|q/i);
    const lone = await t.request('GET', '/api/v1/items/search?q=lant%ED%A0%80ren', { token: C.ownerToken });
    expect(lone.status).toBe(200);
    for (const q of ["lantren') | ('", 'lantren & !white', 'x'.repeat(200), '85123A:*', '!!!']) {
      const r = await searchC(q);
      expect(r.status, q).toBe(200);
    }
    expect((await searchC("lantren') | ('")).body.data[0]?.item_id).toBe('71053');
    const long = await searchC('l'.repeat(201));
    expect(long.status).toBe(400);
  });
});

describe('search facets from the one match-set statement (issue 20: search speed)', () => {
  let D: Awaited<ReturnType<TestApp['createTenant']>>;
  beforeAll(async () => {
    D = await t.createTenant();
    // Band edges in currencies of 2, 0 and 3 decimals: bands are whole major units of each item's own currency.
    await t.modules.catalog.upsertItems(D.tenantId, [
      { itemId: 'e1', name: 'Edge lamp one', priceMinor: 2499n, currency: 'USD' }, // 24.99 -> 0-25
      { itemId: 'e2', name: 'Edge lamp two', priceMinor: 2500n, currency: 'USD' }, // 25.00 -> 25-50
      { itemId: 'e3', name: 'Edge lamp three', priceMinor: 49n, currency: 'JPY' }, // ¥49 -> 25-50
      { itemId: 'e4', name: 'Edge lamp four', priceMinor: 500n, currency: 'JPY' }, // ¥500 -> 500+
      { itemId: 'e5', name: 'Edge lamp five', priceMinor: 99_999n, currency: 'KWD' }, // 99.999 -> 50-100
      { itemId: 'e6', name: 'Edge lamp six', priceMinor: 100_000n, currency: 'KWD' }, // 100.000 -> 100-250
      { itemId: 'e7', name: 'Edge lamp seven' }, // no price: no band
    ]);
  });
  const searchD = (qs: string) => t.request('GET', `/api/v1/items/search?${qs}`, { token: D.ownerToken });

  it('puts each price in its band exactly at the edges, per currency exponent', async () => {
    const r = await searchD('q=lamp');
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(7);
    const bands = Object.fromEntries(r.body.facets.price_bands.map((b: { key: string; count: number }) => [b.key, b.count]));
    expect(bands).toEqual({ '0-25': 1, '25-50': 2, '50-100': 1, '100-250': 1, '500+': 1 });
  });

  it('pages the same ordering the facets count, rows in score order, with the exact total on every page', async () => {
    const all = await searchD('q=lamp&limit=100');
    const order = all.body.data.map((d: { item_id: string }) => d.item_id);
    const scores = all.body.data.map((d: { score: number }) => d.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { total: number; data: { item_id: string }[]; next_cursor: string | null } } = await searchD(
        `q=lamp&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(page.body.total).toBe(7);
      seen.push(...page.body.data.map((d) => d.item_id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(order);
    // Ten concurrent searches answer the same (the read runs in its own transaction each).
    const many = await Promise.all(Array.from({ length: 10 }, () => searchD('q=lamp&limit=100')));
    expect(new Set(many.map((m) => JSON.stringify(m.body.data.map((d: { item_id: string }) => d.item_id)))).size).toBe(1);
  });
});
