import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

let t: TestApp;
let tenantId: string;
let key: string;
let otherKey: string;
let catalogKey: string;

beforeAll(async () => {
  t = await createTestApp();
  const a = await t.createTenant('Cart store');
  tenantId = a.tenantId;
  key = await a.apiKey(['commerce:write']);
  catalogKey = await a.apiKey(['catalog:write']);
  const b = await t.createTenant('Other store');
  otherKey = await b.apiKey(['commerce:write']);
  await t.modules.catalog.upsertItems(tenantId, [
    { itemId: 'tee', name: 'Tee', priceMinor: 2000n, currency: 'USD', stock: 5 },
    { itemId: 'mug', name: 'Mug', priceMinor: 1250n, currency: 'USD' },
    { itemId: 'yen', name: 'Fan', priceMinor: 1500n, currency: 'JPY' },
    { itemId: 'gone', name: 'Gone', priceMinor: 100n, currency: 'USD', availability: 'discontinued' },
  ]);
  await t.modules.catalog.upsertItems(b.tenantId, [{ itemId: 'tee', name: 'Their tee', priceMinor: 1n, currency: 'USD' }]);
}, 60_000);
afterAll(async () => t?.close());

const add = (body: unknown, k = key) => t.request('POST', '/api/v1/cart/items', { token: k, body });
const get = (query: string, k = key) => t.request('GET', `/api/v1/cart?${query}`, { token: k });

