import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, pollUntil } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';

/** M2 (issue 22): aggregates written with their events, and a job that rebuilds them from the events. */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let key: string;
beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Aggregates store');
  key = await A.apiKey(['interactions:write']);
});
afterAll(async () => {
  await t?.close();
});

const aggregates = () =>
  queryRows<{
    id: string;
    eventCount: number;
    totalOrders: number;
    revenue: string;
    refunded: string;
    firstSeen: string;
    lastSeen: string;
  }>(
    t.database.db,
    sql`SELECT id::text AS id, event_count AS "eventCount", total_orders AS "totalOrders", revenue_minor::text AS revenue, refunded_minor::text AS refunded,
               first_seen_at::text AS "firstSeen", last_seen_at::text AS "lastSeen"
        FROM profiles WHERE tenant_id = ${A.tenantId} AND status = 'active' ORDER BY id`,
  );

const ev = (user: string, type: string, minute: number, extra: object = {}) => ({
  user_id: user,
  item_id: `item-${minute}`,
  interaction_type: type,
  timestamp: new Date(Date.UTC(2026, 0, 2, 10, minute)).toISOString(),
  ...extra,
});

describe('profile aggregates', () => {
  it('are exact right after a write, a retry counts revenue once, and a corrupted set is repaired by the reconciliation job', async () => {
    const events = [
      ev('ann', 'view', 1),
      ev('ann', 'purchase', 2, { metadata: { order_id: 'o-1', price: '10.00', quantity: 2, currency: 'EUR' } }),
      ev('ann', 'purchase', 3, { metadata: { order_id: 'o-1', price: '5.50', currency: 'EUR' } }),
      ev('ann', 'refund', 4, { metadata: { order_id: 'o-1', price: '5.50', currency: 'EUR' } }),
      ev('bob', 'purchase', 5, { metadata: { price: '7.00', currency: 'EUR' } }),
      ev('bob', 'view', 6),
    ];
    const first = await t.request('POST', '/api/v1/interactions/batch', { token: key, body: { events } });
    expect(first.body).toMatchObject({ accepted: 6 });
    const retry = await t.request('POST', '/api/v1/interactions/batch', { token: key, body: { events } });
    expect(retry.body).toMatchObject({ accepted: 0, duplicates: 6 });

    const exact = await aggregates();
    expect(exact.map((p) => [p.eventCount, p.totalOrders, p.revenue, p.refunded]).sort()).toEqual(
      [
        [4, 1, '2000', '550'], // ann: one order of 25.50, 5.50 refunded
        [2, 1, '700', '0'], // bob
      ].sort(),
    );

    // A crash before M2, or any drift: aggregates wrong, orders gone.
    await t.database.db.execute(
      sql`UPDATE profiles SET event_count = 0, total_orders = 9, revenue_minor = 1, refunded_minor = 0, first_seen_at = now(), last_seen_at = now()
          WHERE tenant_id = ${A.tenantId}`,
    );
    await t.database.db.execute(sql`DELETE FROM profile_orders WHERE tenant_id = ${A.tenantId}`);
    expect(await aggregates()).not.toEqual(exact);

    const owner = A.ownerToken;
    const res = await t.request('POST', '/api/v1/profiles/aggregates/reconcile', { token: owner });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ type: 'identity.reconcile_aggregates', status: 'queued' });
    t.jobs.start({ concurrency: 1 });
    const job = await pollUntil(
      'reconcile job',
      () => t.request('GET', `/api/v1/jobs/${res.body.id}`, { token: owner }),
      (j) => j.body.status === 'succeeded' || j.body.status === 'failed',
    );
    await t.jobs.stop();
    expect(job.body).toMatchObject({ status: 'succeeded', result: { profiles_reconciled: 2 } });
    expect(await aggregates()).toEqual(exact);

    // Idempotent: running it again changes nothing.
    await t.modules.identity.reconcileAggregates(A.tenantId);
    expect(await aggregates()).toEqual(exact);

    // Administrative write: audited; API keys without profiles:write are refused.
    const audit = await queryRows<{ n: string }>(
      t.database.db,
      sql`SELECT count(*)::text AS n FROM audit_logs WHERE tenant_id = ${A.tenantId} AND action = 'identity.aggregates.reconcile'`,
    );
    expect(Number(audit[0]!.n)).toBe(1);
    expect((await t.request('POST', '/api/v1/profiles/aggregates/reconcile', { token: key })).status).toBe(403);
  });
});
