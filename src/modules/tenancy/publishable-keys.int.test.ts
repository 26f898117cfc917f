import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';

/**
 * Issue 15: publishable keys (pk_live_) are safe to put in a store's pages: collection and serving only, from
 * their allowed origins only, with their own rate limit, rotation; secret keys are refused from other sites' pages.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
const SHOP = 'https://shop-a.test';

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Publishing store');
  B = await t.createTenant('Other store');
});
afterAll(async () => {
  await t?.close();
});

async function createPk(owner: string, body: Record<string, unknown> = {}) {
  return t.request('POST', '/api/v1/api-keys', {
    token: owner,
    body: { name: 'storefront', kind: 'publishable', allowed_origins: [SHOP], ...body },
  });
}
const fromPage = (key: string, origin = SHOP) => ({ authorization: `Bearer ${key}`, origin, 'content-type': 'application/json' });
const countRows = async (tenantId: string, type: string) =>
  Number(
    (
      await queryRows<{ n: string }>(
        t.database.db,
        sql`SELECT count(*)::text AS n FROM interactions WHERE tenant_id = ${tenantId} AND type = ${type}`,
      )
    )[0]!.n,
  );

describe('creating publishable keys', () => {
  it('gives a pk_live_ key with the serving scopes and normalized origins', async () => {
    const r = await createPk(A.ownerToken, { allowed_origins: ['HTTPS://Shop-A.test:443', 'http://localhost:5173/'] });
    expect(r.status).toBe(201);
    expect(r.body.api_key).toMatch(/^pk_live_[A-Za-z0-9]{40}$/);
    expect(r.body.kind).toBe('publishable');
    expect(r.body.scopes.sort()).toEqual(['catalog:read', 'interactions:write', 'recommendations:read']);
    expect(r.body.allowed_origins).toEqual([SHOP, 'http://localhost:5173']);
    expect(r.body.rate_limit_per_minute).toBeGreaterThan(0);
    // Public by design: listed in full for the install snippet (secret keys never are).
    const list = await t.request('GET', '/api/v1/api-keys', { token: A.ownerToken });
    const listed = list.body.data.find((k: { id: string }) => k.id === r.body.id);
    expect(listed.publishable_key).toBe(r.body.api_key);
    await A.apiKey(['catalog:read']);
    const again = await t.request('GET', '/api/v1/api-keys', { token: A.ownerToken });
    for (const k of again.body.data) if (k.kind === 'secret') expect(k.publishable_key).toBeNull();
  });

  it.each([
    [{ scopes: ['catalog:write'] }, 'API_KEY_SCOPE_NOT_PUBLISHABLE'],
    [{ scopes: ['admin'] }, 'API_KEY_SCOPE_NOT_PUBLISHABLE'],
    [{ allowed_origins: undefined }, 'API_KEY_ORIGINS_REQUIRED'],
    [{ allowed_origins: ['https://*.shop.test'] }, 'API_KEY_ORIGIN_INVALID'],
    [{ allowed_origins: ['https://shop.test/cart'] }, 'API_KEY_ORIGIN_INVALID'],
    [{ allowed_origins: ['javascript:alert(1)'] }, 'API_KEY_ORIGIN_INVALID'],
    [{ allowed_origins: ['https://sh\u0000op.test'] }, 'API_KEY_ORIGIN_INVALID'],
    [{ allowed_origins: ['null'] }, 'API_KEY_ORIGIN_INVALID'],
  ])('refuses %j with %s', async (body, code) => {
    const r = await createPk(A.ownerToken, body);
    expect(r.status).toBe(400);
    // A NUL is refused at the JSON edge (UNSAFE_TEXT) before the origin rules see it.
    expect([code, 'UNSAFE_TEXT']).toContain(r.body.error.code);
  });

  it('refuses origins on a secret key, and a secret key without scopes', async () => {
    const withOrigins = await t.request('POST', '/api/v1/api-keys', {
      token: A.ownerToken,
      body: { name: 's', scopes: ['catalog:read'], allowed_origins: [SHOP] },
    });
    expect(withOrigins.status).toBe(400);
    expect(withOrigins.body.error.code).toBe('API_KEY_ORIGINS_NOT_ALLOWED');
    const noScopes = await t.request('POST', '/api/v1/api-keys', { token: A.ownerToken, body: { name: 's' } });
    expect(noScopes.status).toBe(400);
  });
});

describe('using a publishable key', () => {
  let pk: string;
  beforeAll(async () => {
    pk = (await createPk(A.ownerToken)).body.api_key;
  });

  it("runs seed 003's widget calls unchanged from an allowed origin, with CORS headers for it", async () => {
    const before = await countRows(A.tenantId, 'recommendations_shown');
    const shown = await t.app.inject({
      method: 'POST',
      url: '/api/v1/interactions',
      headers: fromPage(pk),
      payload: { user_id: 'user_john', item_id: null, interaction_type: 'recommendations_shown', timestamp: new Date().toISOString() },
    });
    expect(shown.statusCode).toBeLessThan(300);
    expect(shown.headers['access-control-allow-origin']).toBe(SHOP);
    expect(shown.headers.vary).toContain('Origin');
    expect(await countRows(A.tenantId, 'recommendations_shown')).toBe(before + 1);

    const recs = await t.app.inject({
      method: 'POST',
      url: '/api/v1/recommendations',
      headers: fromPage(pk),
      payload: { user_id: 'user_john', count: 10, context: { page: 'homepage', device: 'desktop' } },
    });
    expect(recs.statusCode).not.toBe(401);
    expect(recs.statusCode).not.toBe(403);
    const search = await t.app.inject({ method: 'GET', url: '/api/v1/items/search?q=headphones', headers: fromPage(pk) });
    expect(search.statusCode).toBe(200);
  });

  it('answers the CORS preflight without granting anything', async () => {
    const r = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/interactions',
      headers: { origin: SHOP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(r.statusCode).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe(SHOP);
    expect(String(r.headers['access-control-allow-headers'])).toContain('authorization');
  });

  it('is refused from an origin not on its list, and without an Origin', async () => {
    const body = { user_id: 'u1', item_id: 'i1', interaction_type: 'view' };
    const other = await t.app.inject({
      method: 'POST',
      url: '/api/v1/interactions',
      headers: fromPage(pk, 'https://evil.test'),
      payload: body,
    });
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('ORIGIN_NOT_ALLOWED');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const lookalike = await t.app.inject({
      method: 'POST',
      url: '/api/v1/interactions',
      headers: fromPage(pk, 'https://shop-a.test.evil.test'),
      payload: body,
    });
    expect(lookalike.statusCode).toBe(403);
    const none = await t.app.inject({
      method: 'POST',
      url: '/api/v1/interactions',
      headers: { authorization: `Bearer ${pk}`, 'content-type': 'application/json' },
      payload: body,
    });
    expect(none.statusCode).toBe(403);
    expect(none.json().error.code).toBe('ORIGIN_NOT_ALLOWED');
  });

  it.each([
    ['POST', '/api/v1/items', { item_id: 'x', name: 'X' }],
    ['POST', '/api/v1/items/bulk', { items: [] }],
    ['POST', '/api/v1/upload/items', undefined],
    ['POST', '/api/v1/upload/interactions', undefined],
    ['POST', '/api/v1/train', {}],
    ['GET', '/api/v1/profiles', undefined],
    ['GET', '/api/v1/profiles/lookup?user_id=user_john', undefined],
    // GET /api/v1/items[/:item_id] are a storefront's catalog pages: open to site keys since the storefront moved to one.
    ['GET', '/api/v1/orders', undefined],
    ['GET', '/api/v1/api-keys', undefined],
  ])('cannot %s %s (upload, train, read profiles, manage)', async (method, url, body) => {
    const r = await t.app.inject({ method: method as 'GET', url, headers: fromPage(pk), ...(body ? { payload: body } : {}) });
    expect(r.statusCode).toBe(403);
    expect(['PUBLISHABLE_KEY_NOT_ALLOWED', 'USER_SESSION_REQUIRED']).toContain(r.json().error.code);
  });

  it("never reaches another tenant's data", async () => {
    const viaHeader = await t.app.inject({
      method: 'POST',
      url: '/api/v1/interactions',
      headers: { ...fromPage(pk), 'x-tenant-id': B.tenantId },
      payload: { user_id: 'u1', item_id: 'i1', interaction_type: 'view' },
    });
    expect(viaHeader.statusCode).toBe(404);
    const viaPath = await t.app.inject({
      method: 'GET',
      url: `/api/v1/tenants/${B.tenantId}/inventory/search?q=x`,
      headers: fromPage(pk),
    });
    expect(viaPath.statusCode).toBe(404);
    // B's own pk for the same origin writes to B only.
    const pkB = (await createPk(B.ownerToken)).body.api_key;
    const beforeA = await countRows(A.tenantId, 'like');
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/v1/interactions',
      headers: fromPage(pkB),
      payload: { user_id: 'u1', item_id: 'i1', interaction_type: 'like' },
    });
    expect(r.statusCode).toBeLessThan(300);
    expect(await countRows(B.tenantId, 'like')).toBe(1);
    expect(await countRows(A.tenantId, 'like')).toBe(beforeA);
  });

  it('delivers sendBeacon batches (text/plain, key in the URL) exactly once by message id', async () => {
    const before = await countRows(A.tenantId, 'add_to_cart');
    const payload = JSON.stringify({
      batch: Array.from({ length: 5 }, (_, i) => ({
        type: 'track',
        event: 'Product Added',
        messageId: `beacon-${i}`,
        anonymousId: 'anon-1',
        properties: { product_id: `p${i}` },
      })),
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await t.app.inject({
        method: 'POST',
        url: `/v1/batch?write_key=${pk}`,
        headers: { origin: SHOP, 'content-type': 'text/plain;charset=UTF-8' },
        payload,
      });
      expect(r.statusCode).toBe(200);
      expect(r.json().accepted).toBe(5);
    }
    expect(await countRows(A.tenantId, 'add_to_cart')).toBe(before + 5);
    // The install page's live check sees them, and only in their own tenant.
    const mine = await t.request('GET', '/api/v1/interactions/arrivals?source=segment&minutes=10', { token: A.ownerToken });
    expect(mine.status).toBe(200);
    expect(mine.body.count).toBeGreaterThanOrEqual(5);
    expect(mine.body.latest[0].type).toBe('add_to_cart');
    const theirs = await t.request('GET', '/api/v1/interactions/arrivals?source=segment', { token: B.ownerToken });
    expect(theirs.body.count).toBe(0);
    expect((await t.request('GET', '/api/v1/interactions/arrivals?minutes=0', { token: A.ownerToken })).status).toBe(400);
    const deep = await t.app.inject({
      method: 'POST',
      url: `/v1/batch?write_key=${pk}`,
      headers: { origin: SHOP, 'content-type': 'text/plain' },
      payload: `${'['.repeat(100)}${']'.repeat(100)}`,
    });
    expect(deep.statusCode).toBe(400);
  });

  it('takes only publishable keys from the URL', async () => {
    const sk = await A.apiKey(['interactions:write']);
    const r = await t.app.inject({
      method: 'POST',
      url: `/v1/batch?write_key=${sk}`,
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ batch: [] }),
    });
    expect(r.statusCode).toBe(401);
  });
});

describe('secret keys in browsers', () => {
  it('are refused from another site, accepted from servers and from this server', async () => {
    const sk = await A.apiKey(['interactions:write']);
    const body = { user_id: 'u1', item_id: 'i1', interaction_type: 'view' };
    const page = await t.app.inject({ method: 'POST', url: '/api/v1/interactions', headers: fromPage(sk), payload: body });
    expect(page.statusCode).toBe(403);
    expect(page.json().error.code).toBe('SECRET_KEY_IN_BROWSER');
    const server = await t.app.inject({
      method: 'POST',
      url: '/api/v1/interactions',
      headers: { authorization: `Bearer ${sk}`, 'content-type': 'application/json' },
      payload: body,
    });
    expect(server.statusCode).toBeLessThan(300);
    const docs = await t.app.inject({
      method: 'POST',
      url: '/api/v1/interactions',
      headers: { ...fromPage(sk, 'http://localhost:80'), host: 'localhost:80' },
      payload: body,
    });
    expect(docs.statusCode).toBeLessThan(300);
  });
});

describe('managing publishable keys', () => {
  it('edits origins with immediate effect, and refuses another tenant editing them', async () => {
    const created = (await createPk(A.ownerToken)).body;
    const send = (origin: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/interactions',
        headers: fromPage(created.api_key, origin),
        payload: { user_id: 'u1', item_id: 'i1', interaction_type: 'view' },
      });
    expect((await send(SHOP)).statusCode).toBeLessThan(300);
    const other = await t.request('PATCH', `/api/v1/api-keys/${created.id}`, {
      token: B.ownerToken,
      body: { allowed_origins: ['https://b.test'] },
    });
    expect(other.status).toBe(404);
    const patched = await t.request('PATCH', `/api/v1/api-keys/${created.id}`, {
      token: A.ownerToken,
      body: { allowed_origins: ['https://new-shop.test'] },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.allowed_origins).toEqual(['https://new-shop.test']);
    expect((await send(SHOP)).statusCode).toBe(403);
    expect((await send('https://new-shop.test')).statusCode).toBeLessThan(300);
  });

  it("limits a key's own rate", async () => {
    const created = (await createPk(A.ownerToken, { rate_limit_per_minute: 2 })).body;
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/api/v1/interactions',
        headers: fromPage(created.api_key),
        payload: { user_id: 'u1', item_id: `i${i}`, interaction_type: 'view' },
      });
      statuses.push(r.statusCode);
      if (r.statusCode === 429) expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(statuses.slice(0, 2).every((s) => s < 300)).toBe(true);
    expect(statuses[2]).toBe(429);
  });

  it('rotates: the new key works at once, the old one until its grace ends', async () => {
    const created = (await createPk(A.ownerToken)).body;
    const send = (key: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/interactions',
        headers: fromPage(key),
        payload: { user_id: 'u1', item_id: 'i1', interaction_type: 'view' },
      });
    const graced = await t.request('POST', `/api/v1/api-keys/${created.id}/rotate`, { token: A.ownerToken, body: {} });
    expect(graced.status).toBe(201);
    expect(graced.body.api_key).toMatch(/^pk_live_/);
    expect(graced.body.allowed_origins).toEqual([SHOP]);
    expect(graced.body.previous.expires_at).not.toBeNull();
    expect((await send(created.api_key)).statusCode).toBeLessThan(300);
    expect((await send(graced.body.api_key)).statusCode).toBeLessThan(300);

    const now = await t.request('POST', `/api/v1/api-keys/${graced.body.id}/rotate`, { token: A.ownerToken, body: { grace_seconds: 0 } });
    expect(now.status).toBe(201);
    const old = await send(graced.body.api_key);
    expect(old.statusCode).toBe(401);
    expect(old.json().error.code).toBe('API_KEY_EXPIRED');
    expect((await send(now.body.api_key)).statusCode).toBeLessThan(300);
    const foreign = await t.request('POST', `/api/v1/api-keys/${now.body.id}/rotate`, { token: B.ownerToken, body: {} });
    expect(foreign.status).toBe(404);
  });
});
