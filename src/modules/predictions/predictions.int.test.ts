/**
 * Seed 002's prediction service over profiles and orders written through identity: training as a job, live
 * predictions by profile id or identifier, the model registry beside recs, segments and the at-risk list; bad
 * input, another tenant, erasure, a cancelled run, tiny tenants. Synthetic customers with a known pattern: some
 * buy steadily until NOW, others stop buying at a random point (churners).
 */
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, pollUntil } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';
import { rngMulberry32 } from '../../ml/random.ts';

// The real clock (access tokens are checked against it); the synthetic history is laid out backwards from it.
const NOW = new Date();
const DAY = 86_400_000;
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let keyA: string;
let keyB: string;
let manageA: string;

async function seedCustomers(tenantId: string, n: number, prefix: string, seed: number) {
  const rng = rngMulberry32(seed);
  const users = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const ids = await t.modules.identity.resolveMany(
    tenantId,
    users.map((u) => ({
      identifiers: [
        { type: 'user_id', value: u },
        { type: 'email', value: `${u}@shop.test` },
      ],
      channel: 'api',
      occurredAt: new Date(NOW.getTime() - 800 * DAY),
    })),
  );
  const activity: Parameters<TestApp['modules']['identity']['recordActivity']>[1] = [];
  users.forEach((u, i) => {
    const gap = 10 + rng() * 80; // mean days between orders
    const start = NOW.getTime() - (200 + rng() * 500) * DAY;
    const stop = rng() < 0.45 ? start + rng() * (NOW.getTime() - start) : NOW.getTime();
    const spend = 2000 + Math.floor(rng() * 8000);
    let at = start;
    let k = 0;
    while (at < stop) {
      activity.push({
        profileId: ids[i]!,
        type: 'purchase',
        revenueMinor: BigInt(spend + Math.floor(rng() * 1000)),
        currency: 'USD',
        orderId: `${u}-o${k++}`,
        channel: 'api',
        occurredAt: new Date(at),
      });
      at += -Math.log(1 - rng()) * gap * DAY;
    }
    if (i % 17 === 0 && k > 0)
      activity.push({
        profileId: ids[i]!,
        type: 'refund',
        revenueMinor: 500n,
        currency: 'USD',
        orderId: `${u}-o0`,
        channel: 'api',
        occurredAt: new Date(start + DAY),
      });
  });
  await t.modules.identity.recordActivity(tenantId, activity);
  return ids as string[];
}

async function trainAndWait(token: string, ownerToken: string) {
  const r = await t.request('POST', '/api/v1/predictions/train', { token });
  expect(r.status).toBe(202);
  const j = await pollUntil(
    'predictions training',
    () => t.request('GET', `/api/v1/jobs/${r.body.id}`, { token: ownerToken }),
    (x) => ['succeeded', 'failed', 'cancelled'].includes(x.body.status),
    { intervalMs: 100, timeoutMs: 120_000 },
  );
  return j.body;
}

let profilesA: string[];
/**
 * The app's clock, held still while stored scores are compared with live ones: features such as recency are
 * fractional days, so a live score seconds after training can cross a tree's split; at the same instant the two
 * must agree exactly.
 */
let frozen: Date | null = null;
beforeAll(async () => {
  t = await createTestApp({}, { clock: () => frozen ?? new Date() });
  t.jobs.start({ concurrency: 1 });
  A = await t.createTenant('Shop A');
  B = await t.createTenant('Shop B');
  keyA = await A.apiKey(['profiles:read', 'analytics:read']);
  manageA = await A.apiKey(['models:manage']);
  keyB = await B.apiKey(['profiles:read', 'analytics:read', 'models:manage']);
  profilesA = await seedCustomers(A.tenantId, 260, 'a', 11);
}, 180_000);
afterAll(async () => {
  await t?.close();
});
afterEach(() => {
  frozen = null;
});

/** A prediction without its timestamp (two calls are a few milliseconds apart). */
const timeless = ({ as_of: _asOf, ...rest }: Record<string, unknown>) => rest;
const predict = (path: string, body: unknown, token = keyA) => t.request('POST', `/api/v1/predict/${path}`, { token, body });

