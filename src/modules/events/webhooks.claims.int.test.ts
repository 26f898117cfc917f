/**
 * Vendor webhooks and tenant boundaries (Hardening M8, M10): a suspended tenant's deliveries are deferred (503 +
 * Retry-After, logged), and on seed 002's shared Shopify path a squatter's connections for a victim's shop domain
 * neither block the real shop's signed webhooks nor see its delivery log; the first verified delivery claims the
 * domain, and other tenants can no longer register it. Builds its own payloads (no ../shared needed).
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';
import { signHmacSha256Base64 } from './connectors/signatures.core.ts';

let t: TestApp;
type Tenant = Awaited<ReturnType<TestApp['createTenant']>>;
beforeAll(async () => {
  t = await createTestApp({ PUBLIC_URL: 'https://loupe.example.com' });
});
afterAll(async () => {
  await t?.close();
});

async function connect(tenant: Tenant, body: object) {
  return t.request('POST', '/api/v1/integrations', { token: tenant.ownerToken, body });
}
async function mustConnect(tenant: Tenant, body: object) {
  const res = await connect(tenant, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string };
}

async function deliver(path: string, raw: string, headers: Record<string, string>) {
  const res = await t.app.inject({ method: 'POST', url: path, payload: raw, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.statusCode, body: JSON.parse(res.body), headers: res.headers };
}

const order = (id: number) =>
  JSON.stringify({
    id,
    currency: 'USD',
    email: `buyer${id}@example.com`,
    line_items: [{ id: id * 10, product_id: 42, quantity: 1, price: '19.99' }],
  });
const shopifyHeaders = (secret: string, raw: string, domain: string, webhookId: string) => ({
  'x-shopify-topic': 'orders/create',
  'x-shopify-hmac-sha256': signHmacSha256Base64(secret, raw),
  'x-shopify-shop-domain': domain,
  'x-shopify-webhook-id': webhookId,
});

const deliveries = async (tenant: Tenant, id: string) => {
  const res = await t.request('GET', `/api/v1/integrations/${id}/deliveries`, { token: tenant.ownerToken });
  expect(res.status).toBe(200);
  return res.body.data as { status: string; reason: string | null; delivery_id: string | null }[];
};
const orderIds = async (tenantId: string) =>
  (
    await queryRows<{ orderId: string }>(
      t.database.db,
      sql`SELECT DISTINCT order_id AS "orderId" FROM interactions WHERE tenant_id = ${tenantId} AND source = 'shopify' ORDER BY 1`,
    )
  ).map((r) => r.orderId);

describe('M10: shop domains on seed 002’s shared Shopify path', () => {
  it('a squatter’s 20 connections for a victim’s domain neither block its signed webhooks nor see its deliveries; the first verified delivery claims the domain', async () => {
    const victim = await t.createTenant('Real snowboard shop');
    const squatter = await t.createTenant('Squatter');
    const domain = 'real-snowboards.myshopify.com';
    // The squatter registers first, many times, with secrets of its own.
    const squatted: string[] = [];
    for (let i = 0; i < 20; i++)
      squatted.push(
        (
          await mustConnect(squatter, {
            type: 'shopify',
            name: `Fake ${i}`,
            settings: { shop_domain: domain },
            secret: `squatter-secret-${i}`,
          })
        ).id,
      );
    const secret = 'shpss_real_shop_secret';
    const real = await mustConnect(victim, { type: 'shopify', name: 'My shop', settings: { shop_domain: domain }, secret });

    const raw = order(1001);
    const first = await deliver('/api/integrations/shopify', raw, shopifyHeaders(secret, raw, domain, 'real-1'));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toEqual({ status: 'processed', delivery_id: 'real-1', events_written: 1 });
    expect(await orderIds(victim.tenantId)).toEqual(['1001']);
    expect(await orderIds(squatter.tenantId)).toEqual([]);
    expect((await deliveries(victim, real.id)).map((d) => d.delivery_id)).toEqual(['real-1']);

    // A forged delivery for the claimed domain is logged on the shop's own connection, never on the squatter's.
    const forged = order(1002);
    const refused = await deliver('/api/integrations/shopify', forged, shopifyHeaders('squatter-secret-0', forged, domain, 'forged-1'));
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('WEBHOOK_SIGNATURE_INVALID');
    expect(await orderIds(squatter.tenantId)).toEqual([]);
    for (const id of squatted) expect(await deliveries(squatter, id)).toEqual([]);
    expect((await deliveries(victim, real.id)).map((d) => [d.status, d.reason])).toEqual([
      ['rejected', 'bad_signature'],
      ['processed', null],
    ]);
    // The squatter's own connection URL no longer takes deliveries for the claimed domain.
    const own = await deliver(
      `/api/v1/webhooks/shopify/${squatted[0]}`,
      forged,
      shopifyHeaders('squatter-secret-0', forged, domain, 'forged-2'),
    );
    expect(own.status).toBe(401);
    expect(await orderIds(squatter.tenantId)).toEqual([]);

    // Later registrations of the claimed domain by other tenants are refused with a clear error; the owner may add more.
    const late = await connect(squatter, {
      type: 'shopify',
      name: 'Again',
      settings: { shop_domain: 'Real-Snowboards.myshopify.com' },
      secret: 'x'.repeat(12),
    });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('INTEGRATION_SHOP_DOMAIN_CLAIMED');
    await mustConnect(victim, {
      type: 'shopify',
      name: 'My shop, second app',
      settings: { shop_domain: domain },
      secret: 'another-secret',
    });

    // The shop keeps delivering on the shared path.
    const next = order(1003);
    expect((await deliver('/api/integrations/shopify', next, shopifyHeaders(secret, next, domain, 'real-2'))).body.status).toBe(
      'processed',
    );
    expect(await orderIds(victim.tenantId)).toEqual(['1001', '1003']);
  });

  it('before any claim, an unverified delivery is logged on no candidate’s connection', async () => {
    const a = await t.createTenant('Unclaimed A');
    const b = await t.createTenant('Unclaimed B');
    const domain = 'unclaimed.myshopify.com';
    const ca = await mustConnect(a, { type: 'shopify', name: 'A', settings: { shop_domain: domain }, secret: 'secret-of-a' });
    const cb = await mustConnect(b, { type: 'shopify', name: 'B', settings: { shop_domain: domain }, secret: 'secret-of-b' });
    const raw = order(2001);
    const res = await deliver('/api/integrations/shopify', raw, shopifyHeaders('nobody-knows', raw, domain, 'x-1'));
    expect(res.status).toBe(401);
    expect(await deliveries(a, ca.id)).toEqual([]);
    expect(await deliveries(b, cb.id)).toEqual([]);
    // A claim is released when its tenant disconnects the shop: then another tenant may register it.
    expect((await deliver('/api/integrations/shopify', raw, shopifyHeaders('secret-of-b', raw, domain, 'x-2'))).body.status).toBe(
      'processed',
    );
    expect((await connect(a, { type: 'shopify', name: 'A2', settings: { shop_domain: domain }, secret: 'secret-of-a2' })).status).toBe(409);
    expect((await t.request('DELETE', `/api/v1/integrations/${cb.id}`, { token: b.ownerToken })).status).toBe(204);
    await mustConnect(a, { type: 'shopify', name: 'A2', settings: { shop_domain: domain }, secret: 'secret-of-a2' });
  });
});

describe('M8: a suspended tenant’s vendor webhooks', () => {
  it('are not processed: 503 with Retry-After and a deferred entry in the delivery log; the vendor’s retry after re-activation is processed', async () => {
    const shop = await t.createTenant('Suspended shop');
    const secret = 'shpss_suspended_secret';
    const domain = 'suspended-shop.myshopify.com';
    const c = await mustConnect(shop, { type: 'shopify', name: 'Shop', settings: { shop_domain: domain }, secret });
    const admin = await t.adminToken();
    expect((await t.request('POST', `/api/v1/admin/tenants/${shop.tenantId}/suspend`, { token: admin })).status).toBe(200);

    const raw = order(3001);
    const headers = shopifyHeaders(secret, raw, domain, 'susp-1');
    for (const path of [`/api/v1/webhooks/shopify/${c.id}`, '/api/integrations/shopify']) {
      const res = await deliver(path, raw, headers);
      expect(res.status, path).toBe(503);
      expect(res.headers['retry-after']).toBe('3600');
      expect(res.body.error.code).toBe('TENANT_SUSPENDED');
    }
    expect(await orderIds(shop.tenantId)).toEqual([]);
    // Unsigned requests are refused as before, and leave no trace in the tenant's log.
    expect((await deliver(`/api/v1/webhooks/shopify/${c.id}`, raw, { ...headers, 'x-shopify-hmac-sha256': 'AAAA' })).status).toBe(401);

    expect((await t.request('POST', `/api/v1/admin/tenants/${shop.tenantId}/activate`, { token: admin })).status).toBe(200);
    const retry = await deliver(`/api/v1/webhooks/shopify/${c.id}`, raw, headers);
    expect(retry.body).toEqual({ status: 'processed', delivery_id: 'susp-1', events_written: 1 });
    expect(await orderIds(shop.tenantId)).toEqual(['3001']);
    expect((await deliveries(shop, c.id)).map((d) => [d.status, d.reason])).toEqual([
      ['processed', null],
      ['rejected', 'bad_signature'],
      ['deferred', 'tenant_suspended'],
      ['deferred', 'tenant_suspended'],
    ]);
  });
});
