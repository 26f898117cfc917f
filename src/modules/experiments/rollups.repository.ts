import { type SQL, sql } from 'drizzle-orm';
import { type Q, arrayParam, queryOne, queryRows } from '../../platform/index.ts';
import { unitValues } from './experiments.repository.ts';
import type { MetricDefinition, MetricSums } from './experiments.types.ts';

/**
 * The experiment rollups' I/O (tables `experiment_unit_metrics`, `experiment_metric_rollups`,
 * `experiment_rollup_watermarks`). A rollup is one (experiment, metric key): `metric` null is the units rollup
 * (exposed units and exposures per variant), otherwise one metric definition. Every method takes the query handle
 * first, then the tenant.
 */
export interface RollupTrack {
  experimentId: string;
  metricKey: string;
  metric: MetricDefinition | null;
  windowHours: number;
  currency: string;
}

const trackFilter = (alias: string, tenantId: string, t: RollupTrack): SQL =>
  sql`${sql.raw(alias)}.tenant_id = ${tenantId} AND ${sql.raw(alias)}.experiment_id = ${t.experimentId} AND ${sql.raw(alias)}.metric_key = ${t.metricKey}`;

/** `u`, `z` of the raw scan (limited to `onlyUnits`), then `new`: each unit's state as the rollups store it. */
const newStates = (tenantId: string, t: RollupTrack, onlyUnits: SQL | null): SQL =>
  sql`${unitValues(tenantId, t.experimentId, t.metric, { windowHours: t.windowHours, currency: t.currency }, null, undefined, onlyUnits)},
    new AS (SELECT z.unit_id, z.variant_id, (z.first_exposed_at AT TIME ZONE 'UTC')::date AS day, z.exposures, z.x, z.y FROM z)`;

/** Sums of a set of signed state rows `d` (sign `s`) per variant and day: a rollup delta. */
const DELTA_COLUMNS = sql`variant_id, day, sum(s)::bigint AS n, sum(s * exposures)::bigint AS exposures, sum(s * x) AS sum,
  sum(s * x * x) AS sum_squares, sum(s * y) AS denominator_sum, sum(s * y * y) AS denominator_sum_squares, sum(s * x * y) AS sum_product`;

