import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, pollUntil } from '../../../test/helpers.ts';
import { itemId, seedTenant, waitJob } from '../../../test/recs-fixtures.ts';

/**
 * The model registry's hourly maintenance (seed 003 step 10) on the real app: canary promotion when the new
 * version converts better, rollback when it converts worse, automatic retraining on schedule and on new
 * interactions, and 30-day retention that never deletes a serving version. The clock is the app's own,
 * moved forward by the test.
 */
const DAY = 24 * 3_600_000;
let now = Date.now();
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let key: string;
let bKey: string;

beforeAll(async () => {
  t = await createTestApp({}, { clock: () => new Date(now) });
  t.jobs.start({ concurrency: 1 });
  A = await t.createTenant('Registry store');
  await seedTenant(t, A.tenantId);
  key = await A.apiKey(['recommendations:read', 'interactions:write', 'models:manage', 'analytics:read']);
  // Made before the clock moves (sessions expire with it).
  B = await t.createTenant('Incremental store');
  await seedTenant(t, B.tenantId, { users: 60 });
  bKey = await B.apiKey(['recommendations:read', 'interactions:write', 'models:manage', 'analytics:read']);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

async function train(modelType: string, autoDeploy = true) {
  const start = await t.request('POST', '/api/v1/train', { token: key, body: { model_type: modelType, auto_deploy: autoDeploy } });
  expect(start.status, JSON.stringify(start.body)).toBe(202);
  const done = await waitJob(t, key, start.body.job_id);
  expect(done.status, JSON.stringify(done)).toBe('completed');
  return done as { model_version: string; model_version_id: string; deployment_status: string };
}

const deployment = async () =>
  (await t.request('GET', '/api/v1/models', { token: key })).body as {
    data: { id: string; version: string; status: string }[];
    deployment: Record<string, unknown>;
  };
const statusOf = async (id: string) => (await deployment()).data.find((v) => v.id === id)?.status;

/** Serves `n` shoppers; a shopper served by `convertsOn` buys the first item with probability `rate` (deterministic). */
async function serveAndConvert(n: number, tag: string, rates: Record<string, number>) {
  const served: Record<string, number> = {};
  for (let s = 0; s < n; s++) {
    const userId = `${tag}-${s}`;
    const r = await t.request('POST', '/api/v1/recommendations', { token: key, body: { user_id: userId, count: 3 } });
    expect(r.status).toBe(200);
    expect(r.body.recommendations.length, JSON.stringify(r.body)).toBe(3);
    const version = r.body.metadata.model_version as string;
    served[version] = (served[version] ?? 0) + 1;
    const rate = rates[version] ?? 0;
    if ((s * 0.618034) % 1 < rate) {
      const buy = await t.request('POST', '/api/v1/interactions', {
        token: key,
        body: {
          user_id: userId,
          item_id: r.body.recommendations[0].item_id,
          interaction_type: 'purchase',
          recommendation_id: r.body.recommendation_id,
        },
      });
      expect(buy.status).toBe(201);
    }
  }
  await t.modules.recs.flushServed();
  return served;
}

async function maintenance() {
  const job = await t.jobs.enqueue(A.tenantId, 'recs.maintenance', {});
  const j = await pollUntil(
    'maintenance job',
    () => t.jobs.get(A.tenantId, job.id),
    (x) => x?.status === 'succeeded' || x?.status === 'failed',
  );
  if (j?.status === 'failed') throw new Error(j.lastError ?? 'maintenance failed');
  return j!.result as { canary?: string; retrain?: string[] };
}

describe('model registry maintenance', () => {
  let v1: string;
  let v2: string;
  let v3: string;

  it('promotes a canary that converts better, sticky per user while it runs', async () => {
    v1 = (await train('item_knn')).model_version_id;
    expect(await statusOf(v1)).toBe('active');
    v2 = (await train('ials', false)).model_version_id;
    const canary = await t.request('POST', `/api/v1/models/${v2}/deploy`, { token: key, body: { canary_percent: 50 } });
    expect(canary.status).toBe(200);
    expect(canary.body).toMatchObject({ canary_version_id: v2, canary_percent: 50 });
    // Sticky: a shopper sees the same version on every request.
    const versions = new Set<string>();
    for (let k = 0; k < 3; k++)
      versions.add(
        (await t.request('POST', '/api/v1/recommendations', { token: key, body: { user_id: 'sticky-1', count: 3 } })).body.metadata
          .model_version,
      );
    expect(versions.size).toBe(1);

    const names = Object.fromEntries((await deployment()).data.map((v) => [v.id, v.version]));
    const served = await serveAndConvert(520, 'p', { [names[v2]!]: 0.3, [names[v1]!]: 0.03 });
    expect(served[names[v1]!]).toBeGreaterThanOrEqual(200);
    expect(served[names[v2]!]).toBeGreaterThanOrEqual(200);
    expect((await maintenance()).canary).toBe('promote');
    expect(await statusOf(v2)).toBe('active');
    expect((await deployment()).deployment).toMatchObject({ active_version_id: v2, previous_version_id: v1, canary_version_id: null });
  }, 180_000);

  it('rolls back a canary that converts worse; the active version keeps serving everyone', async () => {
    v3 = (await train('popularity', false)).model_version_id;
    await t.request('POST', `/api/v1/models/${v3}/deploy`, { token: key, body: { canary_percent: 50 } });
    const names = Object.fromEntries((await deployment()).data.map((v) => [v.id, v.version]));
    await serveAndConvert(520, 'r', { [names[v2]!]: 0.3, [names[v3]!]: 0 });
    expect((await maintenance()).canary).toBe('rollback');
    expect((await deployment()).deployment).toMatchObject({ active_version_id: v2, canary_version_id: null });
    const after = await t.request('POST', '/api/v1/recommendations', { token: key, body: { user_id: 'r-1', count: 3 } });
    expect(after.body.metadata.model_version).toBe(names[v2]);
  }, 180_000);

  it('retrains automatically on its schedule and on a count of new interactions, as the tenant configures', async () => {
    const admin = await t.adminToken();
    const configure = (retrain: Record<string, unknown>) =>
      // canary_percent 0: a retrained version replaces the active one at once.
      t.request('PATCH', `/api/v1/admin/tenants/${A.tenantId}`, {
        token: admin,
        body: { settings: { recommendations: { canary_percent: 0, retrain: { model_type: 'popularity', ...retrain } } } },
      });
    expect((await configure({ every_days: 7, new_interactions: 1_000_000 })).status).toBe(200);
    expect((await maintenance()).retrain).toBeUndefined();
    now += 8 * DAY;
    expect((await maintenance()).retrain).toEqual(['schedule']);
    const jobs = await t.jobs.list(A.tenantId, { type: 'recs.train', limit: 5 });
    expect(jobs[0]!.payload).toMatchObject({ trigger: 'auto:schedule', autoDeploy: true, modelType: 'popularity' });
    expect((await waitJob(t, key, jobs[0]!.id)).deployment_status).toBe('deployed');

    // A fresh active version: only new interactions can trigger now.
    await configure({ every_days: 365, new_interactions: 5 });
    expect((await maintenance()).retrain).toBeUndefined();
    for (let k = 0; k < 5; k++) {
      expect(
        (
          await t.request('POST', '/api/v1/interactions', {
            token: key,
            body: { user_id: `n-${k}`, item_id: itemId(0, k), interaction_type: 'view' },
          })
        ).status,
      ).toBe(201);
    }
    expect((await maintenance()).retrain).toEqual(['new_interactions']);
    const again = await t.jobs.list(A.tenantId, { type: 'recs.train', limit: 1 });
    await waitJob(t, key, again[0]!.id);
    await configure({ enabled: false });
    now += 400 * DAY;
    expect((await maintenance()).retrain).toBeUndefined();
  }, 180_000);

  it('deletes versions (and their artifacts) after 30 days unless they are serving', async () => {
    const before = await deployment();
    const serving = new Set(
      [before.deployment.active_version_id, before.deployment.previous_version_id, before.deployment.canary_version_id].filter(Boolean),
    );
    now += 31 * DAY;
    await maintenance();
    const after = await deployment();
    expect(new Set(after.data.map((v) => v.id))).toEqual(serving);
    for (const id of [v1, v2, v3]) {
      if (serving.has(id)) continue;
      expect((await t.request('GET', `/api/v1/models/${id}`, { token: key })).status).toBe(404);
      expect(await t.storage.exists(A.tenantId, `models/${id}/model.bin`)).toBe(false);
    }
    const served = await t.request('POST', '/api/v1/recommendations', { token: key, body: { user_id: 'U1', count: 3 } });
    expect(served.status).toBe(200);
    expect(served.body.recommendations.length).toBe(3);
  }, 60_000);
});

describe('incremental training', () => {
  const model = async (id: string) =>
    (await t.request('GET', `/api/v1/models/${id}`, { token: bKey })).body as {
      version: string;
      model_type: string;
      model_card: Record<string, any>;
      metrics: Record<string, number>;
    };
  const trainB = async (body: Record<string, unknown>) => {
    const start = await t.request('POST', '/api/v1/train', { token: bKey, body });
    expect(start.status, JSON.stringify(start.body)).toBe(202);
    const done = await waitJob(t, bKey, start.body.job_id);
    expect(done.status, JSON.stringify(done)).toBe('completed');
    return done as { model_version: string; model_version_id: string };
  };

  it('with nothing deployed, trains in full and says why', async () => {
    const v = await trainB({ model_type: 'ials', training_mode: 'incremental', auto_deploy: true });
    expect((await model(v.model_version_id)).model_card).toMatchObject({
      training_mode: 'full',
      incremental: { note: expect.stringMatching(/no deployed version/) },
    });
  }, 60_000);

  it('continues the deployed iALS model from its item factors with a third of the sweeps; new items join', async () => {
    const fullId = (await trainB({ model_type: 'ials' })).model_version_id;
    expect((await t.request('POST', `/api/v1/models/${fullId}/deploy`, { token: bKey, body: {} })).body.active_version_id).toBe(fullId);
    const full = await model(fullId);
    await t.modules.catalog.upsertItems(B.tenantId, [
      { itemId: 'P_new', name: 'New arrival', category: 'Audio', priceMinor: 1999n, currency: 'USD', availability: 'in_stock' },
    ]);
    for (let u = 0; u < 6; u++) {
      const r = await t.request('POST', '/api/v1/interactions', {
        token: bKey,
        body: { user_id: `U${u * 3}`, item_id: 'P_new', interaction_type: 'purchase' },
      });
      expect(r.status).toBe(201);
    }
    const inc = await model((await trainB({ model_type: 'auto', training_mode: 'incremental', auto_deploy: true })).model_version_id);
    expect(inc.model_type).toBe('ials');
    expect(inc.model_card).toMatchObject({
      training_mode: 'incremental',
      selected_by: expect.stringMatching(/^incremental/),
      incremental: { from_version: full.version, warm_started: true, items_carried: 36, new_items: 1, schedule: { iterations: 4 } }, // a third of the default 12
    });
    // As good as the full run it continues (same data but the new purchases), far better than popularity.
    expect(inc.metrics['ndcg@10']).toBeGreaterThan(0.8 * full.metrics['ndcg@10']!);
    expect(inc.metrics.lift_over_popularity).toBeGreaterThan(1);
    // The new item is in the model: it can be recommended as similar to what its buyers bought.
    const similar = await t.request('POST', '/api/v1/recommendations/similar', { token: bKey, body: { item_id: 'P_new', count: 3 } });
    expect(similar.status).toBe(200);
    // Its buyers all shop Audio: a learned (not cold-start) item lands among Audio items.
    expect(similar.body.similar_items.filter((i: { category: string }) => i.category === 'Audio').length).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('a different model type than the deployed one, or a closed-form model, is trained in full, as the card says', async () => {
    const knn = await model((await trainB({ model_type: 'item_knn', training_mode: 'incremental', auto_deploy: true })).model_version_id);
    expect(knn.model_card).toMatchObject({
      training_mode: 'full',
      incremental: { note: expect.stringMatching(/deployed version is ials, not item_knn/) },
    });
    await t.request('POST', `/api/v1/models/${(await t.request('GET', '/api/v1/models', { token: bKey })).body.data[0].id}/deploy`, {
      token: bKey,
      body: {},
    });
    const again = await model((await trainB({ model_type: 'auto', training_mode: 'incremental' })).model_version_id);
    expect(again.model_type).toBe('item_knn');
    expect(again.model_card.incremental).toMatchObject({ warm_started: false, note: expect.stringMatching(/closed-form/) });
  }, 120_000);
});
