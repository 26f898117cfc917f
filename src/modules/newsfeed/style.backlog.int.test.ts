import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, multipartBody, pollUntil, type TestApp } from '../../../test/helpers.ts';

/**
 * A store that uploads its order history gets style profiles for those shoppers: an import's users are not
 * refreshed while the upload runs (style.queue.ts), but folded from the backlog once the tenant's bulk writes go
 * quiet. Only in the importing tenant.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let keyA: string;
let keyB: string;

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Importing store');
  B = await t.createTenant('Other store');
  keyA = await A.apiKey(['interactions:write', 'profiles:read']);
  keyB = await B.apiKey(['interactions:write', 'profiles:read']);
  const items = Array.from({ length: 6 }, (_, k) => ({
    item_id: `sku-${k}`,
    name: `Item ${k}`,
    category: k < 3 ? 'Jackets' : 'Shoes',
    brand: 'Acme',
    price: `${20 + k}.00`,
    currency: 'USD',
  }));
  for (const o of [A, B]) expect((await t.request('POST', '/api/v1/items/bulk', { token: o.ownerToken, body: items })).status).toBe(200);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const profileOf = (key: string, user: string) => t.request('GET', `/api/v1/shoppers/${user}/style-profile`, { token: key });

describe('style profiles after an import of order history', () => {
  it("folds the imported shoppers' history once the upload is over, in the importing tenant only", async () => {
    const rows = ['user_id,item_id,interaction_type,timestamp'];
    for (let u = 0; u < 40; u++)
      for (let k = 0; k < 3; k++) rows.push(`hist-${u},sku-${(u + k) % 3},purchase,2026-0${1 + k}-1${k}T10:00:00Z`);
    const m = multipartBody(`${rows.join('\n')}\n`, {}, 'history.csv');
    const up = await t.request('POST', '/api/v1/upload/interactions', {
      token: keyA,
      body: m.body as unknown as string,
      headers: { 'content-type': m.contentType },
    });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ rows_accepted: 120 });
    const got = await pollUntil(
      'imported shopper style profile',
      () => profileOf(keyA, 'hist-7'),
      (r) => r.status === 200 && r.body.profile?.events_count === 3,
      { timeoutMs: 30_000 },
    );
    // Three purchases of jackets (sku-0..2), none of shoes.
    expect(got.body.profile.category_layers.jackets).toBeGreaterThan(0);
    expect(got.body.profile.category_layers.shoes ?? 0).toBe(0);
    await t.modules.newsfeed.settled();
    for (const u of [0, 19, 39]) expect((await profileOf(keyA, `hist-${u}`)).body.profile?.events_count).toBe(3);
    // Tenant B has no such shopper and no profile.
    expect((await profileOf(keyB, 'hist-7')).body.profile ?? null).toBeNull();
  });
});
