import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { itemId, seedTenant, waitJob } from '../../../test/recs-fixtures.ts';

/**
 * Seed 003's journey and the recommender's bad-input cases, on the real app and database.
 * Catalog: three categories of 12 items; shoppers who stay mostly within one category.
 */
describe('recommendations (seed 003 journey)', () => {
  let t: TestApp;
  let a: Awaited<ReturnType<TestApp['createTenant']>>;
  let b: Awaited<ReturnType<TestApp['createTenant']>>;
  let key: string;
  let firstJob: string;

  beforeAll(async () => {
    t = await createTestApp();
    t.jobs.start({ concurrency: 1 });
    a = await t.createTenant('Sarah Electronics');
    b = await t.createTenant('Other Store');
    await seedTenant(t, a.tenantId, { outOfStock: [itemId(0, 3)] });
    key = await a.apiKey(['recommendations:read', 'interactions:write', 'models:manage', 'analytics:read']);
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  it('trains with model_type auto in a worker, reports progress and keeps a model card', async () => {
    const start = await t.request('POST', '/api/v1/train', { token: key, body: { tenant_id: a.tenantId, model_type: 'auto' } });
    expect(start.status).toBe(202);
    expect(start.body.progress_url).toBe(`/api/v1/training/${start.body.job_id}/progress`);
    firstJob = start.body.job_id;
    const done = await waitJob(t, key, firstJob);
    expect(done.status).toBe('completed');
    expect(done.progress).toBe(1);
    expect(done.deployment_status).toBe('deployed');
    expect(done.model_version).toMatch(/^v1_\d{8}$/);
    for (const m of ['ndcg@10', 'recall@20', 'precision@10', 'coverage', 'lift_over_popularity'])
      expect(typeof done.final_metrics[m]).toBe('number');
    const models = await t.request('GET', '/api/v1/models', { token: key });
    expect(models.status).toBe(200);
    const v = models.body.data[0];
    expect(v.status).toBe('active');
    expect(v.model_card.selected_by).toMatch(/auto/);
    expect(v.model_card.reason).toMatch(/best validation NDCG@20/);
    // the card shows the search: every family at its defaults first, then the search, with scores and times
    const tuning = v.model_card.tuning;
    expect(tuning.trials.slice(0, 4).map((x: any) => [x.model_type, x.kind])).toEqual([
      ['popularity', 'default'],
      ['item_knn', 'default'],
      ['graph_filter', 'default'],
      ['ials', 'default'],
    ]);
    expect(tuning.trials.length).toBeGreaterThan(4);
    for (const x of tuning.trials) {
      expect(typeof x['val_ndcg@20']).toBe('number');
      expect(x.seconds).toBeGreaterThanOrEqual(0);
    }
    expect(tuning.spent_seconds).toBeGreaterThan(0);
    expect(tuning.chosen.model_type).toBe(v.model_type);
    expect(tuning.chosen.hyperparameters).toEqual(v.hyperparameters);
    expect(Math.max(...tuning.trials.map((x: any) => x['val_ndcg@20']))).toBe(tuning.chosen['val_ndcg@20']);
    expect(tuning.validation.users).toBeGreaterThanOrEqual(5);
    expect(v.snapshot.users).toBe(45);
    expect(v.artifact.location).toBe(`models/${v.id}/model.bin`);
  }, 120_000);

  it('recommends with catalog fields and reasons, excluding purchases and unavailable items; real time and attributed', async () => {
    const r = await t.request('POST', '/api/v1/recommendations', {
      token: key,
      body: { user_id: 'U0', count: 5, context: { page: 'homepage', device: 'mobile', time_of_day: 'evening' } },
    });
    expect(r.status).toBe(200);
    expect(r.body.recommendations).toHaveLength(5);
    expect(r.body.metadata.model_version).toMatch(/^v1_/);
    expect(typeof r.body.metadata.latency_ms).toBe('number');
    const purchased = new Set(
      (await t.modules.events.interactions.listForUser(a.tenantId, 'U0', 100)).filter((x) => x.type === 'purchase').map((x) => x.itemId),
    );
    for (const item of r.body.recommendations) {
      expect(purchased.has(item.item_id)).toBe(false);
      expect(item.item_id).not.toBe(itemId(0, 3)); // out of stock
      expect(item.name).toBeTruthy();
      expect(item.price).toBeGreaterThan(0);
      expect(item.score).toBeGreaterThanOrEqual(0);
      expect(item.score).toBeLessThanOrEqual(1);
    }
    // U0 shops Audio: most recommendations are Audio, explained by an item they touched
    expect(r.body.recommendations.filter((i: any) => i.category === 'Audio').length).toBeGreaterThanOrEqual(3);
    expect(r.body.recommendations.some((i: any) => /^Because you (bought|viewed|added) Audio thing/.test(i.reason))).toBe(true);

    // the same request again is served from the cache; a new interaction invalidates it at once
    const again = await t.request('POST', '/api/v1/recommendations', {
      token: key,
      body: { user_id: 'U0', count: 5, context: { page: 'homepage', device: 'mobile', time_of_day: 'evening' } },
    });
    expect(again.body.metadata.cache_hit).toBe(true);
    const first = r.body.recommendations[0].item_id;
    const track = await t.request('POST', '/api/v1/interactions', {
      token: key,
      body: {
        user_id: 'U0',
        item_id: first,
        interaction_type: 'purchase',
        timestamp: new Date().toISOString(),
        recommendation_id: r.body.recommendation_id,
        metadata: { order_id: 'ORD_1', price: 25.5, quantity: 2 },
      },
    });
    expect([200, 201, 202]).toContain(track.status);
    const after = await t.request('POST', '/api/v1/recommendations', {
      token: key,
      body: { user_id: 'U0', count: 5, context: { page: 'homepage', device: 'mobile', time_of_day: 'evening' } },
    });
    expect(after.body.metadata.cache_hit).toBe(false);
    expect(after.body.recommendations.map((i: any) => i.item_id)).not.toContain(first);

    const dash = await t.request('GET', `/api/v1/analytics/tenant/${a.tenantId}/dashboard`, { token: key });
    expect(dash.status).toBe(200);
    expect(dash.body.metrics.total_api_calls).toBeGreaterThanOrEqual(3);
    expect(dash.body.metrics.revenue_impact.attributed_orders).toBe(1);
    expect(dash.body.metrics.revenue_impact.attributed_revenue).toBeCloseTo(51, 2);
    expect(dash.body.metrics.conversion_rate).toBeGreaterThan(0);
    expect(dash.body.metrics.cache_hit_rate).toBeGreaterThan(0);
    expect(dash.body.metrics.model_performance['ndcg@10']).toBeTypeOf('number');
    expect(dash.body.top_recommended_items.find((x: any) => x.item_id === first)?.purchases).toBe(1);
    expect(dash.body.data_quality.items).toBe(36);
  }, 60_000);

  it('the models API reports what serving holds per tenant: the model, the catalog, histories and cached responses', async () => {
    const models = await t.request('GET', '/api/v1/models', { token: key });
    expect(models.status).toBe(200);
    const m = models.body.serving_memory;
    const active = models.body.data.find((v: any) => v.status === 'active');
    // the recommendations above loaded the active model, the catalog and the shoppers' histories
    expect(m.models.map((x: any) => x.version_id)).toContain(active.id);
    const held = m.models.find((x: any) => x.version_id === active.id);
    // at least the score buffer (4 bytes per item) and the item table's strings
    expect(held.bytes).toBeGreaterThan(36 * 4 + 36 * 16);
    expect(active.serving_bytes).toBe(held.bytes);
    expect(m.catalog_items).toBe(36);
    expect(m.catalog_bytes).toBeGreaterThan(36 * 9 * 16);
    expect(m.history_users).toBeGreaterThanOrEqual(1);
    expect(m.histories_bytes).toBeGreaterThan(0);
    expect(m.responses).toBeGreaterThanOrEqual(1);
    expect(m.total_bytes).toBe(
      m.models.reduce((a: number, x: any) => a + x.bytes, 0) + m.catalog_bytes + m.histories_bytes + m.responses_bytes + m.cold_start_bytes,
    );
    const one = await t.request('GET', `/api/v1/models/${active.id}`, { token: key });
    expect(one.body.serving_bytes).toBe(held.bytes);
    // another tenant's report holds none of it
    const other = await t.request('GET', '/api/v1/models', { token: await b.apiKey(['analytics:read']) });
    expect(other.body.serving_memory).toMatchObject({ total_bytes: 0, models: [], catalog_items: 0, history_users: 0, responses: 0 });
  }, 30_000);

  it('similar items: same filters, unknown item 404, cold anonymous and unknown users are served', async () => {
    const sim = await t.request('POST', '/api/v1/recommendations/similar', {
      token: key,
      body: { item_id: itemId(1, 0), count: 4, tenant_id: a.tenantId, filters: { max_price: 50 } },
    });
    expect(sim.status).toBe(200);
    expect(sim.body.similar_items.length).toBeGreaterThan(0);
    for (const s of sim.body.similar_items) {
      expect(s.item_id).not.toBe(itemId(1, 0));
      expect(s.price).toBeLessThanOrEqual(50);
    }
    const missing = await t.request('POST', '/api/v1/recommendations/similar', { token: key, body: { item_id: 'NOPE' } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('RECS_ITEM_NOT_FOUND');

    const cold = await t.request('POST', '/api/v1/recommendations', {
      token: key,
      body: { user_id: 'NEW_USER', count: 3, filters: { category: 'Wearables' } },
    });
    expect(cold.status).toBe(200);
    expect(cold.body.recommendations).toHaveLength(3);
    for (const i of cold.body.recommendations) {
      expect(i.category).toBe('Wearables');
      expect(i.reason).toBe('Popular in Wearables');
    }
    const anon = await t.request('POST', '/api/v1/recommendations', {
      token: key,
      body: { recent_items: [itemId(2, 1), itemId(2, 2)], count: 4 },
    });
    expect(anon.status).toBe(200);
    expect(anon.body.recommendations.filter((i: any) => i.category === 'Wearables').length).toBeGreaterThanOrEqual(2);
  });

  it('rejects bad input with clear 400s', async () => {
    for (const count of [0, 10_000, 'ten']) {
      const r = await t.request('POST', '/api/v1/recommendations', { token: key, body: { user_id: 'U1', count } });
      expect(r.status).toBe(400);
    }
    const f = await t.request('POST', '/api/v1/recommendations', {
      token: key,
      body: { user_id: 'U1', filters: { in_stock: 'yes', category: 7 } },
    });
    expect(f.status).toBe(400);
    const h = await t.request('POST', '/api/v1/train', {
      token: key,
      body: { model_type: 'lightgcn', hyperparameters: { embedding_dim: 0, learning_rate: 5, epochs: 3, bogus: 1 } },
    });
    expect(h.status).toBe(400);
    expect(h.body.error.code).toBe('RECS_HYPERPARAMETERS_INVALID');
    const fields = h.body.error.details.map((d: any) => d.field).sort();
    expect(fields).toEqual(['hyperparameters.bogus', 'hyperparameters.embedding_dim', 'hyperparameters.learning_rate']);
    const wrongType = await t.request('POST', '/api/v1/train', { token: key, body: { model_type: 'transformer' } });
    expect(wrongType.status).toBe(400);
    const readOnly = await a.apiKey(['recommendations:read']);
    expect((await t.request('POST', '/api/v1/train', { token: readOnly, body: {} })).status).toBe(403);
  });

  it('isolates tenants: B cannot see A’s jobs, versions, dashboard or items', async () => {
    const bKey = await b.apiKey(['recommendations:read', 'models:manage', 'analytics:read']);
    const missingJob = await t.request('GET', `/api/v1/training/00000000-0000-7000-8000-000000000000/progress`, { token: bKey });
    const aJob = await t.request('GET', `/api/v1/training/${firstJob}/progress`, { token: bKey });
    expect(aJob.status).toBe(404);
    expect(aJob.body.error.code).toBe(missingJob.body.error.code);
    expect((await t.request('POST', `/api/v1/training/${firstJob}/cancel`, { token: bKey })).status).toBe(404);
    const aVersions = await t.request('GET', '/api/v1/models', { token: key });
    const vid = aVersions.body.data[0].id;
    expect((await t.request('GET', `/api/v1/models/${vid}`, { token: bKey })).status).toBe(404);
    expect((await t.request('POST', `/api/v1/models/${vid}/deploy`, { token: bKey, body: {} })).status).toBe(404);
    expect((await t.request('GET', `/api/v1/analytics/tenant/${a.tenantId}/dashboard`, { token: bKey })).status).toBe(404);
    expect(
      (await t.request('POST', '/api/v1/recommendations', { token: bKey, body: { tenant_id: a.tenantId, user_id: 'U0' } })).status,
    ).toBe(404);
    const bRecs = await t.request('POST', '/api/v1/recommendations', { token: bKey, body: { user_id: 'U0' } });
    expect(bRecs.status).toBe(200);
    expect(bRecs.body.recommendations).toEqual([]); // B has no data: an empty answer, not A's items
    expect((await t.request('POST', '/api/v1/recommendations/similar', { token: bKey, body: { item_id: itemId(0, 0) } })).status).toBe(404);
  });

  it('fails training on an empty snapshot with a clear message', async () => {
    const bKey = await b.apiKey(['models:manage']);
    const start = await t.request('POST', '/api/v1/train', { token: bKey, body: { model_type: 'item_knn' } });
    expect(start.status).toBe(202);
    const done = await waitJob(t, bKey, start.body.job_id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/snapshot is empty/);
  }, 60_000);

  it('cancels a running job (the worker is terminated)', async () => {
    const start = await t.request('POST', '/api/v1/train', {
      token: key,
      body: { model_type: 'lightgcn', hyperparameters: { epochs: 1000, batch_size: 16, patience: 100 } },
    });
    expect(start.status).toBe(202);
    await waitJob(t, key, start.body.job_id, (x) => x.status === 'training' && x.current_epoch !== null);
    const c = await t.request('POST', `/api/v1/training/${start.body.job_id}/cancel`, { token: key });
    expect(c.status).toBe(200);
    const done = await waitJob(t, key, start.body.job_id);
    expect(done.status).toBe('cancelled');
    expect((await t.request('GET', '/api/v1/models', { token: key })).body.data).toHaveLength(1);
  }, 120_000);

  it('keeps serving the previous version when the new artifact is deleted, and shows the error', async () => {
    const start = await t.request('POST', '/api/v1/train', { token: key, body: { model_type: 'item_knn', hyperparameters: { k: 20 } } });
    const done = await waitJob(t, key, start.body.job_id);
    expect(done.status).toBe('completed');
    // a second version goes to a 10% canary by default; deploy it to everyone
    const dep = await t.request('POST', `/api/v1/models/${done.model_version_id}/deploy`, { token: key, body: {} });
    expect(dep.status).toBe(200);
    expect(dep.body.active_version_id).toBe(done.model_version_id);
    await t.storage.delete(a.tenantId, done.model_location);
    const r = await t.request('POST', '/api/v1/recommendations', { token: key, body: { user_id: 'U4', count: 3 } });
    expect(r.status).toBe(200);
    expect(r.body.recommendations).toHaveLength(3);
    expect(r.body.metadata.model_version).toMatch(/^v1_/);
    const v = await t.request('GET', `/api/v1/models/${done.model_version_id}`, { token: key });
    expect(v.body.load_error).toMatch(/artifact could not be loaded/);
    const rb = await t.request('POST', '/api/v1/models/rollback', { token: key });
    expect(rb.status).toBe(200);
    expect(rb.body.active_version_id).not.toBe(done.model_version_id);
  }, 60_000);

  it('trains on a tenant with one user and one item', async () => {
    const c = await t.createTenant('Tiny');
    await t.modules.catalog.upsertItems(c.tenantId, [{ itemId: 'ONLY', name: 'Only thing', priceMinor: 100n, currency: 'USD' }]);
    await t.modules.events.interactions.appendMany(c.tenantId, [
      { userId: 'SOLO', itemId: 'ONLY', type: 'purchase', source: 'test', occurredAt: new Date('2026-01-01T00:00:00Z') },
    ]);
    for (const model_type of ['auto', 'graph_filter', 'ials', 'lightgcn']) {
      const start = await t.request('POST', '/api/v1/train', {
        token: c.ownerToken,
        body: { model_type, ...(model_type === 'lightgcn' ? { hyperparameters: { epochs: 2 } } : {}) },
      });
      const done = await waitJob(t, c.ownerToken, start.body.job_id);
      expect(done.status, `${model_type}: ${done.error}`).toBe('completed');
    }
    const r = await t.request('POST', '/api/v1/recommendations', { token: c.ownerToken, body: { user_id: 'SOLO' } });
    expect(r.status).toBe(200);
    expect(r.body.recommendations).toEqual([]); // the only item was bought
    const other = await t.request('POST', '/api/v1/recommendations', { token: c.ownerToken, body: { user_id: 'SOMEONE' } });
    expect(other.body.recommendations.map((i: any) => i.item_id)).toEqual(['ONLY']);
  }, 120_000);
});
