import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, createTestApp, type TestApp } from '../../../test/helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe("seed 003's onboarding flow, as written", () => {
  it('admin creates a tenant and a user; the user logs in and creates an API key shown once', async () => {
    const admin = await t.adminToken();
    const tenant = await t.request('POST', '/api/v1/admin/tenants', {
      token: admin,
      body: {
        name: "Sarah's Electronics",
        slug: 'sarahs-electronics',
        settings: { recommendation_model: 'lightgcn', max_recommendations: 50, enable_real_time: true },
      },
    });
    expect(tenant.status).toBe(201);
    expect(tenant.body).toMatchObject({ name: "Sarah's Electronics", slug: 'sarahs-electronics', status: 'active' });
    expect(tenant.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);

    const user = await t.request('POST', '/api/v1/admin/users', {
      token: admin,
      body: { email: 'sarah@electronicsstore.com', password: 'SecurePass123!', tenant_id: tenant.body.id, role: 'admin' },
    });
    expect(user.status).toBe(201);
    expect(user.body).toMatchObject({ email: 'sarah@electronicsstore.com', tenant_id: tenant.body.id, role: 'admin', status: 'active' });

    const login = await t.request('POST', '/api/v1/auth/login', {
      body: { email: 'sarah@electronicsstore.com', password: 'SecurePass123!' },
    });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({
      expires_in: 900,
      user: { email: 'sarah@electronicsstore.com', tenant_id: tenant.body.id, role: 'admin' },
    });
    expect(login.body.access_token).toMatch(/^eyJ/);

    const key = await t.request('POST', '/api/v1/api-keys', {
      token: login.body.access_token,
      body: { name: 'Production Website', scopes: ['recommendations:read', 'interactions:write'] },
    });
    expect(key.status).toBe(201);
    expect(key.body.api_key).toMatch(/^sk_live_[A-Za-z0-9]{40}$/);
    expect(key.body.key_prefix).toBe(key.body.api_key.slice(0, 12));
    expect(key.body.scopes).toEqual(['recommendations:read', 'interactions:write']);

    // Only a hash is stored, and listing never shows the secret.
    const list = await t.request('GET', '/api/v1/api-keys', { token: login.body.access_token });
    expect(JSON.stringify(list.body)).not.toContain(key.body.api_key);
    expect(list.body.data[0]).toMatchObject({ id: key.body.id, key_prefix: key.body.key_prefix });
    const raw = await t.database.pglite?.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM api_keys WHERE key_hash LIKE '%' || $1 || '%'`,
      [key.body.api_key],
    );
    if (raw) expect(raw.rows[0]!.n).toBe(0);

    // The key authenticates as its tenant.
    const me = await t.request('GET', '/api/v1/tenant', { token: key.body.api_key });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: tenant.body.id, slug: 'sarahs-electronics' });
    const audit = await t.request('GET', '/api/v1/audit/logs', { token: key.body.api_key });
    expect(audit.status).toBe(403); // recommendations:read + interactions:write do not include audit:read
    expect(audit.body.error.code).toBe('PERMISSION_DENIED');
  });
});

describe('tokens and sessions', () => {
  it('refresh rotates; reusing a token older than the immediately previous one revokes the whole family', async () => {
    const a = await t.request('POST', '/api/v1/auth/login', { body: ADMIN });
    const r1 = await t.request('POST', '/api/v1/auth/refresh', { body: { refresh_token: a.body.refresh_token } });
    expect(r1.status).toBe(200);
    expect(r1.body.refresh_token).not.toBe(a.body.refresh_token);
    const r2 = await t.request('POST', '/api/v1/auth/refresh', { body: { refresh_token: r1.body.refresh_token } });
    expect(r2.status).toBe(200);
    // The first token's successor has been used since: presenting it again is reuse, not a race.
    const reuse = await t.request('POST', '/api/v1/auth/refresh', { body: { refresh_token: a.body.refresh_token } });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('REFRESH_TOKEN_REUSED');
    // The family is gone: the newest refresh token and the access tokens stop working too.
    const r3 = await t.request('POST', '/api/v1/auth/refresh', { body: { refresh_token: r2.body.refresh_token } });
    expect(r3.status).toBe(401);
    const session = await t.request('GET', '/api/v1/auth/session', { token: r2.body.access_token });
    expect(session.status).toBe(401);
    expect(session.body.error.code).toBe('SESSION_ENDED');
  });

  it('logout ends the session', async () => {
    const a = await t.request('POST', '/api/v1/auth/login', { body: ADMIN });
    expect((await t.request('GET', '/api/v1/auth/session', { token: a.body.access_token })).status).toBe(200);
    expect((await t.request('POST', '/api/v1/auth/logout', { token: a.body.access_token })).status).toBe(204);
    expect((await t.request('GET', '/api/v1/auth/session', { token: a.body.access_token })).status).toBe(401);
    expect((await t.request('POST', '/api/v1/auth/refresh', { body: { refresh_token: a.body.refresh_token } })).status).toBe(401);
  });

  it('session lists the tenants of the user with roles', async () => {
    const s = await t.createTenant('Session Shop');
    const r = await t.request('GET', '/api/v1/auth/session', { token: s.ownerToken });
    expect(r.status).toBe(200);
    expect(r.body.tenants).toEqual([expect.objectContaining({ id: s.tenantId, role: 'owner', name: 'Session Shop' })]);
    expect(r.body.active_tenant_id).toBe(s.tenantId);
    expect(new Date(r.body.session.elevated_until).getTime()).toBeGreaterThan(Date.now());
  });
});

describe('brute force', () => {
  it('slows down, then locks the account after five failures, and records security events', async () => {
    const s = await t.createTenant('Brute Shop');
    const started = Date.now();
    for (let i = 0; i < 5; i++) {
      const r = await t.request('POST', '/api/v1/auth/login', { body: { email: s.ownerEmail, password: 'wrong-password' } });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('INVALID_CREDENTIALS');
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(100 + 200 + 400 + 800);
    // Even the right password is refused while locked.
    const locked = await t.request('POST', '/api/v1/auth/login', { body: { email: s.ownerEmail, password: 'Owner-Password-1' } });
    expect(locked.status).toBe(423);
    expect(locked.body.error.code).toBe('ACCOUNT_LOCKED');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(800);
    const rows = await t.database.db.execute(
      (await import('drizzle-orm'))
        .sql`SELECT type FROM security_events WHERE type IN ('login_failed', 'account_locked', 'login_locked') ORDER BY id`,
    );
    const types = (rows as unknown as { rows: { type: string }[] }).rows.map((r) => r.type);
    expect(types.filter((x) => x === 'login_failed').length).toBeGreaterThanOrEqual(4);
    expect(types).toContain('account_locked');
    expect(types).toContain('login_locked');
  });

  it('answers an unknown e-mail exactly like a wrong password', async () => {
    const r = await t.request('POST', '/api/v1/auth/login', { body: { email: 'nobody@nowhere.test', password: 'whatever-123' } });
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ code: 'INVALID_CREDENTIALS', message: 'The e-mail or password is incorrect.' });
  });
});
