import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../platform/index.ts';
import { createTestApp, type TestApp, pollUntil, multipartBody as multipart } from '../../../test/helpers.ts';

let t: TestApp;
let tenant: Awaited<ReturnType<TestApp['createTenant']>>;
let itemsKey: string;
let eventsKey: string;

beforeAll(async () => {
  t = await createTestApp();
  tenant = await t.createTenant('Imports store');
  itemsKey = await tenant.apiKey(['catalog:write', 'catalog:read']);
  eventsKey = await tenant.apiKey(['interactions:write']);
});
afterAll(async () => {
  await t?.close();
});

async function upload(
  kind: 'items' | 'interactions',
  file: Buffer | string | null,
  fields: Record<string, string> = {},
  opts: { token?: string; fileName?: string } = {},
) {
  const m = multipart(file, fields, opts.fileName);
  return t.request('POST', `/api/v1/upload/${kind}`, {
    token: opts.token ?? (kind === 'items' ? itemsKey : eventsKey),
    body: m.body as unknown as string,
    headers: { 'content-type': m.contentType },
  });
}

const items = (tenantId: string) =>
  queryRows<{ itemId: string; name: string; priceMinor: string | null; description: string | null }>(
    t.database.db,
    sql`SELECT item_id AS "itemId", name, price_minor::text AS "priceMinor", description FROM items WHERE tenant_id = ${tenantId} ORDER BY item_id`,
  );
const interactionCount = async (tenantId: string) =>
  Number(
    (await queryRows<{ n: string }>(t.database.db, sql`SELECT count(*)::text AS n FROM interactions WHERE tenant_id = ${tenantId}`))[0]!.n,
  );

const PRODUCTS = `item_id,name,category,price,description,brand,tags
PROD_001,Wireless Headphones,Audio,99.99,Premium noise-canceling headphones,AudioTech,wireless|bluetooth|premium
PROD_002,Gaming Laptop,Computers,1299.99,High-performance gaming laptop,TechPro,gaming|laptop|rgb
PROD_003,Smart Watch,Wearables,249.99,Fitness tracking smartwatch,FitTech,fitness|smartwatch|health
PROD_004,USB-C Cable,Accessories,12.99,Fast charging USB-C cable,GenericBrand,cable|charging|usb
`;
const INTERACTIONS = `user_id,item_id,interaction_type,timestamp,rating,duration_seconds
USER_001,PROD_001,view,2024-01-10T14:23:00Z,,45
USER_001,PROD_001,add_to_cart,2024-01-10T14:25:00Z,,
USER_001,PROD_001,purchase,2024-01-10T14:30:00Z,5,
USER_002,PROD_003,view,2024-01-10T15:00:00Z,,120
USER_002,PROD_003,purchase,2024-01-10T15:05:00Z,5,
USER_003,PROD_002,view,2024-01-11T09:15:00Z,,300
USER_003,PROD_002,add_to_cart,2024-01-11T09:20:00Z,,
`;

describe("seed 003's upload calls, as written", () => {
  it('step 4: a product CSV is validated and upserted; the raw file is kept', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const key = await apiKey(['catalog:write']);
    const res = await upload('items', PRODUCTS, { tenant_id: tenantId }, { token: key, fileName: 'products.csv' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'success', rows_accepted: 4, rows_rejected: 0, validation_errors: [] });
    expect(res.body.storage_location).toBe(`storage://${tenantId}/uploads/${res.body.import_id}/products.csv`);
    expect(await t.storage.exists(tenantId, `uploads/${res.body.import_id}/products.csv`)).toBe(true);
    const rows = await items(tenantId);
    expect(rows.map((r) => [r.itemId, r.priceMinor])).toEqual([
      ['PROD_001', '9999'],
      ['PROD_002', '129999'],
      ['PROD_003', '24999'],
      ['PROD_004', '1299'],
    ]);
  });

  it('step 5: interactions come back with statistics', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const res = await upload('interactions', INTERACTIONS, {}, { token: await apiKey(['interactions:write']) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'success',
      rows_accepted: 7,
      rows_rejected: 0,
      statistics: { unique_users: 3, unique_items: 3, interaction_types: { view: 3, add_to_cart: 2, purchase: 2 } },
    });
    expect(await interactionCount(tenantId)).toBe(7);
  });

  it('needs the right scope: an interactions key cannot upload items', async () => {
    const res = await upload('items', PRODUCTS, {}, { token: eventsKey });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('PERMISSION_DENIED');
  });

  it('re-running the same file is idempotent', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const key = await apiKey(['interactions:write']);
    await upload('interactions', INTERACTIONS, {}, { token: key });
    const again = await upload('interactions', INTERACTIONS, {}, { token: key });
    expect(again.body).toMatchObject({ rows_accepted: 7, rows_duplicate: 7 });
    expect(await interactionCount(tenantId)).toBe(7);
  });
});