export function createRollupsRepository() {
  return {
    /**
     * The transaction id below which every transaction has finished: rows written below it are all visible now,
     * so a refresh that reads the rows written since the last watermark up to here misses none (a slow writer's
     * rows come with a later refresh). Ask it first in the refresh's transaction, before it writes.
     */
    async horizon(q: Q): Promise<string> {
      const row = await queryOne<{ xmin: string }>(q, sql`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`);
      return row!.xmin;
    },

    /** Locks the rollup's watermark row (made on first use): concurrent refreshes of one rollup take turns. */
    async lockWatermark(q: Q, tenantId: string, t: RollupTrack): Promise<string | null> {
      await q.execute(sql`INSERT INTO experiment_rollup_watermarks (tenant_id, experiment_id, metric_key)
        VALUES (${tenantId}, ${t.experimentId}, ${t.metricKey}) ON CONFLICT DO NOTHING`);
      const row = await queryOne<{ watermark: string | null }>(
        q,
        sql`SELECT watermark::text AS watermark FROM experiment_rollup_watermarks w WHERE ${trackFilter('w', tenantId, t)} FOR UPDATE`,
      );
      return row?.watermark ?? null;
    },

    async setWatermark(q: Q, tenantId: string, t: RollupTrack, watermark: string, now: Date): Promise<void> {
      await q.execute(sql`UPDATE experiment_rollup_watermarks w SET watermark = ${watermark}::xid8, refreshed_at = ${now}
        WHERE ${trackFilter('w', tenantId, t)}`);
    },

    /** Builds a rollup whole: every exposed unit's state from the raw rows, and its sums per variant and day. */
    async rebuild(q: Q, tenantId: string, t: RollupTrack): Promise<void> {
      await q.execute(sql`DELETE FROM experiment_unit_metrics s WHERE ${trackFilter('s', tenantId, t)}`);
      await q.execute(sql`DELETE FROM experiment_metric_rollups r WHERE ${trackFilter('r', tenantId, t)}`);
      await q.execute(sql`WITH ${newStates(tenantId, t, null)}
        INSERT INTO experiment_unit_metrics (tenant_id, experiment_id, metric_key, unit_id, variant_id, day, exposures, x, y)
        SELECT ${tenantId}, ${t.experimentId}, ${t.metricKey}, new.* FROM new`);
      await q.execute(sql`INSERT INTO experiment_metric_rollups (tenant_id, experiment_id, metric_key, variant_id, day, n, exposures, sum,
          sum_squares, denominator_sum, denominator_sum_squares, sum_product)
        SELECT ${tenantId}, ${t.experimentId}, ${t.metricKey}, ${DELTA_COLUMNS}
        FROM (SELECT 1 AS s, um.* FROM experiment_unit_metrics um WHERE ${trackFilter('um', tenantId, t)}) d GROUP BY variant_id, day`);
      // Fresh statistics for the millions of rows just written: the next refresh's plans depend on them.
      await q.execute(sql`ANALYZE experiment_unit_metrics`);
    },

    /**
     * Brings a rollup forward from `since`: the units whose assignment row was written, or that got a metric event,
     * in a transaction at or after `since` (late and out-of-order events, moved assignments and repeat exposures
     * alike) get their state recomputed from the raw rows; the rollup moves by new minus old state per variant and
     * day, and a unit no longer in the experiment leaves. Recomputing (not adding the event) makes a refresh
     * idempotent: a unit seen twice gets the same state. Returns the number of units recomputed.
     */
    async applyChanges(q: Q, tenantId: string, t: RollupTrack, since: string): Promise<number> {
      const events = t.metric ? (t.metric.denominatorEvent ? [t.metric.event, t.metric.denominatorEvent] : [t.metric.event]) : [];
      // The changed units first, as a list: each half is a range scan of its xid index's newest end. No filter on
      // the rollup's units here: an EXISTS probe of `experiment_unit_metrics` was planned (stale statistics put one
      // row past the watermark) as a semi-join whose inner side walked all of the rollup's units for every changed
      // row. Units outside the experiment pass through unchanged: the recompute below finds neither an assignment
      // to it nor a stored state, so their delta is empty.
      const changed = await queryRows<{ unitId: string }>(
        q,
        sql`SELECT x.unit_id AS "unitId" FROM experiment_assignments x WHERE x.tenant_id = ${tenantId} AND x.changed_xid >= ${since}::xid8
            UNION
            SELECT ev.unit_id FROM experiment_metric_events ev
            WHERE ev.tenant_id = ${tenantId} AND ev.ingest_xid >= ${since}::xid8 AND ev.event = ANY(${arrayParam(events)}::text[])`,
      );
      if (!changed.length) return 0;
      // Every use is `unit_id = ANY(array)` in an index condition: one probe per id. Written as `IN (SELECT unnest(...))`
      // and joins, the planner (statistics taken before a rebuild's millions of rows: one row estimated per rollup)
      // walked all of the rollup's units for every changed one.
      const dirtyUnits = sql`${arrayParam(changed.map((c) => c.unitId))}::text[]`;
      const row = await queryOne<{ units: number }>(
        q,
        sql`WITH
          ${newStates(tenantId, t, dirtyUnits)},
          old AS (SELECT s.unit_id, s.variant_id, s.day, s.exposures, s.x, s.y FROM experiment_unit_metrics s
                  WHERE ${trackFilter('s', tenantId, t)} AND s.unit_id = ANY(${dirtyUnits})),
          gone AS (DELETE FROM experiment_unit_metrics s
                   WHERE ${trackFilter('s', tenantId, t)} AND s.unit_id = ANY(${dirtyUnits}) AND NOT EXISTS (SELECT 1 FROM new WHERE new.unit_id = s.unit_id)),
          kept AS (INSERT INTO experiment_unit_metrics AS s (tenant_id, experiment_id, metric_key, unit_id, variant_id, day, exposures, x, y)
                   SELECT ${tenantId}, ${t.experimentId}, ${t.metricKey}, new.* FROM new
                   ON CONFLICT (tenant_id, experiment_id, metric_key, unit_id) DO UPDATE SET variant_id = excluded.variant_id,
                     day = excluded.day, exposures = excluded.exposures, x = excluded.x, y = excluded.y),
          delta AS (SELECT ${DELTA_COLUMNS} FROM (SELECT 1 AS s, * FROM new UNION ALL SELECT -1, * FROM old) d GROUP BY variant_id, day),
          moved AS (INSERT INTO experiment_metric_rollups AS r (tenant_id, experiment_id, metric_key, variant_id, day, n, exposures, sum,
                      sum_squares, denominator_sum, denominator_sum_squares, sum_product)
                    SELECT ${tenantId}, ${t.experimentId}, ${t.metricKey}, delta.* FROM delta
                    ON CONFLICT (tenant_id, experiment_id, metric_key, variant_id, day) DO UPDATE SET n = r.n + excluded.n,
                      exposures = r.exposures + excluded.exposures, sum = r.sum + excluded.sum, sum_squares = r.sum_squares + excluded.sum_squares,
                      denominator_sum = r.denominator_sum + excluded.denominator_sum,
                      denominator_sum_squares = r.denominator_sum_squares + excluded.denominator_sum_squares,
                      sum_product = r.sum_product + excluded.sum_product)
        SELECT ${changed.length}::int AS units`,
      );
      return row?.units ?? 0;
    },

    /**
     * The experiment's rollup watermarks (small: one row per rollup). A warm report with nothing new reads this and
     * `changedSince`'s two probes, and writes nothing.
     */
    watermarks(q: Q, tenantId: string, experimentId: string): Promise<{ metricKey: string; watermark: string | null }[]> {
      return queryRows(
        q,
        sql`SELECT metric_key AS "metricKey", watermark::text AS watermark FROM experiment_rollup_watermarks
            WHERE tenant_id = ${tenantId} AND experiment_id = ${experimentId}`,
      );
    },

    /**
     * Whether the tenant wrote an assignment row, or a metric event of one of `events`, in a transaction at or after
     * `since`: two probes of the xid indexes' newest end (any experiment's assignment counts: a refresh sorts them
     * out). The watermark is a literal, so the planner sees how far past its statistics it lies.
     */
    async changedSince(q: Q, tenantId: string, since: string, events: readonly string[]): Promise<boolean> {
      const row = await queryOne<{ changed: boolean }>(
        q,
        sql`SELECT EXISTS (SELECT 1 FROM experiment_assignments x WHERE x.tenant_id = ${tenantId} AND x.changed_xid >= ${since}::xid8)
            OR EXISTS (SELECT 1 FROM experiment_metric_events ev WHERE ev.tenant_id = ${tenantId} AND ev.ingest_xid >= ${since}::xid8
                         AND ev.event = ANY(${arrayParam(events)}::text[])) AS changed`,
      );
      return row?.changed ?? true;
    },

    /**
     * Drops rollups of the experiment by key (metrics edited or removed), each by its own key prefix: a filter
     * `metric_key <> ALL(keep)` walked every unit row of every rollup of the experiment on each report.
     */
    async dropKeys(q: Q, tenantId: string, experimentId: string, keys: readonly string[]): Promise<void> {
      if (!keys.length) return;
      for (const table of ['experiment_unit_metrics', 'experiment_metric_rollups', 'experiment_rollup_watermarks'])
        await q.execute(sql`DELETE FROM ${sql.identifier(table)} WHERE tenant_id = ${tenantId} AND experiment_id = ${experimentId}
          AND metric_key = ANY(${arrayParam(keys)}::text[])`);
    },

    /**
     * Every rollup of the experiment in one read: per (metric key, variant) the units, exposures and sums, every
     * variant listed for every key asked (zeros when a rollup has no row for it). A few hundred rollup rows.
     */
    readAll(
      q: Q,
      tenantId: string,
      experimentId: string,
      keys: readonly string[],
    ): Promise<(MetricSums & { metricKey: string; exposures: number })[]> {
      return queryRows(
        q,
        sql`SELECT k.key AS "metricKey", v.id AS "variantId", coalesce(sum(r.n), 0)::int AS n, coalesce(sum(r.exposures), 0)::int AS exposures,
                   coalesce(sum(r.sum), 0)::float8 AS sum, coalesce(sum(r.sum_squares), 0)::float8 AS "sumSquares",
                   coalesce(sum(r.denominator_sum), 0)::float8 AS "denominatorSum",
                   coalesce(sum(r.denominator_sum_squares), 0)::float8 AS "denominatorSumSquares", coalesce(sum(r.sum_product), 0)::float8 AS "sumProduct"
            FROM unnest(${arrayParam(keys)}::text[]) AS k(key)
            CROSS JOIN experiment_variants v
            LEFT JOIN experiment_metric_rollups r
              ON r.tenant_id = ${tenantId} AND r.experiment_id = ${experimentId} AND r.metric_key = k.key AND r.variant_id = v.id
            WHERE v.tenant_id = ${tenantId} AND v.experiment_id = ${experimentId}
            GROUP BY k.key, v.id, v.position ORDER BY k.key, v.position`,
      );
    },

    /** Running experiments of every tenant (the scheduled refresh; platform work across tenants). */
    runningExperiments(q: Q): Promise<{ tenantId: string; id: string }[]> {
      return queryRows(q, sql`SELECT tenant_id AS "tenantId", id FROM experiments WHERE status = 'running' ORDER BY tenant_id, id`);
    },
  };
}
export type RollupsRepository = ReturnType<typeof createRollupsRepository>;
