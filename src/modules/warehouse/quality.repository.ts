import { type SQL, sql } from 'drizzle-orm';
import { type Q, arrayParam, queryOne, queryRows } from '../../platform/index.ts';
import type { Measurement, QualityResult, QualityTrigger } from './quality.core.ts';

/** An offending-rows predicate over one of the warehouse's mart tables, and the column named in examples. */
interface MartCheck {
  table: string;
  key: string;
  offending: (tenantId: string, asOf: string) => SQL;
}

/** The measuring SQL of the mart expectations (names as in `EXPECTATIONS`). */
const MART_CHECKS: Record<string, MartCheck> = {
  'fact_orders.order_id.unique': {
    table: 'warehouse_fact_orders',
    key: 'order_id',
    offending: (t) =>
      sql`order_id IN (SELECT order_id FROM warehouse_fact_orders WHERE tenant_id = ${t} GROUP BY order_id HAVING count(*) > 1)`,
  },
  'fact_orders.currency.not_null': { table: 'warehouse_fact_orders', key: 'order_id', offending: () => sql`currency IS NULL` },
  'fact_orders.currency.accepted_values': {
    table: 'warehouse_fact_orders',
    key: 'order_id',
    offending: () => sql`currency IS NOT NULL AND currency !~ '^[A-Z]{3}$'`,
  },
  'fact_orders.revenue_minor.range': {
    table: 'warehouse_fact_orders',
    key: 'order_id',
    offending: () => sql`(revenue_minor < 0 OR refunded_minor < 0 OR refunded_minor > revenue_minor)`,
  },
  'fact_orders.occurred_at.range': {
    table: 'warehouse_fact_orders',
    key: 'order_id',
    offending: (_t, asOf) => sql`occurred_at > ${asOf}::timestamptz + interval '5 minutes'`,
  },
  'fact_orders.profile_id.referential_integrity': {
    table: 'warehouse_fact_orders',
    key: 'order_id',
    offending: (t) =>
      sql`NOT EXISTS (SELECT 1 FROM warehouse_dim_customers d WHERE d.tenant_id = ${t} AND d.profile_id = warehouse_fact_orders.profile_id)`,
  },
  'dim_products.item_id.unique': {
    table: 'warehouse_dim_products',
    key: 'item_id',
    offending: (t) =>
      sql`item_id IN (SELECT item_id FROM warehouse_dim_products WHERE tenant_id = ${t} GROUP BY item_id HAVING count(*) > 1)`,
  },
  'dim_products.name.not_null': {
    table: 'warehouse_dim_products',
    key: 'item_id',
    offending: () => sql`is_active AND (name IS NULL OR btrim(name) = '')`,
  },
  'dim_products.price_minor.range': {
    table: 'warehouse_dim_products',
    key: 'item_id',
    offending: () => sql`(price_minor < 0 OR sale_price_minor < 0 OR sale_price_minor > price_minor)`,
  },
  'dim_products.availability.accepted_values': {
    table: 'warehouse_dim_products',
    key: 'item_id',
    offending: () => sql`(availability IS NULL OR availability NOT IN ('in_stock', 'out_of_stock', 'preorder', 'discontinued'))`,
  },
  'dim_customers.status.accepted_values': {
    table: 'warehouse_dim_customers',
    key: 'profile_id',
    offending: () => sql`status NOT IN ('active', 'merged', 'erased')`,
  },
  'dim_customers.merged_into.referential_integrity': {
    table: 'warehouse_dim_customers',
    key: 'profile_id',
    offending: (t) =>
      sql`status = 'merged' AND (merged_into IS NULL OR NOT EXISTS (
            SELECT 1 FROM warehouse_dim_customers m WHERE m.tenant_id = ${t} AND m.profile_id = warehouse_dim_customers.merged_into))`,
  },
};

export interface QualityRunRow extends QualityResult {
  runId: string;
  trigger: QualityTrigger;
  ranAt: Date;
}

const RESULT_COLUMNS = sql`run_id::text AS "runId", check_name AS name, table_name AS "table", kind, status, observed, threshold, examples,
  message, trigger, ran_at AS "ranAt"`;