describe('formats', () => {
  it('reads gzip, a semicolon CSV with BOM and CRLF, JSON arrays and NDJSON', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const key = await apiKey(['catalog:write']);
    const gz = await upload('items', gzipSync(Buffer.from('sku,title,price\nG1,Gz one,1.50\n')), {}, { token: key, fileName: 'a.csv.gz' });
    expect(gz.body).toMatchObject({ rows_accepted: 1 });
    const semi = await upload('items', '\uFEFFSKU;Title;Price\r\nS1;"Semi; colon";"2,50"\r\nS2;Two;3\r\n', {}, { token: key });
    expect(semi.body.rows_accepted).toBe(1); // "2,50" is not a price (decimal comma): rejected, reported
    expect(semi.body.validation_errors[0]).toMatchObject({ row: 2, field: 'price', code: 'PRICE_NOT_A_NUMBER' });
    const json = await upload(
      'items',
      JSON.stringify([
        { id: 'J1', name: 'Json', price: 4.25, tags: ['a', 'b'] },
        { id: 'J2', name: 'Two', extra: { x: 1 } },
      ]),
      {},
      { token: key, fileName: 'x.json' },
    );
    expect(json.body).toMatchObject({ rows_accepted: 2, rows_rejected: 0 });
    const nd = await upload(
      'items',
      '{"item_id":"N1","name":"Nd"}\n{"item_id":"N2","name":"Nd2"\n{"item_id":"N3","name":"Nd3"}\n',
      {},
      { token: key, fileName: 'x.ndjson' },
    );
    expect(nd.body).toMatchObject({ rows_accepted: 2, rows_rejected: 1 });
    expect(nd.body.validation_errors[0]).toMatchObject({ row: 2, code: 'INVALID_JSON' });
    expect((await items(tenantId)).map((i) => i.itemId)).toEqual(['G1', 'J1', 'J2', 'N1', 'N3', 'S2']);
  });

  it('an explicit mapping with a constant imports Online Retail lines; cancellations become refunds, missing customers are explained', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const file = [
      '"InvoiceNo","StockCode","Description","Quantity","InvoiceDate","UnitPrice","CustomerID","Country"',
      '"536365","85123A","WHITE HANGING HEART T-LIGHT HOLDER",6,"2010-12-01 08:26:00",2.55,17850,"United Kingdom"',
      '"536366","22633","HAND WARMER UNION JACK",6,"2010-12-01 08:28:00",1.85,,"United Kingdom"',
      '"C536379","D","Discount",-1,"2010-12-01 09:41:00",27.5,14527,"United Kingdom"',
      '"536370","POST","POSTAGE",3,"2010-12-01 08:45:00",0.001,12583,"France"',
    ].join('\n');
    const mapping = {
      InvoiceNo: 'order_id',
      StockCode: 'item_id',
      CustomerID: 'user_id',
      InvoiceDate: 'timestamp',
      UnitPrice: 'price',
      Quantity: 'quantity',
      'const:purchase': 'type',
      Description: 'ignore',
    };
    const res = await upload('interactions', file, { mapping: JSON.stringify(mapping) }, { token: await apiKey(['interactions:write']) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rows_accepted: 2, rows_rejected: 2, statistics: { interaction_types: { purchase: 1, refund: 1 } } });
    expect(res.body.validation_errors.map((e: { row: number; code: string }) => [e.row, e.code])).toEqual([
      [3, 'MISSING_USER'],
      [5, 'PRICE_TOO_PRECISE'],
    ]);
    const rows = await queryRows<{
      type: string;
      quantity: number;
      orderId: string;
      priceMinor: string;
      metadata: unknown;
      occurredAt: Date;
    }>(
      t.database.db,
      sql`SELECT type, quantity, order_id AS "orderId", price_minor::text AS "priceMinor", metadata, occurred_at AS "occurredAt" FROM interactions WHERE tenant_id = ${tenantId} ORDER BY order_id`,
    );
    expect(rows).toMatchObject([
      { type: 'purchase', quantity: 6, orderId: '536365', priceMinor: '255', metadata: { Country: 'United Kingdom' } },
      { type: 'refund', quantity: 1, orderId: 'C536379', priceMinor: '2750' },
    ]);
    expect(rows[0]!.occurredAt.toISOString()).toBe('2010-12-01T08:26:00.000Z');
  });
});

