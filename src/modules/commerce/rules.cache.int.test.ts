import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../platform/index.ts';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

/** The per-tenant rules cache: used on every cart read, dropped on a change here, reloaded on another process's change. */
let t: TestApp;
let tenantId: string;
let owner: string;
let key: string;
let otherKey: string;

beforeAll(async () => {
  t = await createTestApp();
  const a = await t.createTenant('Rules store');
  tenantId = a.tenantId;
  owner = a.ownerToken;
  key = await a.apiKey(['commerce:write']);
  const b = await t.createTenant('Other rules store');
  otherKey = await b.apiKey(['commerce:write']);
  await t.modules.catalog.upsertItems(tenantId, [{ itemId: 'vase', name: 'Vase', priceMinor: 10_000n, currency: 'EUR', stock: 100 }]);
  await t.modules.catalog.upsertItems(b.tenantId, [{ itemId: 'vase', name: 'Vase', priceMinor: 10_000n, currency: 'EUR', stock: 100 }]);
}, 180_000);
afterAll(async () => {
  await t?.close();
});

const cart = async (user: string, k = key) => (await t.request('GET', `/api/v1/cart?user_id=${user}`, { token: k })).body;
/** A promotion written as another server would: straight into the table, with or without the version bump it makes. */
const insertElsewhere = (code: string, bump: boolean) =>
  queryRows(
    t.database.db,
    sql`WITH b AS (UPDATE commerce_settings SET rules_version = rules_version + ${bump ? 1 : 0} WHERE tenant_id = ${tenantId})
        INSERT INTO promotions (tenant_id, id, code, automatic, type, target, allocation, value)
        VALUES (${tenantId}, gen_random_uuid(), ${code}, true, 'percentage', 'items', 'across', 5000)`,
  );

describe('rules cache', () => {
  it('a promotion created or stopped here applies at the next read; another tenant never sees it', async () => {
    await t.request('POST', '/api/v1/cart/items', { token: key, body: { user_id: 'ann', item_id: 'vase' } });
    await t.request('POST', '/api/v1/cart/items', { token: otherKey, body: { user_id: 'ann', item_id: 'vase' } });
    expect((await cart('ann')).discount_total).toBe(0);
    const p = await t.request('POST', '/api/v1/promotions', {
      token: owner,
      body: { automatic: true, type: 'percentage', target: 'items', value: 1000 },
    });
    expect(p.status).toBe(201);
    expect((await cart('ann')).discount_total).toBe(1000);
    expect((await cart('ann', otherKey)).discount_total).toBe(0);
    expect((await t.request('POST', `/api/v1/promotions/${p.body.id}/deactivate`, { token: owner })).status).toBe(200);
    expect((await cart('ann')).discount_total).toBe(0);
  });

  it("another process's change is seen through the rules version; without a bump the cached rules stand", async () => {
    expect((await cart('ann')).discount_total).toBe(0);
    await insertElsewhere(null as unknown as string, false);
    // Cached: the row written without a version bump is not read (the cache is what prices the cart).
    expect((await cart('ann')).discount_total).toBe(0);
    await queryRows(t.database.db, sql`UPDATE commerce_settings SET rules_version = rules_version + 1 WHERE tenant_id = ${tenantId}`);
    expect((await cart('ann')).discount_total).toBe(5000);
    // Writes see it too (the cart change reads the version in its one statement).
    const added = await t.request('POST', '/api/v1/cart/items', { token: key, body: { user_id: 'ann', item_id: 'vase' } });
    expect(added.body).toMatchObject({ subtotal: 20_000, discount_total: 10_000 });
    expect((await cart('ann', otherKey)).discount_total).toBe(0);
  });
});
