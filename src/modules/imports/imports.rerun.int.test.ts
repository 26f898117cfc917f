import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, multipartBody as multipart } from '../../../test/helpers.ts';

/**
 * A merchant's second and later imports (issue 20): guest checkouts kept as anonymous shoppers instead of
 * rejected, the mapping remembered for a file layout seen before, and an import run again from its kept file
 * with a corrected mapping. Another tenant sees none of it.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let keyA: string;
let keyB: string;

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Rerun store');
  B = await t.createTenant('Other store');
  keyA = await A.apiKey(['catalog:write', 'interactions:write', 'profiles:read']);
  keyB = await B.apiKey(['catalog:write', 'interactions:write', 'profiles:read']);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const upload = (token: string, kind: 'items' | 'interactions', file: string, fields: Record<string, string> = {}) => {
  const m = multipart(file, fields, 'orders.csv');
  return t.request('POST', `/api/v1/upload/${kind}`, {
    token,
    body: m.body as unknown as string,
    headers: { 'content-type': m.contentType },
  });
};

// Online Retail's layout: a quarter of its lines have no CustomerID (guest checkouts).
const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
const ORDERS = [
  HEADER,
  '536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26,2.55,17850,United Kingdom',
  '536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28,1.85,,United Kingdom',
  '536366,22632,HAND WARMER RED POLKA DOT,6,2010-12-01 08:28,1.85,,United Kingdom',
  '536367,84879,ASSORTED COLOUR BIRD,32,2010-12-01 08:34,1.69,,France',
].join('\n');

describe('rows without a customer', () => {
  it('are rejected by default, naming the option that keeps them', async () => {
    const r = await upload(keyA, 'interactions', ORDERS, { mapping: JSON.stringify({ 'const:purchase': 'type' }) });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ rows_accepted: 1, rows_rejected: 3 });
    expect(r.body.validation_errors[0]).toMatchObject({ code: 'MISSING_USER', field: 'user_id' });
    expect(r.body.validation_errors[0].error).toContain('anonymous_rows=anonymous');
  });

  it('with anonymous_rows=anonymous become one anonymous shopper per order', async () => {
    const r = await upload(keyA, 'interactions', ORDERS, {
      mapping: JSON.stringify({ 'const:purchase': 'type' }),
      anonymous_rows: 'anonymous',
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ rows_rejected: 0 });
    // The identified line was stored by the first upload: it counts as already stored now.
    expect(r.body).toMatchObject({ rows_accepted: 4, rows_duplicate: 1 });
    expect(r.body.statistics.unique_users).toBe(3); // 17850, order:536366, order:536367
    const guest = await t.request('GET', `/api/v1/profiles?identifier=${encodeURIComponent('order:536366')}`, { token: keyA });
    expect(guest.status).toBe(200);
    const found = guest.body.data ?? guest.body;
    expect(JSON.stringify(found)).toContain('order:536366');
  });

  it('without an order or session column the file is refused, saying why', async () => {
    const file = 'StockCode,InvoiceDate,Quantity\n85123A,2010-12-01 08:26,6\n';
    const r = await upload(keyA, 'interactions', file, {
      mapping: JSON.stringify({ 'const:purchase': 'type' }),
      anonymous_rows: 'anonymous',
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('IMPORT_COLUMNS_UNMATCHED');
    expect(r.body.error.message).toContain('names the customer');
  });

  it('an unknown anonymous_rows value is a 400 naming the field, and nothing is imported', async () => {
    for (const bad of ['keep', 'anonymous\u0000', 'x'.repeat(5000)]) {
      const r = await upload(keyA, 'interactions', ORDERS, { anonymous_rows: bad });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain('anonymous_rows');
    }
  });
});

describe('a file layout seen before', () => {
  it('the mapping preview offers the mapping of the last import of that header that kept rows', async () => {
    const headers = HEADER.split(',');
    const r = await t.request('POST', '/api/v1/imports/mapping', { token: keyA, body: { kind: 'interactions', headers } });
    expect(r.status).toBe(200);
    expect(r.body.saved).toMatchObject({ mapping: { 'const:purchase': 'type' }, anonymous_rows: 'anonymous' });
    // Another layout, or another tenant with the same layout: nothing saved.
    const other = await t.request('POST', '/api/v1/imports/mapping', { token: keyA, body: { kind: 'interactions', headers: ['a', 'b'] } });
    expect(other.body.saved).toBeNull();
    const b = await t.request('POST', '/api/v1/imports/mapping', { token: keyB, body: { kind: 'interactions', headers } });
    expect(b.body.saved).toBeNull();
  });

  it('the preview resolves a customer-less layout as importable once anonymous rows are asked for', async () => {
    const headers = ['InvoiceNo', 'StockCode', 'InvoiceDate'];
    const plain = await t.request('POST', '/api/v1/imports/mapping', { token: keyA, body: { kind: 'interactions', headers } });
    expect(plain.body.problems.join(' ')).toContain('names the customer');
    const anon = await t.request('POST', '/api/v1/imports/mapping', {
      token: keyA,
      body: { kind: 'interactions', headers, anonymous_rows: 'anonymous' },
    });
    expect(anon.body.problems).toEqual([]);
  });
});

describe('running an import again', () => {
  it('runs the kept file again with a corrected mapping, as a new import, counting stored rows once', async () => {
    // Items mapped wrongly: the Description column ignored, so every item lacks a name.
    const items = 'StockCode,Description,UnitPrice\n85123A,WHITE HANGING HEART,2.55\n22633,HAND WARMER,1.85\n';
    const first = await upload(keyA, 'items', items, { mapping: JSON.stringify({ Description: 'ignore' }) });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.rows_accepted).toBe(0);
    const again = await t.request('POST', `/api/v1/imports/${first.body.import_id}/rerun`, {
      token: keyA,
      body: { mapping: { Description: 'name' } },
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.import_id).not.toBe(first.body.import_id);
    expect(again.body).toMatchObject({ rows_accepted: 2, rows_rejected: 0 });
    const item = await t.request('GET', '/api/v1/items/85123A', { token: A.ownerToken });
    expect(item.body.name).toBe('WHITE HANGING HEART');
    // The new import records what it re-ran; the first one is unchanged.
    const detail = await t.request('GET', `/api/v1/imports/${again.body.import_id}`, { token: keyA });
    expect(detail.body.file_name).toBe('orders.csv');
    const firstDetail = await t.request('GET', `/api/v1/imports/${first.body.import_id}`, { token: keyA });
    expect(firstDetail.body.rows_accepted).toBe(0);
    // Twice more with its own options: nothing new, all already stored.
    const third = await t.request('POST', `/api/v1/imports/${again.body.import_id}/rerun`, { token: keyA });
    expect(third.status, JSON.stringify(third.body)).toBe(200);
    expect(third.body.rows_accepted + third.body.rows_duplicate).toBe(2);
  });

  it('concurrent re-runs of one import each finish, and the catalog holds each item once', async () => {
    const items = 'StockCode,Description,UnitPrice\nC-1,Cup,1.00\nC-2,Plate,2.00\n';
    const first = await upload(keyA, 'items', items);
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => t.request('POST', `/api/v1/imports/${first.body.import_id}/rerun`, { token: keyA })),
    );
    for (const r of runs) expect(r.status, JSON.stringify(r.body)).toBe(200);
    for (const r of runs) expect(r.body).toMatchObject({ rows_accepted: 2, rows_rejected: 0 });
    expect(new Set(runs.map((r) => r.body.import_id)).size).toBe(4);
    for (const id of ['C-1', 'C-2']) expect((await t.request('GET', `/api/v1/items/${id}`, { token: A.ownerToken })).status).toBe(200);
    const list = await t.request('GET', '/api/v1/imports?kind=items&limit=200', { token: keyA });
    const copies = (list.body.data as { file_name: string; storage_location: string }[]).filter((r) => r.file_name === 'orders.csv');
    // Each run keeps its own copy of the file: removing one never breaks another's re-run.
    expect(new Set(copies.map((r) => r.storage_location)).size).toBe(copies.length);
  });

  it("another tenant's import, an unknown id or a malformed body is refused", async () => {
    const mine = await upload(keyA, 'items', 'StockCode,Description\nX-1,Thing\n');
    expect((await t.request('POST', `/api/v1/imports/${mine.body.import_id}/rerun`, { token: keyB })).status).toBe(404);
    expect((await t.request('POST', '/api/v1/imports/00000000-0000-4000-8000-000000000000/rerun', { token: keyA })).status).toBe(404);
    expect((await t.request('POST', '/api/v1/imports/not-a-uuid/rerun', { token: keyA })).status).toBe(404);
    const bad = await t.request('POST', `/api/v1/imports/${mine.body.import_id}/rerun`, { token: keyA, body: { mapping: 'x', extra: 1 } });
    expect(bad.status).toBe(400);
    const nul = await t.request('POST', `/api/v1/imports/${mine.body.import_id}/rerun`, {
      token: keyA,
      body: { mapping: { 'Desc\u0000': 'name' } },
    });
    expect(nul.status).toBeGreaterThanOrEqual(400);
    expect(nul.status).toBeLessThan(500);
  });

  it('a key that may write interactions but not the catalog cannot re-run a catalog import', async () => {
    const mine = await upload(keyA, 'items', 'StockCode,Description\nY-1,Thing\n');
    const eventsOnly = await A.apiKey(['interactions:write']);
    const r = await t.request('POST', `/api/v1/imports/${mine.body.import_id}/rerun`, { token: eventsOnly });
    expect(r.status).toBe(403);
  });
});