describe('point-of-sale purchases', () => {
  it('a POS export joins the customers’ unified profiles by e-mail, phone or loyalty card, with orders and revenue; tenants stay apart', async () => {
    const A = await t.createTenant('POS store');
    const B = await t.createTenant('Other POS store');
    // The shopper is already known online: user id and e-mail on one profile.
    const online = await t.request('POST', '/api/v1/interactions', {
      token: await A.apiKey(['interactions:write']),
      body: { user_id: 'web-42', item_id: 'MUG', interaction_type: 'view', identifiers: { email: 'ann@shop.test' } },
    });
    expect(online.status).toBe(201);
    const pos = [
      'Receipt,SKU,Customer Email,Mobile,Loyalty Number,Date,Qty,Unit Price,Currency,Store',
      'R-1,MUG,ANN@shop.test,,,2026-01-10 10:00,2,4.50,GBP,Leeds',
      'R-1,TEA,ANN@shop.test,,,2026-01-10 10:00,1,3.00,GBP,Leeds',
      'R-2,MUG,,+44 7700 900123,L-77,2026-01-11 12:00,1,4.50,GBP,York',
      'R-3,TEA,,+44 7700-900-123,,2026-01-12 12:00,-1,3.00,GBP,York',
      'R-4,TEA,,,,2026-01-12 12:00,1,3.00,GBP,York',
    ].join('\n');
    const res = await upload(
      'interactions',
      pos,
      { mapping: JSON.stringify({ 'const:purchase': 'type' }), source: 'pos' },
      { token: await A.apiKey(['interactions:write']), fileName: 'pos.csv' },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      status: 'success',
      rows_accepted: 4,
      rows_rejected: 1,
      statistics: { unique_users: 3, interaction_types: { purchase: 3, refund: 1 } },
    });
    expect(res.body.validation_errors[0]).toMatchObject({ row: 6, field: 'email', code: 'MISSING_USER' });

    const lookup = async (q: string, token = A.ownerToken) => t.request('GET', `/api/v1/profiles/lookup?${q}`, { token });
    const ann = await lookup('email=ann@shop.test');
    expect(ann.status).toBe(200);
    const profile = (await t.request('GET', `/api/v1/profiles/${ann.body.id}`, { token: A.ownerToken })).body;
    expect(profile).toMatchObject({
      identifiers: { user_id: 'web-42', email: 'ann@shop.test' },
      total_orders: 1,
      lifetime_value_minor: '1200',
      currency: 'GBP',
    });
    expect(profile.channels).toEqual(expect.arrayContaining(['api', 'pos']));
    // The phone-only shopper: loyalty card and phone on one profile; the return is a refund netted off.
    const phone = await lookup(`phone=${encodeURIComponent('+447700900123')}`);
    expect(phone.status).toBe(200);
    expect((await lookup('loyalty_id=L-77')).body.id).toBe(phone.body.id);
    const shopper = (await t.request('GET', `/api/v1/profiles/${phone.body.id}`, { token: A.ownerToken })).body;
    expect(shopper).toMatchObject({ total_orders: 1, lifetime_value_minor: '150' });
    // E-mails and phones are identity data, not event metadata.
    const stored = await queryRows<{ metadata: Record<string, unknown> | null; source: string }>(
      t.database.db,
      sql`SELECT metadata, source FROM interactions WHERE tenant_id = ${A.tenantId} AND source = 'pos'`,
    );
    expect(stored).toHaveLength(4);
    expect(JSON.stringify(stored)).not.toMatch(/ann@|7700/i);
    // Another tenant never sees these customers.
    expect((await lookup('email=ann@shop.test', B.ownerToken)).status).toBe(404);
    expect(
      (await upload('interactions', pos, { source: 'Point of Sale!' }, { token: await A.apiKey(['interactions:write']) })).status,
    ).toBe(400);
  });
});

