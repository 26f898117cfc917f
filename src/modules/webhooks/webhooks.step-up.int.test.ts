import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryOne, STEP_UP_WINDOW_SECONDS } from '../../platform/index.ts';

/**
 * Issue 22: an outbound endpoint's signing secret is what its receiver trusts. Rotating it is a step-up route like
 * an integration's rotate-secret: API keys are refused whatever their scopes, a stale sign-in steps up first.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let offsetMs = 0;

beforeAll(async () => {
  t = await createTestApp({ LOUPE_WEBHOOKS_ALLOW_PRIVATE: '127.0.0.1/32' }, { clock: () => new Date(Date.now() + offsetMs) });
  A = await t.createTenant('Hooks step-up');
  B = await t.createTenant('Hooks other');
});
afterAll(async () => {
  await t?.close();
});

const secretOf = async (id: string) =>
  (await queryOne<{ v: string }>(t.database.db, sql`SELECT secret AS v FROM webhook_endpoints WHERE id = ${id}`))!.v;

async function endpoint(path: string) {
  const r = await t.request('POST', '/api/v1/webhooks/endpoints', {
    token: A.ownerToken,
    body: { url: `http://127.0.0.1:9/${path}`, event_types: ['*'] },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id as string;
}

describe('rotating an outbound webhook secret needs a signed-in user with a recent password check', () => {
  it('refuses API keys, even admin ones, and leaves the secret alone', async () => {
    const id = await endpoint('keyed');
    const before = await secretOf(id);
    for (const scopes of [['admin'], ['catalog:write']]) {
      const key = await A.apiKey(scopes);
      const r = await t.request('POST', `/api/v1/webhooks/endpoints/${id}/rotate-secret`, { token: key, body: { grace_hours: 0 } });
      expect(r.status, scopes.join()).toBe(403);
      expect(r.body.error.code).toBe('USER_SESSION_REQUIRED');
    }
    expect(await secretOf(id)).toBe(before);
  });

  it('a stale sign-in is asked to step up; after it the rotation works; another tenant gets 404', async () => {
    const id = await endpoint('stale');
    const before = await secretOf(id);
    expect((await t.request('POST', `/api/v1/webhooks/endpoints/${id}/rotate-secret`, { token: B.ownerToken, body: {} })).status).toBe(404);
    offsetMs = (STEP_UP_WINDOW_SECONDS + 60) * 1000;
    try {
      const stale = await t.request('POST', `/api/v1/webhooks/endpoints/${id}/rotate-secret`, { token: A.ownerToken, body: {} });
      expect(stale.status).toBe(403);
      expect(stale.body.error.code).toBe('STEP_UP_REQUIRED');
      expect(await secretOf(id)).toBe(before);
      const up = await t.request('POST', '/api/v1/auth/step-up', { token: A.ownerToken, body: { password: 'Owner-Password-1' } });
      expect(up.status).toBe(200);
      const done = await t.request('POST', `/api/v1/webhooks/endpoints/${id}/rotate-secret`, { token: up.body.access_token, body: {} });
      expect(done.status).toBe(200);
      expect(await secretOf(id)).not.toBe(before);
    } finally {
      offsetMs = 0;
    }
  });
});
