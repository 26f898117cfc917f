import { sql } from 'drizzle-orm';
import { authenticator } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryOne } from '../../platform/index.ts';
import {
  type LocalOidcProvider,
  type TokenForger,
  followToCallback,
  startLocalOidcProvider,
  startTokenForger,
} from '../../../test/fakes/oidc.fake.ts';

// Single sign-on end to end: a real OpenID provider on a local port (oidc-provider), the relying party through
// openid-client, and a forger whose ID tokens are wrong in one way each.
const PUBLIC = 'http://loupe.test';
const REDIRECT = `${PUBLIC}/sso/callback`;
let t: TestApp;
let idp: LocalOidcProvider;
let forger: TokenForger;
beforeAll(async () => {
  [t, idp, forger] = await Promise.all([
    createTestApp({ PUBLIC_URL: PUBLIC }),
    startLocalOidcProvider({ redirectUris: [REDIRECT] }),
    startTokenForger(),
  ]);
});
afterAll(async () => {
  await Promise.all([t?.close(), idp?.close(), forger?.close()]);
});

type Store = Awaited<ReturnType<TestApp['createTenant']>> & { slug: string };
async function store(name: string): Promise<Store> {
  const s = await t.createTenant(name);
  const tenant = await t.request('GET', `/api/v1/admin/tenants/${s.tenantId}`, { token: await t.adminToken() });
  return { ...s, slug: tenant.body.slug as string };
}
async function addProvider(
  s: Store,
  body: Record<string, unknown> = {},
  to: { issuer: string; clientId: string; clientSecret: string } = idp,
) {
  const r = await t.request('POST', '/api/v1/sso/providers', {
    token: s.ownerToken,
    body: {
      name: 'Acme Login',
      issuer: to.issuer,
      client_id: to.clientId,
      client_secret: to.clientSecret,
      allowed_domains: ['acme.test'],
      provisioning: 'jit',
      default_role: 'analyst',
      ...body,
    },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id as string;
}
const start = (s: Store, providerId: string) =>
  t.request('POST', '/api/v1/auth/sso/start', { body: { tenant: s.slug, provider_id: providerId, next: '/catalog' } });
const callback = (body: { state: string; browser_key: string; query: string }) => t.request('POST', '/api/v1/auth/sso/callback', { body });
/** The whole round trip through the local provider as `sub` with these claims. */
async function ssoSignIn(s: Store, providerId: string, sub: string, claims: Record<string, unknown>) {
  idp.signInAs(sub, claims);
  const st = await start(s, providerId);
  expect(st.status, JSON.stringify(st.body)).toBe(200);
  const query = await followToCallback(st.body.authorization_url, REDIRECT);
  return { st: st.body, query, res: await callback({ state: st.body.state, browser_key: st.body.browser_key, query }) };
}
const userCount = async () => Number((await queryOne<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM users`))!.n);

describe('single sign-on with OpenID Connect', () => {
  it('configures a provider (secret sealed, never answered), tests the connection, and signs a new member in just in time', async () => {
    const s = await store('Sso Jit');
    const id = await addProvider(s);
    const list = await t.request('GET', '/api/v1/sso/providers', { token: s.ownerToken });
    expect(list.body).toMatchObject({
      require_sso: false,
      redirect_uri: REDIRECT,
      providers: [{ id, name: 'Acme Login', client_secret_set: true }],
    });
    expect(JSON.stringify(list.body)).not.toContain(idp.clientSecret);
    const row = await queryOne<{ s: string }>(t.database.db, sql`SELECT client_secret AS s FROM sso_providers WHERE id = ${id}`);
    expect(row!.s).toMatch(/^enc:v1:/);
    expect(row!.s).not.toContain(idp.clientSecret);
    const test = await t.request('POST', `/api/v1/sso/providers/${id}/test`, { token: s.ownerToken });
    expect(test.body).toMatchObject({ ok: true, issuer: idp.issuer, supports_pkce_s256: true });
    expect((await t.request('GET', `/api/v1/auth/sso/providers?tenant=${s.slug}`)).body).toEqual({
      providers: [{ id, name: 'Acme Login' }],
    });

    const { st, res } = await ssoSignIn(s, id, 'alice-1', { email: 'Alice@Acme.test', email_verified: true, name: 'Alice' });
    const auth = new URL(st.authorization_url);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('nonce')).toBeTruthy();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ next: '/catalog', user: { email: 'alice@acme.test', tenant_id: s.tenantId, role: 'analyst' } });
    const me = await t.request('GET', '/api/v1/auth/session', { token: res.body.access_token });
    expect(me.status).toBe(200);
    // Again: the linked identity signs the same account in.
    const again = await ssoSignIn(s, id, 'alice-1', { email: 'alice@acme.test', email_verified: true });
    expect(again.res.body.user.id).toBe(res.body.user.id);
  });

  it('refuses a wrong or reused state, another browser, and a replayed code', async () => {
    const s = await store('Sso Replay');
    const id = await addProvider(s);
    idp.signInAs('bob-1', { email: 'bob@acme.test', email_verified: true });
    const st = (await start(s, id)).body;
    const query = await followToCallback(st.authorization_url, REDIRECT);
    expect((await callback({ state: 'not-the-state', browser_key: st.browser_key, query })).body.error.code).toBe('SSO_STATE_INVALID');
    expect((await callback({ state: st.state, browser_key: 'another-browser', query })).body.error.code).toBe('SSO_STATE_INVALID');
    const ok = await callback({ state: st.state, browser_key: st.browser_key, query });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const replay = await callback({ state: st.state, browser_key: st.browser_key, query });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('SSO_STATE_INVALID');
    // The used code under a fresh, valid state: the provider refuses it (used, and another PKCE verifier).
    const fresh = (await start(s, id)).body;
    const code = new URLSearchParams(query).get('code')!;
    const q2 = `?code=${encodeURIComponent(code)}&state=${encodeURIComponent(fresh.state)}&iss=${encodeURIComponent(idp.issuer)}`;
    const r = await callback({ state: fresh.state, browser_key: fresh.browser_key, query: q2 });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('SSO_CODE_REJECTED');
  });

  it('refuses an unverified e-mail and a domain not allowed, creating no account', async () => {
    const s = await store('Sso Unverified');
    const id = await addProvider(s);
    const before = await userCount();
    const unverified = await ssoSignIn(s, id, 'carol-1', { email: 'carol@acme.test', email_verified: false });
    expect(unverified.res.status).toBe(403);
    expect(unverified.res.body.error.code).toBe('SSO_EMAIL_UNVERIFIED');
    const other = await ssoSignIn(s, id, 'dave-1', { email: 'dave@elsewhere.test', email_verified: true });
    expect(other.res.body.error.code).toBe('SSO_EMAIL_DOMAIN_NOT_ALLOWED');
    expect(await userCount()).toBe(before);
  });

  it("links to an existing account only with that account's password (no takeover by an asserted e-mail)", async () => {
    const s = await store('Sso Link');
    const id = await addProvider(s);
    const admin = await t.adminToken();
    const victim = await t.request('POST', '/api/v1/admin/users', {
      token: admin,
      body: { email: 'erin@acme.test', password: 'Erin-Password-77' },
    });
    expect(victim.status).toBe(201);
    const first = await ssoSignIn(s, id, 'erin-at-idp', { email: 'erin@acme.test', email_verified: true });
    expect(first.res.status).toBe(200);
    expect(first.res.body).toMatchObject({ link_required: true, email: 'erin@acme.test', provider_name: 'Acme Login' });
    expect(first.res.body.access_token).toBeUndefined();
    const wrong = await t.request('POST', '/api/v1/auth/sso/link', {
      body: { link_token: first.res.body.link_token, password: 'guess-guess-1' },
    });
    expect(wrong.status).toBe(401);
    const forged = await t.request('POST', '/api/v1/auth/sso/link', {
      body: { link_token: `${first.res.body.link_token}x`, password: 'Erin-Password-77' },
    });
    expect(forged.body.error.code).toBe('SSO_LINK_TOKEN_INVALID');
    const linked = await t.request('POST', '/api/v1/auth/sso/link', {
      body: { link_token: first.res.body.link_token, password: 'Erin-Password-77' },
    });
    expect(linked.status, JSON.stringify(linked.body)).toBe(200);
    expect(linked.body.user).toMatchObject({ id: victim.body.id, tenant_id: s.tenantId, role: 'analyst' });
    const next = await ssoSignIn(s, id, 'erin-at-idp', { email: 'erin@acme.test', email_verified: true });
    expect(next.res.body.user.id).toBe(victim.body.id);
    // Another subject asserting the same address still cannot sign in as her.
    const other = await ssoSignIn(s, id, 'mallory', { email: 'erin@acme.test', email_verified: true });
    expect(other.res.body.link_required).toBe(true);
  });

  it('invite-only admits an invited address with its role and refuses others', async () => {
    const s = await store('Sso Invite');
    const id = await addProvider(s, { provisioning: 'invite_only', allowed_domains: [] });
    const before = await userCount();
    const refused = await ssoSignIn(s, id, 'frank-1', { email: 'frank@acme.test', email_verified: true });
    expect(refused.res.status).toBe(403);
    expect(refused.res.body.error.code).toBe('SSO_NOT_INVITED');
    expect(await userCount()).toBe(before);
    const inv = await t.request('POST', '/api/v1/members/invitations', {
      token: s.ownerToken,
      body: { email: 'grace@other.test', role: 'admin' },
    });
    expect(inv.status, JSON.stringify(inv.body)).toBeLessThan(300);
    const ok = await ssoSignIn(s, id, 'grace-1', { email: 'grace@other.test', email_verified: true });
    expect(ok.res.body.user, JSON.stringify(ok.res.body)).toMatchObject({
      email: 'grace@other.test',
      tenant_id: s.tenantId,
      role: 'admin',
    });
  });

  it("another tenant's provider id is not found, and its providers are neither listed nor changeable", async () => {
    const a = await store('Sso Tenant A');
    const b = await store('Sso Tenant B');
    const bId = await addProvider(b);
    expect((await t.request('POST', '/api/v1/auth/sso/start', { body: { tenant: a.slug, provider_id: bId } })).status).toBe(404);
    expect((await t.request('GET', '/api/v1/sso/providers', { token: a.ownerToken })).body.providers).toEqual([]);
    expect((await t.request('POST', `/api/v1/sso/providers/${bId}/test`, { token: a.ownerToken })).status).toBe(404);
    expect((await t.request('DELETE', `/api/v1/sso/providers/${bId}`, { token: a.ownerToken })).status).toBe(404);
    const put = await t.request('PUT', `/api/v1/sso/providers/${bId}`, {
      token: a.ownerToken,
      body: { name: 'x', issuer: idp.issuer, client_id: 'x', allowed_domains: ['a.test'], provisioning: 'jit' },
    });
    expect(put.status).toBe(404);
    expect((await t.request('GET', '/api/v1/sso/providers', { token: b.ownerToken })).body.providers[0].name).toBe('Acme Login');
  });

  it('answers 503 when the provider is down, and validates the settings', async () => {
    const s = await store('Sso Down');
    const down = await startLocalOidcProvider({ redirectUris: [REDIRECT] });
    const id = await addProvider(s, {}, down);
    await down.close();
    const st = await start(s, id);
    expect(st.status).toBe(503);
    expect(st.body.error.code).toBe('SSO_PROVIDER_UNAVAILABLE');
    expect((await t.request('POST', `/api/v1/sso/providers/${id}/test`, { token: s.ownerToken })).status).toBe(503);
    const bad = (body: Record<string, unknown>) =>
      t.request('POST', '/api/v1/sso/providers', {
        token: s.ownerToken,
        body: {
          name: 'X',
          issuer: 'https://login.acme.test',
          client_id: 'c',
          client_secret: 's',
          allowed_domains: ['acme.test'],
          provisioning: 'jit',
          ...body,
        },
      });
    expect((await bad({ issuer: 'http://login.acme.test' })).body.error.details[0].field).toBe('issuer');
    expect((await bad({ allowed_domains: [] })).body.error.details[0].field).toBe('allowed_domains');
    expect((await bad({ allowed_domains: ['not a domain'] })).status).toBe(400);
    expect((await bad({ client_secret: undefined })).body.error.details[0].field).toBe('client_secret');
    expect((await bad({ default_role: 'owner' })).status).toBe(400);
  });

  it('a store can require single sign-on: members then act only in an SSO session, owners keep their password', async () => {
    const s = await store('Sso Required');
    expect(
      (await t.request('PUT', '/api/v1/tenant/sso-policy', { token: s.ownerToken, body: { require_sso: true } })).body.error.code,
    ).toBe('SSO_PROVIDER_REQUIRED');
    const id = await addProvider(s);
    const admin = await t.adminToken();
    await t.request('POST', '/api/v1/admin/users', {
      token: admin,
      body: { email: 'henry@acme.test', password: 'Henry-Password-77', tenant_id: s.tenantId, role: 'analyst' },
    });
    const pw = (await t.request('POST', '/api/v1/auth/login', { body: { email: 'henry@acme.test', password: 'Henry-Password-77' } })).body
      .access_token;
    expect((await t.request('GET', '/api/v1/items', { token: pw })).status).toBe(200);
    expect((await t.request('PUT', '/api/v1/tenant/sso-policy', { token: s.ownerToken, body: { require_sso: true } })).status).toBe(200);
    const refused = await t.request('GET', '/api/v1/items', { token: pw });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('SSO_REQUIRED');
    expect((await t.request('GET', '/api/v1/items', { token: s.ownerToken })).status).toBe(200);
    // Henry links his account and signs in through the provider: admitted.
    const first = await ssoSignIn(s, id, 'henry-1', { email: 'henry@acme.test', email_verified: true });
    const linked = await t.request('POST', '/api/v1/auth/sso/link', {
      body: { link_token: first.res.body.link_token, password: 'Henry-Password-77' },
    });
    expect((await t.request('GET', '/api/v1/items', { token: linked.body.access_token })).status).toBe(200);
  });

  it("keeps the account's own second factor: SSO of a TOTP account answers a second step", async () => {
    const s = await store('Sso Totp');
    const id = await addProvider(s);
    const first = await ssoSignIn(s, id, 'ivy-1', { email: 'ivy@acme.test', email_verified: true });
    const token = first.res.body.access_token;
    const e = await t.request('POST', '/api/v1/auth/2fa/enrol', { token });
    // A session begun by SSO is elevated for step-up like a password sign-in.
    expect(e.status, JSON.stringify(e.body)).toBe(200);
    const c = await t.request('POST', '/api/v1/auth/2fa/confirm', { token, body: { code: authenticator.generate(e.body.secret) } });
    expect(c.status).toBe(200);
    const second = await ssoSignIn(s, id, 'ivy-1', { email: 'ivy@acme.test', email_verified: true });
    expect(second.res.body).toMatchObject({ mfa_required: true });
    expect(second.res.body.access_token).toBeUndefined();
    const bad = await t.request('POST', '/api/v1/auth/2fa/verify', { body: { mfa_token: second.res.body.mfa_token, code: '000000' } });
    expect(bad.status).toBe(401);
  });
});

describe('ID token validation (a provider answering forged tokens)', () => {
  let s: Store;
  let id: string;
  beforeAll(async () => {
    s = await store('Sso Forger');
    id = await addProvider(s, {}, forger);
  });
  async function withToken(tamper: Parameters<TokenForger['nextIdToken']>[0]) {
    const st = (await start(s, id)).body;
    forger.expectNonce(new URL(st.authorization_url).searchParams.get('nonce')!);
    forger.nextIdToken(tamper);
    return callback({ state: st.state, browser_key: st.browser_key, query: `?code=c0de&state=${encodeURIComponent(st.state)}` });
  }
  it('accepts the right token (the forger works), then refuses each wrong one', async () => {
    const ok = await withToken((c) => ({ claims: { ...c, email: 'zed@acme.test' } }));
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.user.email).toBe('zed@acme.test');
    const cases: [string, Parameters<TokenForger['nextIdToken']>[0]][] = [
      ['wrong audience', (c) => ({ claims: { ...c, aud: 'another-client' } })],
      ['wrong nonce', (c) => ({ claims: { ...c, nonce: 'not-the-nonce' } })],
      ['expired', (c) => ({ claims: { ...c, iat: Number(c.iat) - 7200, exp: Number(c.iat) - 3600 } })],
      ['wrong issuer', (c) => ({ claims: { ...c, iss: 'https://evil.test' } })],
      ['forged signature', (c) => ({ claims: c, foreignKey: true })],
    ];
    for (const [what, tamper] of cases) {
      const r = await withToken(tamper);
      expect(r.status, what).toBe(401);
      expect(r.body.error.code, what).toBe('SSO_ID_TOKEN_INVALID');
    }
  });
});