describe('bad input', () => {
  it('an empty file is refused', async () => {
    const res = await upload('items', '');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('IMPORT_EMPTY_FILE');
  });

  it('a header without rows is refused', async () => {
    const res = await upload('items', 'item_id,name,price\r\n');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('IMPORT_NO_DATA_ROWS');
  });

  it('a wrong delimiter names the problem', async () => {
    const res = await upload('items', 'item_id;name;price\nA;B;1\n', { delimiter: ',' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('IMPORT_COLUMNS_UNMATCHED');
    expect(res.body.error.message).toContain('is the delimiter "," right?');
  });

  it('an unterminated quote rejects the row it opens on; the rows before are kept', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const res = await upload(
      'items',
      'item_id,name\nU1,Fine\nU2,"never closed\nU3,swallowed\n',
      {},
      { token: await apiKey(['catalog:write']) },
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rows_accepted: 1, rows_rejected: 1 });
    expect(res.body.validation_errors[0]).toMatchObject({ row: 3, code: 'UNTERMINATED_QUOTE' });
    expect((await items(tenantId)).map((i) => i.itemId)).toEqual(['U1']);
  });

  it('ragged rows are rejected one by one', async () => {
    const res = await upload('items', 'item_id,name,price\nR1,One,1\nR2,Two\nR3,Three,3,extra,more\nR4,Four,4\n');
    expect(res.body).toMatchObject({ rows_accepted: 2, rows_rejected: 2 });
    expect(res.body.validation_errors.map((e: { row: number; code: string }) => [e.row, e.code])).toEqual([
      [3, 'RAGGED_ROW'],
      [4, 'RAGGED_ROW'],
    ]);
  });

  it('non-UTF-8 bytes reject the row with a reason', async () => {
    const file = Buffer.concat([Buffer.from('item_id,name\nL1,caf'), Buffer.from([0xe9]), Buffer.from(' latin1\nL2,ok\n')]);
    const res = await upload('items', file);
    expect(res.body).toMatchObject({ rows_accepted: 1, rows_rejected: 1 });
    expect(res.body.validation_errors[0]).toMatchObject({ row: 2, field: 'name', code: 'INVALID_UTF8' });
  });

  it('a 10 MB single field rejects that row only', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const big = 'x'.repeat(10 * 1024 * 1024);
    const res = await upload(
      'items',
      `item_id,name,description\nB1,Big,${big}\nB2,Small,fine\n`,
      {},
      { token: await apiKey(['catalog:write']) },
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rows_accepted: 1, rows_rejected: 1 });
    expect(res.body.validation_errors[0]).toMatchObject({ row: 2, field: 'description', code: 'VALUE_TOO_LONG' });
    expect(res.body.validation_errors[0].value.length).toBeLessThan(300);
    expect((await items(tenantId)).map((i) => i.itemId)).toEqual(['B2']);
  });

  it('formula-injection text is stored verbatim and escaped in the error report', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const evil = "=cmd|' /C calc'!A0";
    const file = `item_id,name,price\nF1,"${evil}",1\n"@SUM(A1)","+bad",=1+1\n`;
    const res = await upload('items', file, {}, { token: await apiKey(['catalog:write']) });
    expect(res.body).toMatchObject({ rows_accepted: 1, rows_rejected: 1 });
    expect((await items(tenantId))[0]).toMatchObject({ itemId: 'F1', name: evil });
    const report = await t.request('GET', `/api/v1/imports/${res.body.import_id}/errors?format=csv`, { token: tenant.ownerToken });
    expect(report.status).toBe(404); // another tenant's owner
    const owner = await t.request('GET', `/api/v1/imports/${res.body.import_id}/errors`, { token: await apiKey(['catalog:write']) });
    expect(owner.status).toBe(200);
    expect(owner.headers['content-type']).toContain('text/csv');
    const lines = String(owner.body).trim().split('\n');
    expect(lines[0]).toBe('row,field,code,severity,reason,value,item_id');
    expect(lines[1]).toBe(`3,price,PRICE_NOT_A_NUMBER,error,"price ""=1+1"" is not a number",'=1+1,'@SUM(A1)`);
  });

  it('negative and non-numeric prices are rejected; prices are exact minor units', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const res = await upload(
      'items',
      'item_id,name,price\nP1,A,-1.00\nP2,B,abc\nP3,C,0.30\nP4,D,"$1,234,567.89"\nP5,E,90071992547409.93\n',
      {},
      { token: await apiKey(['catalog:write']) },
    );
    expect(res.body.validation_errors.map((e: { row: number; code: string }) => [e.row, e.code])).toEqual([
      [2, 'PRICE_NEGATIVE'],
      [3, 'PRICE_NOT_A_NUMBER'],
    ]);
    expect((await items(tenantId)).map((i) => [i.itemId, i.priceMinor])).toEqual([
      ['P3', '30'],
      ['P4', '123456789'],
      ['P5', '9007199254740993'],
    ]);
  });

  it('dates in the future or before 1970 are rejected', async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const res = await upload(
      'interactions',
      `user_id,item_id,type,timestamp\nu1,i1,view,${future}\nu1,i1,view,1969-12-31T23:59:59Z\nu1,i1,view,yesterday\nu1,i1,view,2024-02-30\nu1,i1,teleport,2024-01-01\nu1,i1,view,1700000000\n`,
    );
    expect(res.body.rows_accepted).toBe(1);
    expect(res.body.validation_errors.map((e: { row: number; code: string }) => [e.row, e.code])).toEqual([
      [2, 'TIMESTAMP_IN_FUTURE'],
      [3, 'TIMESTAMP_BEFORE_1970'],
      [4, 'TIMESTAMP_INVALID'],
      [5, 'TIMESTAMP_INVALID'],
      [6, 'UNKNOWN_TYPE'],
    ]);
  });

  it('ids beyond 2^53 stay exact, in CSV and in JSON numbers', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const key = await apiKey(['catalog:write']);
    await upload('items', 'item_id,name\n9007199254740993,Csv\n', {}, { token: key });
    await upload('items', '[{"item_id": 12345678901234567890, "name": "Json"}]', {}, { token: key, fileName: 'big.json' });
    expect((await items(tenantId)).map((i) => i.itemId)).toEqual(['12345678901234567890', '9007199254740993']);
  });

  it('duplicate item_ids with conflicting data: the last row wins and it is reported', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const res = await upload(
      'items',
      'item_id,name,price\nD1,First,1\nD2,Same,2\nD1,Second,3\nD2,Same,2\n',
      {},
      { token: await apiKey(['catalog:write']) },
    );
    expect(res.body).toMatchObject({ rows_accepted: 4, rows_rejected: 0, warnings: 1 });
    expect(res.body.validation_errors).toEqual([
      expect.objectContaining({ row: 4, field: 'item_id', code: 'DUPLICATE_ITEM_ID', severity: 'warning', item_id: 'D1' }),
    ]);
    expect((await items(tenantId)).map((i) => [i.itemId, i.name, i.priceMinor])).toEqual([
      ['D1', 'Second', '300'],
      ['D2', 'Same', '200'],
    ]);
  });

  it('the last row wins across batches too (batches are written in file order)', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const body = Array.from({ length: 12_000 }, (_, i) => `K${i},Name ${i}`);
    body[0] = 'DUP,First';
    body[11_999] = 'DUP,Last';
    const res = await upload('items', `item_id,name\n${body.join('\n')}\n`, {}, { token: await apiKey(['catalog:write']) });
    expect(res.body).toMatchObject({ rows_accepted: 12_000, warnings: 1 });
    expect(res.body.validation_errors[0]).toMatchObject({ row: 12_001, code: 'DUPLICATE_ITEM_ID', item_id: 'DUP' });
    const dup = (await items(tenantId)).find((i) => i.itemId === 'DUP');
    expect(dup?.name).toBe('Last');
  });

  it("a file of another tenant's ids only touches the uploader's tenant; imports and reports are isolated", async () => {
    const a = await t.createTenant();
    const b = await t.createTenant();
    const aKey = await a.apiKey(['catalog:write']);
    const bKey = await b.apiKey(['catalog:write']);
    const first = await upload('items', 'item_id,name\nSHARED,A version\n', {}, { token: aKey });
    await upload('items', 'item_id,name\nSHARED,B version\n', {}, { token: bKey });
    expect((await items(a.tenantId)).map((i) => i.name)).toEqual(['A version']);
    expect((await items(b.tenantId)).map((i) => i.name)).toEqual(['B version']);
    const missing = await t.request('GET', '/api/v1/imports/0190e0e0-0000-7000-8000-000000000000', { token: bKey });
    for (const path of [`/api/v1/imports/${first.body.import_id}`, `/api/v1/imports/${first.body.import_id}/errors`]) {
      const other = await t.request('GET', path, { token: bKey });
      expect(other.status).toBe(404);
      expect(other.body.error.code).toBe(missing.body.error.code);
    }
    const list = await t.request('GET', '/api/v1/imports', { token: bKey });
    expect(list.body.data.map((r: { id: string }) => r.id)).not.toContain(first.body.import_id);
    const mismatch = await upload('items', 'item_id,name\nX,Y\n', { tenant_id: a.tenantId }, { token: bKey });
    expect(mismatch.status).toBe(403);
  });

  it('a gzip bomb is refused before anything is written', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const member = gzipSync(Buffer.alloc(8 * 1024 * 1024, 'a'));
    const bomb = Buffer.concat([gzipSync(Buffer.from('item_id,name\nZ1,zip\n')), ...Array.from({ length: 40 }, () => member)]);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const res = await upload('items', bomb, {}, { token: await apiKey(['catalog:write']), fileName: 'bomb.csv.gz' });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('IMPORT_DECOMPRESSED_TOO_LARGE');
    expect(await items(tenantId)).toEqual([]);
  });

  it('a client that disconnects halfway leaves nothing behind and the server stays healthy', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const key = await apiKey(['catalog:write']);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as AddressInfo).port;
    const m = multipart(`item_id,name\n${Array.from({ length: 50_000 }, (_, i) => `H${i},Half ${i}`).join('\n')}\n`);
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/upload/items',
        headers: { authorization: `Bearer ${key}`, 'content-type': m.contentType, 'content-length': m.body.length },
      });
      req.on('error', () => resolve());
      req.write(m.body.subarray(0, Math.floor(m.body.length / 2)), () => {
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 200);
      });
    });
    await new Promise((r) => setTimeout(r, 300));
    expect((await t.request('GET', '/health/live')).status).toBe(200);
    expect(await items(tenantId)).toEqual([]);
    const list = await t.request('GET', '/api/v1/imports', { token: key });
    expect(list.body.data).toEqual([]);
    const after = await upload('items', 'item_id,name\nOK1,fine\n', {}, { token: key });
    expect(after.body.rows_accepted).toBe(1);
  });

  it('unknown upload fields and a missing file are refused by name', async () => {
    const extra = await upload('items', 'item_id,name\nA,B\n', { colour: 'red' });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toContain('colour');
    const none = await upload('items', null, { mode: 'sync' });
    expect(none.body.error.code).toBe('IMPORT_FILE_REQUIRED');
  });
});

