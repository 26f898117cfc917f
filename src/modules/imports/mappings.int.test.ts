import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, multipartBody, type TestApp } from '../../../test/helpers.ts';

/**
 * Named saved import mappings: a tenant saves a column mapping under a name, lists it, picks it at the next upload
 * (`mapping_id`, the columns the upload names itself win), renames and deletes it. Bad input is a 400 naming the
 * field, racing saves of one name give one mapping, and another tenant can neither see, use, change nor delete it.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
const P = '/api/v1/imports/mappings';
const SUPPLIER = { Artikel: 'item_id', Bezeichnung: 'name', Preis: 'price', 'const:EUR': 'currency', Lager: 'ignore' };
const FILE = 'Artikel;Bezeichnung;Preis;Lager\nS-1;Lampe;12.50;3\nS-2;Tisch;99.00;1\n';

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Mappings A');
  B = await t.createTenant('Mappings B');
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const save = (token: string, body: unknown) => t.request('POST', P, { token, body });
function upload(token: string, fields: Record<string, string>, file = FILE) {
  const m = multipartBody(file, fields, 'supplier.csv');
  return t.request('POST', '/api/v1/upload/items', {
    token,
    body: m.body as unknown as string,
    headers: { 'content-type': m.contentType },
  });
}

describe('saved import mappings', () => {
  it('saves a mapping under a name, lists it by kind, and an upload that picks it imports with it', async () => {
    const created = await save(A.ownerToken, { name: '  Supplier feed ', kind: 'items', mapping: SUPPLIER });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: 'Supplier feed', kind: 'items', mapping: SUPPLIER, anonymous_rows: null });
    const orders = await save(A.ownerToken, {
      name: 'Till export',
      kind: 'interactions',
      mapping: { Kunde: 'user_id', Artikel: 'item_id', Zeit: 'timestamp', 'const:purchase': 'type' },
      anonymous_rows: 'anonymous',
    });
    expect(orders.status).toBe(201);
    expect(orders.body.anonymous_rows).toBe('anonymous');

    const items = await t.request('GET', `${P}?kind=items`, { token: A.ownerToken });
    expect(items.status).toBe(200);
    expect(items.body.data.map((m: { name: string }) => m.name)).toEqual(['Supplier feed']);
    expect((await t.request('GET', P, { token: A.ownerToken })).body.data).toHaveLength(2);

    // Without the mapping the German header has no item_id: the file is refused.
    const plain = await upload(A.ownerToken, {});
    expect(plain.status).toBe(400);
    const picked = await upload(A.ownerToken, { mapping_id: created.body.id });
    expect(picked.status, JSON.stringify(picked.body)).toBe(200);
    expect(picked.body).toMatchObject({ rows_accepted: 2, rows_rejected: 0 });
    const item = await t.request('GET', '/api/v1/items/S-1', { token: A.ownerToken });
    expect(item.body).toMatchObject({ name: 'Lampe', currency: 'EUR' });
    // A column the upload maps itself wins over the saved choice.
    const overridden = await upload(A.ownerToken, { mapping_id: created.body.id, mapping: JSON.stringify({ Bezeichnung: 'description' }) });
    expect(overridden.status).toBe(200);
    // ...and the saved mapping's kind must match the upload's.
    const wrongKind = await upload(A.ownerToken, { mapping_id: orders.body.id });
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.body.error.code).toBe('IMPORT_MAPPING_KIND');
  });

  it('refuses bad input with a 400 that names the problem', async () => {
    const bad: unknown[] = [
      { name: '', kind: 'items', mapping: {} },
      { name: 'x'.repeat(81), kind: 'items', mapping: {} },
      { name: 'Tab\there', kind: 'items', mapping: {} },
      { name: 'No kind', mapping: {} },
      { name: 'Bad kind', kind: 'orders', mapping: {} },
      { name: 'Bad target', kind: 'items', mapping: { Artikel: 'user_id' } },
      { name: 'Bad constant', kind: 'items', mapping: { 'const:x': 'ignore' } },
      { name: 'Not a record', kind: 'items', mapping: ['item_id'] },
      { name: 'Extra', kind: 'items', mapping: {}, tenant_id: B.tenantId },
      { name: 'Too many', kind: 'items', mapping: Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`c${i}`, 'ignore'])) },
    ];
    for (const body of bad) {
      const r = await save(A.ownerToken, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
    const target = await save(A.ownerToken, { name: 'Bad target', kind: 'items', mapping: { Artikel: 'user_id' } });
    expect(target.body.error.code).toBe('IMPORT_MAPPING_INVALID');
    expect(JSON.stringify(target.body.error.details)).toContain('user_id');
    expect(
      (await t.request('PUT', `${P}/not-a-uuid`, { token: A.ownerToken, body: { name: 'x', kind: 'items', mapping: {} } })).status,
    ).toBe(404);
    expect((await upload(A.ownerToken, { mapping_id: 'not-a-uuid' })).status).toBe(404);
    // A credential without imports:write may neither save nor list them.
    const reader = await A.apiKey(['catalog:read']);
    expect((await save(reader, { name: 'Reader', kind: 'items', mapping: {} })).status).toBe(403);
    expect((await t.request('GET', P, { token: reader })).status).toBe(403);
  });

  it('gives one of racing saves of a name the mapping and the others a conflict; a rename onto a taken name is refused', async () => {
    const body = { name: 'Racing', kind: 'items', mapping: { sku: 'item_id' } };
    const res = await Promise.all([0, 1, 2].map(() => save(A.ownerToken, body)));
    expect(res.map((x) => x.status).sort()).toEqual([201, 409, 409]);
    expect(res.find((x) => x.status === 409)!.body.error.code).toBe('IMPORT_MAPPING_NAME_TAKEN');
    // The same name for the other kind is another mapping.
    expect((await save(A.ownerToken, { ...body, kind: 'interactions', mapping: { sku: 'item_id' } })).status).toBe(201);
    const other = await save(A.ownerToken, { ...body, name: 'Racing 2' });
    expect((await t.request('PUT', `${P}/${other.body.id}`, { token: A.ownerToken, body })).status).toBe(409);
    const renamed = await t.request('PUT', `${P}/${other.body.id}`, { token: A.ownerToken, body: { ...body, name: 'Racing two' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('Racing two');
    expect(Date.parse(renamed.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(renamed.body.created_at));
  });

  it("keeps each tenant's mappings its own: another tenant cannot list, use, change or delete them", async () => {
    const mine = await save(A.ownerToken, { name: 'Private', kind: 'items', mapping: SUPPLIER });
    expect(mine.status).toBe(201);
    const listB = await t.request('GET', P, { token: B.ownerToken });
    expect(listB.status).toBe(200);
    expect(listB.body.data).toEqual([]);
    const useB = await upload(B.ownerToken, { mapping_id: mine.body.id });
    expect(useB.status).toBe(404);
    expect(useB.body.error.code).toBe('IMPORT_MAPPING_NOT_FOUND');
    // The refused upload kept no file in B's storage.
    expect((await t.request('GET', '/api/v1/imports/storage', { token: B.ownerToken })).body.files).toBe(0);
    const putB = await t.request('PUT', `${P}/${mine.body.id}`, {
      token: B.ownerToken,
      body: { name: 'Stolen', kind: 'items', mapping: {} },
    });
    expect(putB.status).toBe(404);
    expect((await t.request('DELETE', `${P}/${mine.body.id}`, { token: B.ownerToken })).status).toBe(404);
    // B may use the same name for its own.
    expect((await save(B.ownerToken, { name: 'Private', kind: 'items', mapping: {} })).status).toBe(201);
    // A's is untouched, and A can delete it (once).
    const still = (await t.request('GET', `${P}?kind=items`, { token: A.ownerToken })).body.data.find(
      (m: { id: string }) => m.id === mine.body.id,
    );
    expect(still).toMatchObject({ name: 'Private', mapping: SUPPLIER });
    expect((await t.request('DELETE', `${P}/${mine.body.id}`, { token: A.ownerToken })).status).toBe(204);
    expect((await t.request('DELETE', `${P}/${mine.body.id}`, { token: A.ownerToken })).status).toBe(404);
  });
});
