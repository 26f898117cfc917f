import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { activeCampaign, campaignBody } from '../../../test/sponsored-campaigns.ts';

/**
 * Campaign audiences from saved cohorts (`targeting.cohorts`), wired in src/app.ts to identity's profile lookup and
 * analytics' cohorts: a campaign serves the cohort's members only (the API's /eligible and the feed's sponsored slot),
 * another tenant's cohort id or an unknown one is refused on create and update, and the same user id in another
 * tenant is that tenant's shopper.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let keyA: string;
let keyB: string;
let gold: string;
let goldB: string;
const at = new Date('2026-11-02T10:00:00Z');

async function person(tenantId: string, userId: string, plan: string): Promise<void> {
  const [id] = await t.modules.identity.resolveMany(tenantId, [
    { identifiers: [{ type: 'user_id', value: userId }], channel: 'api', occurredAt: at },
  ]);
  await t.database.db.execute(
    sql`UPDATE profiles SET traits = ${JSON.stringify({ plan })}::jsonb WHERE tenant_id = ${tenantId} AND id = ${id!}`,
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
const body = (targeting: unknown) =>
  campaignBody({ name: 'For a cohort', creative: { headline: 'Members only' }, promoted_item_ids: ['sku-1', 'sku-2'], targeting });
const active = (token: string, targeting: unknown): Promise<string> => activeCampaign(t, token, body(targeting));
const eligible = async (key: string, user: string): Promise<string[]> => {
  const r = await t.request('GET', `/api/v1/sponsored/eligible?placement=feed&slots=5&user_id=${encodeURIComponent(user)}`, { token: key });
  expect(r.status).toBe(200);
  return r.body.campaigns.map((c: { campaign_id: string }) => c.campaign_id);
};
const feedSlot = async (key: string, user: string) => {
  const r = await t.request('GET', `/api/v1/newsfeed?user_id=${encodeURIComponent(user)}`, { token: key });
  expect(r.status).toBe(200);
  return r.body.modules[2] as { sponsored: boolean; campaign_id?: string };
};

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Audience store');
  B = await t.createTenant('Other audience store');
  keyA = await A.apiKey(['recommendations:read']);
  keyB = await B.apiKey(['recommendations:read']);
  const items = Array.from({ length: 40 }, (_, k) => ({ item_id: `sku-${k}`, name: `Item ${k}`, category: `C${k % 7}`, price: '9.00' }));
  for (const o of [A, B]) expect((await t.request('POST', '/api/v1/items/bulk', { token: o.ownerToken, body: items })).status).toBe(200);
  for (const u of ['g1', 'g2', 'g3']) await person(A.tenantId, u, 'gold');
  for (const u of ['s1', 's2']) await person(A.tenantId, u, 'silver');
  // B: a shopper with A's member's user id, on B's silver plan.
  await person(B.tenantId, 'g1', 'silver');
  gold = await cohort(A.ownerToken, 'gold');
  goldB = await cohort(B.ownerToken, 'gold');
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('sponsored campaigns for a saved cohort', () => {
  it('serve the members only, on /eligible and in the feed; concurrent decisions agree', async () => {
    const id = await active(A.ownerToken, { cohorts: [gold] });
    const answers = await Promise.all(
      ['g1', 'g2', 'g3', 's1', 's2', 'nobody', 'g1', 's1'].map(async (u) => ({ u, ids: await eligible(keyA, u) })),
    );
    for (const { u, ids } of answers) expect(ids.includes(id)).toBe(u.startsWith('g'));
    expect(await feedSlot(keyA, 'g2')).toMatchObject({ sponsored: true, campaign_id: id });
    expect((await feedSlot(keyA, 's2')).sponsored).toBe(false);
    expect((await feedSlot(keyA, 'stranger')).sponsored).toBe(false);
  });

  it("follows an edit of the cohort at once: a shopper outside it is served once the cohort's rules take them in", async () => {
    const flip = await cohort(A.ownerToken, 'platinum');
    const id = await active(A.ownerToken, { cohorts: [flip] });
    expect(await eligible(keyA, 's1')).not.toContain(id);
    const put = await t.request('PUT', `/api/v1/analytics/cohorts/${flip}`, {
      token: A.ownerToken,
      body: { name: 'Plan silver', definition: { match: 'all', rules: [{ kind: 'trait', key: 'plan', op: 'eq', value: 'silver' }] } },
    });
    expect(put.status).toBe(200);
    // analytics' membership cache forgets the cohort's answers on save; no second cache here keeps the old "no"
    expect(await eligible(keyA, 's1')).toContain(id);
    expect(await eligible(keyA, 'g1')).not.toContain(id);
    await t.request('POST', `/api/v1/sponsored/campaigns/${id}/pause`, { token: A.ownerToken });
  });

  it("refuses another tenant's cohort id and unknown ids on create and update; malformed ids are 400", async () => {
    for (const targeting of [{ cohorts: [gold] }, { cohorts: ['00000000-0000-7000-8000-000000000000'] }]) {
      const r = await t.request('POST', '/api/v1/sponsored/campaigns', { token: B.ownerToken, body: body(targeting) });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('SPONSORED_COHORT_UNKNOWN');
    }
    const bad = await t.request('POST', '/api/v1/sponsored/campaigns', { token: B.ownerToken, body: body({ cohorts: ['not-a-uuid'] }) });
    expect(bad.status).toBe(400);
    const ok = await t.request('POST', '/api/v1/sponsored/campaigns', { token: B.ownerToken, body: body({ cohorts: [goldB] }) });
    expect(ok.status).toBe(201);
    const patch = await t.request('PUT', `/api/v1/sponsored/campaigns/${ok.body.id}`, {
      token: B.ownerToken,
      body: { targeting: { cohorts: [gold] } },
    });
    expect(patch.status).toBe(400);
    expect(patch.body.error.code).toBe('SPONSORED_COHORT_UNKNOWN');
  });

  it("B's campaign for its own gold cohort does not reach A's gold member of the same user id", async () => {
    const id = await active(B.ownerToken, { cohorts: [goldB] });
    expect(await eligible(keyB, 'g1')).not.toContain(id);
    const silverB = await cohort(B.ownerToken, 'silver');
    const forSilver = await active(B.ownerToken, { cohorts: [silverB] });
    expect(await eligible(keyB, 'g1')).toContain(forSilver);
    expect(await eligible(keyA, 'g1')).not.toContain(forSilver);
  });
});