describe('import jobs', () => {
  it('mode=async stores the file, runs as a job with progress, and lists it', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const key = await apiKey(['interactions:write']);
    const rows = Array.from(
      { length: 12_000 },
      (_, i) =>
        `u${i % 300},i${i % 97},${i % 10 === 0 ? 'purchase' : 'view'},2024-01-01T00:00:${String(i % 60).padStart(2, '0')}Z,${i % 5 === 0 ? 'x' : ''}`,
    );
    const res = await upload(
      'interactions',
      `user_id,item_id,type,timestamp,rating\n${rows.join('\n')}\n`,
      { mode: 'async' },
      { token: key },
    );
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', progress_url: `/api/v1/imports/${res.body.import_id}` });
    t.jobs.start({ concurrency: 1 });
    const run = await pollUntil(
      'async import',
      () => t.request('GET', res.body.progress_url, { token: key }),
      (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
      { intervalMs: 100 },
    );
    await t.jobs.stop();
    expect(run.body).toMatchObject({
      status: 'succeeded',
      mode: 'async',
      rows_read: 12_000,
      rows_rejected: 2400,
      progress: { fraction: 1 },
    });
    expect(run!.body.validation_errors).toHaveLength(100);
    expect(await interactionCount(tenantId)).toBeGreaterThan(0);
    const nd = await t.request('GET', `/api/v1/imports/${res.body.import_id}/errors?format=ndjson`, { token: key });
    expect(String(nd.body).trim().split('\n')).toHaveLength(2400);
    const list = await t.request('GET', '/api/v1/imports?kind=interactions', { token: key });
    expect(list.body.data[0].id).toBe(res.body.import_id);
  });

  it('data quality summarizes completeness, validity and freshness', async () => {
    const { apiKey, ownerToken } = await t.createTenant();
    await upload('items', 'item_id,name,price\nQ1,One,1\nQ2,Two,\nQ3,,3\n', {}, { token: await apiKey(['catalog:write']) });
    const q = await t.request('GET', '/api/v1/data-quality', { token: ownerToken });
    expect(q.status).toBe(200);
    expect(q.body.completeness).toMatchObject({ items: 2, fields: { name: 100, price: 50 } });
    expect(q.body.data_quality.validity_percent).toBeCloseTo(66.7, 1);
    expect(q.body.data_quality.freshness_hours).toBeLessThan(1);
  });
});