/** The data-quality SQL: measurements over the warehouse's mart tables, and the results history. */
export function createQualityRepository() {
  return {
    /** Whether the check is measured here (over the marts) rather than from events' facts. */
    hasMartCheck: (name: string) => name in MART_CHECKS,

    /** Offending rows of one mart expectation and up to five of their keys. */
    async measureMart(q: Q, tenantId: string, name: string, asOf: Date): Promise<Measurement> {
      const check = MART_CHECKS[name]!;
      const row = await queryOne<{ n: number; examples: string[] | null }>(
        q,
        sql`SELECT count(*)::int AS n, (array_agg(${sql.raw(check.key)}::text ORDER BY ${sql.raw(check.key)}))[1:5] AS examples
              FROM ${sql.raw(check.table)} WHERE tenant_id = ${tenantId} AND ${check.offending(tenantId, asOf.toISOString())}`,
      );
      return { observed: row?.n ?? 0, examples: row?.examples ?? [] };
    },

    /** Which of `itemIds` (store item ids) no product of the tenant carries: count and five examples. */
    async missingItems(q: Q, tenantId: string, itemIds: readonly string[]): Promise<Measurement> {
      const row = await queryOne<{ n: number; examples: string[] | null }>(
        q,
        sql`SELECT count(*)::int AS n, (array_agg(x ORDER BY x))[1:5] AS examples
              FROM unnest(${arrayParam(itemIds)}::text[]) AS x
             WHERE NOT EXISTS (SELECT 1 FROM warehouse_dim_products p WHERE p.tenant_id = ${tenantId} AND p.item_id = x)`,
      );
      return { observed: row?.n ?? 0, examples: row?.examples ?? [] };
    },

    /** Which of `profileIds` no customer row of the tenant has: count and five examples. */
    async missingProfiles(q: Q, tenantId: string, profileIds: readonly string[]): Promise<Measurement> {
      const row = await queryOne<{ n: number; examples: string[] | null }>(
        q,
        sql`SELECT count(*)::int AS n, (array_agg(x::text ORDER BY x))[1:5] AS examples
              FROM unnest(${arrayParam(profileIds)}::uuid[]) AS x
             WHERE NOT EXISTS (SELECT 1 FROM warehouse_dim_customers c WHERE c.tenant_id = ${tenantId} AND c.profile_id = x)`,
      );
      return { observed: row?.n ?? 0, examples: row?.examples ?? [] };
    },

    async insertResults(q: Q, tenantId: string, runId: string, trigger: QualityTrigger, ranAt: Date, results: readonly QualityResult[]) {
      await q.execute(
        sql`INSERT INTO warehouse_quality_results (tenant_id, run_id, check_name, table_name, kind, status, observed, threshold, examples,
                                                   message, trigger, ran_at)
            SELECT ${tenantId}, ${runId}, r.name, r.tbl, r.kind, r.status, r.observed, r.threshold,
                   ARRAY(SELECT jsonb_array_elements_text(r.examples)), r.message, ${trigger}, ${ranAt.toISOString()}
              FROM unnest(${arrayParam(results.map((r) => r.name))}::text[], ${arrayParam(results.map((r) => r.table))}::text[],
                          ${arrayParam(results.map((r) => r.kind))}::text[], ${arrayParam(results.map((r) => r.status))}::text[],
                          ${arrayParam(results.map((r) => r.observed))}::float8[], ${arrayParam(results.map((r) => r.threshold))}::float8[],
                          ${arrayParam(results.map((r) => JSON.stringify(r.examples)))}::jsonb[], ${arrayParam(results.map((r) => r.message))}::text[])
                AS r(name, tbl, kind, status, observed, threshold, examples, message)`,
      );
    },

    /** The results of the tenant's most recent run, or of the run named. */
    async run(q: Q, tenantId: string, runId?: string): Promise<QualityRunRow[]> {
      return queryRows<QualityRunRow>(
        q,
        sql`SELECT ${RESULT_COLUMNS} FROM warehouse_quality_results
             WHERE tenant_id = ${tenantId} AND run_id = ${
               runId
                 ? sql`${runId}::uuid`
                 : sql`(SELECT run_id FROM warehouse_quality_results WHERE tenant_id = ${tenantId} ORDER BY ran_at DESC, run_id DESC LIMIT 1)`
             }
             ORDER BY CASE status WHEN 'fail' THEN 0 WHEN 'skipped' THEN 1 ELSE 2 END, check_name`,
      );
    },

    /** Recent runs, newest first: per run its time, trigger and counts by status. */
    async runs(q: Q, tenantId: string, limit: number, before?: { ranAt: string; runId: string }) {
      return queryRows<{ runId: string; ranAt: Date; trigger: QualityTrigger; passed: number; failed: number; skipped: number }>(
        q,
        sql`SELECT run_id::text AS "runId", max(ran_at) AS "ranAt", max(trigger) AS trigger,
                   count(*) FILTER (WHERE status = 'pass')::int AS passed, count(*) FILTER (WHERE status = 'fail')::int AS failed,
                   count(*) FILTER (WHERE status = 'skipped')::int AS skipped
              FROM warehouse_quality_results WHERE tenant_id = ${tenantId}
               ${before ? sql`AND (ran_at, run_id) < (${before.ranAt}::timestamptz, ${before.runId}::uuid)` : sql``}
             GROUP BY run_id ORDER BY max(ran_at) DESC, run_id DESC LIMIT ${limit}`,
      );
    },

    /** Drops runs older than the newest `keep` of the tenant. */
    async prune(q: Q, tenantId: string, keep: number): Promise<void> {
      await q.execute(
        sql`DELETE FROM warehouse_quality_results WHERE tenant_id = ${tenantId} AND run_id NOT IN (
              SELECT run_id FROM warehouse_quality_results WHERE tenant_id = ${tenantId}
               GROUP BY run_id ORDER BY max(ran_at) DESC LIMIT ${keep})`,
      );
    },
  };
}
export type QualityRepository = ReturnType<typeof createQualityRepository>;
