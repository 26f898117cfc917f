import { type SQL, sql } from 'drizzle-orm';
import { type Q, arrayParam, currentSnapshot, queryOne, queryRows, unseenBy } from '../../platform/index.ts';
import { assignmentsOf, unitValues } from './experiments.repository.ts';
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

/** `u`, `z` of the raw scan (from `from`'s relations when given), then `new`: each unit's state as the rollups store it. */
const newStates = (tenantId: string, t: RollupTrack, from: { assignments: SQL; events: SQL } | null): SQL =>
  sql`${unitValues(tenantId, t.experimentId, t.metric, { windowHours: t.windowHours, currency: t.currency }, null, undefined, from)},
    new AS (SELECT z.unit_id, z.variant_id, (z.first_exposed_at AT TIME ZONE 'UTC')::date AS day, z.exposures, z.x, z.y FROM z)`;

/** Sums of a set of signed state rows `d` (sign `s`) per variant and day: a rollup delta. */
const DELTA_COLUMNS = sql`variant_id, day, sum(s)::bigint AS n, sum(s * exposures)::bigint AS exposures, sum(s * x) AS sum,
  sum(s * x * x) AS sum_squares, sum(s * y) AS denominator_sum, sum(s * y * y) AS denominator_sum_squares, sum(s * x * y) AS sum_product`;

/** A changed unit: `events` null when its assignment row changed, else the metric events it got. */
export interface ChangedUnit {
  unitId: string;
  events: string[] | null;
}

/** A rollup's refresh state: `watermark` null never built; `target` non-null in a refresh cycle, `cursor` its progress. */
export interface WatermarkState {
  metricKey: string;
  watermark: string | null;
  target: string | null;
  cursor: string | null;
}

