import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryOne, STEP_UP_WINDOW_SECONDS } from '../../platform/index.ts';

/**
 * Issue 22: a connection's signing secret decides which deliveries are believed. Replacing it, by
 * rotate-secret or by PATCH with `secret`, and disconnecting, are one rule: a signed-in user whose password
 * check is recent (step-up). API keys are refused whatever their scopes, and a stale sign-in is asked to
 * step up; other PATCH fields (name, status) stay open to `integrations:manage`.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
/** Added to the real time by the app's clock: moving it past the window makes every sign-in stale. */
let offsetMs = 0;

beforeAll(async () => {
  t = await createTestApp({}, { clock: () => new Date(Date.now() + offsetMs) });
  A = await t.createTenant('Step-up store');
  B = await t.createTenant('Other store');
});
afterAll(async () => {
  await t?.close();
});

const stored = async (id: string) =>
  (await queryOne<{ v: string; name: string }>(
    t.database.db,
    sql`SELECT signing_secret AS v, name FROM integration_connections WHERE id = ${id}`,
  ))!;

async function connect(name: string) {
  const c = await t.request('POST', '/api/v1/integrations', {
    token: A.ownerToken,
    body: { type: 'woocommerce', name, secret: 'original-secret-1' },
  });
  expect(c.status).toBe(201);
  return c.body.id as string;
}

describe('changing an integration’s secret needs a signed-in user with a recent password check', () => {
  it('PATCH with a secret, rotate-secret and delete refuse an admin-scope API key; nothing changes', async () => {
    const id = await connect('Keyed');
    const before = await stored(id);
    const key = await A.apiKey(['admin']);
    for (const [method, url, body] of [
      ['PATCH', `/api/v1/integrations/${id}`, { secret: 'key-chosen-secret' }],
      ['PATCH', `/api/v1/integrations/${id}`, { secret: 'key-chosen-secret', name: 'Renamed by key' }],
      ['POST', `/api/v1/integrations/${id}/rotate-secret`, { secret: 'key-chosen-secret' }],
      ['POST', `/api/v1/integrations/${id}/rotate-secret`, {}],
      ['DELETE', `/api/v1/integrations/${id}`, undefined],
    ] as const) {
      const res = await t.request(method, url, { token: key, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${url} ${JSON.stringify(body)}`).toBe(403);
      expect(res.body.error.code).toBe('USER_SESSION_REQUIRED');
    }
    expect(await stored(id)).toEqual(before);
    // The key still renames and pauses: those are not secret changes.
    const renamed = await t.request('PATCH', `/api/v1/integrations/${id}`, { token: key, body: { name: 'Renamed', status: 'paused' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Renamed', status: 'paused' });
    expect((await stored(id)).v).toBe(before.v);
  });

  it('a sign-in older than the window is asked to step up; after the step-up the same PATCH works', async () => {
    const id = await connect('Stale');
    const before = await stored(id);
    offsetMs = (STEP_UP_WINDOW_SECONDS + 60) * 1000;
    try {
      const stale = await t.request('PATCH', `/api/v1/integrations/${id}`, { token: A.ownerToken, body: { secret: 'stale-chosen-1' } });
      expect(stale.status).toBe(403);
      expect(stale.body.error.code).toBe('STEP_UP_REQUIRED');
      expect(await stored(id)).toEqual(before);
      // Renaming with the stale sign-in is still fine.
      expect((await t.request('PATCH', `/api/v1/integrations/${id}`, { token: A.ownerToken, body: { name: 'Stale ok' } })).status).toBe(
        200,
      );
      const up = await t.request('POST', '/api/v1/auth/step-up', { token: A.ownerToken, body: { password: 'Owner-Password-1' } });
      expect(up.status).toBe(200);
      const done = await t.request('PATCH', `/api/v1/integrations/${id}`, {
        token: up.body.access_token,
        body: { secret: 'fresh-chosen-1' },
      });
      expect(done.status).toBe(200);
      expect(done.body.secret_masked).toMatch(/en-1$/);
      expect((await stored(id)).v).not.toBe(before.v);
    } finally {
      offsetMs = 0;
    }
  });

  it('hostile secrets are 400s before any check passes them; another tenant’s owner gets 404', async () => {
    const id = await connect('Hostile');
    for (const secret of ['nul\u0000secret-1', 'lone\ud800surrogate', 'x'.repeat(100_000), 12345678, null]) {
      const res = await t.request('PATCH', `/api/v1/integrations/${id}`, { token: A.ownerToken, body: { secret } });
      expect(res.status, JSON.stringify(secret).slice(0, 40)).toBe(400);
    }
    const theirs = await t.request('PATCH', `/api/v1/integrations/${id}`, { token: B.ownerToken, body: { secret: 'cross-tenant-1' } });
    expect(theirs.status).toBe(404);
    expect((await stored(id)).name).toBe('Hostile');
  });

  it('concurrent secret changes by the owner all answer, and the stored secret is one of them', async () => {
    const id = await connect('Racing');
    const secrets = Array.from({ length: 6 }, (_, i) => `concurrent-secret-${i}`);
    const answers = await Promise.all(
      secrets.map((secret) => t.request('PATCH', `/api/v1/integrations/${id}`, { token: A.ownerToken, body: { secret } })),
    );
    expect(answers.map((a) => a.status)).toEqual(secrets.map(() => 200));
    const masked = (await t.request('GET', `/api/v1/integrations/${id}`, { token: A.ownerToken })).body.secret_masked as string;
    expect(secrets.filter((s) => masked.endsWith(s.slice(-4)))).toHaveLength(1);
  });
});
