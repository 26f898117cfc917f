import { sql } from 'drizzle-orm';
import { type Db, type Q, queryRows } from '../../platform/index.ts';
import { partitionName } from './interaction-partitions.core.ts';

/**
 * The DDL and sweeps behind `interactions`' monthly partitions (cluster-wide work: run by the elected scheduler
 * outside any tenant, like the other retention tasks). Names are made by `partitionName`, never from input.
 */
export function createInteractionPartitionsRepository() {
  return {
    /**
     * Whether `interactions` is range-partitioned (false on a database that rebuilt it otherwise, such as the
     * conformance stand-in's hash partitions by tenant: the maintenance then has nothing to do).
     */
    async rangePartitioned(q: Q): Promise<boolean> {
      const rows = await queryRows<{ strategy: string }>(
        q,
        sql`SELECT p.partstrat::text AS strategy FROM pg_partitioned_table p WHERE p.partrelid = to_regclass('public.interactions')`,
      );
      return rows[0]?.strategy === 'r';
    },

    /** The names of the partitions of `interactions` (monthly ones and the default). */
    async partitions(q: Q): Promise<string[]> {
      const rows = await queryRows<{ name: string }>(
        q,
        sql`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = to_regclass('public.interactions') ORDER BY c.relname`,
      );
      return rows.map((r) => r.name);
    },

    /** The months (UTC month starts) that have rows in the default partition, oldest first, at most `limit`. */
    async defaultMonths(q: Q, limit: number): Promise<Date[]> {
      const rows = await queryRows<{ month: Date }>(
        q,
        sql`SELECT DISTINCT date_trunc('month', occurred_at, 'UTC') AS month FROM interactions_default ORDER BY 1 LIMIT ${limit}`,
      );
      return rows.map((r) => new Date(r.month));
    },

    /**
     * Gives the month starting at `month` its partition, in one transaction: the month's rows move out of the default
     * partition (locked against new ones meanwhile, so the attach finds it clean) into a new table that is then
     * attached (its indexes are made or matched by the attach). Returns the rows moved.
     */
    async createMonth(db: Db, month: Date): Promise<number> {
      const name = partitionName(month);
      const from = month.toISOString();
      const to = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1)).toISOString();
      return db.transaction(async (tx) => {
        await tx.execute(sql`LOCK TABLE interactions_default IN EXCLUSIVE MODE`);
        await tx.execute(sql.raw(`CREATE TABLE ${name} (LIKE interactions INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`));
        const moved = await queryRows<{ n: number }>(
          tx,
          sql`WITH moved AS (DELETE FROM interactions_default WHERE occurred_at >= ${from}::timestamptz AND occurred_at < ${to}::timestamptz RETURNING *),
                   copied AS (INSERT INTO ${sql.raw(name)} SELECT * FROM moved RETURNING 1)
              SELECT count(*)::int AS n FROM copied`,
        );
        await tx.execute(sql.raw(`ALTER TABLE interactions ATTACH PARTITION ${name} FOR VALUES FROM ('${from}') TO ('${to}')`));
        return moved[0]?.n ?? 0;
      });
    },

    /** Drops one monthly partition (its rows go with it). */
    async dropMonth(q: Q, name: string): Promise<void> {
      if (!/^interactions_y\d{4}m\d{2}$/.test(name)) throw new Error(`not a monthly interactions partition: ${name}`);
      await q.execute(sql.raw(`DROP TABLE ${name}`));
    },

    /**
     * Deletes what lies before the horizon outside the dropped partitions: the default partition's rows, and the
     * dedupe keys of every event before it (in batches of `batch`, so no long lock). Returns keys deleted.
     */
    async deleteBefore(q: Q, horizon: Date, batch = 10_000): Promise<{ rows: number; keys: number }> {
      const at = horizon.toISOString();
      const rows = await queryRows<{ n: number }>(
        q,
        sql`WITH d AS (DELETE FROM interactions_default WHERE occurred_at < ${at}::timestamptz RETURNING 1) SELECT count(*)::int AS n FROM d`,
      );
      let keys = 0;
      for (;;) {
        const r = await queryRows<{ n: number }>(
          q,
          sql`WITH d AS (DELETE FROM interaction_keys k
                USING (SELECT tenant_id, dedupe_key FROM interaction_keys WHERE occurred_at < ${at}::timestamptz LIMIT ${batch}) o
                WHERE k.tenant_id = o.tenant_id AND k.dedupe_key = o.dedupe_key RETURNING 1)
              SELECT count(*)::int AS n FROM d`,
        );
        const n = r[0]?.n ?? 0;
        keys += n;
        if (n < batch) break;
      }
      return { rows: rows[0]?.n ?? 0, keys };
    },
  };
}
export type InteractionPartitionsRepository = ReturnType<typeof createInteractionPartitionsRepository>;
