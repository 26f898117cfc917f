/**
 * `queryRowsPrepared`: the same rows as `queryRows` on both targets; on PostgreSQL a named prepared statement, parsed
 * once per connection (inside transactions too), so a hot read over the monthly partitions of `interactions` is not
 * planned over every partition on each call.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '../../test/helpers.ts';
import { type Database, queryRows, queryRowsPrepared } from './database.ts';

const onPostgres = inject('dbTarget') === 'postgres';
let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

const probe = (n: number) => sql`SELECT g AS n, ${`text-${n}`}::text AS label FROM generate_series(1, ${n}::int) g ORDER BY g`;

describe('queryRowsPrepared', () => {
  it('answers the same rows as queryRows, with different parameters, outside and inside a transaction', async () => {
    for (const n of [0, 1, 3, 1, 7]) {
      expect(await queryRowsPrepared(database.db, probe(n))).toEqual(await queryRows(database.db, probe(n)));
    }
    const inTx = await database.db.transaction(async (tx) => [
      await queryRowsPrepared(tx, probe(2)),
      await queryRowsPrepared(tx, probe(4)),
    ]);
    expect(inTx.map((r) => r.length)).toEqual([2, 4]);
  });

  it.skipIf(!onPostgres)('is a named statement on PostgreSQL, prepared once per connection', async () => {
    const names = await database.db.transaction(async (tx) => {
      for (const n of [1, 2, 3]) await queryRowsPrepared(tx, probe(n));
      return queryRows<{ name: string; calls: number }>(
        tx,
        sql`SELECT name, (generic_plans + custom_plans)::int AS calls FROM pg_prepared_statements WHERE name LIKE 'loupe_%' AND statement LIKE '%generate_series%'`,
      );
    });
    // One statement for the three calls on this connection (the text is the same; only the parameters differ).
    expect(names).toHaveLength(1);
    expect(names[0]!.calls).toBeGreaterThanOrEqual(3);
  });
});