describe('predictions before and after training', () => {
  it('answers before any model is trained, naming what is not ready', async () => {
    const r = await predict('all', { profile_id: profilesA[0] });
    expect(r.status).toBe(200);
    expect(r.body.churn).toBeNull();
    expect(r.body.not_ready.map((n: { model: string }) => n.model)).toEqual(['churn', 'ltv', 'segments']);
    const m = await t.request('GET', '/api/v1/models/metrics/summary', { token: keyA });
    expect(m.body).toMatchObject({ churn: null, ltv: null, segments: null, recommendations: [] });
  });

  it('trains as a job with progress, then serves churn, LTV and segments with seed 002 metrics', async () => {
    frozen = new Date();
    const job = await trainAndWait(manageA, A.ownerToken);
    expect(job.status).toBe('succeeded');
    expect(job.progress.stage).toBe('saving');
    expect(job.result.versions.map((v: { kind: string }) => v.kind).sort()).toEqual(['churn', 'clv', 'ltv', 'segments']);

    const m = await t.request('GET', '/api/v1/models/metrics/summary', { token: keyA });
    expect(m.status).toBe(200);
    expect(m.body.churn.model_type).toBe('gbt_calibrated');
    for (const k of ['accuracy', 'precision', 'recall', 'f1', 'roc_auc']) expect(m.body.churn[k]).toBeGreaterThanOrEqual(0);
    // the synthetic churners stop buying: recency separates them, so the trees must beat a coin
    expect(m.body.churn.roc_auc).toBeGreaterThan(0.6);
    for (const k of ['rmse', 'mae']) expect(m.body.ltv[k]).toBeGreaterThan(0);
    expect(m.body.segments.silhouette).toBeGreaterThan(0);
    expect(m.body.segments.inertia).toBeGreaterThan(0);

    const v = await t.request('GET', '/api/v1/models/versions', { token: keyA });
    expect(v.status).toBe(200);
    const mine = v.body.data.filter((x: { family: string }) => x.family === 'predictions');
    expect(mine).toHaveLength(4);
    expect(
      mine.every(
        (x: { status: string; training_window: { to: string } }) =>
          x.status === 'active' && Date.parse(x.training_window.to) >= NOW.getTime(),
      ),
    ).toBe(true);

    const all = await predict('all', { profile_id: profilesA[3] });
    expect(all.status).toBe(200);
    expect(all.body.churn.probability).toBeGreaterThanOrEqual(0);
    expect(all.body.churn.probability).toBeLessThanOrEqual(1);
    expect(all.body.churn.top_reasons.length).toBeGreaterThan(0);
    expect(all.body.ltv.currency).toBe('USD');
    expect(Number(all.body.ltv.predicted_ltv_minor)).toBeGreaterThanOrEqual(0);
    expect(all.body.segment.segment).toMatch(/^[a-z_]+$/);
    expect(all.body.not_ready).toEqual([]);

    // by identifier: the same person, the same answer
    const byEmail = await predict('all', { identifier: { type: 'email', value: 'A3@Shop.test' } });
    expect(byEmail.status).toBe(200);
    expect(timeless(byEmail.body)).toEqual(timeless(all.body));
    const churn = await predict('churn', { identifier: { type: 'user_id', value: 'a3' } });
    expect(churn.body.churn).toEqual(all.body.churn);
    expect(churn.body).not.toHaveProperty('ltv');
    const ltv = await predict('ltv', { profile_id: profilesA[3] });
    expect(ltv.body.ltv).toEqual(all.body.ltv);

    // stored scores agree with the live prediction (same models, same instant): exactly, but for the stored
    // probability's float4 column
    const risk = await t.request('GET', '/api/v1/predictions/at-risk?threshold=0&limit=5000', { token: keyA });
    expect(risk.status).toBe(200);
    frozen = null;
    const row = risk.body.data.find((x: { profile_id: string }) => x.profile_id === profilesA[3]);
    expect(row.churn_probability).toBeCloseTo(all.body.churn.probability, 3);
    expect(row.expected_value_minor).toBe(all.body.ltv.predicted_ltv_minor);
    expect(row.segment).toBe(all.body.segment.segment);
    expect(row.scored_at).toBe(all.body.as_of);
    const seg = await t.request('GET', '/api/v1/predictions/segments', { token: keyA });
    expect(seg.body.data.reduce((s: number, x: { profiles: number }) => s + x.profiles, 0)).toBe(risk.body.data.length);
    expect(await t.modules.predictions.profilesInSegment(A.tenantId, all.body.segment.segment)).toContain(profilesA[3]);
  }, 120_000);

  it('forecasts daily revenue with 80% and 95% intervals', async () => {
    const r = await t.request('GET', '/api/v1/predictions/forecast?horizon=14', { token: keyA });
    expect(r.status).toBe(200);
    expect(r.body.points).toHaveLength(14);
    expect(r.body.points[0].date).toBe(new Date().toISOString().slice(0, 10));
    for (const p of r.body.points) expect(p.lower_95 <= p.lower_80 && p.lower_80 <= p.upper_80 && p.upper_80 <= p.upper_95).toBe(true);
    expect((await t.request('GET', '/api/v1/predictions/forecast?horizon=0', { token: keyA })).status).toBe(400);
  }, 60_000);
});

