import { type SQL, sql } from 'drizzle-orm';
import { type Q, queryOne, queryRows } from '../../platform/index.ts';
import { MART_SPECS, type MartName } from './marts.core.ts';

/** The SQL type of each key column, so a cursor's values compare with the column (and its index) as they are. */
const KEY_TYPES: Record<string, string> = {
  order_id: 'text',
  product_id: 'uuid',
  profile_id: 'uuid',
  cohort_month: 'text',
  period_index: 'int',
};

/** How each column reads back as JSON: money and other int8 as text (exact), times as ISO strings. */
function selectList(name: MartName): SQL {
  return sql.raw(
    MART_SPECS[name].columns
      .map((col) => {
        if (col.type === 'money') return `${col.name}::text AS ${col.name}`;
        if (col.type === 'timestamp') return `to_char(${col.name} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${col.name}`;
        return col.name;
      })
      .join(', '),
  );
}

export interface MartRun {
  id: string;
  asOf: Date;
  rowCounts: Record<string, number>;
  durationMs: number;
  createdAt: Date;
}

/**
 * One statement writing fact_orders and dim_customers from the owner's orders and profiles (pieces, possibly narrowed
 * to some profiles): the orders are read and windowed once (o), aggregated per profile once (agg), and each INSERT
 * reads those. Facts go in primary-key order (order_id), so the B-tree fills its pages left to right.
 */
function ordersAndCustomers(tenantId: string, orders: SQL, customers: SQL): SQL {
  return sql`WITH o AS MATERIALIZED (
      SELECT o.order_id, o.profile_id, o.occurred_at, o.currency, o.revenue_minor, o.refunded_minor,
             o.revenue_minor - o.refunded_minor AS net_minor, row_number() OVER w AS n,
             extract(epoch FROM o.occurred_at - lag(o.occurred_at) OVER w)::float8 / 86400 AS gap,
             date_trunc('month', o.occurred_at AT TIME ZONE 'UTC') AS month
        FROM (${orders}) o
      WINDOW w AS (PARTITION BY o.profile_id ORDER BY o.occurred_at, o.order_id)
    ), agg AS MATERIALIZED (
      SELECT profile_id, count(*)::int AS n, sum(net_minor) AS net, min(occurred_at) AS first_at, max(occurred_at) AS last_at,
             min(month) AS cohort
        FROM o GROUP BY profile_id
    ), fact AS (
      INSERT INTO warehouse_fact_orders (tenant_id, order_id, profile_id, occurred_at, order_date, currency, revenue_minor,
                                         refunded_minor, net_minor, order_number, is_first_order, days_since_previous_order)
      SELECT ${tenantId}, order_id, profile_id, occurred_at, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), currency,
             revenue_minor, refunded_minor, net_minor, n, n = 1, gap
        FROM o ORDER BY order_id
    )
    INSERT INTO warehouse_dim_customers (tenant_id, profile_id, status, merged_into, first_seen_at, last_seen_at, event_count,
                                         channels, orders, net_revenue_minor, first_order_at, last_order_at, cohort_month)
    SELECT ${tenantId}, c.profile_id, c.status, c.merged_into, c.first_seen_at, c.last_seen_at, c.event_count, c.channels,
           coalesce(a.n, 0), coalesce(a.net, 0), a.first_at, a.last_at, to_char(a.cohort, 'YYYY-MM')
      FROM (${customers}) c LEFT JOIN agg a ON a.profile_id = c.profile_id
     ORDER BY c.profile_id`;
}

/**
 * The marts' SQL over the warehouse's own tables. `rebuild` writes a tenant's rows from the owners' SQL pieces; the
 * incremental path finds the profiles whose rows differ (`changedProfiles`) and rewrites only theirs
 * (`rewriteProfiles`, `syncProducts`); `deriveScores` then fills RFM and cohorts from the facts. Every statement
 * filters on the tenant; the service runs a refresh in one `inTenant` transaction.
 */
