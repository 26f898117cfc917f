/**
 * The incremental marts refresh against a full rebuild: after orders added, refunded, deleted and relinked, profiles
 * changed, merged, erased and new, and products changed, added and removed, an incremental refresh must leave every
 * mart column for column as a full rebuild at the same instant does, while rewriting only the changed customers'
 * rows (their row versions, `xmin`, move; the others' do not). Tenants kept apart; concurrent and repeated runs.
 */
import { type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';
import { MART_NAMES, MART_SPECS } from './marts.core.ts';

let t: TestApp;
let A: string;
let B: string;
/** The app's clock: real time while tenants are made (tokens), then frozen so two refreshes share an instant. */
let now: Date | null = null;
const DAY = 86_400_000;
const PROFILES = 60;

const pid = (i: number) => `00000000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`;
const itemId = (i: number) => `00000000-0000-7000-9000-${i.toString(16).padStart(12, '0')}`;
const exec = (q: SQL) => t.database.db.execute(q);

async function seed(tenantId: string, prefix: string): Promise<void> {
  await exec(sql`INSERT INTO profiles (tenant_id, id, status, first_seen_at, last_seen_at, event_count, channels)
    SELECT ${tenantId}, ('00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 'active',
           ${now!.toISOString()}::timestamptz - make_interval(days => 300 + i), ${now!.toISOString()}::timestamptz - make_interval(days => i),
           i, ARRAY['web']
      FROM generate_series(1, ${PROFILES}::int) i`);
  // Orders spread over ten months; every fifth profile has none; equal instants within a profile on purpose.
  await exec(sql`INSERT INTO profile_orders (tenant_id, order_id, profile_id, revenue_minor, refunded_minor, currency, occurred_at)
    SELECT ${tenantId}, ${prefix} || i, ('00000000-0000-7000-8000-' || lpad(to_hex(1 + (i * 7) % ${PROFILES}), 12, '0'))::uuid,
           500 + (i % 13) * 100, CASE WHEN i % 9 = 0 THEN 100 ELSE 0 END, 'EUR',
           ${now!.toISOString()}::timestamptz - make_interval(days => (i * 31) % 300)
      FROM generate_series(1, ${PROFILES * 3}::int) i WHERE (1 + (i * 7) % ${PROFILES}) % 5 <> 0`);
  await exec(sql`INSERT INTO items (tenant_id, id, item_id, name, price_minor, currency)
    SELECT ${tenantId}, ('00000000-0000-7000-9000-' || lpad(to_hex(i), 12, '0'))::uuid, 'SKU-' || i, 'Item ' || i, 1000 + i, 'EUR'
      FROM generate_series(1, 20) i`);
}

/** Every row of every mart of a tenant, all columns as text, in key order. */
async function snapshot(tenantId: string): Promise<Record<string, Array<Record<string, string | null>>>> {
  const out: Record<string, Array<Record<string, string | null>>> = {};
  for (const name of MART_NAMES) {
    const spec = MART_SPECS[name];
    const cols = sql.raw(spec.columns.map((c) => `${c.name}::text AS ${c.name}`).join(', '));
    out[name] = await queryRows(
      t.database.db,
      sql`SELECT ${cols} FROM ${sql.raw(spec.table)} WHERE tenant_id = ${tenantId} ORDER BY ${sql.raw(spec.key.join(', '))}`,
    );
  }
  return out;
}

/** Row versions of the facts and customers per profile: what a rewrite changes. */
async function versions(tenantId: string): Promise<Map<string, string>> {
  const rows = await queryRows<{ k: string; v: string }>(
    t.database.db,
    sql`SELECT 'f:' || order_id AS k, xmin::text AS v FROM warehouse_fact_orders WHERE tenant_id = ${tenantId}
        UNION ALL SELECT 'c:' || profile_id, xmin::text FROM warehouse_dim_customers WHERE tenant_id = ${tenantId}
        UNION ALL SELECT 'p:' || product_id, xmin::text FROM warehouse_dim_products WHERE tenant_id = ${tenantId}`,
  );
  return new Map(rows.map((r) => [r.k, r.v]));
}

beforeAll(async () => {
  t = await createTestApp({}, { clock: () => now ?? new Date() });
  A = (await t.createTenant('Incremental A')).tenantId;
  B = (await t.createTenant('Incremental B')).tenantId;
  now = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
  await seed(A, 'a');
  await seed(B, 'b');
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('incremental marts refresh', () => {
  it('writes the first refresh in full, then nothing when nothing changed', async () => {
    const w = t.modules.warehouse;
    const first = await w.refreshMartsIncremental(A);
    expect(first.mode).toBe('full');
    expect(first.rowCounts.fact_orders).toBeGreaterThan(100);
    await w.refreshMarts(B);
    const before = await versions(A);
    const again = await w.refreshMartsIncremental(A);
    expect(again).toMatchObject({ mode: 'incremental', changedCustomers: 0, rowCounts: first.rowCounts });
    expect(await versions(A)).toEqual(before);
  });

  it('matches a full rebuild column for column after every kind of change, rewriting only the changed customers', async () => {
    const w = t.modules.warehouse;
    now = new Date(now!.getTime() + 3 * DAY); // RFM recency and cohort periods move with the date
    const before = await versions(A);
    const beforeB = await versions(B);
    const snapB = await snapshot(B);
    const moved = (
      await queryRows<{ order_id: string }>(
        t.database.db,
        sql`SELECT order_id FROM profile_orders WHERE tenant_id = ${A} AND profile_id = ${pid(4)} ORDER BY order_id LIMIT 1`,
      )
    )[0]!.order_id;
    // 1: a new order; 2: a refund; 3: an order deleted; 4 -> 6: an order relinked (a merge); 7: merged into 8;
    // 9: erased with its orders; 61: a new profile with an order; 62: an order without a profile row;
    // 11: a new order at the same instant as its latest (ties broken by order id).
    await exec(sql`INSERT INTO profile_orders (tenant_id, order_id, profile_id, revenue_minor, refunded_minor, currency, occurred_at)
      VALUES (${A}, 'new-1', ${pid(1)}, 1234, 0, 'EUR', ${now!.toISOString()}),
             (${A}, 'new-61', ${pid(61)}, 99999999999999, 0, 'USD', ${now!.toISOString()}),
             (${A}, 'new-62', ${pid(62)}, 1, 0, 'EUR', '2025-01-01T00:00:00Z'),
             (${A}, 'a-0', ${pid(11)}, 700, 0, 'EUR',
              (SELECT max(occurred_at) FROM profile_orders WHERE tenant_id = ${A} AND profile_id = ${pid(11)}))`);
    await exec(sql`UPDATE profile_orders SET refunded_minor = revenue_minor WHERE tenant_id = ${A} AND order_id =
      (SELECT min(order_id) FROM profile_orders WHERE tenant_id = ${A} AND profile_id = ${pid(2)})`);
    await exec(sql`DELETE FROM profile_orders WHERE tenant_id = ${A} AND order_id =
      (SELECT min(order_id) FROM profile_orders WHERE tenant_id = ${A} AND profile_id = ${pid(3)})`);
    await exec(sql`UPDATE profile_orders SET profile_id = ${pid(6)} WHERE tenant_id = ${A} AND order_id = ${moved}`);
    await exec(sql`UPDATE profile_orders SET profile_id = ${pid(8)} WHERE tenant_id = ${A} AND profile_id = ${pid(7)}`);
    await exec(sql`UPDATE profiles SET status = 'merged', merged_into = ${pid(8)} WHERE tenant_id = ${A} AND id = ${pid(7)}`);
    await exec(sql`DELETE FROM profile_orders WHERE tenant_id = ${A} AND profile_id = ${pid(9)}`);
    await exec(sql`DELETE FROM profiles WHERE tenant_id = ${A} AND id = ${pid(9)}`);
    await exec(sql`INSERT INTO profiles (tenant_id, id, status, first_seen_at, last_seen_at, event_count, channels)
      VALUES (${A}, ${pid(61)}, 'active', ${now!.toISOString()}, ${now!.toISOString()}, 1, ARRAY['web', 'pos'])`);
    await exec(
      sql`UPDATE profiles SET event_count = event_count + 1, channels = ARRAY['web', 'e\u0301mail'] WHERE tenant_id = ${A} AND id = ${pid(10)}`,
    );
    await exec(sql`UPDATE items SET name = 'Renamed "x", ü', price_minor = NULL WHERE tenant_id = ${A} AND id = ${itemId(1)}`);
    await exec(sql`DELETE FROM items WHERE tenant_id = ${A} AND id = ${itemId(2)}`);
    await exec(sql`INSERT INTO items (tenant_id, id, item_id, name, price_minor, currency)
      VALUES (${A}, ${itemId(21)}, 'SKU-21', 'New', 1, 'EUR')`);

    const inc = await w.refreshMartsIncremental(A);
    expect(inc.mode).toBe('incremental');
    // 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 61, 62
    expect(inc.changedCustomers).toBe(12);
    const incremental = await snapshot(A);
    const after = await versions(A);

    // Only the changed profiles' and products' rows were rewritten.
    const touched = [...after.keys()].filter((k) => before.get(k) !== after.get(k));
    const facts = await queryRows<{ order_id: string; profile_id: string }>(
      t.database.db,
      sql`SELECT order_id, profile_id::text FROM warehouse_fact_orders WHERE tenant_id = ${A}`,
    );
    const changedIds = new Set([1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 61, 62].map(pid));
    const expected = [
      ...facts.filter((f) => changedIds.has(f.profile_id)).map((f) => `f:${f.order_id}`),
      ...[...changedIds].filter((id) => after.has(`c:${id}`)).map((id) => `c:${id}`),
      `p:${itemId(1)}`,
      `p:${itemId(21)}`,
    ].sort();
    expect(touched.sort()).toEqual(expected);
    expect(after.has(`c:${pid(9)}`)).toBe(false);

    const full = await w.refreshMarts(A);
    expect(full.mode).toBe('full');
    expect(full.rowCounts).toEqual(inc.rowCounts);
    expect(incremental).toEqual(await snapshot(A));
    // The other tenant: not a row touched.
    expect(await versions(B)).toEqual(beforeB);
    expect(await snapshot(B)).toEqual(snapB);
  });

  it('serialises concurrent incremental refreshes of a tenant with the same result as one', async () => {
    const w = t.modules.warehouse;
    await exec(sql`UPDATE profile_orders SET revenue_minor = revenue_minor + 1 WHERE tenant_id = ${A} AND profile_id = ${pid(12)}`);
    const runs = await Promise.all([w.refreshMartsIncremental(A), w.refreshMartsIncremental(A), w.refreshMartsIncremental(A)]);
    expect(runs.map((r) => r.mode)).toEqual(['incremental', 'incremental', 'incremental']);
    expect(runs.map((r) => r.changedCustomers).sort()).toEqual([0, 0, 1]);
    const inc = await snapshot(A);
    await w.refreshMarts(A);
    expect(inc).toEqual(await snapshot(A));
  });
});
