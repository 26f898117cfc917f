import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers.ts';

/** The server's default limits (config.ts, seed 004), spelled out: the test helper's are generous. */
const DEFAULT_LIMITS = {
  RATE_LIMIT_GLOBAL_PER_MINUTE: '1000',
  RATE_LIMIT_GLOBAL_BURST: '100',
  RATE_LIMIT_TENANT_PER_MINUTE: '100',
  RATE_LIMIT_TENANT_BURST: '20',
  RATE_LIMIT_AUTH_PER_MINUTE: '500',
  RATE_LIMIT_SERVICES: 'auth=500,inventory=1000,feed_jobs=500,business_profile=300,integrations=200,observability=500',
};

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(DEFAULT_LIMITS);
});
afterAll(async () => {
  await t?.close();
});

/** One shopper browsing: search-as-you-type and a recommendation call per page, from the store's backend address. */
async function shopper(key: string, n: number, calls: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < calls; i++) {
    const res =
      i % 2 === 0
        ? await t.request('GET', `/api/v1/items/autocomplete?q=${'snowboard'.slice(0, 1 + (i % 9))}`, { token: key })
        : await t.request('POST', '/api/v1/recommendations', { token: key, body: { user_id: `shopper-${n}`, count: 4 } });
    statuses.push(res.status);
  }
  return statuses;
}

describe('rate limits per route group, with the default limits', () => {
  it('600 autocomplete and recommendation calls from 8 shoppers in a few seconds all answer; a management route still limits', async () => {
    const store = await t.createTenant('Busy store');
    const key = await store.apiKey(['catalog:read', 'recommendations:read']);
    const started = Date.now();
    const all = (await Promise.all(Array.from({ length: 8 }, (_, n) => shopper(key, n, 75)))).flat();
    expect(all).toHaveLength(600);
    expect(all.filter((s) => s === 429)).toHaveLength(0);
    expect(new Set(all)).toEqual(new Set([200]));
    expect(Date.now() - started).toBeLessThan(60_000);

    // The management budget (seed 004: 100 a minute + 20 burst per tenant) is separate and still enforced.
    const management: number[] = [];
    for (let i = 0; i < 130; i++) management.push((await t.request('GET', '/api/v1/tenant', { token: key })).status);
    expect(management.filter((s) => s === 200).length).toBeLessThanOrEqual(120);
    expect(management.at(-1)).toBe(429);
    // ... and spending it does not stop the storefront.
    expect((await t.request('GET', '/api/v1/items/autocomplete?q=s', { token: key })).status).toBe(200);
  });

  it('each group is configurable per tenant in settings.rate_limit', async () => {
    const store = await t.createTenant('Small store');
    const key = await store.apiKey(['catalog:read', 'recommendations:read']);
    const patched = await t.request('PATCH', `/api/v1/admin/tenants/${store.tenantId}`, {
      token: await t.adminToken(),
      body: { settings: { rate_limit: { requests_per_minute: 50, burst: 5, serving: { requests_per_minute: 10, burst: 0 } } } },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const serving: number[] = [];
    let last;
    for (let i = 0; i < 12; i++) {
      last = await t.request('GET', '/api/v1/items/autocomplete?q=s', { token: key });
      serving.push(last.status);
    }
    expect(serving.slice(0, 10)).toEqual(Array(10).fill(200));
    expect(serving.slice(10)).toEqual([429, 429]);
    expect(last!.headers['x-ratelimit-limit']).toBe('10');
    const tenant = await t.request('GET', '/api/v1/tenant', { token: key });
    expect(tenant.status).toBe(200);
    expect(tenant.headers['x-ratelimit-limit']).toBe('50');

    const bad = await t.request('PATCH', `/api/v1/admin/tenants/${store.tenantId}`, {
      token: await t.adminToken(),
      body: { settings: { rate_limit: { ingest: { requests_per_minute: 0 } } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe('settings.rate_limit.ingest.requests_per_minute');
  });

  it("seed 004's per-service budgets: /google/* and /stripe/* share 200 a minute per tenant, public ones per address", async () => {
    const admin = await t.adminToken();
    const a = await t.createTenant('Integrations store');
    const b = await t.createTenant('Neighbour store');
    for (const s of [a, b]) {
      const p = await t.request('PATCH', `/api/v1/admin/tenants/${s.tenantId}`, {
        token: admin,
        body: { settings: { rate_limit: { requests_per_minute: 5000, burst: 0 } } },
      });
      expect(p.status).toBe(200);
    }
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) statuses.push((await t.request('GET', '/google/oauth/status', { token: a.ownerToken })).status);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // Routes outside the family still answer; the other family of the service (/stripe/*) shares the spent budget.
    const over = await t.request('GET', '/api/v1/billing', { token: a.ownerToken });
    expect(over.status).toBe(200);
    const refused = await t.request('POST', '/stripe/checkout', { token: a.ownerToken, body: { plan: 'pro' } });
    expect(refused.status).toBe(429);
    expect(refused.body.error.message).toMatch(/\/google\/\*, \/stripe\/\* routes allow 200 requests a minute per tenant/);
    expect(refused.headers['x-ratelimit-limit']).toBe('200');
    // Another tenant's budget is its own; other services are not touched.
    expect((await t.request('GET', '/google/oauth/status', { token: b.ownerToken })).status).toBe(200);
    expect((await t.request('GET', '/tenant/profile', { token: a.ownerToken })).status).not.toBe(429);
    // Public Stripe deliveries: per client address.
    const hooks: number[] = [];
    for (let i = 0; i < 201; i++)
      hooks.push((await t.request('POST', '/stripe/webhook', { body: '{}', headers: { 'content-type': 'application/json' } })).status);
    expect(hooks.slice(0, 200).every((s) => s === 503)).toBe(true);
    expect(hooks[200]).toBe(429);
  });
});
