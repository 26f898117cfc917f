import { createHmac } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryOne } from '../../platform/index.ts';
import { startShopifyAdminFake, type ShopifyAdminFake } from '../../../test/fakes/shopify-admin.fake.ts';
import { createTestApp, pollUntil, type TestApp } from '../../../test/helpers.ts';

/**
 * Issue 20: a store does not start empty. The backfill reads past products, customers and orders through a local
 * server speaking Shopify's GraphQL Admin API (cursor pages, cost throttling, a 5xx, 401, a missing scope), as a
 * durable job that resumes from its cursor, counts each order once with its webhooks, and leaves hostile rows out.
 */
const TOKEN = 'shpat_test_token_1234';
const SECRET = 'shopify-app-secret-123';
const gid = (type: string, n: number) => ({ id: `gid://shopify/${type}/${n}`, legacyResourceId: String(n) });
const product = (n: number, extra: Record<string, unknown> = {}) => ({
  ...gid('Product', n),
  title: `Lantern ${n}`,
  description: 'A lantern',
  vendor: 'Acme',
  productType: 'Lighting',
  tags: ['home'],
  status: 'ACTIVE',
  handle: `lantern-${n}`,
  onlineStoreUrl: null,
  featuredImage: null,
  variants: { nodes: [{ price: '12.50', sku: `L${n}`, barcode: null, inventoryQuantity: 5 }] },
  ...extra,
});
const customer = (n: number) => ({
  ...gid('Customer', n),
  email: `buyer${n}@example.com`,
  phone: null,
  firstName: 'Ann',
  lastName: `Buyer${n}`,
  createdAt: '2024-01-01T00:00:00Z',
  updatedAt: '2024-01-02T00:00:00Z',
  defaultAddress: { phone: null, countryCodeV2: 'GB' },
});
const order = (n: number, price = '12.50') => ({
  ...gid('Order', 5000 + n),
  name: `#${1000 + n}`,
  createdAt: '2024-03-01T10:00:00Z',
  processedAt: '2024-03-01T10:00:00Z',
  currencyCode: 'USD',
  email: `buyer${(n % 3) + 1}@example.com`,
  phone: null,
  displayFinancialStatus: 'PAID',
  customer: {
    ...gid('Customer', (n % 3) + 1),
    email: `buyer${(n % 3) + 1}@example.com`,
    phone: null,
    firstName: 'Ann',
    lastName: 'B',
    defaultAddress: null,
  },
  lineItems: {
    nodes: [
      {
        ...gid('LineItem', 90000 + n),
        quantity: 2,
        sku: 'L1',
        title: 'Lantern 1',
        variant: gid('ProductVariant', 700),
        product: gid('Product', 1),
        originalUnitPriceSet: { shopMoney: { amount: price, currencyCode: 'USD' } },
      },
    ],
  },
});

let fake: ShopifyAdminFake;
let t: TestApp;
let a: Awaited<ReturnType<TestApp['createTenant']>>;
let b: Awaited<ReturnType<TestApp['createTenant']>>;
let conn: string;

const connect = async (token: string, domain: string) => {
  const r = await t.request('POST', '/api/v1/integrations', {
    token,
    body: { type: 'shopify', name: 'Shop', settings: { shop_domain: domain }, secret: SECRET },
  });
  expect(r.status).toBe(201);
  return r.body.id as string;
};
const status = (id: string, token = a.ownerToken) => t.request('GET', `/api/v1/integrations/${id}/backfill`, { token });
const finished = (id: string) =>
  pollUntil(
    'backfill finished',
    async () => (await status(id)).body,
    (v) => ['succeeded', 'failed', 'cancelled'].includes(v.status),
  );
