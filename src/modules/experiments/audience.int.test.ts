import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

/**
 * Experiments whose audience is a saved cohort (`{"$inCohort": id}`), wired in src/app.ts to analytics' cohorts:
 * only the cohort's members are assigned, whatever attributes a client sends; a cohort inside `$or` / `$not` works
 * like any condition; another tenant's cohort id (or an unknown one) is refused when the experiment is saved; the
 * same user id in another tenant is that tenant's person.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let keyA: string;
let keyB: string;
const at = new Date('2026-11-02T10:00:00Z');

async function person(tenantId: string, userId: string, traits: Record<string, unknown>): Promise<string> {
  const [id] = await t.modules.identity.resolveMany(tenantId, [
    { identifiers: [{ type: 'user_id', value: userId }], channel: 'api', occurredAt: at },
  ]);
  // Traits as identity stores them (the cohort rule reads profiles.traits).
  await t.database.db.execute(
    sql`UPDATE profiles SET traits = ${JSON.stringify(traits)}::jsonb WHERE tenant_id = ${tenantId} AND id = ${id!}`,
  );
  return id!;
}
async function cohort(token: string, name: string, plan: string): Promise<string> {
  const c = await t.request('POST', '/api/v1/analytics/cohorts', {
    token,
    body: { name, definition: { match: 'all', rules: [{ kind: 'trait', key: 'plan', op: 'eq', value: plan }] } },
  });
  expect(c.status).toBe(201);
  return c.body.id as string;
}
async function experiment(token: string, name: string, targeting: unknown) {
  return t.request('POST', '/api/v1/admin/experiments', {
    token,
    body: { name, targeting, variants: [{ key: 'control' }, { key: 'b' }] },
  });
}
async function started(token: string, name: string, targeting: unknown): Promise<string> {
  const e = await experiment(token, name, targeting);
  expect(e.status).toBe(201);
  expect((await t.request('POST', `/api/v1/admin/experiments/${e.body.id}/start`, { token })).status).toBe(200);
  return e.body.key as string;
}
const assign = async (token: string, key: string, body: Record<string, unknown>) => {
  const r = await t.request('POST', '/api/v1/experiments/assign', { token, body: { experiments: [key], ...body } });
  expect(r.status).toBe(200);
  return r.body.assignments[0] as { in_experiment: boolean; reason: string; variant_key: string };
};

let gold: string;
let silverB: string;

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Cohort audiences A');
  B = await t.createTenant('Cohort audiences B');
  keyA = await A.apiKey(['interactions:write', 'experiments:manage', 'analytics:read', 'analytics:manage']);
  keyB = await B.apiKey(['interactions:write', 'experiments:manage', 'analytics:read', 'analytics:manage']);
  for (let i = 0; i < 8; i++) await person(A.tenantId, `gold-${i}`, { plan: 'gold' });
  for (let i = 0; i < 8; i++) await person(A.tenantId, `silver-${i}`, { plan: 'silver' });
  // Tenant B has people with A's user ids, all on B's silver plan.
  for (let i = 0; i < 3; i++) await person(B.tenantId, `gold-${i}`, { plan: 'silver' });
  gold = await cohort(A.ownerToken, 'Gold plan', 'gold');
  silverB = await cohort(B.ownerToken, 'Silver plan', 'silver');
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('experiments targeted at a saved cohort', () => {
  it('assigns the cohort members only; a client cannot claim a membership', async () => {
    const key = await started(keyA, 'Gold only', { $inCohort: gold });
    for (let i = 0; i < 8; i++) {
      const g = await assign(keyA, key, { user_id: `gold-${i}` });
      expect(g).toMatchObject({ in_experiment: true, reason: 'assigned' });
      const s = await assign(keyA, key, { user_id: `silver-${i}`, attributes: { $cohorts: [gold], $inCohort: gold } });
      expect(s).toMatchObject({ in_experiment: false, reason: 'not_targeted' });
    }
    // An id with no person behind it is in no cohort.
    expect(await assign(keyA, key, { anonymous_id: 'never-seen' })).toMatchObject({ in_experiment: false, reason: 'not_targeted' });
    // The members the cohort lists are exactly the people assigned.
    const members = await t.request('GET', `/api/v1/analytics/cohorts/${gold}/members?limit=100`, { token: A.ownerToken });
    expect(members.status).toBe(200);
    expect(members.body.data).toHaveLength(8);
  });

  it('combines with other conditions ($or, $not)', async () => {
    const either = await started(keyA, 'Gold or France', { $or: [{ $inCohort: gold }, { country: 'FR' }] });
    expect(await assign(keyA, either, { user_id: 'silver-1', attributes: { country: 'FR' } })).toMatchObject({ in_experiment: true });
    expect(await assign(keyA, either, { user_id: 'silver-3', attributes: { country: 'DE' } })).toMatchObject({ in_experiment: false });
    expect(await assign(keyA, either, { user_id: 'gold-1', attributes: { country: 'DE' } })).toMatchObject({ in_experiment: true });
    const notGold = await started(keyA, 'Everyone but gold', { $not: { $inCohort: gold } });
    expect(await assign(keyA, notGold, { user_id: 'gold-2' })).toMatchObject({ in_experiment: false, reason: 'not_targeted' });
    expect(await assign(keyA, notGold, { user_id: 'silver-2' })).toMatchObject({ in_experiment: true });
  });

  it('concurrent requests of members and non-members: each member in with one variant, no non-member in', async () => {
    const key = await started(keyA, 'Gold burst', { $inCohort: gold });
    const users = Array.from({ length: 16 }, (_, i) => (i % 2 ? `gold-${i % 8}` : `silver-${i % 8}`));
    const answers = await Promise.all([...users, ...users].map((u) => assign(keyA, key, { user_id: u }).then((a) => ({ u, a }))));
    const variant = new Map<string, string>();
    for (const { u, a } of answers) {
      expect(a.in_experiment).toBe(u.startsWith('gold-'));
      if (a.in_experiment) {
        expect(variant.get(u) ?? a.variant_key).toBe(a.variant_key);
        variant.set(u, a.variant_key);
      }
    }
  });

  it("refuses another tenant's cohort id, an unknown one and a non-string; the same user id in B is B's person", async () => {
    for (const bad of [{ $inCohort: gold }, { $inCohort: '00000000-0000-7000-8000-000000000000' }, { $or: [{ $inCohort: 5 }] }]) {
      const r = await experiment(keyB, `bad ${JSON.stringify(bad).length}`, bad);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('EXPERIMENT_COHORT_UNKNOWN');
    }
    // B's gold-0 is on B's silver plan: in B's cohort, while A's gold-0 (a gold member of A) is not in B's.
    const key = await started(keyB, 'B silver', { $inCohort: silverB });
    expect(await assign(keyB, key, { user_id: 'gold-0' })).toMatchObject({ in_experiment: true });
    const inA = await started(keyA, 'A with B cohort name', { $inCohort: gold });
    expect(await assign(keyA, inA, { user_id: 'gold-0' })).toMatchObject({ in_experiment: true });
    expect(await assign(keyB, key, { user_id: 'silver-0' })).toMatchObject({ in_experiment: false });
  });

  it("follows an edit of the cohort at once: a unit outside it is assigned once the cohort's rules take it in", async () => {
    const flip = await cohort(A.ownerToken, 'Flips to silver', 'platinum');
    const key = await started(keyA, 'Flipping audience', { $inCohort: flip });
    expect(await assign(keyA, key, { user_id: 'silver-7' })).toMatchObject({ in_experiment: false, reason: 'not_targeted' });
    const put = await t.request('PUT', `/api/v1/analytics/cohorts/${flip}`, {
      token: A.ownerToken,
      body: { name: 'Flips to silver', definition: { match: 'all', rules: [{ kind: 'trait', key: 'plan', op: 'eq', value: 'silver' }] } },
    });
    expect(put.status).toBe(200);
    // analytics' membership cache forgets the cohort's answers on save; no second cache here keeps the old "no"
    expect(await assign(keyA, key, { user_id: 'silver-7' })).toMatchObject({ in_experiment: true });
  });

  it('a deleted cohort holds nobody: a running experiment stops taking new units', async () => {
    const temp = await cohort(A.ownerToken, 'Temporary', 'silver');
    const key = await started(keyA, 'Temporary audience', { $inCohort: temp });
    expect(await assign(keyA, key, { user_id: 'silver-5' })).toMatchObject({ in_experiment: true });
    expect((await t.request('DELETE', `/api/v1/analytics/cohorts/${temp}`, { token: A.ownerToken })).status).toBe(204);
    expect(await assign(keyA, key, { user_id: 'silver-6' })).toMatchObject({ in_experiment: false, reason: 'not_targeted' });
  });
});
