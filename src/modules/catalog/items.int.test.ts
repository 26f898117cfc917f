import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Store A');
  B = await t.createTenant('Store B');
});
afterAll(async () => {
  await t?.close();
});

const inv = (tenantId: string, rest = '') => `/api/v1/tenants/${tenantId}/inventory${rest}`;

describe('items in both URL styles', () => {
  it('seed 004: create, read by Loupe id and by item_id, update, delete', async () => {
    const created = await t.request('POST', inv(A.tenantId), {
      token: A.ownerToken,
      body: {
        item_id: 'SKU-1',
        name: 'Wireless Headphones',
        price: 99.99,
        currency: 'usd',
        category: 'Electronics > Audio',
        brand: 'Sony',
        tags: ['audio'],
        stock: 5,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      item_id: 'SKU-1',
      price: '99.99',
      price_minor: '9999',
      currency: 'USD',
      category: 'Electronics > Audio',
      availability: 'in_stock',
      stock: 5,
    });
    expect(created.body.category_id).toMatch(/^[0-9a-f-]{36}$/);
    const id = created.body.id as string;

    expect((await t.request('GET', inv(A.tenantId, `/${id}`), { token: A.ownerToken })).body.item_id).toBe('SKU-1');
    expect((await t.request('GET', inv(A.tenantId, '/SKU-1'), { token: A.ownerToken })).body.id).toBe(id);

    const upd = await t.request('PUT', inv(A.tenantId, '/SKU-1'), {
      token: A.ownerToken,
      body: { price: '79.5', availability: 'out_of_stock', brand: null },
    });
    expect(upd.status).toBe(200);
    expect(upd.body).toMatchObject({
      id,
      name: 'Wireless Headphones',
      price: '79.50',
      brand: null,
      availability: 'out_of_stock',
      category: 'Electronics > Audio',
      tags: ['audio'],
    });
    expect(Date.parse(upd.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.body.updated_at));

    const dup = await t.request('POST', inv(A.tenantId), { token: A.ownerToken, body: { item_id: 'SKU-1', name: 'again' } });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('CATALOG_ITEM_EXISTS');

    expect((await t.request('DELETE', inv(A.tenantId, `/${id}`), { token: A.ownerToken })).status).toBe(204);
    const gone = await t.request('GET', inv(A.tenantId, `/${id}`), { token: A.ownerToken });
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('CATALOG_ITEM_NOT_FOUND');
  });

  it('key-scoped /api/v1/items with an API key; scopes are enforced', async () => {
    const rw = await A.apiKey(['catalog:read', 'catalog:write']);
    const ro = await A.apiKey(['catalog:read']);
    const created = await t.request('POST', '/api/v1/items', { token: rw, body: { item_id: 9007199254740991, name: 'Max safe id' } });
    expect(created.status).toBe(201);
    expect(created.body.item_id).toBe('9007199254740991');
    const big = await t.request('POST', '/api/v1/items', { token: rw, body: { item_id: '9007199254740993', name: 'Beyond 2^53' } });
    expect(big.body.item_id).toBe('9007199254740993');
    expect((await t.request('GET', '/api/v1/items/9007199254740993', { token: ro })).body.name).toBe('Beyond 2^53');
    const inexact = await t.request('POST', '/api/v1/items', {
      token: rw,
      body: `{"item_id": 9007199254740993, "name": "x"}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(inexact.status).toBe(400);
    expect(JSON.stringify(inexact.body.error)).toContain('item_id');

    const denied = await t.request('POST', '/api/v1/items', { token: ro, body: { item_id: 'x', name: 'x' } });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('PERMISSION_DENIED');
    expect((await t.request('PUT', '/api/v1/items/9007199254740993', { token: rw, body: { name: 'Renamed' } })).body.name).toBe('Renamed');
    expect((await t.request('DELETE', '/api/v1/items/9007199254740993', { token: rw })).status).toBe(204);
    expect((await t.request('GET', '/api/v1/items/9007199254740993', { token: ro })).status).toBe(404);
  });

  it('prices convert exactly per currency; malformed prices are rejected naming the field', async () => {
    const cases: [unknown, string, string][] = [
      ['0.1', 'USD', '0.10'],
      [0.3, 'EUR', '0.30'],
      ['19.990', 'USD', '19.99'],
      [1500, 'JPY', '1500'],
      ['1.234', 'KWD', '1.234'],
      ['92233720368547758.07', 'USD', '92233720368547758.07'],
    ];
    for (const [i, [price, currency, want]] of cases.entries()) {
      const r = await t.request('POST', inv(A.tenantId), { token: A.ownerToken, body: { item_id: `P${i}`, name: 'p', price, currency } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.price).toBe(want);
    }
    const bad: [unknown, string | undefined, string][] = [
      ['-1', undefined, 'negative'],
      ['abc', undefined, 'decimal'],
      ['1e3', undefined, 'decimal'],
      ['10.999', 'USD', 'decimal places'],
      ['1.5', 'JPY', 'decimal places'],
      ['92233720368547758.08', 'USD', 'too large'],
    ];
    for (const [price, currency, reason] of bad) {
      const r = await t.request('POST', inv(A.tenantId), {
        token: A.ownerToken,
        body: { item_id: 'BAD', name: 'p', price, ...(currency ? { currency } : {}) },
      });
      expect(r.status).toBe(400);
      expect(r.body.error.details).toEqual([expect.objectContaining({ field: 'price', message: expect.stringContaining(reason) })]);
    }
    const sale = await t.request('POST', inv(A.tenantId), { token: A.ownerToken, body: { item_id: 'BAD', name: 'p', sale_price: 'x' } });
    expect(sale.body.error.details[0].field).toBe('sale_price');
    const cur = await t.request('POST', inv(A.tenantId), {
      token: A.ownerToken,
      body: { item_id: 'BAD', name: 'p', price: 1, currency: 'DOLLARS' },
    });
    expect(cur.status).toBe(400);
    expect(JSON.stringify(cur.body.error)).toContain('currency');
    const unknown = await t.request('POST', inv(A.tenantId), { token: A.ownerToken, body: { item_id: 'BAD', name: 'p', colour: 'red' } });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body.error)).toContain('colour');
    // An update in the item's own currency: 1500 JPY stays yen.
    const jpy = await t.request('PUT', inv(A.tenantId, '/P3'), { token: A.ownerToken, body: { price: 2000 } });
    expect(jpy.body).toMatchObject({ price: '2000', price_minor: '2000', currency: 'JPY' });
  });

  it('stores SQL metacharacters and formula-injection strings verbatim', async () => {
    const hostile = `=cmd|' /C calc'!A0`;
    const itemId = `'; DROP TABLE items; -- %_\\`;
    const r = await t.request('POST', '/api/v1/items', {
      token: A.ownerToken,
      body: { item_id: itemId, name: hostile, brand: '+SUM(1)', description: '@import', tags: ['-2+3', hostile] },
    });
    expect(r.status).toBe(201);
    const got = await t.request('GET', `/api/v1/items/${encodeURIComponent(itemId)}`, { token: A.ownerToken });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ item_id: itemId, name: hostile, brand: '+SUM(1)', description: '@import', tags: ['-2+3', hostile] });
  });
});

describe('bulk upsert', () => {
  it('reports per row; bad rows never block good ones; repeated item_id: last wins', async () => {
    const r = await t.request('POST', '/api/v1/items/bulk', {
      token: A.ownerToken,
      body: [
        { item_id: 'B1', name: 'First', price: '10.00' },
        { item_id: 'B2', name: 'Bad price', price: '-3' },
        { name: 'No id' },
        { item_id: 'B1', name: 'First, again', price: '12.00' },
        'not an object',
        { item_id: 'B3', name: 'Third', category: 'Home > Kitchen' },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ inserted: 2, updated: 0, rejected: 3 });
    expect(r.body.results.map((x: { status: string }) => x.status)).toEqual([
      'created',
      'rejected',
      'rejected',
      'created',
      'rejected',
      'created',
    ]);
    expect(r.body.results[1].errors).toEqual([expect.objectContaining({ field: '[1].price' })]);
    expect(r.body.results[2].errors[0].field).toBe('[2].item_id');
    expect((await t.request('GET', '/api/v1/items/B1', { token: A.ownerToken })).body).toMatchObject({
      name: 'First, again',
      price: '12.00',
    });
    const again = await t.request('POST', '/api/v1/items/bulk', { token: A.ownerToken, body: [{ item_id: 'B1', name: 'Updated' }] });
    expect(again.body).toMatchObject({ inserted: 0, updated: 1, rejected: 0 });
  });

  it('refuses more than 1000 rows and an empty array', async () => {
    const many = Array.from({ length: 1001 }, (_, i) => ({ item_id: `M${i}`, name: 'm' }));
    expect((await t.request('POST', '/api/v1/items/bulk', { token: A.ownerToken, body: many })).status).toBe(400);
    expect((await t.request('POST', '/api/v1/items/bulk', { token: A.ownerToken, body: [] })).status).toBe(400);
  });
});

describe('list: cursor pagination and filters', () => {
  it('pages through every item exactly once and applies each filter', async () => {
    const { tenantId, ownerToken } = await t.createTenant('Filters');
    const rows = [
      {
        item_id: 'F1',
        name: 'Over-ear Headphones',
        category: 'Electronics > Audio > Headphones',
        brand: 'Sony',
        price: '199.00',
        tags: ['audio', 'wireless'],
      },
      {
        item_id: 'F2',
        name: 'Bookshelf Speaker',
        category: 'Electronics > Audio > Speakers',
        brand: 'Bose',
        price: '349.00',
        tags: ['audio'],
        availability: 'out_of_stock',
      },
      { item_id: 'F3', name: 'USB Cable', category: 'Electronics > Cables', brand: 'Anker', price: '9.99', tags: ['cable'] },
      { item_id: 'F4', name: 'Teapot', category: 'Home > Kitchen', brand: 'Sony', price: '25.00', tags: [] },
      { item_id: 'F5', name: 'Earbuds', category: 'Electronics > Audio > Headphones', brand: 'sony', price: '49.00', tags: ['audio'] },
    ];
    expect((await t.request('POST', '/api/v1/items/bulk', { token: ownerToken, body: rows })).body.inserted).toBe(5);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: { item_id: string }[]; next_cursor: string | null } } = await t.request(
        'GET',
        inv(tenantId, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`),
        { token: ownerToken },
      );
      seen.push(...page.body.data.map((d) => d.item_id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen.sort()).toEqual(['F1', 'F2', 'F3', 'F4', 'F5']);

    const ids = async (qs: string) =>
      ((await t.request('GET', `/api/v1/items?${qs}`, { token: ownerToken })).body.data as { item_id: string }[])
        .map((d) => d.item_id)
        .sort();
    expect(await ids(`category=${encodeURIComponent('Electronics > Audio')}`)).toEqual(['F1', 'F2', 'F5']);
    const headphones = (await t.request('GET', '/api/v1/items/F1', { token: ownerToken })).body.category_id;
    expect(await ids(`category=${headphones}`)).toEqual(['F1', 'F5']);
    expect(await ids('brand=SONY')).toEqual(['F1', 'F4', 'F5']);
    expect(await ids('min_price=25&max_price=199')).toEqual(['F1', 'F4', 'F5']);
    expect(await ids('availability=out_of_stock')).toEqual(['F2']);
    expect(await ids('tag=audio')).toEqual(['F1', 'F2', 'F5']);
    expect(await ids(`updated_since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
    expect(await ids('updated_since=2000-01-01T00:00:00Z&brand=anker')).toEqual(['F3']);

    const bad = await t.request('GET', '/api/v1/items?min_price=ten', { token: ownerToken });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error)).toContain('min_price');
    expect((await t.request('GET', '/api/v1/items?cursor=nonsense', { token: ownerToken })).status).toBe(400);
  });
});

