import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/helpers.ts';
import { type Database, keepStatisticsFresh, queryOne } from './database.ts';

let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

describe('planner statistics on the embedded database', () => {
  it.runIf(process.env.LOUPE_TEST_DB !== 'postgres')(
    'are refreshed by ANALYZE after start, so a grown table is planned as grown',
    async () => {
      const warnings: unknown[] = [];
      await database.db.execute(sql`CREATE TABLE stats_probe (id int PRIMARY KEY, v text)`);
      await database.db.execute(sql`INSERT INTO stats_probe SELECT g, 'x' || g FROM generate_series(1, 20000) g`);
      const before = await queryOne<{ n: number }>(
        database.db,
        sql`SELECT reltuples::float8 AS n FROM pg_class WHERE relname = 'stats_probe'`,
      );
      expect(before!.n).toBeLessThanOrEqual(0); // never analyzed: the planner knows nothing
      const stop = keepStatisticsFresh(database, { warn: (o) => warnings.push(o) }, { firstAfterMs: 10, everyMs: 60_000 });
      let after = before!.n;
      for (let i = 0; i < 100 && after <= 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        after = (await queryOne<{ n: number }>(
          database.db,
          sql`SELECT reltuples::float8 AS n FROM pg_class WHERE relname = 'stats_probe'`,
        ))!.n;
      }
      expect(after).toBe(20000);
      // sampled at the embedded target (10): 11 histogram bounds for a unique column, not the default 101
      const bounds = await queryOne<{ n: number }>(
        database.db,
        sql`SELECT array_length(histogram_bounds::text::text[], 1) AS n FROM pg_stats WHERE tablename = 'stats_probe' AND attname = 'id'`,
      );
      expect(bounds!.n).toBe(11);
      // A later round analyzes only what changed size: the probe again once it has grown, not an untouched table.
      await database.db.execute(sql`CREATE TABLE stats_still (id int PRIMARY KEY)`);
      await database.db.execute(sql`INSERT INTO stats_still SELECT generate_series(1, 5000)`);
      await database.db.execute(sql`ANALYZE stats_still`);
      const analyzedAt = async (table: string) =>
        (
          await queryOne<{ n: number }>(
            database.db,
            sql`SELECT coalesce(analyze_count, 0)::int AS n FROM pg_stat_user_tables WHERE relname = ${table}`,
          )
        )?.n ?? 0;
      await database.db.execute(sql`INSERT INTO stats_probe SELECT g, 'x' || g FROM generate_series(20001, 60000) g`);
      const stillBefore = await analyzedAt('stats_still');
      expect(stillBefore).toBeGreaterThan(0); // the explicit ANALYZE above is counted, so a second one would show
      stop();
      const again = keepStatisticsFresh(database, { warn: (o) => warnings.push(o) }, { firstAfterMs: 10, everyMs: 60_000 });
      for (let i = 0; i < 100 && after < 60000; i++) {
        await new Promise((r) => setTimeout(r, 20));
        after = (await queryOne<{ n: number }>(
          database.db,
          sql`SELECT reltuples::float8 AS n FROM pg_class WHERE relname = 'stats_probe'`,
        ))!.n;
      }
      again();
      expect(after).toBe(60000);
      expect(await analyzedAt('stats_still')).toBe(stillBefore);
      expect(warnings).toEqual([]);
    },
  );
});