describe('bad input', () => {
  it.each([
    ['an empty body', {}],
    ['both references', { profile_id: '01900000-0000-7000-8000-000000000000', identifier: { type: 'email', value: 'x@y.z' } }],
    ['an unknown field', { profile_id: '01900000-0000-7000-8000-000000000000', extra: 1 }],
    ['a NUL byte', { identifier: { type: 'email', value: 'a\u0000b@shop.test' } }],
    ['a lone surrogate', { identifier: { type: 'email', value: 'a\ud800@shop.test' } }],
    ['an oversized id', { profile_id: 'x'.repeat(5000) }],
    ['a number as id', { profile_id: 1e308 }],
  ])('refuses %s with 400', async (_name, body) => {
    const r = await predict('all', body);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBeTruthy();
  });

  it('refuses deeply nested JSON', async () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 200; i++) deep = { a: deep };
    expect((await predict('churn', { identifier: deep })).status).toBe(400);
  });

  it('answers 404 for unknown ids, unknown identifiers and ids that are not uuids', async () => {
    expect((await predict('all', { profile_id: '01900000-0000-7000-8000-000000000000' })).status).toBe(404);
    expect((await predict('all', { profile_id: 'not-a-uuid' })).status).toBe(404);
    expect((await predict('ltv', { identifier: { type: 'email', value: 'nobody@shop.test' } })).status).toBe(404);
  });

  it('serves concurrent predictions consistently, and repeated training requests share one job', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => predict('all', { profile_id: profilesA[i % 4] })));
    expect(rs.every((r) => r.status === 200)).toBe(true);
    expect(timeless(rs[0]!.body)).toEqual(timeless(rs[4]!.body));
    // a repeated request while a run is waiting returns that run (the queue's dedupe check is not atomic across
    // PostgreSQL sessions, so the repeats are sent one after the other; at most one run per tenant runs at a time)
    const jobs = [];
    for (let i = 0; i < 3; i++) jobs.push(await t.request('POST', '/api/v1/predictions/train', { token: manageA }));
    expect(new Set(jobs.map((j) => j.body.id)).size).toBe(1);
    await t.request('POST', `/api/v1/jobs/${jobs[0]!.body.id}/cancel`, { token: A.ownerToken });
    // the run may have finished before the cancel landed: wait until it is over, so later tests see settled versions
    const firstId = jobs[0]!.body.id as string;
    await pollUntil(
      'cancelled training',
      () => t.request('GET', `/api/v1/jobs/${firstId}`, { token: A.ownerToken }),
      (j) => ['succeeded', 'failed', 'cancelled'].includes(j.body.status),
      { intervalMs: 100, timeoutMs: 120_000 },
    );
  });
});