export function createRollupsRepository() {
  return {
    /**
     * The current snapshot (text, see platform/snapshots.ts): every row it sees is in the rollups once this refresh
     * commits; rows it does not see (written since, or by transactions still running) are the next refresh's. Ask
     * it first in the refresh's transaction, before it writes.
     */
    horizon: (q: Q): Promise<string> => currentSnapshot(q),

    /**
     * Locks the experiment's watermark rows of `keys` (made on first use), in key order so two refreshes never wait
     * on each other crosswise: refresh batches of one experiment take turns. Returns each key's state (watermark null:
     * never built; target non-null: in the refresh cycle under way, with its cursor).
     */
    async lockWatermarks(q: Q, tenantId: string, experimentId: string, keys: readonly string[]): Promise<Map<string, WatermarkState>> {
      const sorted = [...keys].sort();
      await q.execute(sql`INSERT INTO experiment_rollup_watermarks (tenant_id, experiment_id, metric_key)
        SELECT ${tenantId}, ${experimentId}, k FROM unnest(${arrayParam(sorted)}::text[]) AS k ORDER BY k ON CONFLICT DO NOTHING`);
      const rows = await queryRows<WatermarkState>(
        q,
        sql`SELECT metric_key AS "metricKey", watermark::text AS watermark, target::text AS target, cursor
            FROM experiment_rollup_watermarks w
            WHERE w.tenant_id = ${tenantId} AND w.experiment_id = ${experimentId} AND w.metric_key = ANY(${arrayParam(sorted)}::text[])
            ORDER BY w.metric_key FOR UPDATE`,
      );
      return new Map(rows.map((r) => [r.metricKey, r]));
    },

    /** Opens a refresh cycle on `keys`: `target` (a snapshot taken at `at`) becomes their watermark when it ends. */
    async startCycle(q: Q, tenantId: string, experimentId: string, keys: readonly string[], target: string, at: Date): Promise<void> {
      await q.execute(sql`UPDATE experiment_rollup_watermarks w SET target = ${target}::pg_snapshot, target_at = ${at}, cursor = NULL
        WHERE w.tenant_id = ${tenantId} AND w.experiment_id = ${experimentId} AND w.metric_key = ANY(${arrayParam(keys)}::text[])`);
    },

    /** Records a committed batch: every unit id up to `cursor` is recomputed in this cycle. */
    async advanceCycle(q: Q, tenantId: string, experimentId: string, keys: readonly string[], cursor: string): Promise<void> {
      await q.execute(sql`UPDATE experiment_rollup_watermarks w SET cursor = ${cursor}
        WHERE w.tenant_id = ${tenantId} AND w.experiment_id = ${experimentId} AND w.metric_key = ANY(${arrayParam(keys)}::text[])`);
    },

    /** Ends the cycle on `keys`: its target becomes the watermark, taken at `target_at` (the rollups' "as of"). */
    async finishCycle(q: Q, tenantId: string, experimentId: string, keys: readonly string[]): Promise<void> {
      await q.execute(sql`UPDATE experiment_rollup_watermarks w SET watermark = target, refreshed_at = target_at, target = NULL,
          target_at = NULL, cursor = NULL
        WHERE w.tenant_id = ${tenantId} AND w.experiment_id = ${experimentId} AND w.metric_key = ANY(${arrayParam(keys)}::text[])`);
    },

    /** Empties rollups about to be built (left by nothing in the normal course; a rebuild starts from zero whatever). */
    async clear(q: Q, tenantId: string, t: RollupTrack): Promise<void> {
      await q.execute(sql`DELETE FROM experiment_unit_metrics s WHERE ${trackFilter('s', tenantId, t)}`);
      await q.execute(sql`DELETE FROM experiment_metric_rollups r WHERE ${trackFilter('r', tenantId, t)}`);
    },

    /**
     * The next `limit` units of a refresh cycle after unit id `after` (null: from the start), in unit id order (the
     * database's collation, as the cursor compares): with `build`, every unit assigned to the experiment (a walk of
     * the assignments' primary key, for rollups never built); with `since`, the units changed since that snapshot
     * (as `changedUnits`, `changed` true). Each batch re-reads the changed rows past the cursor (an xid index range:
     * cheap for the backlog of a few minutes; a backlog of millions of rows would rather want the list kept).
     */
    nextUnits(
      q: Q,
      tenantId: string,
      experimentId: string,
      opts: { build: boolean; since: string | null; events: readonly string[]; after: string | null; limit: number },
    ): Promise<(ChangedUnit & { changed: boolean })[]> {
      const past = (col: SQL) => (opts.after === null ? sql`true` : sql`${col} > ${opts.after}`);
      const all = opts.build
        ? sql`SELECT x.unit_id FROM experiment_assignments x
              WHERE x.tenant_id = ${tenantId} AND x.experiment_ids @> ARRAY[${experimentId}::uuid] AND ${past(sql`x.unit_id`)}
              ORDER BY x.unit_id LIMIT ${opts.limit}`
        : sql`SELECT NULL::text AS unit_id WHERE false`;
      const since = opts.since;
      const changed = since
        ? sql`SELECT c.unit_id, CASE WHEN bool_or(c.event IS NULL) THEN NULL ELSE array_agg(DISTINCT c.event) END AS events
              FROM (SELECT x.unit_id, NULL::text AS event FROM experiment_assignments x
                    WHERE x.tenant_id = ${tenantId} AND ${unseenBy(sql`x.changed_xid`, since)} AND ${past(sql`x.unit_id`)}
                    UNION ALL
                    SELECT ev.unit_id, ev.event FROM experiment_metric_events ev
                    WHERE ev.tenant_id = ${tenantId} AND ${unseenBy(sql`ev.ingest_xid`, since)} AND ${past(sql`ev.unit_id`)}
                      AND ev.event = ANY(${arrayParam(opts.events)}::text[])) c
              GROUP BY c.unit_id ORDER BY c.unit_id LIMIT ${opts.limit}`
        : sql`SELECT NULL::text AS unit_id, NULL::text[] AS events WHERE false`;
      return queryRows(
        q,
        sql`WITH b AS MATERIALIZED (${all}), c AS MATERIALIZED (${changed})
            SELECT unit_id AS "unitId", c.unit_id IS NOT NULL AS changed, c.events FROM b FULL JOIN c USING (unit_id)
            ORDER BY unit_id LIMIT ${opts.limit}`,
      );
    },

    /**
     * Builds rollups never built (emptied when their cycle began) over one range of unit ids, `after` (exclusive; null:
     * from the first) to `last`: every unit of the experiment in it, from its assignments and metric events read by
     * range (the assignments' primary key, the events' (tenant, unit, event, time) index), set-based, in one
     * statement; states inserted, sums added per variant and day. A build batch: no stored state is in the range yet
     * (the cycle's cursor only moves forward, and batches take turns on the watermark rows).
     */
    async buildRange(q: Q, tenantId: string, tracks: readonly RollupTrack[], range: { after: string | null; last: string }): Promise<void> {
      if (!tracks.length) return;
      const experimentId = tracks[0]!.experimentId;
      const inRange = (col: SQL) => sql`${col} <= ${range.last}${range.after === null ? sql`` : sql` AND ${col} > ${range.after}`}`;
      const events = [...new Set(tracks.flatMap((t) => (t.metric ? [t.metric.event, t.metric.denominatorEvent ?? t.metric.event] : [])))];
      const from = { assignments: sql`ra`, events: sql`rm` };
      const perTrack = tracks.map(
        (t) => sql`SELECT ${t.metricKey}::text AS metric_key, n.* FROM (WITH ${newStates(tenantId, t, from)} SELECT * FROM new) n`,
      );
      await q.execute(sql`WITH
          ra AS MATERIALIZED (SELECT * FROM ${assignmentsOf(tenantId, experimentId, null, inRange)} a),
          rm AS MATERIALIZED (SELECT m.tenant_id, m.unit_id, m.event, m.value, m.currency, m.occurred_at FROM experiment_metric_events m
                              WHERE m.tenant_id = ${tenantId} AND ${inRange(sql`m.unit_id`)} AND m.event = ANY(${arrayParam(events)}::text[])),
          new AS MATERIALIZED (${sql.join(perTrack, sql` UNION ALL `)}),
          stored AS (INSERT INTO experiment_unit_metrics (tenant_id, experiment_id, metric_key, unit_id, variant_id, day, exposures, x, y)
                     SELECT ${tenantId}, ${experimentId}, new.* FROM new)
        INSERT INTO experiment_metric_rollups AS r (tenant_id, experiment_id, metric_key, variant_id, day, n, exposures, sum,
            sum_squares, denominator_sum, denominator_sum_squares, sum_product)
        SELECT ${tenantId}, ${experimentId}, metric_key, ${DELTA_COLUMNS} FROM (SELECT 1 AS s, new.* FROM new) d GROUP BY metric_key, variant_id, day
        ON CONFLICT (tenant_id, experiment_id, metric_key, variant_id, day) DO UPDATE SET n = r.n + excluded.n,
          exposures = r.exposures + excluded.exposures, sum = r.sum + excluded.sum, sum_squares = r.sum_squares + excluded.sum_squares,
          denominator_sum = r.denominator_sum + excluded.denominator_sum,
          denominator_sum_squares = r.denominator_sum_squares + excluded.denominator_sum_squares,
          sum_product = r.sum_product + excluded.sum_product`);
    },

    /**
     * Recomputes the state of `units` (a batch of `changedUnits`, a few thousand) in every one of `tracks` (one
     * experiment's rollups) from the raw rows, in one statement, and moves each rollup by new minus old state per
     * variant and day; a unit no longer in the experiment leaves, a unit never in it passes through unchanged.
     * Recomputing (not adding the event) makes it idempotent: a unit seen twice gets the same state. The batch's
     * assignments and metric events are fetched once for all the rollups, each by `unit_id = ANY(array)` in an index
     * condition (one probe per id, on the assignments' primary key and the events' (tenant, unit, event, time)
     * index), as are the stored states (primary key); only states that differ are written.
     */
    async applyUnits(q: Q, tenantId: string, batch: readonly { track: RollupTrack; units: readonly string[] }[]): Promise<number> {
      const work = batch.filter((b) => b.units.length);
      if (!work.length) return 0;
      const tracks = work.map((w) => w.track);
      const experimentId = tracks[0]!.experimentId;
      const keys = sql`${arrayParam(tracks.map((t) => t.metricKey))}::text[]`;
      const dirty = sql`${arrayParam([...new Set(work.flatMap((w) => w.units))])}::text[]`;
      const events = [...new Set(tracks.flatMap((t) => (t.metric ? [t.metric.event, t.metric.denominatorEvent ?? t.metric.event] : [])))];
      const perTrack = work.map(({ track: t, units }) => {
        // A join, not `unit_id = ANY(units)` as a filter: PGlite binds the array as a parameter and compares each row
        // with every element (the 6,200-unit test case timed out at 120 s).
        const from = {
          assignments: sql`(SELECT da.* FROM da JOIN unnest(${arrayParam(units)}::text[]) AS w(unit_id) USING (unit_id))`,
          events: sql`dm`,
        };
        return sql`SELECT ${t.metricKey}::text AS metric_key, n.* FROM (WITH ${newStates(tenantId, t, from)} SELECT * FROM new) n`;
      });
      // Each rollup's stored states of its own units: index probes on the primary key.
      const perTrackOld = work.map(
        ({
          track: t,
          units,
        }) => sql`(SELECT s.metric_key, s.unit_id, s.variant_id, s.day, s.exposures, s.x, s.y FROM experiment_unit_metrics s
          WHERE s.tenant_id = ${tenantId} AND s.experiment_id = ${experimentId} AND s.metric_key = ${t.metricKey}
            AND s.unit_id = ANY(${arrayParam(units)}::text[]) OFFSET 0)`,
      );
      const ofBatch = sql`s.tenant_id = ${tenantId} AND s.experiment_id = ${experimentId} AND s.metric_key = ANY(${keys}) AND s.unit_id = ANY(${dirty})`;
      const row = await queryOne<{ changed: number }>(
        q,
        sql`WITH
          da AS MATERIALIZED (SELECT * FROM ${assignmentsOf(tenantId, experimentId, dirty)} a),
          -- LATERAL per unit, fenced by OFFSET 0 (else pulled up into a hash join): a nested loop of index probes whatever
          -- the estimates. As plain filters the planner took sequential scans of every event and (the rollups' keys as one
          -- ANY filter) every stored state of the tenant: 2 s at 500k units.
          dm AS MATERIALIZED (SELECT m.tenant_id, m.unit_id, m.event, m.value, m.currency, m.occurred_at FROM unnest(${dirty}) AS d(unit_id)
                              CROSS JOIN LATERAL (SELECT * FROM experiment_metric_events m WHERE m.tenant_id = ${tenantId} AND m.unit_id = d.unit_id
                                                    AND m.event = ANY(${arrayParam(events)}::text[]) OFFSET 0) m),
          new AS MATERIALIZED (${sql.join(perTrack, sql` UNION ALL `)}),
          old AS MATERIALIZED (${sql.join(perTrackOld, sql` UNION ALL `)}),
          -- Only states that differ are written: most changed units move in one or two of an experiment's rollups.
          diff AS MATERIALIZED (
            SELECT coalesce(new.metric_key, old.metric_key) AS metric_key, coalesce(new.unit_id, old.unit_id) AS unit_id, new.unit_id IS NOT NULL AS present
            FROM new FULL JOIN old ON old.metric_key = new.metric_key AND old.unit_id = new.unit_id
            WHERE (new.variant_id, new.day, new.exposures, new.x, new.y) IS DISTINCT FROM (old.variant_id, old.day, old.exposures, old.x, old.y)),
          gone AS (DELETE FROM experiment_unit_metrics s WHERE ${ofBatch}
                   AND EXISTS (SELECT 1 FROM diff WHERE diff.metric_key = s.metric_key AND diff.unit_id = s.unit_id AND NOT diff.present)),
          kept AS (INSERT INTO experiment_unit_metrics AS s (tenant_id, experiment_id, metric_key, unit_id, variant_id, day, exposures, x, y)
                   SELECT ${tenantId}, ${experimentId}, new.* FROM new JOIN diff USING (metric_key, unit_id)
                   ON CONFLICT (tenant_id, experiment_id, metric_key, unit_id) DO UPDATE SET variant_id = excluded.variant_id,
                     day = excluded.day, exposures = excluded.exposures, x = excluded.x, y = excluded.y),
          delta AS (SELECT metric_key, ${DELTA_COLUMNS} FROM (SELECT 1 AS s, new.* FROM new JOIN diff USING (metric_key, unit_id)
                                                  UNION ALL SELECT -1, old.* FROM old JOIN diff USING (metric_key, unit_id)) d GROUP BY metric_key, variant_id, day),
          moved AS (INSERT INTO experiment_metric_rollups AS r (tenant_id, experiment_id, metric_key, variant_id, day, n, exposures, sum,
                      sum_squares, denominator_sum, denominator_sum_squares, sum_product)
                    SELECT ${tenantId}, ${experimentId}, delta.* FROM delta
                    ON CONFLICT (tenant_id, experiment_id, metric_key, variant_id, day) DO UPDATE SET n = r.n + excluded.n,
                      exposures = r.exposures + excluded.exposures, sum = r.sum + excluded.sum, sum_squares = r.sum_squares + excluded.sum_squares,
                      denominator_sum = r.denominator_sum + excluded.denominator_sum,
                      denominator_sum_squares = r.denominator_sum_squares + excluded.denominator_sum_squares,
                      sum_product = r.sum_product + excluded.sum_product)
        SELECT (SELECT count(*) FROM diff)::int AS changed`,
      );
      return row?.changed ?? 0;
    },

    /**
     * The experiment's rollup watermarks (small: one row per rollup). A warm report with nothing new reads this and
     * `changedSince`'s two probes, and writes nothing.
     */
    watermarks(
      q: Q,
      tenantId: string,
      experimentId: string,
    ): Promise<{ metricKey: string; watermark: string | null; refreshedAt: Date | null; refreshing: boolean }[]> {
      return queryRows(
        q,
        sql`SELECT metric_key AS "metricKey", watermark::text AS watermark, refreshed_at AS "refreshedAt", target IS NOT NULL AS refreshing
            FROM experiment_rollup_watermarks
            WHERE tenant_id = ${tenantId} AND experiment_id = ${experimentId}`,
      );
    },

    /**
     * Whether the tenant wrote an assignment row, or a metric event of one of `events`, in a transaction snapshot
     * `since` did not see: two probes of the xid indexes' newest end (any experiment's assignment counts: a refresh sorts them
     * out).
     */
    async changedSince(q: Q, tenantId: string, since: string, events: readonly string[]): Promise<boolean> {
      const row = await queryOne<{ changed: boolean }>(
        q,
        sql`SELECT EXISTS (SELECT 1 FROM experiment_assignments x WHERE x.tenant_id = ${tenantId} AND ${unseenBy(sql`x.changed_xid`, since)})
            OR EXISTS (SELECT 1 FROM experiment_metric_events ev WHERE ev.tenant_id = ${tenantId} AND ${unseenBy(sql`ev.ingest_xid`, since)}
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

    /**
     * The experiments the scheduled refresh keeps up (platform work across tenants): every running one, and every
     * stopped one whose conversion window after the stop is still open (a purchase after the stop can still be a
     * conversion of a unit exposed before it).
     */
    experimentsToRefresh(q: Q): Promise<{ tenantId: string; id: string }[]> {
      return queryRows(
        q,
        sql`SELECT tenant_id AS "tenantId", id FROM experiments
            WHERE status = 'running' OR (status = 'stopped' AND stopped_at > now() - make_interval(hours => conversion_window_hours))
            ORDER BY tenant_id, id`,
      );
    },
  };
}
export type RollupsRepository = ReturnType<typeof createRollupsRepository>;