export function createMartsRepository() {
  return {
    /** The tenant's refresh lock, held until the transaction ends (re-entrant within it). */
    async lock(q: Q, tenantId: string): Promise<void> {
      await queryRows(q, sql`SELECT pg_advisory_xact_lock(hashtext(${`warehouse.marts:${tenantId}`}))::text AS locked`);
    },

    /**
     * Takes the tenant's refresh lock for the transaction (two refreshes of one tenant would otherwise insert the same
     * keys: the second waits, then rebuilds from the first's result), then deletes the tenant's mart rows.
     */
    async clear(q: Q, tenantId: string): Promise<void> {
      await queryRows(q, sql`SELECT pg_advisory_xact_lock(hashtext(${`warehouse.marts:${tenantId}`}))::text AS locked`);
      for (const name of ['fact_orders', 'dim_products', 'dim_customers', 'rfm_analysis', 'cohort_analysis'] as const) {
        await q.execute(sql`DELETE FROM ${sql.raw(MART_SPECS[name].table)} WHERE tenant_id = ${tenantId}`);
      }
    },

    /**
     * Fills the tenant's marts from the owners' rows in set-based statements (each an INSERT ... SELECT over the
     * owner's subquery; no row passes through JavaScript): products; orders with their place in the profile's history
     * (window functions) and customers with their order aggregates. Call after `clear`, in the same transaction, then
     * `deriveScores`. Definitions in marts.core.ts.
     */
    async rebuild(q: Q, tenantId: string, src: { orders: SQL; customers: SQL; products: SQL }): Promise<void> {
      await q.execute(
        sql`INSERT INTO warehouse_dim_products (tenant_id, product_id, item_id, name, brand, category_path, price_minor, sale_price_minor,
                                                currency, availability, is_active, created_at, updated_at)
            SELECT ${tenantId}, p.product_id, p.item_id, p.name, p.brand, p.category_path, p.price_minor, p.sale_price_minor,
                   p.currency, p.availability, p.is_active, p.created_at, p.updated_at
              FROM (${src.products}) p ORDER BY p.product_id`,
      );
      await q.execute(ordersAndCustomers(tenantId, src.orders, src.customers));
    },

    /**
     * The profiles whose mart rows differ from the owners' rows now: an order added, removed, relinked to another
     * profile or changed (both profiles of a relinked order), a profile added, removed or changed. Exact (a full outer
     * join of the owners' rows with the marts' copies of the same columns, no hash), read-only, one statement.
     */
    async changedProfiles(q: Q, tenantId: string, src: { orders: SQL; customers: SQL }): Promise<string[]> {
      const rows = await queryRows<{ id: string }>(
        q,
        sql`SELECT DISTINCT x.id::text AS id FROM (
              SELECT unnest(ARRAY[s.profile_id, f.profile_id]) AS id
                FROM (${src.orders}) s
                FULL JOIN (SELECT order_id, profile_id, occurred_at, currency, revenue_minor, refunded_minor
                             FROM warehouse_fact_orders WHERE tenant_id = ${tenantId}) f ON f.order_id = s.order_id
               WHERE (s.order_id, s.profile_id, s.occurred_at, s.currency, s.revenue_minor, s.refunded_minor)
                     IS DISTINCT FROM (f.order_id, f.profile_id, f.occurred_at, f.currency, f.revenue_minor, f.refunded_minor)
              UNION ALL
              SELECT coalesce(c.profile_id, d.profile_id)
                FROM (${src.customers}) c
                FULL JOIN (SELECT profile_id, status, merged_into, first_seen_at, last_seen_at, event_count, channels
                             FROM warehouse_dim_customers WHERE tenant_id = ${tenantId}) d ON d.profile_id = c.profile_id
               WHERE (c.profile_id, c.status, c.merged_into, c.first_seen_at, c.last_seen_at, c.event_count, c.channels)
                     IS DISTINCT FROM (d.profile_id, d.status, d.merged_into, d.first_seen_at, d.last_seen_at, d.event_count, d.channels)
            ) x WHERE x.id IS NOT NULL`,
      );
      return rows.map((r) => r.id);
    },

    /**
     * Rewrites the fact_orders and dim_customers rows of `profileIds` only (from `changedProfiles`): deletes theirs and
     * inserts them again from the owners' rows of those profiles, with the same statement a full rebuild runs (so the
     * rows are column for column what a rebuild writes). Call `deriveScores` after.
     */
    async rewriteProfiles(q: Q, tenantId: string, src: { orders: SQL; customers: SQL }, profileIds: readonly string[]): Promise<void> {
      if (profileIds.length === 0) return;
      const ids = sql`${`{${profileIds.join(',')}}`}::uuid[]`;
      await q.execute(sql`DELETE FROM warehouse_fact_orders WHERE tenant_id = ${tenantId} AND profile_id = ANY(${ids})`);
      await q.execute(sql`DELETE FROM warehouse_dim_customers WHERE tenant_id = ${tenantId} AND profile_id = ANY(${ids})`);
      await q.execute(
        ordersAndCustomers(
          tenantId,
          sql`SELECT * FROM (${src.orders}) so WHERE so.profile_id = ANY(${ids})`,
          sql`SELECT * FROM (${src.customers}) sc WHERE sc.profile_id = ANY(${ids})`,
        ),
      );
    },

    /**
     * Brings dim_products to the owner's rows by difference: deletes the rows that are gone or changed, inserts the
     * owner's rows the mart lacks. Returns the rows written.
     */
    async syncProducts(q: Q, tenantId: string, products: SQL): Promise<number> {
      const cols = sql.raw(
        'product_id, item_id, name, brand, category_path, price_minor, sale_price_minor, currency, availability, is_active, created_at, updated_at',
      );
      await q.execute(
        sql`DELETE FROM warehouse_dim_products d WHERE d.tenant_id = ${tenantId}
               AND NOT EXISTS (SELECT 1 FROM (${products}) p WHERE p.product_id = d.product_id
                                  AND (p.item_id, p.name, p.brand, p.category_path, p.price_minor, p.sale_price_minor, p.currency,
                                       p.availability, p.is_active, p.created_at, p.updated_at)
                                      IS NOT DISTINCT FROM
                                      (d.item_id, d.name, d.brand, d.category_path, d.price_minor, d.sale_price_minor, d.currency,
                                       d.availability, d.is_active, d.created_at, d.updated_at))`,
      );
      const inserted = await queryRows<{ n: number }>(
        q,
        sql`WITH ins AS (
              INSERT INTO warehouse_dim_products (tenant_id, ${cols})
              SELECT ${tenantId}, p.* FROM (${products}) p
               WHERE NOT EXISTS (SELECT 1 FROM warehouse_dim_products d WHERE d.tenant_id = ${tenantId} AND d.product_id = p.product_id)
               ORDER BY p.product_id
              RETURNING 1
            ) SELECT count(*)::int AS n FROM ins`,
      );
      return inserted[0]!.n;
    },

    /**
     * RFM and cohorts from the warehouse's own fact_orders (their ranks and periods move with `asOf` and with every
     * customer, so they are rebuilt whole; one read of the tenant's facts). Replaces the tenant's rows of both.
     */
    async deriveScores(q: Q, tenantId: string, asOf: Date): Promise<void> {
      const at = asOf.toISOString();
      await q.execute(sql`DELETE FROM warehouse_rfm_analysis WHERE tenant_id = ${tenantId}`);
      await q.execute(sql`DELETE FROM warehouse_cohort_analysis WHERE tenant_id = ${tenantId}`);
      await q.execute(
        sql`WITH o AS MATERIALIZED (
              SELECT profile_id, occurred_at, net_minor, date_trunc('month', occurred_at AT TIME ZONE 'UTC') AS month
                FROM warehouse_fact_orders WHERE tenant_id = ${tenantId}
            ), agg AS MATERIALIZED (
              SELECT profile_id, count(*)::int AS n, sum(net_minor) AS net, max(occurred_at) AS last_at, min(month) AS cohort
                FROM o GROUP BY profile_id
            ), scored AS (
              SELECT profile_id, extract(epoch FROM ${at}::timestamptz - last_at)::float8 / 86400 AS recency_days, n AS frequency,
                     net AS monetary, count(*) OVER () AS total,
                     rank() OVER (ORDER BY extract(epoch FROM ${at}::timestamptz - last_at)::float8 / 86400 DESC) AS rr,
                     rank() OVER (ORDER BY n) AS fr, rank() OVER (ORDER BY net) AS mr
                FROM agg
            ), rfm AS (
              INSERT INTO warehouse_rfm_analysis (tenant_id, profile_id, as_of, recency_days, frequency, monetary_minor, r_score, f_score,
                                                  m_score, rfm_score, segment)
              SELECT ${tenantId}, profile_id, ${at}::timestamptz, recency_days, frequency, monetary, r, f, m, concat(r, f, m),
                     CASE WHEN r >= 4 AND f >= 4 THEN 'champions' WHEN f >= 4 THEN 'loyal'
                          WHEN r >= 4 AND frequency = 1 THEN 'new' WHEN r >= 4 THEN 'promising'
                          WHEN r <= 2 AND f >= 3 THEN 'at_risk' WHEN r = 1 THEN 'lost' ELSE 'needs_attention' END
                FROM (SELECT profile_id, recency_days, frequency, monetary, 1 + (5 * (rr - 1)) / total AS r,
                             1 + (5 * (fr - 1)) / total AS f, 1 + (5 * (mr - 1)) / total AS m
                        FROM scored) s
               ORDER BY profile_id
            ), sizes AS (
              SELECT cohort, count(*)::int AS size FROM agg GROUP BY cohort
            ), grid AS (
              SELECT s.cohort, s.size, g.p::int AS period_index, s.cohort + make_interval(months => g.p::int) AS month
                FROM sizes s,
                     generate_series(0, (extract(year FROM age(date_trunc('month', ${at}::timestamptz AT TIME ZONE 'UTC'), s.cohort)) * 12
                                         + extract(month FROM age(date_trunc('month', ${at}::timestamptz AT TIME ZONE 'UTC'), s.cohort)))::int) AS g(p)
            ), act AS (
              SELECT a.cohort, o.month, count(DISTINCT o.profile_id)::int AS active, count(*)::int AS orders, sum(o.net_minor) AS net
                FROM o JOIN agg a USING (profile_id) GROUP BY a.cohort, o.month
            )
            INSERT INTO warehouse_cohort_analysis (tenant_id, cohort_month, period_index, period_month, cohort_size, active_customers,
                                                   orders, net_revenue_minor, retention_rate)
            SELECT ${tenantId}, to_char(g.cohort, 'YYYY-MM'), g.period_index, to_char(g.month, 'YYYY-MM'), g.size,
                   coalesce(a.active, 0), coalesce(a.orders, 0), coalesce(a.net, 0), coalesce(a.active, 0)::float8 / g.size
              FROM grid g LEFT JOIN act a ON a.cohort = g.cohort AND a.month = g.month`,
      );
    },

    /** Every tenant with a recorded refresh: the one read across tenants (the scheduler books their next runs). */
    async refreshedTenants(q: Q): Promise<string[]> {
      const rows = await queryRows<{ tenant_id: string }>(q, sql`SELECT DISTINCT tenant_id::text AS tenant_id FROM warehouse_mart_runs`);
      return rows.map((r) => r.tenant_id);
    },

    /** The owners' change marker now (`marker`: their text expression). */
    async sourceMarker(q: Q, marker: SQL): Promise<string> {
      const row = await queryOne<{ m: string }>(q, sql`SELECT (${marker})::text AS m`);
      return row!.m;
    },

    /** The marker and as-of instant of the tenant's latest refresh, or null before the first. */
    async lastMarker(q: Q, tenantId: string): Promise<{ marker: string | null; asOf: Date } | null> {
      const row = await queryOne<{ marker: string | null; asOf: Date }>(
        q,
        sql`SELECT source_marker AS marker, as_of AS "asOf" FROM warehouse_mart_runs WHERE tenant_id = ${tenantId}
             ORDER BY created_at DESC, id DESC LIMIT 1`,
      );
      return row ?? null;
    },

    async recordRun(
      q: Q,
      tenantId: string,
      run: { id: string; asOf: Date; rowCounts: Record<string, number>; durationMs: number; marker: string },
    ) {
      await q.execute(
        sql`INSERT INTO warehouse_mart_runs (tenant_id, id, as_of, row_counts, duration_ms, source_marker)
            VALUES (${tenantId}, ${run.id}, ${run.asOf.toISOString()}, ${JSON.stringify(run.rowCounts)}::jsonb, ${run.durationMs}, ${run.marker})`,
      );
      // Keep the last 100 runs per tenant.
      await q.execute(
        sql`DELETE FROM warehouse_mart_runs WHERE tenant_id = ${tenantId} AND id NOT IN (
              SELECT id FROM warehouse_mart_runs WHERE tenant_id = ${tenantId} ORDER BY created_at DESC, id DESC LIMIT 100)`,
      );
    },

    async rowCounts(q: Q, tenantId: string): Promise<Record<MartName, number>> {
      const row = await queryOne<Record<MartName, number>>(
        q,
        sql`SELECT (SELECT count(*)::int FROM warehouse_fact_orders WHERE tenant_id = ${tenantId}) AS fact_orders,
                   (SELECT count(*)::int FROM warehouse_dim_products WHERE tenant_id = ${tenantId}) AS dim_products,
                   (SELECT count(*)::int FROM warehouse_dim_customers WHERE tenant_id = ${tenantId}) AS dim_customers,
                   (SELECT count(*)::int FROM warehouse_rfm_analysis WHERE tenant_id = ${tenantId}) AS rfm_analysis,
                   (SELECT count(*)::int FROM warehouse_cohort_analysis WHERE tenant_id = ${tenantId}) AS cohort_analysis`,
      );
      return row!;
    },

    async lastRun(q: Q, tenantId: string): Promise<MartRun | null> {
      const row = await queryOne<MartRun>(
        q,
        sql`SELECT id::text AS id, as_of AS "asOf", row_counts AS "rowCounts", duration_ms AS "durationMs", created_at AS "createdAt"
              FROM warehouse_mart_runs WHERE tenant_id = ${tenantId} ORDER BY created_at DESC, id DESC LIMIT 1`,
      );
      return row ?? null;
    },

    /** A page of a mart in key order after `after` (the key values of the previous page's last row). */
    async page(
      q: Q,
      tenantId: string,
      name: MartName,
      after: ReadonlyArray<string | number> | null,
      limit: number,
    ): Promise<Array<Record<string, unknown>>> {
      const spec = MART_SPECS[name];
      const keys = sql.raw(spec.key.join(', '));
      const afterSql =
        after === null
          ? sql``
          : sql`AND (${keys}) > (${sql.join(
              after.map((v, i) => sql`${v}::${sql.raw(KEY_TYPES[spec.key[i]!] ?? 'text')}`),
              sql`, `,
            )})`;
      return queryRows<Record<string, unknown>>(
        q,
        sql`SELECT ${selectList(name)} FROM ${sql.raw(spec.table)} WHERE tenant_id = ${tenantId} ${afterSql} ORDER BY ${keys} LIMIT ${limit}`,
      );
    },
  };
}
export type MartsRepository = ReturnType<typeof createMartsRepository>;
