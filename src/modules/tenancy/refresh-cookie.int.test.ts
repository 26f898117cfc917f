import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

/**
 * The dashboard's refresh token in an HttpOnly cookie (issue 22, Low): cookie mode by `X-Loupe-Refresh: cookie`,
 * the token never in a body JavaScript reads, SameSite=Strict, scoped to the refresh path, Secure over https, the
 * refresh refused from another origin, logout clearing it; API clients that do not ask keep the body token.
 */
let t: TestApp;
let email: string;
const PASSWORD = 'Owner-Password-1';
const HOST = 'loupe.test';
const ORIGIN = `http://${HOST}`;
const COOKIE_MODE = { 'x-loupe-refresh': 'cookie', host: HOST };

interface Raw {
  status: number;
  body: any;
  setCookie: string[];
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Raw> {
  const res = await t.app.inject({ method: 'POST', url, headers, ...(body === undefined ? {} : { payload: body as object }) });
  const sc = res.headers['set-cookie'];
  return {
    status: res.statusCode,
    body: res.body ? JSON.parse(res.body) : undefined,
    setCookie: sc === undefined ? [] : Array.isArray(sc) ? sc : [String(sc)],
  };
}

const cookieValue = (setCookie: string[]): string | undefined => /^loupe_refresh=([^;]*)/.exec(setCookie[0] ?? '')?.[1];

async function cookieLogin(extra: Record<string, string> = {}): Promise<{ access: string; cookie: string; raw: Raw }> {
  const raw = await post('/api/v1/auth/login', { email, password: PASSWORD }, { ...COOKIE_MODE, ...extra });
  expect(raw.status).toBe(200);
  return { access: raw.body.access_token, cookie: cookieValue(raw.setCookie)!, raw };
}

const refreshByCookie = (cookie: string, headers: Record<string, string> = { origin: ORIGIN }) =>
  post('/api/v1/auth/refresh', {}, { ...COOKIE_MODE, cookie: `other=1; loupe_refresh=${cookie}`, ...headers });

beforeAll(async () => {
  t = await createTestApp({ LOUPE_TRUST_PROXY: 'true', PUBLIC_URL: 'https://dash.example.com' });
  email = (await t.createTenant('Cookie store')).ownerEmail;
}, 180_000);
afterAll(async () => t?.close());

describe('refresh token cookie', () => {
  it('sign-in in cookie mode sets an HttpOnly, SameSite=Strict cookie on the refresh path, and the body has no refresh token', async () => {
    const { raw, cookie } = await cookieLogin();
    expect(raw.body.refresh_token).toBeUndefined();
    expect(JSON.stringify(raw.body)).not.toContain('rt_');
    expect(cookie).toMatch(/^rt_/);
    const attrs = raw.setCookie[0]!;
    expect(attrs).toMatch(/; HttpOnly/);
    expect(attrs).toMatch(/; SameSite=Strict/);
    expect(attrs).toMatch(/; Path=\/api\/v1\/auth\/refresh(;|$)/);
    expect(attrs).toMatch(/; Max-Age=2592000/);
    expect(attrs).not.toMatch(/Secure/);
    // Over https (a proxy saying so, trusted here) the cookie is Secure too.
    const https = await cookieLogin({ 'x-forwarded-proto': 'https' });
    expect(https.raw.setCookie[0]).toMatch(/; Secure/);
  });

  it('the refresh reads the cookie from this origin, rotates it and answers a working access token', async () => {
    const first = await cookieLogin();
    const r = await refreshByCookie(first.cookie);
    expect(r.status).toBe(200);
    expect(r.body.refresh_token).toBeUndefined();
    const next = cookieValue(r.setCookie);
    expect(next).toMatch(/^rt_/);
    expect(next).not.toBe(first.cookie);
    expect((await t.request('GET', '/api/v1/auth/session', { token: r.body.access_token })).status).toBe(200);
    // PUBLIC_URL's origin is this server too (a dashboard behind a proxy).
    const viaPublic = await refreshByCookie(next!, { origin: 'https://dash.example.com' });
    expect(viaPublic.status).toBe(200);
    // Behind a TLS-terminating proxy the page is https and the request arrives as http: the host decides.
    const viaProxy = await refreshByCookie(cookieValue(viaPublic.setCookie)!, { origin: `https://${HOST}` });
    expect(viaProxy.status).toBe(200);
  });

  it('refuses a refresh by cookie from another origin, without Origin, or with Origin null, and the cookie stays usable', async () => {
    const { cookie } = await cookieLogin();
    const origins: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      {},
      { origin: 'null' },
      { origin: `${ORIGIN}.evil.example` },
      { origin: 'http://loupe.test:8080' },
      { origin: 'http://loupe.test@evil.example' },
      { origin: 'ftp://loupe.test' },
    ];
    for (const headers of origins) {
      const r = await refreshByCookie(cookie, headers);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('REFRESH_ORIGIN_REFUSED');
      expect(r.setCookie).toEqual([]);
    }
    expect((await refreshByCookie(cookie)).status).toBe(200);
  });

  it('hostile or missing cookies are refused as invalid and the cookie is cleared; no cookie-mode header and no body token is a 400', async () => {
    // (A NUL byte cannot reach a handler in a header: HTTP parsing refuses it first.)
    for (const bad of ['', 'not-a-token', `rt_${'a'.repeat(5000)}`, 'rt_%00', 'rt_a b', 'rt_unknown_token_value']) {
      const r = await post('/api/v1/auth/refresh', {}, { ...COOKIE_MODE, origin: ORIGIN, cookie: `loupe_refresh=${bad}` });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('REFRESH_TOKEN_INVALID');
      expect(r.setCookie[0]).toMatch(/^loupe_refresh=; Path=\/api\/v1\/auth\/refresh; Max-Age=0/);
    }
    const none = await post('/api/v1/auth/refresh', {}, { host: HOST, origin: ORIGIN });
    expect(none.status).toBe(400);
    expect(none.body.error.code).toBe('REFRESH_TOKEN_REQUIRED');
    // A body that is not an object, or carries more than the token, is still refused by the schema.
    expect((await post('/api/v1/auth/refresh', { refresh_token: 'rt_x', extra: 1 }, COOKIE_MODE)).status).toBe(400);
  });

  it('logout clears the cookie, and the token it held no longer refreshes', async () => {
    const { access, cookie } = await cookieLogin();
    const out = await post('/api/v1/auth/logout', {}, { ...COOKIE_MODE, authorization: `Bearer ${access}` });
    expect(out.status).toBe(204);
    expect(out.setCookie[0]).toMatch(/^loupe_refresh=; .*Max-Age=0/);
    const r = await refreshByCookie(cookie);
    expect(r.status).toBe(401);
  });

  it('API clients that do not ask for the cookie keep the body token and get no cookie (SDK and scripts unchanged)', async () => {
    const login = await post('/api/v1/auth/login', { email, password: PASSWORD });
    expect(login.body.refresh_token).toMatch(/^rt_/);
    expect(login.setCookie).toEqual([]);
    const r = await post('/api/v1/auth/refresh', { refresh_token: login.body.refresh_token });
    expect(r.status).toBe(200);
    expect(r.body.refresh_token).toMatch(/^rt_/);
    expect(r.setCookie).toEqual([]);
    // An API key call in cookie mode sets nothing either: no answer but a token answer carries a cookie.
    const A = await t.createTenant('Cookie keys');
    const key = await A.apiKey(['catalog:read']);
    const items = await t.app.inject({ method: 'GET', url: '/api/v1/items', headers: { ...COOKIE_MODE, authorization: `Bearer ${key}` } });
    expect(items.statusCode).toBe(200);
    expect(items.headers['set-cookie']).toBeUndefined();
  });

  it('a body token in cookie mode (a dashboard tab from before the cookie) moves into the cookie', async () => {
    const login = await post('/api/v1/auth/login', { email, password: PASSWORD });
    const r = await post('/api/v1/auth/refresh', { refresh_token: login.body.refresh_token }, { ...COOKIE_MODE, origin: ORIGIN });
    expect(r.status).toBe(200);
    expect(r.body.refresh_token).toBeUndefined();
    expect((await refreshByCookie(cookieValue(r.setCookie)!)).status).toBe(200);
  });
});