describe('tenants, erasure and cancellation', () => {
  it("never shows or scores another tenant's profiles", async () => {
    expect((await predict('all', { profile_id: profilesA[1] }, keyB)).status).toBe(404);
    expect((await predict('all', { identifier: { type: 'user_id', value: 'a1' } }, keyB)).status).toBe(404);
    const m = await t.request('GET', '/api/v1/models/metrics/summary', { token: keyB });
    expect(m.body.churn).toBeNull();
    const v = await t.request('GET', '/api/v1/models/versions', { token: keyB });
    expect(v.body.data).toEqual([]);
    expect((await t.request('GET', '/api/v1/predictions/at-risk?threshold=0', { token: keyB })).body.data).toEqual([]);
  });

  it('a run cancelled halfway writes nothing: the previous versions keep serving', async () => {
    const before = await t.request('GET', '/api/v1/models/versions', { token: keyA });
    const controller = new AbortController();
    const stages: string[] = [];
    await expect(
      t.modules.predictions.train(A.tenantId, {
        jobId: null,
        signal: controller.signal,
        async progress(p) {
          if (typeof p.stage === 'string') stages.push(p.stage);
          if (p.stage === 'ltv') controller.abort();
        },
      }),
    ).rejects.toThrow('cancelled');
    expect(stages).toContain('churn');
    const after = await t.request('GET', '/api/v1/models/versions', { token: keyA });
    expect(after.body.data.filter((x: { family: string }) => x.family === 'predictions')).toEqual(
      before.body.data.filter((x: { family: string }) => x.family === 'predictions'),
    );
  }, 60_000);

  it('an erased profile answers 404 and nothing predicted about it is kept', async () => {
    const p = profilesA[5]!;
    const had = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM prediction_scores WHERE tenant_id = ${A.tenantId} AND profile_id = ${p}`,
    );
    expect(had[0]!.n).toBe(1);
    expect((await t.request('DELETE', `/api/v1/profiles/${p}`, { token: A.ownerToken })).status).toBe(200);
    expect((await predict('all', { profile_id: p })).status).toBe(404);
    expect((await predict('all', { identifier: { type: 'user_id', value: 'a5' } })).status).toBe(404);
    const left = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT (SELECT count(*) FROM prediction_scores WHERE tenant_id = ${A.tenantId} AND profile_id = ${p})::int +
                 (SELECT count(*) FROM prediction_features WHERE tenant_id = ${A.tenantId} AND profile_id = ${p})::int AS n`,
    );
    expect(left[0]!.n).toBe(0);
  });

  it('a tenant with no orders, then one customer with every order on one day, trains without failing', async () => {
    const C = await t.createTenant('Tiny');
    const key = await C.apiKey(['profiles:read', 'analytics:read', 'models:manage']);
    const [p] = await t.modules.identity.resolveMany(C.tenantId, [
      { identifiers: [{ type: 'user_id', value: 'only' }], channel: 'api', occurredAt: NOW },
    ]);
    let job = await trainAndWait(key, C.ownerToken);
    expect(job.status).toBe('succeeded');
    expect(job.result.skipped.map((s: { kind: string }) => s.kind)).toContain('segments');
    let r = await predict('all', { profile_id: p }, key);
    expect(r.status).toBe(200);
    expect(r.body.not_ready.every((n: { reason: string }) => n.reason.includes('no purchase'))).toBe(true);

    const day = new Date(NOW.getTime() - 3 * DAY);
    await t.modules.identity.recordActivity(C.tenantId, [
      { profileId: p!, type: 'purchase', revenueMinor: 1000n, currency: 'EUR', orderId: 'x1', channel: 'api', occurredAt: day },
      { profileId: p!, type: 'purchase', revenueMinor: 0n, currency: 'EUR', orderId: 'x2', channel: 'api', occurredAt: day },
      { profileId: p!, type: 'refund', revenueMinor: 300n, currency: 'EUR', orderId: 'x1', channel: 'api', occurredAt: day },
    ]);
    job = await trainAndWait(key, C.ownerToken);
    expect(job.status).toBe('succeeded');
    r = await predict('all', { profile_id: p }, key);
    expect(r.body.segment.segment).toBeTruthy();
    expect(r.body.ltv.model_type).toBe('spend_rate');
    expect(r.body.ltv.currency).toBe('EUR');
    expect(r.body.churn).toBeNull();
  }, 120_000);

  it('a merged-away profile id answers for the profile it merged into, with every order of both', async () => {
    const M = await t.createTenant('Merging');
    const key = await M.apiKey(['profiles:read']);
    const [a, b] = await t.modules.identity.resolveMany(M.tenantId, [
      { identifiers: [{ type: 'email', value: 'sam@shop.test' }], channel: 'api', occurredAt: new Date(NOW.getTime() - 9 * DAY) },
      { identifiers: [{ type: 'device_id', value: 'dev-sam' }], channel: 'api', occurredAt: new Date(NOW.getTime() - 8 * DAY) },
    ]);
    expect(a).not.toBe(b);
    await t.modules.identity.recordActivity(M.tenantId, [
      {
        profileId: a!,
        type: 'purchase',
        revenueMinor: 1000n,
        currency: 'USD',
        orderId: 'm1',
        channel: 'api',
        occurredAt: new Date(NOW.getTime() - 7 * DAY),
      },
      {
        profileId: b!,
        type: 'purchase',
        revenueMinor: 2000n,
        currency: 'USD',
        orderId: 'm2',
        channel: 'api',
        occurredAt: new Date(NOW.getTime() - 6 * DAY),
      },
    ]);
    expect((await predict('all', { profile_id: b }, key)).body).toMatchObject({ profile_id: b, orders: 1 });
    const [merged] = await t.modules.identity.resolveMany(M.tenantId, [
      {
        identifiers: [
          { type: 'email', value: 'sam@shop.test' },
          { type: 'device_id', value: 'dev-sam' },
        ],
        channel: 'api',
        occurredAt: NOW,
      },
    ]);
    expect(merged).toBe(a);
    for (const ref of [{ profile_id: b }, { profile_id: a }, { identifier: { type: 'device_id', value: 'dev-sam' } }]) {
      const r = await predict('all', ref, key);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ profile_id: a, orders: 2 });
    }
    // another tenant's key, an unknown uuid and a malformed id all answer 404
    expect((await predict('all', { profile_id: a }, keyB)).status).toBe(404);
    expect((await predict('all', { profile_id: '00000000-0000-4000-8000-000000000000' }, key)).status).toBe(404);
    expect((await predict('all', { profile_id: 'not-a-uuid' }, key)).status).toBe(404);
  });
});

