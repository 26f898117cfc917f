import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';
import { createPreferencesRepository } from './preferences.repository.ts';
import { createRetentionService } from './retention.service.ts';

/**
 * Retention of newsfeed_shown_items: each tenant keeps its "not shown within N days" (default 7, 0 keeps none),
 * deletes in batches inside its own unit of work, and never touches another tenant's rows.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let C: Awaited<ReturnType<TestApp['createTenant']>>;
const DAY = 86_400_000;

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Short memory');
  B = await t.createTenant('Default memory');
  C = await t.createTenant('Rule off');
  const admin = await t.adminToken();
  for (const [tenant, days] of [
    [A, 2],
    [C, 0],
  ] as const) {
    const r = await t.request('PATCH', `/api/v1/admin/tenants/${tenant.tenantId}`, {
      token: admin,
      body: { settings: { newsfeed: { rules: { not_shown_within_days: days } } } },
    });
    expect(r.status).toBe(200);
  }
}, 300_000);
afterAll(async () => {
  await t?.close();
});

/** Shown rows for one tenant: `ages` in days before now, one item each (user ids include hostile text). */
async function seed(tenantId: string, user: string, ages: number[]) {
  const now = Date.now();
  for (const [k, age] of ages.entries())
    await t.database.db.execute(
      sql`INSERT INTO newsfeed_shown_items (tenant_id, user_id, item_id, shown_at)
      VALUES (${tenantId}, ${user}, ${`item-${k}`}, ${new Date(now - age * DAY)})`,
    );
}
const rows = (tenantId: string) =>
  queryRows<{ user_id: string; item_id: string }>(
    t.database.db,
    sql`SELECT user_id, item_id FROM newsfeed_shown_items WHERE tenant_id = ${tenantId} ORDER BY user_id, item_id`,
  );

describe('newsfeed shown-items retention', () => {
  it("prunes one tenant past its N days and leaves the other tenants' rows alone", async () => {
    await seed(A.tenantId, 'shopper', [0.5, 1.5, 3, 10]);
    await seed(B.tenantId, 'shopper', [0.5, 3, 6.5, 8, 30]);
    await seed(C.tenantId, 'shopper', [0.001, 5]);
    const pruned = await t.modules.newsfeed.pruneShownItems(A.tenantId);
    expect(pruned.get(A.tenantId)).toBe(2);
    expect((await rows(A.tenantId)).map((r) => r.item_id)).toEqual(['item-0', 'item-1']);
    expect(await rows(B.tenantId)).toHaveLength(5);
    expect(await rows(C.tenantId)).toHaveLength(2);
  });

  it('prunes every tenant: the default keeps 7 days, a tenant with the rule off keeps nothing; a second run deletes nothing', async () => {
    // The module's scheduled task (run hourly, once per cluster, by the elected scheduler) is the same prune.
    const task = t.scheduledTasks.find((x) => x.name === 'newsfeed.prune-shown-items')!;
    expect(task).toMatchObject({ everyMs: 3_600_000, runOnElection: true });
    expect(await task.run()).toBe(2); // B and C had rows deleted, A none
    expect((await rows(B.tenantId)).map((r) => r.item_id)).toEqual(['item-0', 'item-1', 'item-2']);
    expect(await rows(C.tenantId)).toEqual([]);
    expect((await t.modules.newsfeed.pruneShownItems()).size).toBe(0);
  });

  it('deletes in batches until none is left, for hostile user ids too, and the feed still reads what is kept', async () => {
    const users = ['plain', 'lone \ud800 surrogate', 'x'.repeat(2000), 'quote \' " ; DROP TABLE x; --'];
    for (const u of users) await seed(B.tenantId, u, [9, 9.5, 10, 11, 12, 1]);
    const retention = createRetentionService({
      db: t.database.db,
      repo: createPreferencesRepository(),
      tenantSettings: (id) => t.tenancy.tenants.settingsOf(id),
      clock: () => new Date(),
    });
    expect(await retention.pruneTenant(B.tenantId, 3)).toBe(users.length * 5);
    const left = await rows(B.tenantId);
    // Each hostile user keeps the one recent row; 'shopper' keeps its three.
    expect(left).toHaveLength(users.length + 3);
    expect(left.filter((r) => r.item_id === 'item-5')).toHaveLength(users.length);
  });

  it('a tenant id that is not a UUID is refused before any statement', async () => {
    await expect(t.modules.newsfeed.pruneShownItems('not-a-uuid')).rejects.toThrow(/not a UUID/);
  });
});
