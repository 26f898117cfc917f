import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, multipartBody as multipart } from '../../../test/helpers.ts';
import { catalogOf, ONLINE_RETAIL, onlineRetailHead } from '../../../test/online-retail.ts';

/**
 * A merchant's first imports (issue 20): the server's resolved mapping of a real header (UCI Online Retail),
 * an outcome that does not call a mostly rejected file a success, and gzip uploads sent to a job by their
 * expected rows rather than their compressed size.
 */
let t: TestApp;
let tenant: Awaited<ReturnType<TestApp['createTenant']>>;
let key: string;
const HEADER = ['InvoiceNo', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country'];

beforeAll(async () => {
  t = await createTestApp();
  tenant = await t.createTenant('First day store');
  key = await tenant.apiKey(['catalog:write', 'interactions:write']);
});
afterAll(async () => {
  await t?.close();
});

const upload = (kind: 'items' | 'interactions', file: Buffer | string, fields: Record<string, string> = {}, fileName = 'upload.csv') => {
  const m = multipart(file, fields, fileName);
  return t.request('POST', `/api/v1/upload/${kind}`, {
    token: key,
    body: m.body as unknown as string,
    headers: { 'content-type': m.contentType },
  });
};
const resolve = (body: unknown, token = key) => t.request('POST', '/api/v1/imports/mapping', { token, body });
const fieldOf = (res: { body: { columns: { column: string; field: string | null }[] } }, column: string) =>
  res.body.columns.find((c) => c.column === column)?.field ?? null;

describe('resolved mapping of a header', () => {
  it('items: Description is the name when there is no name column; StockCode, UnitPrice are mapped, Country kept', async () => {
    const res = await resolve({ kind: 'items', headers: HEADER });
    expect(res.status).toBe(200);
    expect(fieldOf(res, 'StockCode')).toBe('item_id');
    expect(fieldOf(res, 'Description')).toBe('name');
    expect(fieldOf(res, 'UnitPrice')).toBe('price');
    expect(res.body.columns.find((c: { column: string }) => c.column === 'Country')).toEqual({
      column: 'Country',
      field: null,
      source: 'attribute',
    });
    expect(res.body.problems).toEqual([]);
    expect(res.body.fields).toContain('gtin');
  });

  it('interactions: CustomerID is the customer, InvoiceNo the order, InvoiceDate the time', async () => {
    const res = await resolve({ kind: 'interactions', headers: HEADER, mapping: { 'const:purchase': 'type' } });
    expect(fieldOf(res, 'CustomerID')).toBe('user_id');
    expect(fieldOf(res, 'InvoiceNo')).toBe('order_id');
    expect(fieldOf(res, 'InvoiceDate')).toBe('timestamp');
    expect(fieldOf(res, 'StockCode')).toBe('item_id');
    expect(res.body.constants).toEqual([{ field: 'type', value: 'purchase' }]);
  });

  it('a given mapping wins, "attribute" keeps a column from its alias, "ignore" drops it; problems name what is missing', async () => {
    const res = await resolve({
      kind: 'items',
      headers: HEADER,
      mapping: { Description: 'description', UnitPrice: 'attribute', Quantity: 'ignore' },
    });
    expect(res.body.columns.find((c: { column: string }) => c.column === 'Description')).toMatchObject({
      field: 'description',
      source: 'mapping',
    });
    expect(fieldOf(res, 'UnitPrice')).toBeNull();
    expect(res.body.columns.find((c: { column: string }) => c.column === 'UnitPrice').source).toBe('attribute');
    expect(res.body.columns.find((c: { column: string }) => c.column === 'Quantity').source).toBe('ignored');
    const missing = await resolve({ kind: 'items', headers: ['Country'] });
    expect(missing.body.problems.join(' ')).toContain('item_id');
    const unknown = await resolve({ kind: 'items', headers: HEADER, mapping: { Country: 'colour' } });
    expect(unknown.body.problems.join(' ')).toContain('colour');
  });

  it('hostile and malformed bodies: NUL bytes, lone surrogates, deep JSON, too many or too long headers are refused', async () => {
    for (const h of ['sku\u0000', '\ud800name']) {
      const odd = await resolve({ kind: 'items', headers: [h] });
      expect(odd.status).toBe(400);
      expect(odd.body.error.code).toBe('UNSAFE_TEXT');
    }
    const odd = await resolve({ kind: 'items', headers: ['Ünïcode 名前', 'x'.repeat(300), ' sku '] });
    expect(odd.status).toBe(200);
    expect(odd.body.columns.map((c: { field: string | null }) => c.field)).toEqual([null, null, 'item_id']);
    expect((await resolve({ kind: 'items', headers: Array.from({ length: 501 }, (_, i) => `c${i}`) })).status).toBe(400);
    expect((await resolve({ kind: 'items', headers: ['x'.repeat(301)] })).status).toBe(400);
    expect((await resolve({ kind: 'orders', headers: ['a'] })).status).toBe(400);
    expect((await resolve({ kind: 'items', headers: [] })).status).toBe(400);
    expect((await resolve({ kind: 'items', headers: [1e308] })).status).toBe(400);
    expect((await resolve({ kind: 'items', headers: ['a'], extra: 1 })).status).toBe(400);
    let deep: unknown = 'a';
    for (let i = 0; i < 200; i++) deep = { a: deep };
    expect((await resolve({ kind: 'items', headers: ['a'], mapping: deep })).status).toBe(400);
    expect((await t.request('POST', '/api/v1/imports/mapping', { body: { kind: 'items', headers: ['a'] } })).status).toBe(401);
  });

  it('concurrent and repeated calls answer the same', async () => {
    const all = await Promise.all(Array.from({ length: 8 }, () => resolve({ kind: 'items', headers: HEADER })));
    expect(new Set(all.map((r) => JSON.stringify(r.body))).size).toBe(1);
  });
});

describe.skipIf(!ONLINE_RETAIL)('Online Retail slice', () => {
  it('the old dashboard default (Description as description) rejects every row: the import says nothing was imported, with reasons', async () => {
    const catalog = catalogOf(await onlineRetailHead(300));
    const bad = await upload('items', catalog, { mapping: JSON.stringify({ Description: 'description' }) }, 'products.csv');
    expect(bad.status).toBe(200);
    expect(bad.body.rows_accepted).toBe(0);
    expect(bad.body.outcome).toBe('nothing_imported');
    const detail = await t.request('GET', `/api/v1/imports/${bad.body.import_id}`, { token: key });
    expect(detail.body.outcome).toBe('nothing_imported');
    expect(detail.body.problems[0]).toMatchObject({ field: 'name', rows: bad.body.rows_rejected });
    // The server's default mapping imports the same file.
    const good = await upload('items', catalog, {}, 'products.csv');
    expect(good.body.rows_rejected).toBe(0);
    expect(good.body.rows_accepted).toBeGreaterThan(100);
    expect(good.body.outcome).toBe('complete');
    // Another tenant sees neither the import nor its problems.
    const other = await t.createTenant('Other store');
    const otherKey = await other.apiKey(['catalog:write']);
    expect((await t.request('GET', `/api/v1/imports/${bad.body.import_id}`, { token: otherKey })).status).toBe(404);
  });

  it('a gzip of many rows runs as a job by its expected rows, though it is small; a small gzip runs at once', async () => {
    const head = await onlineRetailHead(200);
    const small = await upload('interactions', gzipSync(`${head.join('\n')}\n`), { mapping: '{"const:purchase":"type"}' }, 'o.csv.gz');
    expect(small.status).toBe(200);
    expect(small.body.outcome).toMatch(/complete|partial/);
    // 25,000 rows: the body repeats, so it compresses far below any byte threshold.
    const rows = Array.from({ length: 125 }, () => head.slice(1)).flat();
    const gz = gzipSync(`${head[0]}\n${rows.join('\n')}\n`);
    expect(gz.length).toBeLessThan(1024 * 1024);
    const big = await upload('interactions', gz, { mapping: '{"const:purchase":"type"}' }, 'orders.csv.gz');
    expect(big.status).toBe(202);
    expect(big.body.status).toBe('queued');
  });
});
