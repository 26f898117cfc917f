import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { buildApp, type LoupeApp } from '../../app.ts';
import { loadConfig } from '../../platform/config.ts';
import { queryOne, queryRows } from '../../platform/index.ts';
import { signHmacSha256Base64 } from './connectors/signatures.core.ts';

const KEY_A = 'a1'.repeat(32);
const KEY_B = 'b2'.repeat(32);
const KEY_C = 'c3'.repeat(32);

let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
const extra: LoupeApp[] = [];

beforeAll(async () => {
  t = await createTestApp({ LOUPE_SECRETS_KEY: KEY_A });
  A = await t.createTenant('Sealed store');
  B = await t.createTenant('Other store');
});
afterAll(async () => {
  for (const a of extra) await a.close();
  await t?.close();
});

/** Another server process on the same database with other key settings (a restart after a config change). */
async function restartWith(env: Record<string, string>): Promise<LoupeApp> {
  const app = await buildApp(
    loadConfig({ LOUPE_DATA_DIR: t.dataDir, LOG_LEVEL: 'silent', RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000', ...env }),
    { database: t.database },
  );
  extra.push(app);
  return app;
}

const stored = async (id: string) =>
  (await queryOne<{ v: string }>(t.database.db, sql`SELECT signing_secret AS v FROM integration_connections WHERE id = ${id}`))!.v;

const order = JSON.stringify({
  id: 7001,
  status: 'processing',
  currency: 'EUR',
  billing: { email: 'sealed@example.com' },
  line_items: [{ product_id: 5, quantity: 1, price: 9.5, total: '9.50' }],
});
async function wooDelivery(app: LoupeApp, id: string, secret: string, deliveryId: string) {
  const res = await app.app.inject({
    method: 'POST',
    url: `/api/v1/webhooks/woocommerce/${id}`,
    payload: order,
    headers: {
      'content-type': 'application/json',
      'x-wc-webhook-topic': 'order.created',
      'x-wc-webhook-signature': signHmacSha256Base64(secret, order),
      'x-wc-webhook-delivery-id': deliveryId,
    },
  });
  return { status: res.statusCode, body: JSON.parse(res.body) as { status?: string; error?: { code: string; message: string } } };
}
const getConnection = async (app: LoupeApp, token: string, id: string) => {
  const res = await app.app.inject({ method: 'GET', url: `/api/v1/integrations/${id}`, headers: { authorization: `Bearer ${token}` } });
  return JSON.parse(res.body) as { secret_masked: string };
};

describe('integration secrets at rest', () => {
  it('stores the signing secret sealed, never in clear, and still verifies webhooks with it', async () => {
    const c = await t.request('POST', '/api/v1/integrations', {
      token: A.ownerToken,
      body: { type: 'woocommerce', name: 'Woo', secret: 'wc-signing-secret-1' },
    });
    expect(c.status).toBe(201);
    expect(c.body.secret).toBe('wc-signing-secret-1');
    const value = await stored(c.body.id);
    expect(value).toMatch(/^enc:v1:[0-9a-f]{8}:/);
    expect(value).not.toContain('wc-signing-secret-1');
    expect((await wooDelivery(t, c.body.id, 'wc-signing-secret-1', 'seal-1')).body.status).toBe('processed');
    expect((await wooDelivery(t, c.body.id, 'wrong-secret-000', 'seal-2')).status).toBe(401);
  });

  it('seals secrets stored in clear by an older version at the next start, and rotates to a new key with the previous one configured', async () => {
    const c = await t.request('POST', '/api/v1/integrations', {
      token: A.ownerToken,
      body: { type: 'woocommerce', name: 'Legacy', secret: 'legacy-secret-22' },
    });
    await t.database.db.execute(sql`UPDATE integration_connections SET signing_secret = 'legacy-secret-22' WHERE id = ${c.body.id}`);
    await restartWith({ LOUPE_SECRETS_KEY: KEY_A });
    expect(await stored(c.body.id)).toMatch(/^enc:v1:/);
    expect((await wooDelivery(t, c.body.id, 'legacy-secret-22', 'legacy-1')).body.status).toBe('processed');

    // Rotation: new key, old key as previous: every row is re-sealed under the new key at start.
    const rotated = await restartWith({ LOUPE_SECRETS_KEY: KEY_B, LOUPE_SECRETS_KEY_PREVIOUS: KEY_A });
    const rows = await queryRows<{ v: string }>(t.database.db, sql`SELECT signing_secret AS v FROM integration_connections`);
    const kid = rows[0]!.v.split(':')[2];
    expect(new Set(rows.map((r) => r.v.split(':')[2]))).toEqual(new Set([kid]));
    expect(await stored(c.body.id)).not.toBe('legacy-secret-22');
    expect((await wooDelivery(rotated, c.body.id, 'legacy-secret-22', 'legacy-2')).body.status).toBe('processed');
    // The server still on the old key alone can no longer read them.
    expect((await getConnection(t, A.ownerToken, c.body.id)).secret_masked).toMatch(/^unreadable/);
  });

  it('with a lost key: says so, answers webhooks 503 (the vendor retries) and logs it; a new secret repairs the connection', async () => {
    const lost = await restartWith({ LOUPE_SECRETS_KEY: KEY_C });
    const [row] = await queryRows<{ id: string }>(
      t.database.db,
      sql`SELECT id FROM integration_connections WHERE tenant_id = ${A.tenantId} AND name = 'Woo'`,
    );
    const id = row!.id;
    expect((await getConnection(lost, A.ownerToken, id)).secret_masked).toMatch(/^unreadable/);
    const refused = await wooDelivery(lost, id, 'wc-signing-secret-1', 'lost-1');
    expect(refused.status).toBe(503);
    expect(refused.body.error?.code).toBe('INTEGRATION_SECRET_UNREADABLE');
    expect(refused.body.error?.message).toContain('PATCH /api/v1/integrations');
    const log = await lost.app.inject({
      method: 'GET',
      url: `/api/v1/integrations/${id}/deliveries`,
      headers: { authorization: `Bearer ${A.ownerToken}` },
    });
    expect(JSON.parse(log.body).data[0]).toMatchObject({ status: 'failed', reason: 'secret_unreadable', http_status: 503 });
    const patched = await lost.app.inject({
      method: 'PATCH',
      url: `/api/v1/integrations/${id}`,
      headers: { authorization: `Bearer ${A.ownerToken}`, 'content-type': 'application/json' },
      payload: { secret: 'fresh-secret-333' },
    });
    expect(patched.statusCode).toBe(200);
    expect(JSON.parse(patched.body).secret_masked).toBe('********-333');
    expect((await wooDelivery(lost, id, 'fresh-secret-333', 'lost-2')).body.status).toBe('processed');
  });

  it('a sealed secret copied into another tenant’s connection does not open there', async () => {
    const fresh = await restartWith({ LOUPE_SECRETS_KEY: KEY_A });
    const mine = JSON.parse(
      (
        await fresh.app.inject({
          method: 'POST',
          url: '/api/v1/integrations',
          headers: { authorization: `Bearer ${A.ownerToken}`, 'content-type': 'application/json' },
          payload: { type: 'woocommerce', name: 'Mine', secret: 'tenant-a-secret' },
        })
      ).body,
    );
    const theirs = JSON.parse(
      (
        await fresh.app.inject({
          method: 'POST',
          url: '/api/v1/integrations',
          headers: { authorization: `Bearer ${B.ownerToken}`, 'content-type': 'application/json' },
          payload: { type: 'woocommerce', name: 'Theirs', secret: 'tenant-b-secret' },
        })
      ).body,
    );
    await t.database.db.execute(sql`UPDATE integration_connections SET signing_secret = ${await stored(mine.id)} WHERE id = ${theirs.id}`);
    expect((await getConnection(fresh, B.ownerToken, theirs.id)).secret_masked).toMatch(/^unreadable/);
    expect((await wooDelivery(fresh, theirs.id, 'tenant-a-secret', 'copy-1')).status).toBe(503);
  });
});

describe('PATCH /api/v1/integrations/:id', () => {
  it('rotates the secret (old signatures refused at once), pauses and resumes; audited without the secret', async () => {
    const app = await restartWith({ LOUPE_SECRETS_KEY: KEY_A });
    const call = async (method: string, url: string, token: string, payload?: object) => {
      const res = await app.app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(payload ? { payload } : {}),
      });
      return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
    };
    const c = (
      await call('POST', '/api/v1/integrations', A.ownerToken, { type: 'woocommerce', name: 'Rotating', secret: 'before-rotation' })
    ).body;
    expect(
      (await call('PATCH', `/api/v1/integrations/${c.id}`, A.ownerToken, { secret: 'after-rotation-1', name: 'Rotated' })).body,
    ).toMatchObject({ name: 'Rotated', secret_masked: '********on-1' });
    expect((await wooDelivery(app, c.id, 'before-rotation', 'rot-1')).status).toBe(401);
    expect((await wooDelivery(app, c.id, 'after-rotation-1', 'rot-2')).body.status).toBe('processed');

    expect((await call('PATCH', `/api/v1/integrations/${c.id}`, A.ownerToken, { status: 'paused' })).body.status).toBe('paused');
    expect((await wooDelivery(app, c.id, 'after-rotation-1', 'rot-3')).status).toBe(404);
    expect((await call('PATCH', `/api/v1/integrations/${c.id}`, A.ownerToken, { status: 'active' })).body.status).toBe('active');
    expect((await wooDelivery(app, c.id, 'after-rotation-1', 'rot-3')).body.status).toBe('processed');

    const audit = await call('GET', '/api/v1/audit/logs?action=integration.update', A.ownerToken);
    expect(audit.status).toBe(200);
    expect(audit.body.data.map((d: { details: unknown }) => d.details)).toContainEqual({ changed: ['name', 'secret'] });
    expect(JSON.stringify(audit.body)).not.toContain('after-rotation-1');
  });

  it('refuses empty and unknown fields, other tenants and keys without integrations:manage', async () => {
    const app = await restartWith({ LOUPE_SECRETS_KEY: KEY_A });
    const c = JSON.parse(
      (
        await app.app.inject({
          method: 'POST',
          url: '/api/v1/integrations',
          headers: { authorization: `Bearer ${A.ownerToken}`, 'content-type': 'application/json' },
          payload: { type: 'stripe', name: 'Stripe', secret: 'whsec_abcdefgh' },
        })
      ).body,
    );
    const patch = async (token: string, payload: object) =>
      (
        await app.app.inject({
          method: 'PATCH',
          url: `/api/v1/integrations/${c.id}`,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          payload,
        })
      ).statusCode;
    expect(await patch(A.ownerToken, {})).toBe(400);
    expect(await patch(A.ownerToken, { secret: 'short' })).toBe(400);
    expect(await patch(A.ownerToken, { status: 'deleted' })).toBe(400);
    expect(await patch(A.ownerToken, { type: 'shopify' })).toBe(400);
    expect(await patch(B.ownerToken, { name: 'hijack' })).toBe(404);
    expect(await patch(await A.apiKey(['interactions:write']), { name: 'x' })).toBe(403);
    expect((await getConnection(app, A.ownerToken, c.id)) as unknown).toMatchObject({ name: 'Stripe' });
  });
});
