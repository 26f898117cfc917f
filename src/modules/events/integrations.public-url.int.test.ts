import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

/**
 * The public base URL of webhook addresses (issue 20): the dashboard's address (127.0.0.1) is no address a
 * store can call; a tenant sets its public one, which webhook URLs then use, with a warning until it looks public.
 */
let t: TestApp;
let a: Awaited<ReturnType<TestApp['createTenant']>>;
beforeAll(async () => {
  t = await createTestApp();
  a = await t.createTenant('Public URL store');
});
afterAll(async () => {
  await t?.close();
});

const put = (url: unknown, token = a.ownerToken) => t.request('PUT', '/api/v1/integrations/public-url', { token, body: { url } });

describe('public base URL', () => {
  it('defaults to the request with a warning; a tenant setting wins and webhook URLs use it', async () => {
    const before = await t.request('GET', '/api/v1/integrations/public-url', { token: a.ownerToken });
    expect(before.status).toBe(200);
    expect(before.body.source).toBe('request');
    const set = await put('https://shop-hooks.example.com/');
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ url: 'https://shop-hooks.example.com', source: 'tenant_setting', warning: null });
    const conn = await t.request('POST', '/api/v1/integrations', {
      token: a.ownerToken,
      body: { type: 'shopify', name: 'Shop', settings: { shop_domain: 'public-url.myshopify.com' } },
    });
    expect(conn.status).toBe(201);
    expect(conn.body.webhook_url).toBe(`https://shop-hooks.example.com/api/v1/webhooks/shopify/${conn.body.id}`);
    const list = await t.request('GET', '/api/v1/integrations', { token: a.ownerToken });
    expect(list.body.data[0].webhook_url.startsWith('https://shop-hooks.example.com/')).toBe(true);
  });

  it('a local or private address is kept but warned about; clearing returns to the default', async () => {
    const local = await put('http://127.0.0.1:8177');
    expect(local.body.warning).toContain('cannot deliver');
    const cleared = await put(null);
    expect(cleared.body.source).toBe('request');
    expect(cleared.body.tenant_setting).toBeNull();
  });

  it('malformed, hostile and oversized values are refused; a key without integrations:manage cannot set it; tenants do not see each other', async () => {
    for (const bad of ['ftp://x.example', 'javascript:alert(1)', 'https://u:p@x.example', 'x'.repeat(501), 12, { a: 1 }]) {
      expect((await put(bad)).status, String(bad).slice(0, 20)).toBe(400);
    }
    expect((await put('https://x.example/\u0000')).status).toBe(400);
    const reader = await a.apiKey(['catalog:read']);
    expect((await put('https://evil.example', reader)).status).toBe(403);
    await put('https://a-store.example.com');
    const b = await t.createTenant('Other URL store');
    const other = await t.request('GET', '/api/v1/integrations/public-url', { token: b.ownerToken });
    expect(other.body.tenant_setting).toBeNull();
    const both = await Promise.all([put('https://one.example.com'), put('https://two.example.com')]);
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    const after = await t.request('GET', '/api/v1/integrations/public-url', { token: a.ownerToken });
    expect(['https://one.example.com', 'https://two.example.com']).toContain(after.body.tenant_setting);
  });
});
