import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('feedback and metrics (seed 004)', () => {
  it('stores feedback, summarizes it, and reports pilot KPIs and metrics; tenants never see each other', async () => {
    const a = await t.createTenant();
    const b = await t.createTenant();
    const post = (token: string, body: unknown) => t.request('POST', '/api/feedback', { token, body });
    const r1 = await post(a.ownerToken, {
      rating: 5,
      nps_score: 10,
      comment: 'The feed setup was easy',
      context: { pilot: 'p1', page: 'feeds' },
    });
    expect(r1.status, JSON.stringify(r1.body)).toBe(201);
    expect(r1.body.themes).toEqual(['setup', 'feeds', 'usability']);
    const key = await a.apiKey(['interactions:write']);
    expect((await post(key, { source: 'shopper', rating: 2, nps_score: 4, comment: 'slow' })).status).toBe(201);
    expect((await post(b.ownerToken, { rating: 1, nps_score: 0 })).status).toBe(201);

    const s = await t.request('GET', '/api/feedback/analytics/summary', { token: a.ownerToken });
    expect(s.body).toMatchObject({ responses: 2, average_rating: 3.5, satisfaction: 0.5, nps: 0, nps_responses: 2 });
    const shoppers = await t.request('GET', '/api/feedback/analytics/summary?source=shopper', { token: a.ownerToken });
    expect(shoppers.body.responses).toBe(1);
    const kpis = await t.request('GET', '/api/feedback/pilot/kpis?pilot=p1', { token: a.ownerToken });
    expect(kpis.body).toMatchObject({
      responses: 1,
      satisfaction: 1,
      nps: 100,
      feed_push_jobs: 0,
      feed_push_success_rate: null,
      business_profile_score: null,
    });

    const prom = await t.app.inject({
      method: 'POST',
      url: '/metrics/export',
      headers: { authorization: `Bearer ${a.ownerToken}`, 'content-type': 'application/json' },
      payload: { format: 'prometheus' },
    });
    expect(prom.statusCode).toBe(200);
    expect(prom.headers['content-type']).toMatch(/text\/plain/);
    expect(prom.body).toContain(`loupe_feedback_responses{tenant_id="${a.tenantId}"} 2`);
    expect(prom.body).not.toContain(b.tenantId);
    const csv = await t.app.inject({
      method: 'POST',
      url: '/metrics/export',
      headers: { authorization: `Bearer ${a.ownerToken}`, 'content-type': 'application/json' },
      payload: {},
    });
    expect(csv.body.split('\r\n')[0]).toBe('metric,labels,value');
    expect(csv.body).toContain('feedback_satisfaction_ratio,,0.5');

    const dash = await t.request('GET', '/metrics/dashboard/feedback', { token: a.ownerToken });
    expect(dash.body.metrics.map((m: { name: string }) => m.name)).toEqual([
      'feedback_responses',
      'feedback_satisfaction_ratio',
      'feedback_nps',
    ]);
    expect((await t.request('GET', '/metrics/dashboard/nope', { token: a.ownerToken })).status).toBe(404);
    expect((await t.request('GET', '/metrics/dashboard/__proto__', { token: a.ownerToken })).status).toBe(404);
  });

  it('refuses bad feedback: out-of-range ratings, huge numbers, NUL bytes, extra fields', async () => {
    const a = await t.createTenant();
    for (const body of [
      { rating: 6 },
      { rating: 0 },
      { rating: 1e308 },
      { rating: 3, nps_score: 11 },
      { rating: 3, comment: 'a\u0000' },
      { rating: 3, x: 1 },
    ])
      expect((await t.request('POST', '/api/feedback', { token: a.ownerToken, body })).status).toBe(400);
    const reader = await a.apiKey(['analytics:read']);
    expect((await t.request('POST', '/api/feedback', { token: reader, body: { rating: 3 } })).status).toBe(403);
  });
});
