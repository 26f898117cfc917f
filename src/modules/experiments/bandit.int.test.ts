import { GrowthBook, type StickyAssignmentsDocument, StickyBucketServiceSync } from '@growthbook/growthbook';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';
import { bucketRanges, chooseVariant, hashV2 } from './assign.core.ts';

/**
 * Bandit experiments end to end on a movable clock: the burn-in, the weights update once per period (also
 * under concurrent updates), assignment and the GrowthBook SDK payload on the new weights, stored units kept,
 * the per-period SRM and weights history in the report; the hash-version marker of experiments created before
 * the raw-id change; bad settings and tenant isolation.
 */
/** GrowthBook's sticky bucketing, in memory (what a browser's cookie or localStorage service keeps). */
class MemoryStickyBuckets extends StickyBucketServiceSync {
  docs = new Map<string, StickyAssignmentsDocument>();
  getAssignmentsSync(attributeName: string, attributeValue: string): StickyAssignmentsDocument | null {
    return this.docs.get(this.getKey(attributeName, attributeValue)) ?? null;
  }
  saveAssignmentsSync(doc: StickyAssignmentsDocument): void {
    this.docs.set(this.getKey(doc.attributeName, doc.attributeValue), doc);
  }
}

describe('bandit experiments', () => {
  const sticky = new MemoryStickyBuckets();
  /** The flag as an SDK with sticky bucketing evaluates it for `id` (the docs it stored before are loaded first). */
  const stickyEval = (features: Record<string, unknown>, id: string): unknown => {
    const gb = new GrowthBook({
      features: features as never,
      attributes: { id },
      stickyBucketService: sticky,
      stickyBucketAssignmentDocs: sticky.getAllAssignmentsSync({ id }),
    });
    return gb.evalFeature('hero_flag').value;
  };
  let t: TestApp;
  let now = new Date();
  let a: Awaited<ReturnType<TestApp['createTenant']>>;
  let key: string;
  let bKey: string;
  let clientKey: string;
  let banditId: string;
  const HOUR = 3_600_000;
  const assign = (body: Record<string, unknown>) => t.request('POST', '/api/v1/experiments/assign', { token: key, body });

  beforeAll(async () => {
    t = await createTestApp({}, { clock: () => now });
    a = await t.createTenant('Bandit shop');
    const b = await t.createTenant('Other');
    key = await a.apiKey(['interactions:write', 'analytics:read', 'experiments:manage']);
    bKey = await b.apiKey(['interactions:write', 'analytics:read', 'experiments:manage']);
    clientKey = (await t.request('POST', '/api/v1/admin/flags/client-keys', { token: key, body: { environment: 'production' } })).body
      .client_key;
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('refuses bad bandit settings in plain words', async () => {
    const bad: Record<string, unknown>[] = [
      { bandit: { top_two: true } }, // settings without type bandit
      { type: 'bandit', bandit: { min_weight: 0.9 } },
      { type: 'bandit', bandit: { update_every_hours: 1e308 } },
      { type: 'bandit', bandit: { burn_in_hours: -1 } },
      { type: 'bandit', bandit: { posterior: 'beta\u0000' } },
      { type: 'bandit', bandit: { posterior: '\ud800' } },
      { type: 'bandit', bandit: { extra: 1 } },
      { type: 'bandit', bandit: JSON.parse(`${'{"a":'.repeat(50)}1${'}'.repeat(50)}`) },
      { type: 'multi_armed' },
      {
        type: 'bandit',
        metrics: [{ name: 'rpo', type: 'ratio', event: 'purchase', value: 'value', denominator_event: 'purchase' }],
      },
      { type: 'bandit', bandit: { posterior: 'beta' }, metrics: [{ name: 'revenue', type: 'mean', event: 'purchase', value: 'value' }] },
    ];
    for (const extra of bad) {
      const r = await t.request('POST', '/api/v1/admin/experiments', { token: key, body: { name: 'Bad bandit', ...extra } });
      expect({ extra, status: r.status }).toEqual({ extra, status: 400 });
      expect(typeof r.body.error.message).toBe('string');
    }
  });

  it('starts with the burn-in: period 0 at the starting weights, no update before the burn-in ends', async () => {
    const created = await t.request('POST', '/api/v1/admin/experiments', {
      token: key,
      body: {
        key: 'hero_banner',
        name: 'Hero banner bandit',
        type: 'bandit',
        bandit: { burn_in_hours: 1, update_every_hours: 1 },
        primary_metric: 'click',
        variants: [{ key: 'control' }, { key: 'bold' }],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      type: 'bandit',
      hash_version: 2,
      bandit: { posterior: 'auto', top_two: true, min_weight: 0.01, burn_in_hours: 1, update_every_hours: 1 },
    });
    banditId = created.body.id;
    await t.request('POST', '/api/v1/admin/flags', {
      token: key,
      body: {
        key: 'hero_flag',
        value_type: 'string',
        default_value: 'off',
        rules: [{ type: 'experiment', experiment_key: 'hero_banner', variation_values: { control: 'control', bold: 'bold' } }],
      },
    });
    expect((await t.request('POST', `/api/v1/admin/experiments/${banditId}/start`, { token: key })).status).toBe(200);
    const early = await t.modules.experiments.updateBandit(a.tenantId, banditId);
    expect(early).toMatchObject({ period: 0, written: false, weights: [0.5, 0.5], message: 'burn-in' });
    // the update job is queued for the end of the burn-in, once
    const jobs = await queryRows<{ run_at: Date }>(
      t.database.db,
      sql`SELECT run_at FROM jobs WHERE tenant_id = ${a.tenantId} AND type = 'experiments.bandit_update'`,
    );
    expect(jobs).toHaveLength(1);
  });

  it('moves the weights once per period from the primary metric, however many updates race', async () => {
    // 240 shoppers in the burn-in; "bold" gets clicked by 40 % of its users, control by 5 %.
    for (let i = 0; i < 240; i++) {
      const r = await assign({ user_id: `s-${i}`, experiments: ['hero_banner'] });
      const v = r.body.assignments[0].variant_key;
      if ((v === 'bold' && i % 5 < 2) || (v === 'control' && i % 20 === 0))
        await t.request('POST', '/api/v1/experiments/track-click', { token: key, body: { user_id: `s-${i}`, event_id: `c-${i}` } });
    }
    // The burn-in payload carries GrowthBook's bucket version; an SDK with sticky bucketing stores each unit's
    // variation under `<key>__<bucketVersion>`, and gets the server's burn-in assignment.
    const burnIn = (await t.request('GET', `/api/features/${clientKey}`)).body.features;
    expect(burnIn.hero_flag.rules[0]).toMatchObject({ bucketVersion: 1, minBucketVersion: 0, weights: [0.5, 0.5] });
    for (let i = 0; i < 240; i++) {
      const server = (await assign({ user_id: `s-${i}`, experiments: ['hero_banner'] })).body.assignments[0].variant_key;
      expect({ i, v: stickyEval(burnIn, `s-${i}`) }).toEqual({ i, v: server });
    }
    expect(sticky.getAssignmentsSync('id', 's-0')?.assignments).toHaveProperty('hero_banner__1');
    now = new Date(now.getTime() + 1.5 * HOUR);
    const racing = await Promise.all([1, 2, 3, 4].map(() => t.modules.experiments.updateBandit(a.tenantId, banditId)));
    expect(racing.filter((r) => r?.written)).toHaveLength(1);
    const weights = racing[0]?.weights as number[];
    for (const r of racing) expect(r).toMatchObject({ period: 1, weights });
    expect(weights[1]).toBeGreaterThan(0.9);
    expect(weights[0]).toBeGreaterThanOrEqual(0.01 - 1e-12);
    const rows = await queryRows<{ period: number }>(
      t.database.db,
      sql`SELECT period FROM experiment_bandit_periods WHERE tenant_id = ${a.tenantId} AND experiment_id = ${banditId} ORDER BY period`,
    );
    expect(rows.map((r) => r.period)).toEqual([0, 1]);
    // a second call in the same period changes nothing
    expect(await t.modules.experiments.updateBandit(a.tenantId, banditId)).toMatchObject({ period: 1, written: false, weights });
  });

  it('assigns new units by the new weights, keeps stored units, and the SDK payload carries the weights (GrowthBook agrees)', async () => {
    const report = await t.request('GET', `/api/v1/admin/experiments/${banditId}/report?refresh=true`, { token: key });
    const weights = Object.values(report.body.bandit.periods[1].weights) as number[];
    const f = (await t.request('GET', `/api/features/${clientKey}`)).body.features;
    expect(f.hero_flag.rules[0].weights).toEqual(weights);
    let moved = 0;
    for (let i = 0; i < 240; i++) {
      const r = await assign({ user_id: `s-${i}`, experiments: ['hero_banner'] });
      const byHash = chooseVariant(hashV2('hero_banner', `s-${i}`), bucketRanges(weights, 1)) === 1 ? 'bold' : 'control';
      if (byHash !== r.body.assignments[0].variant_key) moved++;
    }
    // the burn-in split control about half of them; under the new weights most would hash to bold, but they keep control
    expect(moved).toBeGreaterThan(50);
    // GrowthBook's SDK with sticky bucketing keeps them too (same bucket version): it agrees with the server
    expect(f.hero_flag.rules[0]).toMatchObject({ bucketVersion: 1, minBucketVersion: 0 });
    for (let i = 0; i < 240; i++) {
      const server = (await assign({ user_id: `s-${i}`, experiments: ['hero_banner'] })).body.assignments[0].variant_key;
      expect({ i, v: stickyEval(f, `s-${i}`) }).toEqual({ i, v: server });
    }
    for (let i = 0; i < 120; i++) {
      const id = `n-${i}`;
      const r = await assign({ user_id: id, experiments: ['hero_banner'] });
      const local = new GrowthBook({ features: f, attributes: { id } }).evalFeature('hero_flag');
      expect({ id, v: local.value }).toEqual({ id, v: r.body.assignments[0].variant_key });
    }
  });

  it('reports weights over time and checks SRM against each period', async () => {
    const r = await t.request('GET', `/api/v1/admin/experiments/${banditId}/report?refresh=true`, { token: key });
    expect(r.status).toBe(200);
    const [p0, p1] = r.body.bandit.periods;
    expect(p0).toMatchObject({ period: 0, weights: { control: 0.5, bold: 0.5 }, message: 'burn-in' });
    expect(p0.units.control + p0.units.bold).toBe(240);
    expect(p1.units.control + p1.units.bold).toBe(120);
    expect(p1.units.bold).toBeGreaterThan(100);
    expect(p1.best_arm_probabilities.bold).toBeGreaterThan(0.99);
    // the new units follow each period's weights: no mismatch, though a check against fixed 50/50 would fail
    expect(r.body.bandit.srm_p_value).toBeGreaterThan(0.001);
    expect(r.body.srm_p_value).toBe(r.body.bandit.srm_p_value);
    expect(r.body.warnings.join(' ')).not.toContain('mismatch');
    expect(new Date(r.body.bandit.next_update_at).getTime()).toBeGreaterThan(now.getTime());
    // Period-weighted effects: the later period (mostly bold, nobody clicking) dilutes bold's pooled mean only;
    // weighting both arms by the same period shares keeps the comparison like for like.
    const pw = r.body.bandit.period_weighted;
    expect(pw).toMatchObject({ metric: 'click', periods_total: 2 });
    expect(pw.variants.map((v: { variant_key: string }) => v.variant_key)).toEqual(['control', 'bold']);
    const [c, b] = pw.variants;
    expect(c.relative_effect).toBeNull();
    expect(b.relative_effect).toBeGreaterThan(b.pooled_relative_effect);
    // bold: 40 % of its burn-in users clicked, control 5 %, nobody later: (240 / 360) · 0.35 ≈ 0.23
    expect(b.absolute_effect).toBeGreaterThan(0.15);
    expect(b.ci_high).toBeGreaterThan(b.relative_effect);
    expect(b.chance_to_win).toBeGreaterThan(0.9);
    expect(b.n + c.n).toBeLessThanOrEqual(360);
  });

  it('keeps tenants apart: another tenant neither reads nor updates this bandit', async () => {
    expect((await t.request('GET', `/api/v1/admin/experiments/${banditId}/report`, { token: bKey })).status).toBe(404);
    const other = await t.createTenant('Third');
    expect(await t.modules.experiments.updateBandit(other.tenantId, banditId)).toBeNull();
    const b = await t.request('POST', '/api/v1/experiments/assign', {
      token: bKey,
      body: { user_id: 's-1', experiments: ['hero_banner'] },
    });
    expect(b.body.assignments[0]).toMatchObject({ in_experiment: false, reason: 'unknown' });
  });

  it('keeps the bucketing of an experiment created before the raw-id change (hash version 1), in /assign and the payload', async () => {
    const e = await t.request('POST', '/api/v1/admin/experiments', {
      token: key,
      body: {
        key: 'legacy_exp',
        name: 'Legacy',
        variants: [
          { key: 'control', weight: 0.3 },
          { key: 'treatment', weight: 0.7 },
        ],
      },
    });
    expect(e.body.hash_version).toBe(2);
    // what the migration's column default gives a row written before the change
    await t.database.db.execute(sql`UPDATE experiments SET hash_version = 1 WHERE tenant_id = ${a.tenantId} AND id = ${e.body.id}`);
    await t.request('POST', `/api/v1/admin/experiments/${e.body.id}/start`, { token: key });
    await t.request('POST', '/api/v1/admin/flags', {
      token: key,
      body: {
        key: 'legacy_flag',
        value_type: 'string',
        default_value: 'off',
        rules: [{ type: 'experiment', experiment_key: 'legacy_exp', variation_values: { control: 'control', treatment: 'treatment' } }],
      },
    });
    const f = (await t.request('GET', `/api/features/${clientKey}`)).body.features;
    const ranges = bucketRanges([0.3, 0.7], 1);
    let differs = 0;
    for (let i = 0; i < 100; i++) {
      const id = `legacy-${i}`;
      const r = await assign({ user_id: id, experiments: ['legacy_exp'] });
      const old = chooseVariant(hashV2('legacy_exp', `u:${id}`), ranges) === 1 ? 'treatment' : 'control';
      const raw = chooseVariant(hashV2('legacy_exp', id), ranges) === 1 ? 'treatment' : 'control';
      expect({ id, v: r.body.assignments[0].variant_key }).toEqual({ id, v: old });
      if (old !== raw) differs++;
      const local = new GrowthBook({ features: f, attributes: { id } }).evalFeature('legacy_flag');
      expect({ id, v: local.value }).toEqual({ id, v: old });
    }
    // the two schemes really disagree on many units: the marker is what keeps them in place
    expect(differs).toBeGreaterThan(20);
  });
});