describe('tenant isolation', () => {
  it("tenant B addressing A's items by id, item_id or path gets the same 404 as a missing item", async () => {
    const a = await t.request('POST', inv(A.tenantId), {
      token: A.ownerToken,
      body: { item_id: 'SECRET', name: 'A only', category: 'Hidden' },
    });
    const missing = await t.request('GET', inv(B.tenantId, '/no-such-item'), { token: B.ownerToken });
    expect(missing.status).toBe(404);
    for (const ref of [a.body.id, 'SECRET']) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const r = await t.request(method, inv(B.tenantId, `/${ref}`), {
          token: B.ownerToken,
          ...(method === 'PUT' ? { body: { name: 'stolen' } } : {}),
        });
        expect(r.status).toBe(404);
        expect(r.body.error.code).toBe(missing.body.error.code);
      }
    }
    const bKey = await B.apiKey(['catalog:read', 'catalog:write']);
    expect((await t.request('GET', '/api/v1/items/SECRET', { token: bKey })).status).toBe(404);
    // A's path with B's credential: the tenant itself is not found for B.
    const cross = await t.request('GET', inv(A.tenantId, '/SECRET'), { token: B.ownerToken });
    expect(cross.status).toBe(404);
    expect((await t.request('GET', inv(A.tenantId), { token: bKey })).status).toBe(404);
    // B's category_id pointing at A's category is refused like an unknown category.
    const bad = await t.request('POST', '/api/v1/items', {
      token: bKey,
      body: { item_id: 'X', name: 'x', category_id: a.body.category_id },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe('category_id');
    expect((await t.request('GET', inv(A.tenantId, '/SECRET'), { token: A.ownerToken })).body.name).toBe('A only');
    expect((await t.request('GET', '/api/v1/items', { token: bKey })).body.data.map((d: { item_id: string }) => d.item_id)).not.toContain(
      'SECRET',
    );
  });
});
