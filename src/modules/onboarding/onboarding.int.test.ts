import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

/**
 * The first-run checklist (issue 20) ticks itself from the tenant's own data: each step turns done when its
 * fact appears, through the module that owns it, and never from another tenant's data.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Checklist store');
  B = await t.createTenant('Other store');
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const checklist = async (token: string) => {
  const r = await t.request('GET', '/api/v1/onboarding', { token });
  expect(r.status).toBe(200);
  return r.body as { steps: { key: string; done: boolean; count: number | null }[]; completed: number; next: string | null };
};
const done = (c: Awaited<ReturnType<typeof checklist>>) => c.steps.filter((s) => s.done).map((s) => s.key);

describe('GET /api/v1/onboarding', () => {
  it('lists the six steps, none done, for a new tenant', async () => {
    const c = await checklist(A.ownerToken);
    expect(c.steps.map((s) => s.key)).toEqual([
      'import_catalog',
      'import_orders',
      'train_model',
      'create_api_key',
      'connect_store',
      'install_snippet',
    ]);
    expect(c).toMatchObject({ completed: 0, next: 'import_catalog' });
  });

  it('ticks catalog, orders, key, store and snippet as their data arrives, and B sees none of it', async () => {
    await t.modules.catalog.upsertItems(A.tenantId, [
      { itemId: '85123A', name: 'White hanging heart', priceMinor: 255n, currency: 'GBP' },
      { itemId: '22633', name: 'Hand warmer', priceMinor: 185n, currency: 'GBP' },
    ]);
    let c = await checklist(A.ownerToken);
    expect(done(c)).toEqual(['import_catalog']);
    expect(c.steps[0]).toEqual({ key: 'import_catalog', done: true, count: 2 });
    expect(c.next).toBe('import_orders');

    const key = await A.apiKey(['interactions:write']);
    c = await checklist(A.ownerToken);
    expect(done(c)).toEqual(['import_catalog', 'create_api_key']);

    const view = await t.request('POST', '/api/v1/interactions', {
      token: key,
      body: { user_id: '17850', item_id: '85123A', interaction_type: 'view' },
    });
    expect(view.status).toBeLessThan(300);
    expect(done(await checklist(A.ownerToken))).not.toContain('import_orders'); // a view is not an order
    const buy = await t.request('POST', '/api/v1/interactions', {
      token: key,
      body: { user_id: '17850', item_id: '85123A', interaction_type: 'purchase', metadata: { price: '2.55', currency: 'GBP' } },
    });
    expect(buy.status).toBeLessThan(300);

    const store = await t.request('POST', '/api/v1/integrations', {
      token: A.ownerToken,
      body: { type: 'woocommerce', name: 'Woo', secret: 'wc-signing-secret-1' },
    });
    expect(store.status).toBe(201);
    const session = await t.request('POST', '/api/v1/analytics/session/start', { token: key, body: { anonymous_id: 'a-1' } });
    expect(session.status).toBe(201);

    c = await checklist(A.ownerToken);
    expect(done(c)).toEqual(['import_catalog', 'import_orders', 'create_api_key', 'connect_store', 'install_snippet']);
    expect(c).toMatchObject({ completed: 5, next: 'train_model' });

    const other = await checklist(B.ownerToken);
    expect(other).toMatchObject({ completed: 0, next: 'import_catalog' });
  });

  it('unticks a step whose data is gone (the only key revoked)', async () => {
    const keys = await t.request('GET', '/api/v1/api-keys', { token: A.ownerToken });
    for (const k of keys.body.data ?? keys.body) {
      expect((await t.request('DELETE', `/api/v1/api-keys/${k.id}`, { token: A.ownerToken })).status).toBeLessThan(300);
    }
    expect(done(await checklist(A.ownerToken))).not.toContain('create_api_key');
  });

  it('answers any member, refuses no credential and hostile query strings', async () => {
    expect((await t.request('GET', '/api/v1/onboarding')).status).toBe(401);
    expect((await t.request('GET', '/api/v1/onboarding?x=%00', { token: A.ownerToken })).status).toBe(400);
    expect((await t.request('GET', `/api/v1/onboarding?next=${'a'.repeat(10_000)}`, { token: A.ownerToken })).status).toBe(400);
    const many = await Promise.all(Array.from({ length: 8 }, () => checklist(B.ownerToken)));
    expect(new Set(many.map((c) => JSON.stringify(c))).size).toBe(1);
  });
});
