import fs from 'node:fs/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ShopifyAdminFake, startShopifyAdminFake } from './fakes/shopify-admin.fake.ts';
import { killLiveProcesses } from './children.ts';
import { api, createTenantOver, migratedDataDir, type ServerProcess, startServe, withStoppedDatabase } from './processes.ts';

/**
 * Fault injection for the Shopify backfill (issue 22, "Done when"; issue 20's durable backfill): a real
 * `loupe serve` on the embedded database is killed with SIGKILL while its backfill job writes order pages
 * (the fake Admin API holds a page, the kill follows its release by a few milliseconds, so a page's writes
 * are in flight). After a restart the job resumes from its saved cursor and finishes; every order line is
 * counted once, every product and customer stored once, and each profile's aggregates equal its events.
 * The crash is the process's, so this runs on the PGlite pass only.
 */
const onPostgresPass = process.env.LOUPE_TEST_DB === 'postgres';
// After the describe's own stop(): ends a server a timed-out test or hook left running.
afterAll(killLiveProcesses);
if (onPostgresPass) console.log('shopify-backfill.kill: skipped on the PostgreSQL pass (it kills an embedded-database server)');

const TOKEN = 'shpat_kill_test_token_1';
const ORDERS = 400; // 8 pages of 50
const CUSTOMERS = 25;
const PRODUCTS = 60;
const gid = (type: string, n: number) => ({ id: `gid://shopify/${type}/${n}`, legacyResourceId: String(n) });
const product = (n: number) => ({
  ...gid('Product', n),
  title: `Lantern ${n}`,
  description: 'A lantern',
  vendor: 'Acme',
  productType: 'Lighting',
  tags: [],
  status: 'ACTIVE',
  handle: `lantern-${n}`,
  onlineStoreUrl: null,
  featuredImage: null,
  variants: { nodes: [{ price: '12.50', sku: `L${n}`, barcode: null, inventoryQuantity: 5 }] },
});
const buyer = (n: number) => ({
  ...gid('Customer', n),
  email: `killbuyer${n}@example.com`,
  phone: null,
  firstName: 'Kim',
  lastName: `Buyer${n}`,
  createdAt: '2024-01-01T00:00:00Z',
  updatedAt: '2024-01-02T00:00:00Z',
  defaultAddress: null,
});
const order = (n: number) => ({
  ...gid('Order', 10_000 + n),
  name: `#${2000 + n}`,
  createdAt: '2024-03-01T10:00:00Z',
  processedAt: '2024-03-01T10:00:00Z',
  currencyCode: 'USD',
  email: `killbuyer${(n % CUSTOMERS) + 1}@example.com`,
  phone: null,
  displayFinancialStatus: 'PAID',
  customer: buyer((n % CUSTOMERS) + 1),
  lineItems: {
    nodes: [
      {
        ...gid('LineItem', 500_000 + n),
        quantity: 1,
        sku: `L${(n % PRODUCTS) + 1}`,
        title: 'Lantern',
        variant: gid('ProductVariant', 800 + (n % PRODUCTS)),
        product: gid('Product', (n % PRODUCTS) + 1),
        originalUnitPriceSet: { shopMoney: { amount: '12.50', currencyCode: 'USD' } },
      },
    ],
  },
});

describe.skipIf(onPostgresPass)('kill -9 during a Shopify backfill (embedded database)', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;
  let fake: ShopifyAdminFake;
  let tenant: Awaited<ReturnType<typeof createTenantOver>>;
  const env = () => ({ LOUPE_SHOPIFY_ADMIN_URL: fake.url, LOUPE_SHOPIFY_RETRY_BASE_MS: '5' });

  beforeAll(async () => {
    fake = await startShopifyAdminFake({
      token: TOKEN,
      products: Array.from({ length: PRODUCTS }, (_, i) => product(i + 1)),
      customers: Array.from({ length: CUSTOMERS }, (_, i) => buyer(i + 1)),
      orders: Array.from({ length: ORDERS }, (_, i) => order(i + 1)),
    });
    dataDir = await migratedDataDir();
    server = await startServe(dataDir, { env: env() });
    tenant = await createTenantOver(server.base, 'backfill-crash');
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
    await fake?.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  test('resumes after the crash and counts every order, product and customer exactly once', async () => {
    const conn = await api(server!.base, 'POST', '/api/v1/integrations', {
      token: tenant.ownerToken,
      body: { type: 'shopify', name: 'Shop', settings: { shop_domain: 'kill-test.myshopify.com' }, secret: 'shopify-app-secret-9' },
    });
    expect(conn.status, JSON.stringify(conn.body)).toBe(201);
    const id = conn.body.id as string;
    const hold = fake.hold('LoupeOrders', 3);
    const start = await api(server!.base, 'POST', `/api/v1/integrations/${id}/backfill`, {
      token: tenant.ownerToken,
      body: { access_token: TOKEN },
    });
    expect(start.status, JSON.stringify(start.body)).toBeLessThan(300);
    await hold.reached;
    // The held page is answered, and the process dies while it writes that page.
    hold.release();
    await new Promise((r) => setTimeout(r, 25));
    await server!.kill9();

    server = await startServe(dataDir, { env: env() });
    const deadline = Date.now() + 150_000;
    let view: any;
    for (;;) {
      view = (await api(server.base, 'GET', `/api/v1/integrations/${id}/backfill`, { token: tenant.ownerToken })).body;
      if (['succeeded', 'failed', 'cancelled'].includes(view?.status)) break;
      if (Date.now() > deadline) throw new Error(`backfill unfinished: ${JSON.stringify(view)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(view.status, JSON.stringify(view)).toBe('succeeded');
    // It resumed: the first three order pages were not asked for again from the start.
    const firstPages = fake.log.filter((l) => l.operation === 'LoupeOrders' && l.after === null && l.status === 200);
    expect(firstPages.length).toBe(1);

    await server.stop();
    server = undefined;
    const t = tenant.tenantId;
    const found = await withStoppedDatabase(dataDir, async (q) => ({
      purchases: (await q<{ n: number }>(sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${t} AND type = 'purchase'`))[0]!
        .n,
      orders: (
        await q<{ n: number }>(
          sql`SELECT count(DISTINCT order_id)::int AS n FROM interactions WHERE tenant_id = ${t} AND type = 'purchase'`,
        )
      )[0]!.n,
      items: (await q<{ n: number }>(sql`SELECT count(*)::int AS n FROM items WHERE tenant_id = ${t}`))[0]!.n,
      profiles: (await q<{ n: number }>(sql`SELECT count(*)::int AS n FROM profiles WHERE tenant_id = ${t} AND status = 'active'`))[0]!.n,
      running: await q<{ type: string }>(sql`SELECT type FROM jobs WHERE tenant_id = ${t} AND status = 'running'`),
      wrongCounts: await q<{ id: string }>(
        sql`SELECT p.id FROM profiles p LEFT JOIN interactions i ON i.tenant_id = p.tenant_id AND i.profile_id = p.id
            WHERE p.tenant_id = ${t} AND p.status = 'active' GROUP BY p.id, p.event_count HAVING p.event_count <> count(i.id)`,
      ),
    }));
    expect(found.purchases).toBe(ORDERS);
    expect(found.orders).toBe(ORDERS);
    expect(found.items).toBe(PRODUCTS);
    expect(found.profiles).toBe(CUSTOMERS);
    expect(found.running).toEqual([]);
    expect(found.wrongCounts).toEqual([]);
  });
});
