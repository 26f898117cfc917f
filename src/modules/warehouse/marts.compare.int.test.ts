/**
 * Temporary proof for the set-based refresh: on one seeded dataset (ties in time, refunds, several currencies,
 * merged and erased profiles, customers without orders, orders of unknown profiles, items with null fields), the
 * legacy refresh (rows through JavaScript, UPDATE passes) and the set-based one write identical marts, every column
 * of every row. Removed with the legacy code once it passed on both databases.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { inTenant } from '../../platform/index.ts';
import { createProductsMartSource } from '../catalog/index.ts';
import { createMartsSources } from '../identity/index.ts';
import { MART_NAMES } from './marts.core.ts';
import { createMartsRepository } from './marts.repository.ts';
import { createMartsService } from './marts.service.ts';

let t: TestApp;
let A: string;
const asOf = new Date('2026-03-15T10:20:30.456Z');

beforeAll(async () => {
  t = await createTestApp();
  A = (await t.createTenant('Marts compare')).tenantId;
  const uuid = (prefix: string, expr: string) => sql.raw(`('${prefix}' || lpad(to_hex(${expr}), 12, '0'))::uuid`);
  await inTenant(t.database.db, A, async (tx) => {
    // 300 profiles: every 17th merged into profile 1, every 29th erased, ids above 280 never order.
    await tx.execute(sql`INSERT INTO profiles (tenant_id, id, status, merged_into, first_seen_at, last_seen_at, event_count, channels)
      SELECT ${A}, ${uuid('00000000-0000-7000-8000-', 'i')},
             CASE WHEN i % 17 = 0 THEN 'merged' WHEN i % 29 = 0 THEN 'erased' ELSE 'active' END,
             CASE WHEN i % 17 = 0 THEN ${uuid('00000000-0000-7000-8000-', '1')} END,
             CASE WHEN i % 13 = 0 THEN NULL ELSE timestamptz '2025-01-01T00:00:00.123Z' + make_interval(days => i % 200) END,
             CASE WHEN i % 13 = 0 THEN NULL ELSE timestamptz '2026-02-01T00:00:00.789Z' + make_interval(hours => i) END,
             i % 50, CASE WHEN i % 3 = 0 THEN ARRAY['web', 'pos'] WHEN i % 3 = 1 THEN ARRAY['web'] ELSE '{}'::text[] END
        FROM generate_series(1, 300) i`);
    // 1,200 orders over 280 profiles (and 5 of a profile that does not exist), months 2025-01..2026-03, ties in time,
    // refunds, EUR/USD/null currency, values beyond 2^53.
    await tx.execute(sql`INSERT INTO profile_orders (tenant_id, order_id, profile_id, revenue_minor, refunded_minor, currency, occurred_at)
      SELECT ${A}, 'o-' || lpad(i::text, 5, '0'),
             CASE WHEN i <= 5 THEN ${uuid('00000000-0000-7000-8fff-', 'i')} ELSE ${uuid('00000000-0000-7000-8000-', '1 + (i * 7919) % 280')} END,
             CASE WHEN i % 101 = 0 THEN 9007199254740993 ELSE 500 + (i % 97) * 100 END,
             CASE WHEN i % 20 = 0 THEN 100 WHEN i % 211 = 0 THEN 999999 ELSE 0 END,
             CASE WHEN i % 7 = 0 THEN 'USD' WHEN i % 53 = 0 THEN NULL ELSE 'EUR' END,
             timestamptz '2025-01-01T00:00:00Z' + make_interval(days => (i * 31) % 430, secs => (i % 5) * 3600) + (i % 3) * interval '0.001 s'
        FROM generate_series(1, 1200) i`);
    await tx.execute(sql`INSERT INTO items (tenant_id, id, item_id, name, brand, category_path, price_minor, sale_price_minor, currency,
                                            availability, is_active)
      SELECT ${A}, ${uuid('00000000-0000-7000-9000-', 'i')}, 'SKU-' || i, CASE WHEN i % 9 = 0 THEN '' ELSE 'Item ' || i END,
             CASE WHEN i % 4 = 0 THEN NULL ELSE 'Brand ' || (i % 5) END, CASE WHEN i % 6 = 0 THEN NULL ELSE 'A > B' END,
             CASE WHEN i % 11 = 0 THEN NULL ELSE 1000 + i END, CASE WHEN i % 3 = 0 THEN 900 + i END, 'EUR',
             CASE WHEN i % 10 = 0 THEN 'out_of_stock' ELSE 'in_stock' END, i % 8 <> 0
        FROM generate_series(1, 60) i`);
  });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('set-based marts refresh', () => {
  it('writes exactly the rows the legacy refresh wrote, in every mart', async () => {
    const repo = createMartsRepository();
    const products = createProductsMartSource();
    const service = createMartsService({
      db: t.database.db,
      repo,
      sources: { ...createMartsSources(), products, productsSql: products.productsSql },
      clock: () => asOf,
      pageRows: 97, // several pages per owner in the legacy path
    });
    const snapshot = () =>
      inTenant(t.database.db, A, async (tx) => {
        const out: Record<string, unknown[]> = {};
        for (const name of MART_NAMES) out[name] = await repo.page(tx, A, name, null, 100_000);
        return out;
      });
    const legacy = await service.refreshLegacy(A);
    const before = await snapshot();
    const fresh = await service.refresh(A);
    const after = await snapshot();
    expect(fresh.rowCounts).toEqual(legacy.rowCounts);
    expect(legacy.rowCounts.fact_orders).toBe(1200);
    expect(legacy.rowCounts.dim_customers).toBe(300);
    expect(legacy.rowCounts.rfm_analysis).toBeGreaterThan(250);
    expect(legacy.rowCounts.cohort_analysis).toBeGreaterThan(50);
    for (const name of MART_NAMES) expect(after[name], name).toEqual(before[name]);
  });
});
