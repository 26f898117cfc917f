import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryOne } from '../../platform/index.ts';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { startStripeServer, type StripeTestServer } from '../../../test/fakes/stripe-server.ts';

/**
 * Stock reservations with a time-to-live (Saleor's semantics): a cart that starts checkout holds its units; no
 * other cart can add, reserve or buy them until the hold expires or is released; completing turns the hold into
 * the sale. Races for the last unit give one hold or one order, and a clear INSUFFICIENT_STOCK to the other.
 */
let t: TestApp;
let stripe: StripeTestServer;
let offsetMs = 0;
let tenantId: string;
let key: string;
let otherKey: string;
let n = 0;

beforeAll(async () => {
  stripe = await startStripeServer();
  t = await createTestApp({ STRIPE_API_URL: stripe.url }, { clock: () => new Date(Date.now() + offsetMs) });
  const a = await t.createTenant('Reservation store');
  tenantId = a.tenantId;
  key = await a.apiKey(['commerce:write']);
  const b = await t.createTenant('Other reservation store');
  otherKey = await b.apiKey(['commerce:write']);
  const s = await t.request('PUT', '/api/v1/commerce/settings', {
    token: a.ownerToken,
    body: { tax_rate_bp: 0, tax_inclusive: false, shipping_options: [], stripe_secret_key: 'sk_test_reservations' },
  });
  expect(s.status).toBe(200);
}, 60_000);
afterAll(async () => {
  await t?.close();
  await stripe?.close();
});

/** A fresh item with `stock` units, so each test starts from its own shelf. */
async function item(stock: number): Promise<string> {
  const itemId = `item-${++n}`;
  await t.modules.catalog.upsertItems(tenantId, [{ itemId, name: `Item ${n}`, priceMinor: 1000n, currency: 'USD', stock }]);
  return itemId;
}
const add = (user: string, itemId: string, quantity = 1, k = key) =>
  t.request('POST', '/api/v1/cart/items', { token: k, body: { user_id: user, item_id: itemId, quantity } });
const reserve = (body: Record<string, unknown>, k = key) => t.request('POST', '/api/v1/cart/reservation', { token: k, body });
const complete = (cartId: string) =>
  t.request('POST', '/api/v1/cart/complete', { token: key, body: { cart_id: cartId, payment_method: 'pm_card_visa' } });
const stockOf = async (itemId: string) =>
  (await queryOne<{ stock: number }>(t.database.db, sql`SELECT stock FROM items WHERE tenant_id = ${tenantId} AND item_id = ${itemId}`))!
    .stock;

describe('stock reservations', () => {
  it('held units are not sold to others; the holder buys them; stock goes down once', async () => {
    const lamp = await item(1);
    const ann = await add('ann', lamp);
    expect(ann.status).toBe(201);
    const bob = await add('bob', lamp);
    expect(bob.status).toBe(201);
    const held = await reserve({ user_id: 'ann' });
    expect(held.status, JSON.stringify(held.body)).toBe(200);
    expect(held.body.items).toEqual([{ item_id: lamp, quantity: 1 }]);
    expect(Date.parse(held.body.expires_at) - Date.now()).toBeGreaterThan(14 * 60_000);

    // Bob can neither add, hold nor buy the held unit; his cart says so.
    const more = await add('carl', lamp);
    expect(more.body.error.code).toBe('ITEM_UNAVAILABLE');
    const bobHold = await reserve({ user_id: 'bob' });
    expect(bobHold.status).toBe(409);
    expect(bobHold.body.error.code).toBe('INSUFFICIENT_STOCK');
    const bobBuys = await complete(bob.body.id);
    expect(bobBuys.status).toBe(409);
    expect(bobBuys.body.error.code).toBe('INSUFFICIENT_STOCK');

    const annBuys = await complete(ann.body.id);
    expect(annBuys.status, JSON.stringify(annBuys.body)).toBe(201);
    expect(await stockOf(lamp)).toBe(0);
    const left = await queryOne<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM stock_reservations WHERE tenant_id = ${tenantId} AND cart_id = ${ann.body.id}`,
    );
    expect(left!.n).toBe(0);
  });

  it('a hold that expires, or is released, puts the units back on sale', async () => {
    const kettle = await item(1);
    const dan = await add('dan', kettle);
    const eve = await add('eve', kettle);
    expect((await reserve({ cart_id: dan.body.id, ttl_seconds: 60 })).status).toBe(200);
    expect((await complete(eve.body.id)).body.error.code).toBe('INSUFFICIENT_STOCK');
    offsetMs = 61_000;
    try {
      // Expired: Eve holds it now, and Dan's renewed hold is refused.
      expect((await reserve({ cart_id: eve.body.id })).status).toBe(200);
      expect((await reserve({ cart_id: dan.body.id })).body.error.code).toBe('INSUFFICIENT_STOCK');
      // Eve abandons checkout: Dan can hold and buy again at once.
      const released = await t.request('DELETE', `/api/v1/cart/reservation?cart_id=${eve.body.id}`, { token: key });
      expect(released.body).toEqual({ released: 1 });
      expect((await reserve({ cart_id: dan.body.id })).status).toBe(200);
    } finally {
      offsetMs = 0;
    }
  });

  it('two shoppers racing to hold the last unit: one hold, one INSUFFICIENT_STOCK', async () => {
    const last = await item(1);
    const carts = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((u) => add(u, last)));
    const rs = await Promise.all(carts.map((c) => reserve({ cart_id: c.body.id })));
    expect(rs.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
    for (const r of rs.filter((x) => x.status === 409)) expect(r.body.error.code).toBe('INSUFFICIENT_STOCK');
  });

  it('two shoppers racing to buy the last unit: one order, the other INSUFFICIENT_STOCK', async () => {
    const last = await item(1);
    const [a, b] = await Promise.all([add('s1', last), add('s2', last)]);
    const rs = await Promise.all([complete(a.body.id), complete(b.body.id)]);
    expect(rs.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(rs.find((r) => r.status === 409)!.body.error.code).toBe('INSUFFICIENT_STOCK');
    expect(await stockOf(last)).toBe(0);
  });

  it("refuses bad input, an empty cart and another tenant's cart", async () => {
    const mug = await item(5);
    const c = await add('fay', mug);
    for (const body of [
      { cart_id: c.body.id, ttl_seconds: 0 },
      { cart_id: c.body.id, ttl_seconds: 1e12 },
      { cart_id: c.body.id, ttl_seconds: 90.5 },
      { cart_id: c.body.id, ttl_seconds: '900' },
      { cart_id: 'not-a-uuid' },
      { cart_id: c.body.id, extra: 1 },
      { user_id: 'a\u0000b' },
    ])
      expect((await reserve(body)).status, JSON.stringify(body)).toBe(400);
    expect((await reserve({ user_id: 'nobody-has-a-cart' })).body.error.code).toBe('CART_NOT_FOUND');
    expect((await reserve({ cart_id: c.body.id }, otherKey)).status).toBe(404);
    expect((await t.request('DELETE', `/api/v1/cart/reservation?cart_id=${c.body.id}`, { token: otherKey })).status).toBe(404);
    // Holding twice renews, never doubles.
    await reserve({ cart_id: c.body.id });
    await reserve({ cart_id: c.body.id });
    const held = await queryOne<{ q: number }>(
      t.database.db,
      sql`SELECT sum(quantity)::int AS q FROM stock_reservations WHERE tenant_id = ${tenantId} AND item_id = ${mug}`,
    );
    expect(held!.q).toBe(1);
  });
});
