import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers.ts';

/** The bad inputs and attacks of issue 2, each with a test, through the real HTTP stack. */
let t: TestApp;
let a: Awaited<ReturnType<TestApp['createTenant']>>;
let b: Awaited<ReturnType<TestApp['createTenant']>>;
beforeAll(async () => {
  t = await createTestApp({ LOUPE_BODY_LIMIT_BYTES: '65536' });
  a = await t.createTenant('Tenant A');
  b = await t.createTenant('Tenant B');
});
afterAll(async () => t?.close());

const expectErrorShape = (body: any, code: string) => {
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.request_id).toMatch(/\S+/);
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+|node_modules|stack/);
};

describe('malformed requests', () => {
  it('malformed JSON gets 400 MALFORMED_JSON without internals', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"email": "x@y.z", "password": ',
    });
    expect(r.statusCode).toBe(400);
    expectErrorShape(r.json(), 'MALFORMED_JSON');
  });

  it('a wrong content type gets 415', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'text/xml' },
      payload: '<login/>',
    });
    expect(r.statusCode).toBe(415);
    expectErrorShape(r.json(), 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('a body over the limit gets 413', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/tenants',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await t.adminToken()}` },
      payload: JSON.stringify({ name: 'x'.repeat(70_000) }),
    });
    expect(r.statusCode).toBe(413);
    expectErrorShape(r.json(), 'PAYLOAD_TOO_LARGE');
  });

  it('unknown fields are refused and named', async () => {
    const r = await t.request('POST', '/api/v1/admin/tenants', { token: await t.adminToken(), body: { name: 'Shop', is_admin: true } });
    expect(r.status).toBe(400);
    expectErrorShape(r.body, 'VALIDATION_ERROR');
    expect(r.body.error.details).toEqual([expect.objectContaining({ field: 'is_admin' })]);
  });

  it('validation errors name each bad field', async () => {
    const r = await t.request('POST', '/api/v1/admin/users', {
      token: await t.adminToken(),
      body: { email: 'not-an-email', password: 'short', role: 'emperor' },
    });
    expect(r.status).toBe(400);
    const fields = r.body.error.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(['email', 'password', 'role']);
  });

  it('enormous headers are refused before the app and the server keeps serving', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${address}/health/live`, { headers: { 'x-padding': 'a'.repeat(100_000) } }).catch((e: Error) => e);
      if (res instanceof Error)
        expect(res).toBeInstanceOf(Error); // the socket may be closed outright
      else expect(res.status).toBe(431);
      const ok = await fetch(`${address}/health/live`);
      expect(ok.status).toBe(200);
    } finally {
      await t.app.server.close();
    }
  });

  it('unknown routes answer in the error shape', async () => {
    const r = await t.request('GET', '/api/v1/nope');
    expect(r.status).toBe(404);
    expectErrorShape(r.body, 'ROUTE_NOT_FOUND');
  });
});

describe('forged, expired and unsigned tokens', () => {
  const claims = (sub: string) => ({
    sid: '0190a000-0000-7000-8000-000000000000',
    auth_time: Math.floor(Date.now() / 1000),
    adm: true,
    typ: 'access',
    sub,
  });

  it('refuses alg=none', async () => {
    const token = new UnsecuredJWT(claims('x')).setIssuer('loupe').setAudience('loupe-api').setIssuedAt().setExpirationTime('10m').encode();
    const r = await t.request('GET', '/api/v1/admin/tenants', { token });
    expect(r.status).toBe(401);
    expectErrorShape(r.body, 'TOKEN_INVALID');
  });

  it('refuses a token signed with another key', async () => {
    const token = await new SignJWT(claims('x'))
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('loupe')
      .setAudience('loupe-api')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode('a'.repeat(64)));
    const r = await t.request('GET', '/api/v1/admin/tenants', { token });
    expect(r.status).toBe(401);
    expectErrorShape(r.body, 'TOKEN_INVALID');
  });

  it('refuses an expired token with a hint to refresh', async () => {
    const secret = (await t.database.db.execute(
      (
        await import('drizzle-orm')
      ).sql`SELECT value FROM platform_settings WHERE key = 'secret:jwt'`,
    )) as unknown as { rows: { value: string }[] };
    const key = new TextEncoder().encode(secret.rows[0]!.value);
    const past = Math.floor(Date.now() / 1000) - 3600;
    const token = await new SignJWT(claims('x'))
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('loupe')
      .setAudience('loupe-api')
      .setIssuedAt(past)
      .setExpirationTime(past + 900)
      .sign(key);
    const r = await t.request('GET', '/api/v1/admin/tenants', { token });
    expect(r.status).toBe(401);
    expectErrorShape(r.body, 'TOKEN_EXPIRED');
  });

  it('refuses garbage and malformed Authorization headers', async () => {
    expect((await t.request('GET', '/api/v1/tenant', { token: 'garbage' })).status).toBe(401);
    const r = await t.request('GET', '/api/v1/tenant', { headers: { authorization: 'Token abc' } });
    expect(r.status).toBe(401);
    expectErrorShape(r.body, 'AUTH_MALFORMED');
    const none = await t.request('GET', '/api/v1/tenant');
    expect(none.status).toBe(401);
    expectErrorShape(none.body, 'AUTH_REQUIRED');
  });
});

describe('API keys', () => {
  it('a revoked key stops working at once', async () => {
    const key = await a.apiKey(['catalog:read']);
    expect((await t.request('GET', '/api/v1/tenant', { token: key })).status).toBe(200);
    const list = await t.request('GET', '/api/v1/api-keys', { token: a.ownerToken });
    const id = list.body.data.find((k: { key_prefix: string }) => key.startsWith(k.key_prefix)).id;
    expect((await t.request('DELETE', `/api/v1/api-keys/${id}`, { token: a.ownerToken })).status).toBe(200);
    const r = await t.request('GET', '/api/v1/tenant', { token: key });
    expect(r.status).toBe(401);
    expectErrorShape(r.body, 'API_KEY_REVOKED');
  });

  it('a key used outside its scopes gets 403 naming the scope', async () => {
    const key = await a.apiKey(['recommendations:read']);
    const r = await t.request('GET', '/api/v1/audit/logs', { token: key });
    expect(r.status).toBe(403);
    expectErrorShape(r.body, 'PERMISSION_DENIED');
    expect(r.body.error.message).toContain('audit:read');
    const me = await t.request('GET', '/api/v1/whoami', { token: key });
    expect(me.body).toMatchObject({ actor_type: 'api_key', tenant_id: a.tenantId, role: null, scopes: ['recommendations:read'] });
    expect(me.body.permissions).toEqual(['recommendations:read', 'tenant:read']);
    // Keys never manage keys, members or the platform.
    const admin = await a.apiKey(['admin']);
    expect((await t.request('POST', '/api/v1/api-keys', { token: admin, body: { name: 'x', scopes: ['admin'] } })).status).toBe(403);
    expect((await t.request('GET', '/api/v1/admin/tenants', { token: admin })).status).toBe(403);
  });

  it('an unknown key is refused', async () => {
    const r = await t.request('GET', '/api/v1/tenant', { token: 'sk_live_' + 'x'.repeat(40) });
    expect(r.status).toBe(401);
    expectErrorShape(r.body, 'API_KEY_INVALID');
  });

  it('creating keys needs a recent password (step-up)', async () => {
    // A token whose password check is older than the step-up window is refused with a clear next step.
    const secret = (await t.database.db.execute(
      (
        await import('drizzle-orm')
      ).sql`SELECT value FROM platform_settings WHERE key = 'secret:jwt'`,
    )) as unknown as { rows: { value: string }[] };
    const session = await t.request('GET', '/api/v1/auth/session', { token: a.ownerToken });
    const old = Math.floor(Date.now() / 1000) - 3600;
    const stale = await new SignJWT({ sid: session.body.session.id, auth_time: old, adm: false, typ: 'access' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(session.body.user.id)
      .setIssuer('loupe')
      .setAudience('loupe-api')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(secret.rows[0]!.value));
    const refused = await t.request('POST', '/api/v1/api-keys', { token: stale, body: { name: 'k', scopes: ['catalog:read'] } });
    expect(refused.status).toBe(403);
    expectErrorShape(refused.body, 'STEP_UP_REQUIRED');
    const wrong = await t.request('POST', '/api/v1/auth/step-up', { token: stale, body: { password: 'nope-nope' } });
    expect(wrong.status).toBe(401);
    const up = await t.request('POST', '/api/v1/auth/step-up', { token: stale, body: { password: 'Owner-Password-1' } });
    expect(up.status).toBe(200);
    const ok = await t.request('POST', '/api/v1/api-keys', { token: up.body.access_token, body: { name: 'k', scopes: ['catalog:read'] } });
    expect(ok.status).toBe(201);
  });
});

describe('tenant isolation', () => {
  it("tenant A's user addressing B by path, header or id sees exactly 'not found'", async () => {
    const missing = await t.request('GET', `/audit/0190a000-0000-7000-8000-00000000dead/logs`, { token: a.ownerToken });
    const byPath = await t.request('GET', `/audit/${b.tenantId}/logs`, { token: a.ownerToken });
    expect(byPath.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(byPath.body.error.code).toBe(missing.body.error.code);
    expect(byPath.body.error.message).toBe(missing.body.error.message);
    const byHeader = await t.request('GET', '/api/v1/tenant', { token: a.ownerToken, headers: { 'x-tenant-id': b.tenantId } });
    expect(byHeader.status).toBe(404);
    // B's API key by id, from A: same 404 as a key that does not exist.
    await b.apiKey(['catalog:read']);
    const bKeys = await t.request('GET', '/api/v1/api-keys', { token: b.ownerToken });
    const bKeyId = bKeys.body.data[0].id;
    const cross = await t.request('DELETE', `/api/v1/api-keys/${bKeyId}`, { token: a.ownerToken });
    const none = await t.request('DELETE', `/api/v1/api-keys/0190a000-0000-7000-8000-00000000beef`, { token: a.ownerToken });
    expect(cross.status).toBe(404);
    expect(cross.body.error).toMatchObject({ code: none.body.error.code, message: none.body.error.message });
    expect((await t.request('GET', '/api/v1/api-keys', { token: b.ownerToken })).body.data[0].revoked_at).toBeNull();
  });

  it("an API key of A used on B's path is refused as not found", async () => {
    const key = await a.apiKey(['admin']);
    const r = await t.request('GET', `/audit/${b.tenantId}/logs`, { token: key });
    expect(r.status).toBe(404);
    expect((await t.request('GET', `/audit/${a.tenantId}/logs`, { token: key })).status).toBe(200);
  });

  it('a non-admin cannot reach platform administration', async () => {
    const r = await t.request('GET', '/api/v1/admin/tenants', { token: a.ownerToken });
    expect(r.status).toBe(403);
    expectErrorShape(r.body, 'PLATFORM_ADMIN_REQUIRED');
  });

  it('a suspended tenant is refused, and works again once re-activated', async () => {
    const c = await t.createTenant('To Suspend');
    const key = await c.apiKey(['catalog:read']);
    expect((await t.request('POST', `/api/v1/admin/tenants/${c.tenantId}/suspend`, { token: await t.adminToken() })).body.status).toBe(
      'suspended',
    );
    const r = await t.request('GET', '/api/v1/tenant', { token: key });
    expect(r.status).toBe(403);
    expectErrorShape(r.body, 'TENANT_SUSPENDED');
    await t.request('POST', `/api/v1/admin/tenants/${c.tenantId}/activate`, { token: await t.adminToken() });
    expect((await t.request('GET', '/api/v1/tenant', { token: key })).status).toBe(200);
  });
});

describe('SQL metacharacters in every string field', () => {
  it('are stored and returned verbatim', async () => {
    const hostile = `Robert'); DROP TABLE tenants;-- \\ % _ " $1 ${'\u0000'.slice(1)}\\x00`;
    const admin = await t.adminToken();
    const tenant = await t.request('POST', '/api/v1/admin/tenants', {
      token: admin,
      body: { name: hostile, settings: { [hostile]: hostile } },
    });
    expect(tenant.status).toBe(201);
    expect(tenant.body.name).toBe(hostile);
    expect(tenant.body.settings[hostile]).toBe(hostile);
    const user = await t.request('POST', '/api/v1/admin/users', {
      token: admin,
      body: { email: "o'brien+x@example.com", password: hostile, name: hostile, tenant_id: tenant.body.id, role: 'owner' },
    });
    expect(user.status).toBe(201);
    const login = await t.request('POST', '/api/v1/auth/login', { body: { email: "o'brien+x@example.com", password: hostile } });
    expect(login.status).toBe(200);
    const search = await t.request('GET', `/api/v1/admin/tenants?q=${encodeURIComponent("'; DROP TABLE tenants;--%_")}`, { token: admin });
    expect(search.status).toBe(200);
    const key = await t.request('POST', '/api/v1/api-keys', {
      token: login.body.access_token,
      body: { name: hostile, scopes: ['catalog:read'] },
    });
    expect(key.body.name).toBe(hostile);
    const logs = await t.request('GET', `/api/v1/audit/logs?action=${encodeURIComponent("x' OR '1'='1")}`, {
      token: login.body.access_token,
    });
    expect(logs.status).toBe(200);
    expect(logs.body.data).toEqual([]);
    expect((await t.request('GET', '/api/v1/admin/tenants', { token: admin })).body.data.length).toBeGreaterThan(2);
  });
});
