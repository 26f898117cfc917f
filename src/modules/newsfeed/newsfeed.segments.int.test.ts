import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { activeCampaign } from '../../../test/sponsored-campaigns.ts';

/**
 * Sponsored segment targeting in the feed, wired in src/app.ts: the shopper's profile comes from identity's
 * read-only lookup and its segment from predictions' scores. A campaign targeting a segment reaches shoppers
 * scored in it, not others, and never a shopper of another tenant with the same user id.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let keyA: string;
let keyB: string;

const at = new Date('2026-11-02T10:00:00Z');
async function profileOf(tenantId: string, userId: string): Promise<string> {
  const [r] = await t.modules.identity.resolveMany(tenantId, [
    { identifiers: [{ type: 'user_id', value: userId }], channel: 'api', occurredAt: at },
  ]);
  return r!;
}
async function score(tenantId: string, profileId: string, segment: string) {
  // What the predictions training job writes for a scored profile (only the columns targeting reads matter).
  await t.database.db.execute(
    sql`INSERT INTO prediction_scores (tenant_id, profile_id, rfm_r, rfm_f, rfm_m, segment, scored_at)
        VALUES (${tenantId}, ${profileId}, 5, 5, 5, ${segment}, now())`,
  );
}
const campaign = (token: string, segments: string[]): Promise<string> =>
  activeCampaign(t, token, {
    name: `For ${segments.join(', ')}`,
    creative: { headline: 'Only for our best customers' },
    promoted_item_ids: ['sku-1', 'sku-2'],
    targeting: { segments },
  });
const sponsoredAt3 = async (key: string, user: string) => {
  const r = await t.request('GET', `/api/v1/newsfeed?user_id=${encodeURIComponent(user)}`, { token: key });
  expect(r.status).toBe(200);
  return r.body.modules[2] as { sponsored: boolean; campaign_id?: string };
};

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Segments store');
  B = await t.createTenant('Other store');
  keyA = await A.apiKey(['recommendations:read']);
  keyB = await B.apiKey(['recommendations:read']);
  const items = Array.from({ length: 40 }, (_, k) => ({
    item_id: `sku-${k}`,
    name: `Item ${k}`,
    category: `C${k % 7}`,
    brand: `B${k % 5}`,
    price: '9.00',
  }));
  for (const o of [A, B]) expect((await t.request('POST', '/api/v1/items/bulk', { token: o.ownerToken, body: items })).status).toBe(200);
  await score(A.tenantId, await profileOf(A.tenantId, 'champ'), 'champions');
  await score(A.tenantId, await profileOf(A.tenantId, 'sleepy'), 'hibernating');
  // Tenant B has a shopper of the same user id, scored in another segment.
  await score(B.tenantId, await profileOf(B.tenantId, 'champ'), 'hibernating');
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('sponsored segment targeting in the feed', () => {
  it('reaches the shoppers of the targeted segment only, within the tenant', async () => {
    const id = await campaign(A.ownerToken, ['champions']);
    expect(await sponsoredAt3(keyA, 'champ')).toMatchObject({ sponsored: true, campaign_id: id });
    expect((await sponsoredAt3(keyA, 'sleepy')).sponsored).toBe(false);
    // No profile, or a profile never scored: in no segment.
    expect((await sponsoredAt3(keyA, 'stranger')).sponsored).toBe(false);
    await profileOf(A.tenantId, 'unscored');
    expect((await sponsoredAt3(keyA, 'unscored')).sponsored).toBe(false);
  });

  it("another tenant's campaign for the same segment does not see tenant A's scores", async () => {
    await campaign(B.ownerToken, ['champions']);
    expect((await sponsoredAt3(keyB, 'champ')).sponsored).toBe(false);
    const id = await campaign(B.ownerToken, ['hibernating']);
    expect(await sponsoredAt3(keyB, 'champ')).toMatchObject({ sponsored: true, campaign_id: id });
  });
});
