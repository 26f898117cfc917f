/**
 * The feature store's activity columns written by a training run from the real doors: purchases and views posted to
 * the interactions API (orders, sessions and purchased items), catalog categories, identity's identifiers. Another
 * tenant's events with the same user ids never count.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, pollUntil, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';
import { profileStrength } from '../identity/index.ts';
import { ACTIVITY_FEATURE_NAMES, FEATURE_COUNT } from './features.core.ts';

const DAY = 86_400_000;
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp();
  t.jobs.start({ concurrency: 1 });
}, 180_000);
afterAll(async () => {
  await t.close();
});

async function post(token: string, body: Record<string, unknown>) {
  const r = await t.request('POST', '/api/v1/interactions', { token, body });
  expect(r.status).toBeLessThan(300);
}

describe('feature store: sessions, category affinity and profile strength', () => {
  it('stores them per profile from events, the catalog and identifiers, per tenant', async () => {
    const A = await t.createTenant('Activity shop');
    const B = await t.createTenant('Other shop');
    const [writeA, writeB] = [await A.apiKey(['interactions:write']), await B.apiKey(['interactions:write'])];
    const [manageA, readA] = [await A.apiKey(['models:manage']), await A.apiKey(['profiles:read'])];
    await t.modules.catalog.upsertItems(A.tenantId, [
      { itemId: 'SHOE', name: 'Shoe', category: 'Shoes', priceMinor: 1000n, currency: 'USD' },
      { itemId: 'HAT', name: 'Hat', category: 'Hats', priceMinor: 1000n, currency: 'USD' },
    ]);
    const at = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY).toISOString();
    let order = 0;
    const buy = (token: string, user: string, item: string, daysAgo: number, session?: string) =>
      post(token, {
        user_id: user,
        item_id: item,
        interaction_type: 'purchase',
        timestamp: at(daysAgo),
        ...(session ? { session_id: session } : {}),
        metadata: { order_id: `o${order++}`, price: '10.00', currency: 'USD' },
      });
    // u0: sessions s1 (two shoes) and s2 (a hat), and a view without a session (a session of its own day)
    await buy(writeA, 'u0', 'SHOE', 40, 's1');
    await buy(writeA, 'u0', 'SHOE', 39.99, 's1');
    await buy(writeA, 'u0', 'HAT', 20, 's2');
    await post(writeA, { user_id: 'u0', item_id: 'HAT', interaction_type: 'view', timestamp: at(10) });
    // other customers, so that the run has a population
    for (let u = 1; u < 12; u++)
      for (let k = 0; k < 3; k++) await buy(writeA, `u${u}`, k % 2 ? 'HAT' : 'SHOE', 30 + 40 * k + u, `s${u}-${k}`);
    // the other tenant: the same user id, many sessions
    for (let k = 0; k < 5; k++) await buy(writeB, 'u0', 'SHOE', 5 + k, `b${k}`);

    const job = await t.request('POST', '/api/v1/predictions/train', { token: manageA });
    expect(job.status).toBe(202);
    const done = await pollUntil(
      'training',
      () => t.request('GET', `/api/v1/jobs/${job.body.id}`, { token: A.ownerToken }),
      (x) => ['succeeded', 'failed', 'cancelled'].includes(x.body.status),
      { intervalMs: 100, timeoutMs: 240_000 },
    );
    expect(done.body.status).toBe('succeeded');
    const p = await t.request('POST', '/api/v1/predict/all', { token: readA, body: { identifier: { type: 'user_id', value: 'u0' } } });
    expect(p.status).toBe(200);
    const [row] = await queryRows<{ values: (number | null)[] }>(
      t.database.db,
      sql`SELECT values FROM prediction_features WHERE tenant_id = ${A.tenantId} AND profile_id = ${p.body.profile_id}`,
    );
    const v = (name: (typeof ACTIVITY_FEATURE_NAMES)[number]) => row!.values[FEATURE_COUNT + ACTIVITY_FEATURE_NAMES.indexOf(name)];
    expect(row!.values).toHaveLength(FEATURE_COUNT + ACTIVITY_FEATURE_NAMES.length);
    expect(v('sessions')).toBe(3); // s1, s2 and the day of the view; none of tenant B's five
    expect(v('events')).toBe(4);
    expect(v('sessions_30d')).toBe(2);
    expect(v('categories')).toBe(2);
    expect(v('top_category_share')).toBeCloseTo(2 / 3, 5);
    expect(v('days_since_last_session')).toBeGreaterThanOrEqual(10);
    expect(v('days_since_last_session')).toBeLessThan(10.1);
    // identity's rule over the same inputs: the profile's identifiers, 3 orders, 4 events, their channels
    const ids = await queryRows<{ type: string; confidence: number; channel: string | null }>(
      t.database.db,
      sql`SELECT type, confidence::float8 AS confidence, channel FROM profile_identifiers WHERE tenant_id = ${A.tenantId} AND profile_id = ${p.body.profile_id}`,
    );
    expect(ids.length).toBeGreaterThan(0);
    const channels = new Set(ids.flatMap((i) => (i.channel ? [i.channel] : []))).size;
    expect(v('profile_strength')).toBe(
      profileStrength({ identifierConfidences: ids, totalOrders: 3, eventCount: 4, channelCount: channels }),
    );
  }, 300_000);
});
