import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryOne } from '../../platform/index.ts';
import { createItemsStatistics } from './items.statistics.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

/** Manual ANALYZEs of items so far (autovacuum's own count apart: `autoanalyze_count`). */
const analyzeCount = async () =>
  Number(
    (await queryOne<{ n: string }>(
      t.database.db,
      sql`SELECT coalesce(analyze_count, 0)::text AS n FROM pg_stat_user_tables WHERE relname = 'items' AND schemaname = 'public'`,
    ))!.n,
  );

const itemsOf = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ itemId: `${prefix}-${i}`, name: `Item ${i}` }));

describe('items statistics after bulk writes', () => {
  it('an upload of many items in chunks is analyzed once, at its end; a small write is not', async () => {
    const { tenantId } = await t.createTenant();
    const before = await analyzeCount();
    await t.modules.catalog.upsertItems(tenantId, itemsOf('small', 20));
    await t.modules.catalog.statistics.settle();
    expect(await analyzeCount()).toBe(before);
    for (let c = 0; c < 4; c++) await t.modules.catalog.upsertItems(tenantId, itemsOf(`bulk${c}`, 400));
    await t.modules.catalog.statistics.settle();
    expect(await analyzeCount()).toBe(before + 1);
    // the planner now knows the table's size (no statistics: reltuples -1 or 0)
    const r = await queryOne<{ n: number }>(
      t.database.db,
      sql`SELECT reltuples::int AS n FROM pg_class WHERE oid = 'public.items'::regclass`,
    );
    expect(r!.n).toBeGreaterThanOrEqual(1620);
  });

  it('waits for the writes to pause, then analyzes without being asked', async () => {
    const { tenantId } = await t.createTenant();
    const before = await analyzeCount();
    await t.modules.catalog.upsertItems(tenantId, itemsOf('quiet', 1200));
    const deadline = Date.now() + 15_000;
    while ((await analyzeCount()) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await analyzeCount()).toBe(before + 1);
  });
});

describe('createItemsStatistics', () => {
  it('debounces: one ANALYZE after the quiet time, at most maxDelayMs after the threshold; a failure is logged, not thrown', async () => {
    let runs = 0;
    const warnings: string[] = [];
    const s = createItemsStatistics({
      analyze: async () => {
        runs++;
        if (runs === 2) throw new Error('boom');
      },
      log: { warn: (_o, msg) => warnings.push(msg) },
      threshold: 10,
      quietMs: 200,
      maxDelayMs: 120,
    });
    s.written(9);
    await new Promise((r) => setTimeout(r, 80));
    expect(runs).toBe(0);
    // the threshold is crossed; then a write every 30 ms never leaves 200 ms of quiet: the 120 ms bound fires
    const crossed = Date.now();
    s.written(1);
    let ranAfter = -1;
    for (let i = 0; i < 7; i++) {
      await new Promise((r) => setTimeout(r, 30));
      if (runs === 1 && ranAfter < 0) ranAfter = Date.now() - crossed;
      s.written(1);
    }
    expect(runs).toBe(1);
    expect(ranAfter).toBeGreaterThanOrEqual(110);
    await s.settle();
    s.written(10);
    await s.settle();
    expect(runs).toBe(2);
    expect(warnings).toEqual(['ANALYZE items failed']);
    await s.stop();
    s.written(100);
    await new Promise((r) => setTimeout(r, 80));
    expect(runs).toBe(2);
  });
});
