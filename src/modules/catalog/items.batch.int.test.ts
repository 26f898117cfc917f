import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

/** GET /items?item_id=a&item_id=b: one call names a page of products (a timeline, an order), tenant-scoped, bounded. */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Names A');
  B = await t.createTenant('Names B');
  await t.modules.catalog.upsertItems(A.tenantId, [
    { itemId: '85123A', name: 'White hanging heart t-light holder', priceMinor: 255n, currency: 'GBP' },
    { itemId: '71053', name: 'White metal lantern', priceMinor: 339n, currency: 'GBP' },
    { itemId: 'a,b', name: 'Comma id', priceMinor: 100n, currency: 'GBP' },
  ]);
  await t.modules.catalog.upsertItems(B.tenantId, [{ itemId: 'secret-b', name: 'Other store item', priceMinor: 100n, currency: 'GBP' }]);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const names = async (token: string, ids: string[]) => {
  const qs = new URLSearchParams(ids.map((id) => ['item_id', id]));
  const r = await t.request('GET', `/api/v1/items?${qs.toString()}`, { token });
  return {
    status: r.status,
    names: r.status === 200 ? Object.fromEntries(r.body.data.map((i: { item_id: string; name: string }) => [i.item_id, i.name])) : r.body,
  };
};

describe('GET /api/v1/items by a batch of item ids', () => {
  it('names the listed items, one id or many, ids with commas included, unknown ids left out', async () => {
    expect((await names(A.ownerToken, ['71053'])).names).toEqual({ '71053': 'White metal lantern' });
    expect((await names(A.ownerToken, ['85123A', '71053', 'a,b', 'missing', '71053'])).names).toEqual({
      '85123A': 'White hanging heart t-light holder',
      '71053': 'White metal lantern',
      'a,b': 'Comma id',
    });
  });

  it("never names another tenant's item", async () => {
    expect((await names(A.ownerToken, ['secret-b', '71053'])).names).toEqual({ '71053': 'White metal lantern' });
    expect((await names(B.ownerToken, ['71053'])).names).toEqual({});
  });

  it('refuses more than 100 ids, empty, NUL and oversized ids with 400; lone surrogates find nothing', async () => {
    expect(
      (
        await names(
          A.ownerToken,
          Array.from({ length: 101 }, (_, i) => `id-${i}`),
        )
      ).status,
    ).toBe(400);
    expect(
      (
        await names(
          A.ownerToken,
          Array.from({ length: 100 }, (_, i) => `id-${i}`),
        )
      ).status,
    ).toBe(200);
    expect((await names(A.ownerToken, ['71053', ''])).status).toBe(400);
    expect((await names(A.ownerToken, ['a\u0000b'])).status).toBe(400);
    expect((await names(A.ownerToken, ['x'.repeat(256)])).status).toBe(400);
    const lone = await t.request('GET', '/api/v1/items?item_id=%ED%A0%80', { token: A.ownerToken });
    expect(lone.status).toBe(200);
    expect(lone.body.data).toEqual([]);
  });

  it('answers concurrent batches alike', async () => {
    const all = await Promise.all(Array.from({ length: 5 }, () => names(A.ownerToken, ['85123A', '71053'])));
    expect(new Set(all.map((r) => JSON.stringify(r.names))).size).toBe(1);
  });
});