const count = async (tenantId: string, what: 'purchases' | 'items' | 'profiles') => {
  const q =
    what === 'purchases'
      ? sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${tenantId} AND type = 'purchase'`
      : what === 'items'
        ? sql`SELECT count(*)::int AS n FROM items WHERE tenant_id = ${tenantId}`
        : sql`SELECT count(*)::int AS n FROM profiles WHERE tenant_id = ${tenantId}`;
  return (await queryOne<{ n: number }>(t.database.db, q))!.n;
};

beforeAll(async () => {
  fake = await startShopifyAdminFake({
    token: TOKEN,
    products: [
      product(1),
      product(2, { title: 'Bad\u0000title \ud800 lamp' }),
      product(3, { variants: { nodes: [{ price: '99999999999999999999999.99', sku: 'X', barcode: null, inventoryQuantity: 1 }] } }),
      // Raw JSON: a lone surrogate escape in a title and an id-less node.
      '{"id":"gid://shopify/Product/4","legacyResourceId":"4","title":"Lamp \\udc00 four","variants":{"nodes":[{"price":"3.00"}]}}',
      '{"title":"no id"}',
    ],
    customers: [customer(1), customer(2), customer(3)],
    orders: Array.from({ length: 120 }, (_, i) => order(i + 1)).concat([order(999, '99999999999999999999999.99')]),
    // A small bucket: pages must wait for points to restore (THROTTLED answers on the way).
    bucket: { max: 40, restoreRate: 100, pageCost: 25 },
  });
  t = await createTestApp({ LOUPE_SHOPIFY_ADMIN_URL: fake.url, LOUPE_SHOPIFY_RETRY_BASE_MS: '5' });
  t.jobs.start({ concurrency: 1, types: ['events.shopify_backfill'] });
  a = await t.createTenant('Backfill A');
  b = await t.createTenant('Backfill B');
  conn = await connect(a.ownerToken, 'backfill-a.myshopify.com');
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

describe('Shopify backfill', () => {
  it('reads every page through throttling and a 5xx, stores rows once, leaves hostile rows out', async () => {
    expect((await status(conn)).body.status).toBe('not_started');
    fake.failNext(1, 'LoupeOrders');
    fake.throttleNext(2);
    const start = await t.request('POST', `/api/v1/integrations/${conn}/backfill`, { token: a.ownerToken, body: { access_token: TOKEN } });
    expect(start.status).toBe(202);
    expect(start.body.status).toBe('queued');
    const done = await finished(conn);
    expect(done.last_error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.resources.products).toMatchObject({ done: 3, total: 5, rejected: 2, complete: true });
    expect(done.resources.products.rejected_samples.map((s: { reason: string }) => s.reason).join(' ')).toMatch(/price|id/);
    expect(done.resources.customers).toMatchObject({ done: 3, total: 3, rejected: 0 });
    expect(done.resources.orders).toMatchObject({ done: 120, total: 121, rejected: 1 });
    expect(fake.log.some((l) => l.throttled)).toBe(true);
    expect(fake.log.some((l) => l.status === 502)).toBe(true);
    expect(await count(a.tenantId, 'purchases')).toBe(120);
    expect(await count(a.tenantId, 'items')).toBe(3);
    // The cleaned title: NUL and the lone surrogate removed, the rest kept.
    const item = await t.request('GET', '/api/v1/items/2', { token: a.ownerToken });
    expect(item.body.name).toBe('Badtitle  lamp');
    const four = await t.request('GET', '/api/v1/items/4', { token: a.ownerToken });
    expect(four.body.name).toBe('Lamp  four');
    // Customers and order buyers are the same three people.
    expect(await count(a.tenantId, 'profiles')).toBe(3);
  });

  it('a second run and a webhook for a backfilled order count each order once', async () => {
    const again = await t.request('POST', `/api/v1/integrations/${conn}/backfill`, { token: a.ownerToken, body: {} });
    expect(again.status).toBe(202); // the stored token
    expect((await finished(conn)).status).toBe('succeeded');
    expect(await count(a.tenantId, 'purchases')).toBe(120);
    // Shopify's webhook for order 5001 (REST shape, the same ids).
    const body = JSON.stringify({
      id: 5001,
      currency: 'USD',
      processed_at: '2024-03-01T10:00:00Z',
      customer: { id: 2, email: 'buyer2@example.com' },
      line_items: [{ id: 90001, product_id: 1, variant_id: 700, quantity: 2, price: '12.50' }],
    });
    const hook = await t.app.inject({
      method: 'POST',
      url: `/api/v1/webhooks/shopify/${conn}`,
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': 'orders/create',
        'x-shopify-webhook-id': 'wh-5001',
        'x-shopify-hmac-sha256': createHmac('sha256', SECRET).update(body).digest('base64'),
      },
      payload: body,
    });
    expect(hook.statusCode).toBe(200);
    expect(hook.json()).toMatchObject({ status: 'processed', events_written: 0 });
    expect(await count(a.tenantId, 'purchases')).toBe(120);
  });

  it('resumes from its cursor after the worker stops mid-run (a kill), without re-reading done pages', async () => {
    const c2 = await connect(a.ownerToken, 'backfill-resume.myshopify.com');
    const gate = fake.hold('LoupeOrders', 1);
    const before = fake.log.length;
    expect(
      (await t.request('POST', `/api/v1/integrations/${c2}/backfill`, { token: a.ownerToken, body: { access_token: TOKEN } })).status,
    ).toBe(202);
    await gate.reached;
    await t.jobs.stop(); // aborts the handler on the held page: the run stays running, its job queued again
    gate.release();
    const mid = (await status(c2)).body;
    expect(mid.status).toBe('running');
    expect(mid.resources.orders.done).toBe(50);
    t.jobs.start({ concurrency: 1, types: ['events.shopify_backfill'] });
    const done = await finished(c2);
    expect(done.status).toBe('succeeded');
    expect(done.resources.orders).toMatchObject({ done: 120, rejected: 1 });
    const firstPages = fake.log
      .slice(before)
      .filter((l) => l.operation === 'LoupeOrders' && l.after === null && l.status === 200 && !l.throttled);
    expect(firstPages).toHaveLength(1);
    expect(await count(a.tenantId, 'purchases')).toBe(120);
  });

  it('401 and a missing scope fail with what to do next; cancel stops a run', async () => {
    const c3 = await connect(a.ownerToken, 'backfill-bad.myshopify.com');
    await t.request('POST', `/api/v1/integrations/${c3}/backfill`, { token: a.ownerToken, body: { access_token: 'shpat_wrong_token' } });
    const bad = await finished(c3);
    expect(bad.status).toBe('failed');
    expect(bad.last_error.code).toBe('SHOPIFY_TOKEN_INVALID');
    expect(bad.last_error.message).toMatch(/new token/);

    fake.setScopes(['read_products', 'read_customers']);
    try {
      const c4 = await connect(a.ownerToken, 'backfill-scopes.myshopify.com');
      await t.request('POST', `/api/v1/integrations/${c4}/backfill`, { token: a.ownerToken, body: { access_token: TOKEN } });
      const r = await finished(c4);
      expect(r.status).toBe('failed');
      expect(r.last_error.code).toBe('SHOPIFY_SCOPE_MISSING');
      expect(r.last_error.message).toContain('read_orders');
      expect(r.resources.products.done).toBe(3);
    } finally {
      fake.setScopes(['read_products', 'read_customers', 'read_orders']);
    }

    const gate = fake.hold('LoupeCustomers', 0);
    await t.request('POST', `/api/v1/integrations/${c3}/backfill`, { token: a.ownerToken, body: { access_token: TOKEN } });
    await gate.reached;
    const cancel = await t.request('DELETE', `/api/v1/integrations/${c3}/backfill`, { token: a.ownerToken });
    gate.release();
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('cancelled');
    const after = await finished(c3);
    expect(after.status).toBe('cancelled');
    expect((await t.request('DELETE', `/api/v1/integrations/${c3}/backfill`, { token: a.ownerToken })).status).toBe(409);
  });

  it('refuses hostile, malformed and concurrent starts; another tenant sees and touches nothing', async () => {
    const url = `/api/v1/integrations/${conn}/backfill`;
    for (const body of [
      { access_token: 'shpat_\u0000nul_token' },
      { access_token: 'shpat_\ud800_surrogate' },
      { access_token: 'x'.repeat(100_000) },
      { access_token: 1e300 },
      { access_token: TOKEN, extra: true },
    ]) {
      const r = await t.request('POST', url, { token: a.ownerToken, body });
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(400);
    }
    let deep: unknown = TOKEN;
    for (let i = 0; i < 200; i++) deep = { access_token: deep };
    expect((await t.request('POST', url, { token: a.ownerToken, body: deep })).status).toBe(400);
    const [x, y] = await Promise.all([
      t.request('POST', url, { token: a.ownerToken, body: {} }),
      t.request('POST', url, { token: a.ownerToken, body: {} }),
    ]);
    expect([x.status, y.status].sort()).toEqual([202, 409]);
    await finished(conn);
    // Tenant B: A's connection is not found, whatever the verb; B's own fresh connection has no token yet.
    for (const method of ['GET', 'POST', 'DELETE']) {
      const r = await t.request(method, url, { token: b.ownerToken, ...(method === 'POST' ? { body: { access_token: TOKEN } } : {}) });
      expect(r.status).toBe(404);
    }
    const own = await connect(b.ownerToken, 'backfill-b.myshopify.com');
    expect((await t.request('POST', `/api/v1/integrations/${own}/backfill`, { token: b.ownerToken, body: {} })).body.error.code).toBe(
      'BACKFILL_TOKEN_REQUIRED',
    );
    expect(await count(b.tenantId, 'purchases')).toBe(0);
    expect(await count(b.tenantId, 'items')).toBe(0);
  });
});

describe('Integrations page actions', () => {
  it('lists the topics to subscribe; a test event goes through the real endpoint and shows in the delivery log', async () => {
    const topics = await t.request('GET', '/api/v1/integrations/shopify-topics', { token: a.ownerToken });
    expect(topics.status).toBe(200);
    expect(topics.body.topics.map((x: { topic: string }) => x.topic)).toEqual(
      expect.arrayContaining(['orders/create', 'customers/update']),
    );
    const sent = await t.request('POST', `/api/v1/integrations/${conn}/test-event`, { token: a.ownerToken });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ delivered: true, http_status: 200, delivery: { status: 'ignored', topic: 'loupe/test' } });
    expect(sent.body.delivery.reason).toContain('test event');
    // Another tenant can neither send one nor rotate the secret.
    expect((await t.request('POST', `/api/v1/integrations/${conn}/test-event`, { token: b.ownerToken })).status).toBe(404);
    expect(
      (await t.request('POST', `/api/v1/integrations/${conn}/rotate-secret`, { token: b.ownerToken, body: { secret: 'x'.repeat(20) } }))
        .status,
    ).toBe(404);
    // Paused: the endpoint refuses, and the answer says it did not arrive.
    await t.request('PATCH', `/api/v1/integrations/${conn}`, { token: a.ownerToken, body: { status: 'paused' } });
    const paused = await t.request('POST', `/api/v1/integrations/${conn}/test-event`, { token: a.ownerToken });
    expect(paused.body).toMatchObject({ delivered: false, http_status: 404, delivery: null });
    await t.request('PATCH', `/api/v1/integrations/${conn}`, { token: a.ownerToken, body: { status: 'active' } });
  });

  it('rotates the secret: the vendor’s new one is required for Shopify, hostile ones refused, the old one stops verifying', async () => {
    const url = `/api/v1/integrations/${conn}/rotate-secret`;
    expect((await t.request('POST', url, { token: a.ownerToken, body: {} })).body.error.code).toBe('SECRET_REQUIRED');
    for (const secret of ['new\u0000secret-123', 'new\ud800secret-123', 'with spaces 123', 'x'.repeat(501), 123456789]) {
      expect((await t.request('POST', url, { token: a.ownerToken, body: { secret } })).status).toBe(400);
    }
    const rotated = await t.request('POST', url, { token: a.ownerToken, body: { secret: 'rotated-secret-456' } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toBe('rotated-secret-456');
    const sent = await t.request('POST', `/api/v1/integrations/${conn}/test-event`, { token: a.ownerToken });
    expect(sent.body.delivered).toBe(true);
    const body = '{"id":1}';
    const old = await t.app.inject({
      method: 'POST',
      url: `/api/v1/webhooks/shopify/${conn}`,
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': 'customers/update',
        'x-shopify-hmac-sha256': createHmac('sha256', SECRET).update(body).digest('base64'),
      },
      payload: body,
    });
    expect(old.statusCode).toBe(401);
  });
});