describe('drift', () => {
  it('is stable right after training, significant once the customers change; per tenant; bad input is a 400', async () => {
    const D = await t.createTenant('Drifting');
    const key = await D.apiKey(['profiles:read', 'analytics:read', 'models:manage']);
    const before = await t.request('GET', '/api/v1/predictions/drift', { token: key });
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ customers: 0, retrain_recommended: false, models: [] });

    await seedCustomers(D.tenantId, 120, 'd', 21);
    expect((await trainAndWait(key, D.ownerToken)).status).toBe('succeeded');
    const stable = await t.request('GET', '/api/v1/predictions/drift', { token: key });
    expect(stable.body.customers).toBe(120);
    expect(stable.body.models.map((m: { kind: string }) => m.kind).sort()).toEqual(['churn', 'clv', 'ltv', 'segments']);
    for (const m of stable.body.models) {
      expect(m.reference_customers).toBe(120);
      expect(m.status).toBe('stable');
      expect(m.columns.length).toBeGreaterThan(3);
    }
    expect(stable.body.models.find((m: { kind: string }) => m.kind === 'churn').columns.map((c: { name: string }) => c.name)).toContain(
      'churn_probability',
    );
    expect(stable.body.retrain_recommended).toBe(false);

    // 150 new customers with one large order today: recency, orders, spend and the segment mix all move
    const fresh = await t.modules.identity.resolveMany(
      D.tenantId,
      Array.from({ length: 150 }, (_, i) => ({ identifiers: [{ type: 'user_id', value: `new${i}` }], channel: 'api', occurredAt: NOW })),
    );
    await t.modules.identity.recordActivity(
      D.tenantId,
      fresh.map((p, i) => ({
        profileId: p!,
        type: 'purchase',
        revenueMinor: 90_000n,
        currency: 'USD',
        orderId: `new${i}`,
        channel: 'api',
        occurredAt: new Date(NOW.getTime() - 3_600_000),
      })),
    );
    // kept for a few minutes unless asked to measure again
    expect((await t.request('GET', '/api/v1/predictions/drift', { token: key })).body.customers).toBe(120);
    const moved = await t.request('GET', '/api/v1/predictions/drift?fresh=true', { token: key });
    expect(moved.status).toBe(200);
    expect(moved.body.customers).toBe(270);
    expect(moved.body.retrain_recommended).toBe(true);
    const seg = moved.body.models.find((m: { kind: string }) => m.kind === 'segments');
    expect(seg.status).toBe('significant');
    expect(seg.columns[0].psi).toBeGreaterThanOrEqual(0.25);

    // another tenant's drift is measured over its own customers only
    const a = await t.request('GET', '/api/v1/predictions/drift?fresh=true', { token: keyA });
    expect(a.body.customers).toBeLessThanOrEqual(260);
    expect(a.body.models.every((m: { reference_customers: number }) => m.reference_customers !== 120)).toBe(true);
    expect((await t.request('GET', '/api/v1/predictions/drift', { token: keyB })).body.models).toEqual([]);
    expect((await t.request('GET', '/api/v1/predictions/drift?fresh=maybe', { token: key })).status).toBe(400);
    expect((await t.request('GET', '/api/v1/predictions/drift?fresh=true&x=%00', { token: key })).status).toBe(400);
    expect((await t.request('GET', '/api/v1/predictions/drift')).status).toBe(401);

    // the nightly refresh retrains on significant drift, after which the same customers are the reference
    const nightly = async () => {
      const job = await t.jobs.enqueue(D.tenantId, 'predictions.nightly', {});
      for (let i = 0; i < 1200; i++) {
        const j = await t.request('GET', `/api/v1/jobs/${job.id}`, { token: D.ownerToken });
        if (['succeeded', 'failed', 'cancelled'].includes(j.body.status)) return j.body;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error('nightly run did not finish');
    };
    // retention: a run older than LOUPE_PREDICTIONS_HISTORY_DAYS (400 by default) is pruned by the refresh; another
    // tenant's old rows are left alone
    const ancient = new Date(NOW.getTime() - 401 * DAY).toISOString();
    for (const tenant of [D.tenantId, B.tenantId])
      await t.database.db.execute(
        sql`INSERT INTO prediction_segment_history (tenant_id, run_at, segment, profiles) VALUES (${tenant}, ${ancient}::timestamptz, 'champions', 3)`,
      );
    let run = await nightly();
    expect(run.status).toBe('succeeded');
    const oldRows = await queryRows<{ tenantId: string }>(
      t.database.db,
      sql`SELECT tenant_id::text AS "tenantId" FROM prediction_segment_history WHERE run_at = ${ancient}::timestamptz`,
    );
    expect(oldRows.map((r) => r.tenantId)).toEqual([B.tenantId]);
    await t.database.db.execute(sql`DELETE FROM prediction_segment_history WHERE tenant_id = ${B.tenantId}`);
    expect(run.result).toMatchObject({ action: 'retrained', reason: expect.stringContaining('significant drift') });
    // two scoring runs: each segment's trend has two points, and the previous size sits beside the current one
    const history = await t.request('GET', '/api/v1/predictions/segments/history?days=30', { token: key });
    expect(history.status).toBe(200);
    const runs = [...new Set(history.body.data.map((x: { run_at: string }) => x.run_at))] as string[];
    expect(runs).toHaveLength(2);
    expect(runs[0]! < runs[1]!).toBe(true);
    const sizeAt = (run: string) =>
      history.body.data
        .filter((x: { run_at: string }) => x.run_at === run)
        .reduce((n: number, x: { profiles: number }) => n + x.profiles, 0);
    expect([sizeAt(runs[0]!), sizeAt(runs[1]!)]).toEqual([120, 270]);
    const trend = await t.request('GET', '/api/v1/predictions/segments', { token: key });
    expect(trend.body.scored_at).toBe(runs[1]);
    expect(trend.body.previous_scored_at).toBe(runs[0]);
    for (const x of trend.body.data) {
      // a segment that emptied since the previous run is listed with 0 (and has no row at the current run)
      expect(x.profiles).toBe(
        history.body.data.find((h: { run_at: string; segment: string }) => h.run_at === runs[1] && h.segment === x.segment)?.profiles ?? 0,
      );
      const before = history.body.data.find((h: { run_at: string; segment: string }) => h.run_at === runs[0] && h.segment === x.segment);
      expect(x.previous_profiles).toBe(before?.profiles ?? 0);
    }
    const listed = new Set(trend.body.data.map((x: { segment: string }) => x.segment));
    for (const h of history.body.data) expect(listed.has(h.segment)).toBe(true);
    // a segment of the previous run with nobody in it now: 0 now, its previous size beside it, listed after the rest
    await t.database.db.execute(
      sql`INSERT INTO prediction_segment_history (tenant_id, run_at, segment, profiles) VALUES (${D.tenantId}, ${runs[0]}::timestamptz, 'zz_emptied', 7)`,
    );
    const emptied = (await t.request('GET', '/api/v1/predictions/segments', { token: key })).body.data;
    const at = emptied.findIndex((x: { segment: string }) => x.segment === 'zz_emptied');
    // emptied segments come after every segment with customers now
    expect(emptied.slice(at).every((x: { profiles: number }) => x.profiles === 0)).toBe(true);
    expect(emptied[at]).toEqual({
      segment: 'zz_emptied',
      profiles: 0,
      previous_profiles: 7,
      share: 0,
      avg_churn_probability: null,
      expected_value_minor: null,
    });
    await t.database.db.execute(sql`DELETE FROM prediction_segment_history WHERE tenant_id = ${D.tenantId} AND segment = 'zz_emptied'`);
    // another tenant sees only its own runs; bad query parameters are a 400
    const same = await Promise.all(
      [1, 2, 3, 4].map(() => t.request('GET', '/api/v1/predictions/segments/history?days=30', { token: key })),
    );
    for (const r of same) expect(r.body).toEqual(history.body);
    const mine = await t.request('GET', '/api/v1/predictions/segments/history', { token: keyA });
    expect(mine.body.days).toBe(90);
    expect(mine.body.data.every((x: { run_at: string }) => !runs.includes(x.run_at))).toBe(true);
    expect((await t.request('GET', '/api/v1/predictions/segments/history', { token: keyB })).body.data).toEqual([]);
    expect((await t.request('GET', '/api/v1/predictions/segments', { token: keyB })).body).toEqual({
      scored_at: null,
      previous_scored_at: null,
      data: [],
    });
    for (const q of [
      'days=0',
      'days=731',
      'days=1.5',
      'days=abc',
      'days=1e400',
      'days=%00',
      'days=%ED%A0%80',
      'x=1',
      'days=99999999999999999999',
      'days=1&days=2',
    ])
      expect((await t.request('GET', `/api/v1/predictions/segments/history?${q}`, { token: key })).status, q).toBe(400);
    expect((await t.request('GET', '/api/v1/predictions/segments/history')).status).toBe(401);
    const after = await t.request('GET', '/api/v1/predictions/drift', { token: key });
    expect(after.body.customers).toBe(270);
    expect(after.body.models.every((m: { reference_customers: number }) => m.reference_customers === 270)).toBe(true);
    expect(after.body.retrain_recommended).toBe(false);
    // no drift and young models: everyone is rescored with the current models
    run = await nightly();
    expect(run.result).toEqual({ action: 'rescored', reason: 'no significant drift', customers: 270 });
    const segs = await t.request('GET', '/api/v1/predictions/segments', { token: key });
    expect(segs.body.data.reduce((n: number, x: { profiles: number }) => n + x.profiles, 0)).toBe(270);
    // the rescore is a third run: the previous sizes are now the retrained run's
    expect(segs.body.previous_scored_at).toBe(runs[1]);
    expect(segs.body.data.reduce((n: number, x: { previous_profiles: number }) => n + x.previous_profiles, 0)).toBe(270);
    const three = await t.request('GET', '/api/v1/predictions/segments/history', { token: key });
    expect(new Set(three.body.data.map((x: { run_at: string }) => x.run_at)).size).toBe(3);
    // exactly one next nightly run waits, at 02:00 UTC
    const queued = await t.request('GET', '/api/v1/jobs?type=predictions.nightly&status=queued', { token: D.ownerToken });
    expect(queued.body.data).toHaveLength(1);
    expect(queued.body.data[0].created_at).toBeTruthy();
  }, 300_000);
});