describe('seed 000 cart calls', () => {
  it('POST /cart/items creates the shopper cart; GET /cart answers it with Medusa totals in minor units', async () => {
    const r = await add({ user_id: 'u1', item_id: 'tee', quantity: 2 });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ currency_code: 'USD', user_id: 'u1', status: 'active', subtotal: 4000, total: 4000, tax_total: 0 });
    const again = await add({ user_id: 'u1', product_id: 'mug' });
    expect(again.body.id).toBe(r.body.id);
    const g = await get('user_id=u1');
    expect(g.status).toBe(200);
    expect(g.body.items.map((i: any) => [i.item_id, i.quantity, i.unit_price])).toEqual([
      ['tee', 2, 2000],
      ['mug', 1, 1250],
    ]);
    expect(g.body.total).toBe(5250);
    expect(g.body.notices).toEqual([]);
  });

  it('a shopper without a cart gets an empty one (id null), not an error', async () => {
    const g = await get('anonymous_id=nobody');
    expect(g.status).toBe(200);
    expect(g.body).toMatchObject({ id: null, items: [], total: 0 });
  });

  it('refuses quantity 0, negative, 10^9 and fractions clearly', async () => {
    for (const quantity of [0, -1, 1e9, 1.5, '2']) {
      const r = await add({ user_id: 'u2', item_id: 'mug', quantity });
      expect(r.status, String(quantity)).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain('quantity');
    }
  });

  it('refuses more than the stock (INSUFFICIENT_STOCK), unknown and unavailable items, and a cart in another currency', async () => {
    expect((await add({ user_id: 'u3', item_id: 'tee', quantity: 6 })).body.error.code).toBe('INSUFFICIENT_STOCK');
    expect((await add({ user_id: 'u3', item_id: 'nope' })).status).toBe(404);
    expect((await add({ user_id: 'u3', item_id: 'gone' })).body.error.code).toBe('ITEM_UNAVAILABLE');
    expect((await add({ user_id: 'u3', item_id: 'mug' })).status).toBe(201);
    const yen = await add({ user_id: 'u3', item_id: 'yen' });
    expect(yen.status).toBe(400);
    expect(yen.body.error.code).toBe('CURRENCY_MISMATCH');
    expect((await add({ user_id: 'u3', item_id: 'mug', currency: 'EUR' })).body.error.code).toBe('CURRENCY_MISMATCH');
  });

  it('hostile input: NUL bytes and lone surrogates are refused at the edge; unknown fields named', async () => {
    expect((await add({ user_id: 'u\u0000x', item_id: 'mug' })).status).toBe(400);
    expect(
      (
        await t.request('POST', '/api/v1/cart/items', {
          token: key,
          headers: { 'content-type': 'application/json' },
          body: '{"user_id":"\\ud800","item_id":"mug"}',
        })
      ).status,
    ).toBe(400);
    const extra = await add({ user_id: 'u4', item_id: 'mug', price: 1 });
    expect(extra.status).toBe(400);
  });

  it('on read, reports price changes, savings and items no longer available, once', async () => {
    await add({ anonymous_id: 'a-refresh', item_id: 'tee' });
    await add({ anonymous_id: 'a-refresh', item_id: 'mug', quantity: 2 });
    await t.modules.catalog.upsertItems(tenantId, [
      { itemId: 'tee', name: 'Tee', priceMinor: 2000n, salePriceMinor: 1500n, currency: 'USD', stock: 5 },
      { itemId: 'mug', name: 'Mug', priceMinor: 1250n, currency: 'USD', availability: 'out_of_stock' },
    ]);
    const g = await get('anonymous_id=a-refresh');
    const byType = Object.fromEntries(g.body.notices.map((n: any) => [n.type, n]));
    expect(byType.savings_available).toMatchObject({ item_id: 'tee', previous_unit_price: 2000, unit_price: 1500 });
    expect(byType.savings_available.message).toContain('you save $5.00');
    expect(byType.no_longer_available).toMatchObject({ item_id: 'mug' });
    expect(g.body.items.find((i: any) => i.item_id === 'mug')).toMatchObject({ available: false, totals: null });
    expect(g.body.total).toBe(1500);
    expect((await get('anonymous_id=a-refresh')).body.notices).toEqual([]);
    // A price rise is a price_changed notice; back in stock is reported too.
    await t.modules.catalog.upsertItems(tenantId, [
      { itemId: 'tee', name: 'Tee', priceMinor: 2500n, currency: 'USD', stock: 5 },
      { itemId: 'mug', name: 'Mug', priceMinor: 1250n, currency: 'USD' },
    ]);
    const types = (await get('anonymous_id=a-refresh')).body.notices.map((n: any) => n.type).sort();
    expect(types).toEqual(['back_in_stock', 'price_changed']);
  });

  it('an item deleted from the catalog while in the cart: reported no longer available, out of the totals; adding it again is ITEM_NOT_FOUND', async () => {
    await t.modules.catalog.upsertItems(tenantId, [{ itemId: 'lamp-del', name: 'Lamp', priceMinor: 3000n, currency: 'USD' }]);
    await add({ anonymous_id: 'a-deleted', item_id: 'tee' });
    await add({ anonymous_id: 'a-deleted', item_id: 'lamp-del', quantity: 2 });
    expect((await t.request('DELETE', '/api/v1/items/lamp-del', { token: catalogKey })).status).toBe(204);
    const g = await get('anonymous_id=a-deleted');
    expect(g.status).toBe(200);
    expect(g.body.notices.map((n: any) => [n.type, n.item_id])).toEqual([['no_longer_available', 'lamp-del']]);
    expect(g.body.items.find((i: any) => i.item_id === 'lamp-del')).toMatchObject({ available: false, totals: null });
    expect(g.body.total).toBe(g.body.items.find((i: any) => i.item_id === 'tee').totals.total);
    // Said once; the line stays (the shopper removes it), and the item cannot be added again.
    expect((await get('anonymous_id=a-deleted')).body.notices).toEqual([]);
    const again = await add({ anonymous_id: 'a-deleted', item_id: 'lamp-del' });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('ITEM_NOT_FOUND');
  });

  it('update and remove lines; a line of another cart answers 404', async () => {
    const c = (await add({ user_id: 'u5', item_id: 'mug' })).body;
    const line = c.items[0].id;
    const u = await t.request('PATCH', `/api/v1/cart/items/${line}`, { token: key, body: { cart_id: c.id, quantity: 3 } });
    expect(u.status).toBe(200);
    expect(u.body.items[0].quantity).toBe(3);
    expect((await t.request('PATCH', `/api/v1/cart/items/${line}`, { token: key, body: { cart_id: c.id, quantity: 0 } })).status).toBe(400);
    const other = (await add({ user_id: 'u6', item_id: 'mug' })).body;
    expect((await t.request('DELETE', `/api/v1/cart/items/${line}?cart_id=${other.id}`, { token: key })).status).toBe(404);
    const d = await t.request('DELETE', `/api/v1/cart/items/${line}?cart_id=${c.id}`, { token: key });
    expect(d.status).toBe(200);
    expect(d.body.items).toEqual([]);
  });

  it('merges the anonymous cart into the customer cart on sign-in, quantities added, once', async () => {
    await add({ anonymous_id: 'anon-m', item_id: 'mug', quantity: 2 });
    await add({ anonymous_id: 'anon-m', item_id: 'tee' });
    await add({ user_id: 'cust-m', item_id: 'mug' });
    const m = await t.request('POST', '/api/v1/cart/merge', { token: key, body: { anonymous_id: 'anon-m', user_id: 'cust-m' } });
    expect(m.status).toBe(200);
    expect(m.body.items.map((i: any) => [i.item_id, i.quantity]).sort()).toEqual([
      ['mug', 3],
      ['tee', 1],
    ]);
    const again = await t.request('POST', '/api/v1/cart/merge', { token: key, body: { anonymous_id: 'anon-m', user_id: 'cust-m' } });
    expect(again.body.items.find((i: any) => i.item_id === 'mug').quantity).toBe(3);
    expect((await get('anonymous_id=anon-m')).body.id).toBeNull();
    // Anonymous cart with no customer cart: it becomes the customer's.
    const solo = (await add({ anonymous_id: 'anon-solo', item_id: 'mug' })).body;
    const adopt = await t.request('POST', '/api/v1/cart/merge', { token: key, body: { anonymous_id: 'anon-solo', user_id: 'cust-solo' } });
    expect(adopt.body).toMatchObject({ id: solo.id, user_id: 'cust-solo' });
  });

  it('concurrent first adds make one cart', async () => {
    const rs = await Promise.all(Array.from({ length: 10 }, () => add({ anonymous_id: 'racer', item_id: 'mug' })));
    expect(rs.every((r) => r.status === 201)).toBe(true);
    expect(new Set(rs.map((r) => r.body.id)).size).toBe(1);
    expect((await get('anonymous_id=racer')).body.items[0].quantity).toBe(10);
  });
});

describe('tenant isolation', () => {
  it("another tenant cannot see, change or count this tenant's carts", async () => {
    const mine = (await add({ user_id: 'iso', item_id: 'mug' })).body;
    const g = await get(`cart_id=${mine.id}`, otherKey);
    expect(g.status).toBe(404);
    expect(g.body.error.code).toBe('CART_NOT_FOUND');
    expect((await get('user_id=iso', otherKey)).body).toMatchObject({ id: null, items: [] });
    const line = mine.items[0].id;
    expect((await t.request('DELETE', `/api/v1/cart/items/${line}?cart_id=${mine.id}`, { token: otherKey })).status).toBe(404);
    // Their catalog's "tee" is theirs: the same item id in our tenant keeps our price.
    const ours = (await add({ user_id: 'iso', item_id: 'tee' })).body;
    expect(ours.items.find((i: any) => i.item_id === 'tee').unit_price).not.toBe(1);
  });

  it('requires the commerce:write scope', async () => {
    const a = await t.createTenant('Scoped');
    const readKey = await a.apiKey(['catalog:read']);
    expect((await get('user_id=x', readKey)).status).toBe(403);
  });
});
