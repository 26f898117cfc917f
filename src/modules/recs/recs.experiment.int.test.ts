import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { seedTenant, waitJob } from '../../../test/recs-fixtures.ts';

/**
 * Seed 003's "test different recommendation strategies": an experiment whose variants name model versions
 * decides which version serves each user on /recommendations, which logs the exposure itself; clicks tracked
 * with the recommendation id land in the experiment's report. Another tenant's experiment cannot serve this
 * tenant's models.
 */
describe('recommendation models under an experiment', () => {
  let t: TestApp;
  let a: Awaited<ReturnType<TestApp['createTenant']>>;
  let key: string;
  const versions = new Map<string, string>(); // id -> version name

  beforeAll(async () => {
    t = await createTestApp();
    t.jobs.start({ concurrency: 1 });
    a = await t.createTenant('Sarah Electronics');
    await seedTenant(t, a.tenantId, { users: 30 });
    key = await a.apiKey(['recommendations:read', 'interactions:write', 'models:manage', 'analytics:read', 'experiments:manage']);
    for (const model_type of ['popularity', 'item_knn']) {
      const start = await t.request('POST', '/api/v1/train', { token: key, body: { model_type } });
      const done = await waitJob(t, key, start.body.job_id);
      expect(done.status, String(done.error)).toBe('completed');
      versions.set(done.model_version_id, done.model_version);
    }
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('serves each user the version of their variant, logs the exposure, and attributes clicks', async () => {
    const [popId, knnId] = [...versions.keys()];
    const e = await t.request('POST', '/api/v1/admin/experiments', {
      token: key,
      body: {
        key: 'recs_model',
        name: 'Popularity vs item kNN',
        primary_metric: 'click',
        variants: [
          { key: 'popularity', config: { model_version: popId } },
          { key: 'item_knn', config: { model_version: knnId } },
        ],
      },
    });
    expect(e.status).toBe(201);
    await t.request('POST', `/api/v1/admin/experiments/${e.body.id}/start`, { token: key });
    const served = new Map<string, string>();
    for (let i = 0; i < 30; i++) {
      const r = await t.request('POST', '/api/v1/recommendations', { token: key, body: { user_id: `U${i}`, count: 3 } });
      expect(r.status).toBe(200);
      served.set(`U${i}`, r.body.metadata.model_version);
      if (i % 3 === 0)
        await t.request('POST', '/api/v1/experiments/track-click', {
          token: key,
          body: { user_id: `U${i}`, event_id: `rc-${i}`, recommendation_id: r.body.recommendation_id },
        });
    }
    // every user was exposed by /recommendations alone (no /assign call yet)
    const rep = await t.request('GET', `/api/v1/admin/experiments/${e.body.id}/report?refresh=true`, { token: key });
    expect(rep.body.units.reduce((s: number, u: { n: number }) => s + u.n, 0)).toBe(30);
    expect(rep.body.units.every((u: { n: number }) => u.n > 0)).toBe(true);
    const clicks = rep.body.metrics.find((m: { name: string }) => m.name === 'click');
    expect(clicks.control.n + clicks.variants[0].n).toBe(30);
    expect(clicks.control.mean * clicks.control.n + clicks.variants[0].mean * clicks.variants[0].n).toBeCloseTo(10, 9);
    // the version served is the one of the variant /assign answers for that user
    for (const [user, version] of served) {
      const asg = await t.request('POST', '/api/v1/experiments/assign', {
        token: key,
        body: { user_id: user, experiments: ['recs_model'] },
      });
      const want = asg.body.assignments[0].config.model_version as string;
      expect({ user, version }).toEqual({ user, version: versions.get(want) });
    }
    // stopped: everyone gets the deployed version again
    await t.request('POST', `/api/v1/admin/experiments/${e.body.id}/stop`, { token: key });
    const models = await t.request('GET', '/api/v1/models', { token: key });
    const active = models.body.data.find((m: { status: string }) => m.status === 'active');
    const after = await t.request('POST', '/api/v1/recommendations', { token: key, body: { user_id: 'U1', count: 3 } });
    expect([active.version, versions.get(knnId as string)]).toContain(after.body.metadata.model_version); // active, or its canary
  }, 120_000);

  it("never serves another tenant's model version named in this tenant's experiment", async () => {
    const b = await t.createTenant('Other');
    await seedTenant(t, b.tenantId, { users: 5 });
    const bKey = await b.apiKey(['recommendations:read', 'interactions:write', 'models:manage', 'experiments:manage']);
    const start = await t.request('POST', '/api/v1/train', { token: bKey, body: { model_type: 'popularity' } });
    const own = await waitJob(t, bKey, start.body.job_id);
    const [popId] = [...versions.keys()];
    const e = await t.request('POST', '/api/v1/admin/experiments', {
      token: bKey,
      body: {
        key: 'recs_model',
        name: 'Hostile',
        variants: [
          { key: 'a', config: { model_version: popId } },
          { key: 'b', config: { model_version: popId } },
        ],
      },
    });
    await t.request('POST', `/api/v1/admin/experiments/${e.body.id}/start`, { token: bKey });
    const r = await t.request('POST', '/api/v1/recommendations', { token: bKey, body: { user_id: 'U1', count: 3 } });
    expect(r.status).toBe(200);
    expect(r.body.metadata.model_version).toBe(own.model_version);
  }, 120_000);
});
