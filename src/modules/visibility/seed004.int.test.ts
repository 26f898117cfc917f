import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, createTestApp, type TestApp } from '../../../test/helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe("seed 004's auth paths are the /api/v1/auth handlers", () => {
  it('login, session, step-up, refresh and logout work under /auth/*', async () => {
    const login = await t.request('POST', '/auth/login', { body: ADMIN });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const token = login.body.access_token as string;
    const session = await t.request('GET', '/auth/session', { token });
    expect(session.status).toBe(200);
    expect(session.body).toEqual((await t.request('GET', '/api/v1/auth/session', { token })).body);
    expect((await t.request('POST', '/auth/step-up', { token, body: { password: ADMIN.password } })).status).toBe(200);
    const refreshed = await t.request('POST', '/auth/refresh', { body: { refresh_token: login.body.refresh_token } });
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    expect((await t.request('POST', '/auth/logout', { token: refreshed.body.access_token, body: {} })).status).toBeLessThan(300);
    expect((await t.request('POST', '/auth/login', { body: { ...ADMIN, password: 'wrong-password-1' } })).status).toBe(401);
    expect((await t.request('POST', '/auth/register', { body: {} })).status).not.toBe(404);
  });
});

describe("seed 004's Stripe calls on a server without billing", () => {
  it('answer 503 BILLING_NOT_CONFIGURED, and no plan limit applies', async () => {
    const a = await t.createTenant('No billing');
    const co = await t.request('POST', '/stripe/checkout', { token: a.ownerToken, body: { plan: 'pro' } });
    expect(co.status).toBe(503);
    expect(co.body.error.code).toBe('BILLING_NOT_CONFIGURED');
    const hook = await t.request('POST', '/stripe/webhook', { body: '{}', headers: { 'content-type': 'application/json' } });
    expect(hook.status).toBe(503);
    const st = (await t.request('GET', '/api/v1/billing', { token: a.ownerToken })).body;
    expect(st.billing_enabled).toBe(false);
    const key = await a.apiKey(['catalog:read']);
    for (let i = 0; i < 12; i++) expect((await t.request('GET', '/api/v1/items', { token: key })).status).toBe(200);
  });
});
