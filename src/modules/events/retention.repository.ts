import { sql } from 'drizzle-orm';
import { type Q, queryOne, queryRows } from '../../platform/index.ts';

export interface RetentionRow {
  months: number;
  archive: boolean;
  lastPurgeAt: Date | null;
  lastPurgedRows: number;
  purgedRows: number;
  updatedAt: Date;
}

const COLUMNS = sql`months, archive, last_purge_at AS "lastPurgeAt", last_purged_rows::float8 AS "lastPurgedRows",
  purged_rows::float8 AS "purgedRows", updated_at AS "updatedAt"`;

/**
 * The SQL of a tenant's horizon (first instant kept) under its own retention, as of `now`: the start of the UTC
 * month `months` before the current one (the same instant `retentionHorizon` computes in JS), or NULL without a
 * setting. Embedded by the interactions write (a primary-key probe) so a write and the purge agree.
 */
export const tenantHorizonSql = (tenantId: string, now: Date) =>
  sql`(SELECT (date_trunc('month', ${now.toISOString()}::timestamptz AT TIME ZONE 'UTC') - make_interval(months => r.months)) AT TIME ZONE 'UTC'
         FROM interaction_retention r WHERE r.tenant_id = ${tenantId})`;

/** `interaction_retention`: the tenants' own retention of their interactions, and the purge's deletes. */
export function createRetentionRepository() {
  return {
    get: (q: Q, tenantId: string) =>
      queryOne<RetentionRow>(q, sql`SELECT ${COLUMNS} FROM interaction_retention WHERE tenant_id = ${tenantId}`),

    /** Sets (or with `months` null, removes) the tenant's retention. Returns the stored row (null when removed). */
    async set(q: Q, tenantId: string, months: number | null, archive: boolean): Promise<RetentionRow | null> {
      if (months === null) {
        await q.execute(sql`DELETE FROM interaction_retention WHERE tenant_id = ${tenantId}`);
        return null;
      }
      const row = await queryOne<RetentionRow>(
        q,
        sql`INSERT INTO interaction_retention (tenant_id, months, archive) VALUES (${tenantId}, ${months}, ${archive})
            ON CONFLICT (tenant_id) DO UPDATE SET months = excluded.months, archive = excluded.archive, updated_at = now()
            RETURNING ${COLUMNS}`,
      );
      return row ?? null;
    },

    /** The tenants with a retention of their own (the scheduled purge's work list), oldest purge first. */
    async tenants(q: Q): Promise<{ tenantId: string; months: number; archive: boolean }[]> {
      return queryRows(
        q,
        sql`SELECT tenant_id::text AS "tenantId", months, archive FROM interaction_retention ORDER BY last_purge_at NULLS FIRST, tenant_id`,
      );
    },

    /**
     * Deletes up to `batch` of the tenant's interactions before `horizon` (and, when `through` is given, only those
     * with an id at or below it: the rows the export has written), with their dedupe keys, in one statement.
     */
    async deleteBatch(
      q: Q,
      tenantId: string,
      horizon: Date,
      through: string | null,
      batch: number,
    ): Promise<{ rows: number; keys: number }> {
      const row = await queryOne<{ rows: number; keys: number }>(
        q,
        sql`WITH old AS (
              SELECT id, occurred_at FROM interactions
               WHERE tenant_id = ${tenantId} AND occurred_at < ${horizon.toISOString()}::timestamptz
                     ${through ? sql`AND id <= ${through}::uuid` : sql``}
               LIMIT ${batch}
            ), gone AS (
              DELETE FROM interactions i USING old
               WHERE i.tenant_id = ${tenantId} AND i.id = old.id AND i.occurred_at = old.occurred_at
              RETURNING i.dedupe_key
            ), keys AS (
              DELETE FROM interaction_keys k WHERE k.tenant_id = ${tenantId} AND k.dedupe_key IN (SELECT dedupe_key FROM gone)
              RETURNING 1
            )
            SELECT (SELECT count(*) FROM gone)::int AS rows, (SELECT count(*) FROM keys)::int AS keys`,
      );
      return row ?? { rows: 0, keys: 0 };
    },

    /** Records a purge's outcome on the tenant's row. */
    async recordPurge(q: Q, tenantId: string, at: Date, rows: number): Promise<void> {
      await q.execute(
        sql`UPDATE interaction_retention SET last_purge_at = ${at.toISOString()}::timestamptz, last_purged_rows = ${rows},
                   purged_rows = purged_rows + ${rows} WHERE tenant_id = ${tenantId}`,
      );
    },

    /**
     * How many of the tenant's stored interactions lie before `horizon`, and of those how many the export has not
     * written yet (ids above `through`; all of them when nothing was exported). Counted up to `cap` each.
     */
    async pastHorizon(q: Q, tenantId: string, horizon: Date, through: string | null, cap: number) {
      const row = await queryOne<{ total: number; awaiting: number }>(
        q,
        sql`SELECT (SELECT count(*) FROM (SELECT 1 FROM interactions WHERE tenant_id = ${tenantId}
                      AND occurred_at < ${horizon.toISOString()}::timestamptz LIMIT ${cap}) t)::int AS total,
                   (SELECT count(*) FROM (SELECT 1 FROM interactions WHERE tenant_id = ${tenantId}
                      AND occurred_at < ${horizon.toISOString()}::timestamptz ${through ? sql`AND id > ${through}::uuid` : sql``} LIMIT ${cap}) t)::int AS awaiting`,
      );
      return row ?? { total: 0, awaiting: 0 };
    },
  };
}
export type RetentionRepository = ReturnType<typeof createRetentionRepository>;
