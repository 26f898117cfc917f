import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { activeCampaign, campaignBody } from '../../../test/sponsored-campaigns.ts';

/**
 * Sponsored segment targeting in the feed, wired in src/app.ts: the shopper's profile comes from identity's
 * read-only lookup, its segment from predictions' scores and its `cohort:<id>` segments from analytics' saved
 * cohorts. A campaign targeting a segment reaches shoppers in it, not others, and never a shopper of another
 * tenant with the same user id; a `cohort:<id>` segment naming no saved cohort of the tenant (another tenant's, unknown,
 * malformed) is refused at save.
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
async function trait(tenantId: string, profileId: string, plan: string) {
  await t.database.db.execute(
    sql`UPDATE profiles SET traits = ${JSON.stringify({ plan })}::jsonb WHERE tenant_id = ${tenantId} AND id = ${profileId}`,
  );
}
async function cohort(token: string, plan: string): Promise<string> {
  const c = await t.request('POST', '/api/v1/analytics/cohorts', {
    token,
    body: { name: `Plan ${plan}`, definition: { match: 'all', rules: [{ kind: 'trait', key: 'plan', op: 'eq', value: plan }] } },
  });
  expect(c.status).toBe(201);
  return c.body.id as string;
}
async function cohortNamed(token: string, name: string): Promise<string> {
  const r = await t.request('GET', '/api/v1/analytics/cohorts', { token });
  return (r.body.data as { id: string; name: string }[]).find((c) => c.name === name)!.id;
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
  // Saved cohorts by plan: A's gold member (no score), A's silver one; B's 'goldie' on gold, in B's own cohort.
  await trait(A.tenantId, await profileOf(A.tenantId, 'goldie'), 'gold');
  await trait(A.tenantId, await profileOf(A.tenantId, 'silvie'), 'silver');
  await trait(B.tenantId, await profileOf(B.tenantId, 'goldie'), 'gold');
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

  it("a `cohort:<id>` segment reaches the saved cohort's members; another tenant's cohort id is refused", async () => {
    const goldA = await cohort(A.ownerToken, 'gold');
    const goldB = await cohort(B.ownerToken, 'gold');
    // Pause what earlier cases left running, so position 3 is this campaign's or nobody's.
    for (const [token, key] of [
      [A.ownerToken, keyA],
      [B.ownerToken, keyB],
    ] as const) {
      const list = await t.request('GET', '/api/v1/sponsored/campaigns', { token });
      for (const c of list.body.campaigns ?? list.body.items ?? [])
        if (c.status === 'active') await t.request('POST', `/api/v1/sponsored/campaigns/${c.id}/pause`, { token });
      expect(key).toBeTruthy();
    }
    const id = await campaign(A.ownerToken, [`cohort:${goldA}`]);
    expect(await sponsoredAt3(keyA, 'goldie')).toMatchObject({ sponsored: true, campaign_id: id });
    expect((await sponsoredAt3(keyA, 'silvie')).sponsored).toBe(false);
    expect((await sponsoredAt3(keyA, 'stranger')).sponsored).toBe(false);
    // A campaign of B naming A's cohort is refused at save (as `targeting.cohorts` is): A's cohort is not B's.
    const stolen = await t.request('POST', '/api/v1/sponsored/campaigns', {
      token: B.ownerToken,
      body: campaignBody({ promoted_item_ids: ['sku-1'], targeting: { segments: [`cohort:${goldA}`] } }),
    });
    expect(stolen.status).toBe(400);
    expect(stolen.body.error.code).toBe('SPONSORED_COHORT_UNKNOWN');
    const own = await campaign(B.ownerToken, [`cohort:${goldB}`]);
    expect(await sponsoredAt3(keyB, 'goldie')).toMatchObject({ sponsored: true, campaign_id: own });
  });

  it('refuses a `cohort:<id>` segment naming no saved cohort of the tenant, on create and on update', async () => {
    const mine = await cohortNamed(A.ownerToken, 'Plan gold');
    for (const segments of [
      ['champions', 'cohort:00000000-0000-7000-8000-000000000000'], // unknown
      ['cohort:not-a-uuid'], // malformed: no cohort has that id
      ['cohort:'],
    ]) {
      const r = await t.request('POST', '/api/v1/sponsored/campaigns', {
        token: A.ownerToken,
        body: campaignBody({ targeting: { segments } }),
      });
      expect(r.status, JSON.stringify(segments)).toBe(400);
      expect(r.body.error.code).toBe('SPONSORED_COHORT_UNKNOWN');
      expect(r.body.error.details[0].field).toBe('targeting.segments');
    }
    // its own cohort and plain segments are accepted; an update naming another tenant's cohort is refused
    const ok = await t.request('POST', '/api/v1/sponsored/campaigns', {
      token: A.ownerToken,
      body: campaignBody({ targeting: { segments: ['champions', `cohort:${mine}`] } }),
    });
    expect(ok.status).toBe(201);
    const theirs = await cohortNamed(B.ownerToken, 'Plan gold');
    const patch = await t.request('PUT', `/api/v1/sponsored/campaigns/${ok.body.id}`, {
      token: A.ownerToken,
      body: { targeting: { segments: [`cohort:${theirs}`] } },
    });
    expect(patch.status).toBe(400);
    expect(patch.body.error.code).toBe('SPONSORED_COHORT_UNKNOWN');
    const kept = await t.request('GET', `/api/v1/sponsored/campaigns/${ok.body.id}`, { token: A.ownerToken });
    expect(kept.body.targeting.segments).toEqual(['champions', `cohort:${mine}`]);
  });
});
