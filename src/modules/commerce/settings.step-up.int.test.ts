import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryOne, STEP_UP_WINDOW_SECONDS } from '../../platform/index.ts';

/**
 * Issue 22: the Stripe secret key decides where a store's payments go, the webhook secret which payment events
 * are believed. Setting either is a secret change like an integration's rotate-secret: a signed-in user with a
 * recent password check. API keys (whatever their scopes) and stale sign-ins are refused; the other settings
 * stay open to `orders:manage`.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
/** Added to the real time by the app's clock: moving it past the window makes every sign-in stale. */
let offsetMs = 0;

beforeAll(async () => {
  t = await createTestApp({}, { clock: () => new Date(Date.now() + offsetMs) });
  A = await t.createTenant('Stripe store');
  B = await t.createTenant('Other store');
});
afterAll(async () => {
  await t?.close();
});

const base = { tax_rate_bp: 0, tax_inclusive: false, shipping_options: [] };
const stored = async (tenantId: string) =>
  (await queryOne<{ k: string | null; w: string | null; tax: number }>(
    t.database.db,
    sql`SELECT stripe_secret_key AS k, stripe_webhook_secret AS w, tax_rate_bp AS tax FROM commerce_settings WHERE tenant_id = ${tenantId}`,
  )) ?? null;

describe('setting the Stripe keys needs a signed-in user with a recent password check', () => {
  it('the owner sets them; an admin-scope API key cannot replace them, but still changes the other settings', async () => {
    const set = await t.request('PUT', '/api/v1/commerce/settings', {
      token: A.ownerToken,
      body: { ...base, stripe_secret_key: 'sk_test_owner1', stripe_webhook_secret: 'whsec_owner1' },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const before = await stored(A.tenantId);
    const key = await A.apiKey(['admin']);
    for (const body of [
      { ...base, stripe_secret_key: 'sk_live_attacker1' },
      { ...base, stripe_webhook_secret: 'whsec_attacker1' },
      { ...base, tax_rate_bp: 500, stripe_secret_key: 'sk_live_attacker1', stripe_webhook_secret: 'whsec_attacker1' },
    ]) {
      const res = await t.request('PUT', '/api/v1/commerce/settings', { token: key, body });
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(res.body.error.code).toBe('USER_SESSION_REQUIRED');
    }
    expect(await stored(A.tenantId)).toEqual(before);
    const tax = await t.request('PUT', '/api/v1/commerce/settings', { token: key, body: { ...base, tax_rate_bp: 700 } });
    expect(tax.status).toBe(200);
    expect(tax.body).toMatchObject({ tax_rate_bp: 700, stripe_configured: true, webhook_configured: true });
    expect((await stored(A.tenantId))?.k).toBe(before?.k);
  });

  it('a stale sign-in is asked to step up before any change; after the step-up the keys are set', async () => {
    const before = await stored(A.tenantId);
    offsetMs = (STEP_UP_WINDOW_SECONDS + 60) * 1000;
    try {
      const body = { ...base, tax_rate_bp: 900, stripe_secret_key: 'sk_test_stale2' };
      const stale = await t.request('PUT', '/api/v1/commerce/settings', { token: A.ownerToken, body });
      expect(stale.status).toBe(403);
      expect(stale.body.error.code).toBe('STEP_UP_REQUIRED');
      expect(await stored(A.tenantId)).toEqual(before);
      const up = await t.request('POST', '/api/v1/auth/step-up', { token: A.ownerToken, body: { password: 'Owner-Password-1' } });
      expect(up.status).toBe(200);
      const done = await t.request('PUT', '/api/v1/commerce/settings', { token: up.body.access_token, body });
      expect(done.status).toBe(200);
      expect((await stored(A.tenantId))?.k).not.toBe(before?.k);
    } finally {
      offsetMs = 0;
    }
  });

  it('hostile keys are 400s; another tenant’s owner naming A gets 404; concurrent owner changes all answer', async () => {
    for (const k of ['sk_test_\u0000nul', 'sk_test_\ud800', `sk_test_${'x'.repeat(300)}`, 12345, null]) {
      const res = await t.request('PUT', '/api/v1/commerce/settings', { token: A.ownerToken, body: { ...base, stripe_secret_key: k } });
      expect(res.status, String(k).slice(0, 20)).toBe(400);
    }
    const before = await stored(A.tenantId);
    const cross = await t.request('PUT', '/api/v1/commerce/settings', {
      token: B.ownerToken,
      headers: { 'x-tenant-id': A.tenantId },
      body: { ...base, stripe_secret_key: 'sk_test_crossed' },
    });
    expect(cross.status).toBe(404);
    expect(await stored(A.tenantId)).toEqual(before);
    const answers = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        t.request('PUT', '/api/v1/commerce/settings', { token: A.ownerToken, body: { ...base, stripe_secret_key: `sk_test_race${i}` } }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
  });
});
