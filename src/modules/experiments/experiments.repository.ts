import { type SQL, sql } from 'drizzle-orm';
import { type Q, arrayParam, minorToMajor, queryOne, queryRows } from '../../platform/index.ts';
import type {
  BanditPeriod,
  ConnectorMetricEvents,
  Exposure,
  ExperimentRow,
  MetricDefinition,
  MetricSums,
  NewMetricEvent,
  VariantRow,
} from './experiments.types.ts';

/** A query handle: the database or an open transaction. */
const EXPERIMENT_COLUMNS = sql`id, key, name, description, status, metrics, primary_metric AS "primaryMetric",
  traffic_allocation AS "trafficAllocation", targeting, namespace, namespace_start AS "namespaceStart", namespace_end AS "namespaceEnd",
  holdout_seed AS "holdoutSeed", holdout_percent AS "holdoutPercent", hash_seed AS "hashSeed", hash_version AS "hashVersion", type, bandit, exclude_bots AS "excludeBots",
  engine, confidence, correction, sequential, minimum_sample_size AS "minimumSampleSize",
  conversion_window_hours AS "conversionWindowHours", currency, created_at AS "createdAt", updated_at AS "updatedAt",
  started_at AS "startedAt", stopped_at AS "stoppedAt"`;

const VARIANT_COLUMNS = sql`id, experiment_id AS "experimentId", key, name, weight, config, position`;

/** The arrays of a unit's assignments row, in order: unnest them together. */
const ASSIGNMENT_ARRAYS = sql`x.experiment_ids, x.variant_ids, x.first_exposed_at, x.last_exposed_at, x.exposures`;

/**
 * One experiment's assignments as rows (tenant_id, unit_id, experiment_id, variant_id, first_exposed_at,
 * last_exposed_at, exposures): the unit rows that hold the experiment, unnested. Use as `${assignmentsOf(...)} a`.
 * `onlyUnits`: an array of unit ids (`${arrayParam(ids)}::text[]`) that limits the rows (a rollup's changed units),
 * matched as `unit_id = ANY(...)`: a primary-key probe per id whatever the statistics say.
 */
export function assignmentsOf(
  tenantId: string,
  experimentId: string,
  onlyUnits: SQL | null = null,
  unitRange: ((unitId: SQL) => SQL) | null = null,
): SQL {
  return sql`(SELECT x.tenant_id, x.unit_id, e.experiment_id, e.variant_id, e.first_exposed_at, e.last_exposed_at, e.exposures
      FROM experiment_assignments x
      CROSS JOIN LATERAL unnest(${ASSIGNMENT_ARRAYS}) AS e(experiment_id, variant_id, first_exposed_at, last_exposed_at, exposures)
      WHERE x.tenant_id = ${tenantId} AND x.experiment_ids @> ARRAY[${experimentId}::uuid] AND e.experiment_id = ${experimentId}::uuid
        ${onlyUnits ? sql`AND x.unit_id = ANY(${onlyUnits})` : sql``} ${unitRange ? sql`AND ${unitRange(sql`x.unit_id`)}` : sql``})`;
}

/** Postgres array literal of values that need no quoting (uuids, ints, ISO timestamps). */
const arrayLiteral = (values: readonly (string | number)[]): string => `{${values.join(',')}}`;

/** The only I/O of the experiments module. Every method takes the query handle first, then the tenant. */
/**
 * `connector`: the events module's interactions as metric events (metrics with `sources`); without it such
 * metrics read the tracked events.
 */
export function createExperimentsRepository(connector?: ConnectorMetricEvents) {
  return {
    async insertExperiment(q: Q, tenantId: string, e: ExperimentRow): Promise<void> {
      await q.execute(sql`INSERT INTO experiments (tenant_id, id, key, name, description, status, metrics, primary_metric, traffic_allocation,
          targeting, namespace, namespace_start, namespace_end, holdout_seed, holdout_percent, hash_seed, hash_version, type, bandit, exclude_bots, engine,
          confidence, correction, sequential, minimum_sample_size, conversion_window_hours, currency, created_at, updated_at)
        VALUES (${tenantId}, ${e.id}, ${e.key}, ${e.name}, ${e.description}, ${e.status}, ${JSON.stringify(e.metrics)}::jsonb, ${e.primaryMetric},
          ${e.trafficAllocation}, ${e.targeting === null ? null : JSON.stringify(e.targeting)}::jsonb, ${e.namespace}, ${e.namespaceStart},
          ${e.namespaceEnd}, ${e.holdoutSeed}, ${e.holdoutPercent}, ${e.hashSeed}, ${e.hashVersion}, ${e.type},
          ${e.bandit === null ? null : JSON.stringify(e.bandit)}::jsonb, ${e.excludeBots}, ${e.engine}, ${e.confidence},
          ${e.correction}, ${e.sequential}, ${e.minimumSampleSize}, ${e.conversionWindowHours}, ${e.currency}, ${e.createdAt}, ${e.updatedAt})`);
    },

    /** Whether the key is taken (keys are unique per tenant). */
    async keyExists(q: Q, tenantId: string, key: string): Promise<boolean> {
      return !!(await queryOne(q, sql`SELECT 1 FROM experiments WHERE tenant_id = ${tenantId} AND key = ${key}`));
    },

    getExperiment(q: Q, tenantId: string, id: string): Promise<ExperimentRow | undefined> {
      return queryOne<ExperimentRow>(q, sql`SELECT ${EXPERIMENT_COLUMNS} FROM experiments WHERE tenant_id = ${tenantId} AND id = ${id}`);
    },

    /** Experiments newest first; archived ones only when asked. */
    listExperiments(q: Q, tenantId: string, opts: { includeArchived: boolean; limit: number }): Promise<ExperimentRow[]> {
      return queryRows<ExperimentRow>(
        q,
        sql`SELECT ${EXPERIMENT_COLUMNS} FROM experiments WHERE tenant_id = ${tenantId}
            ${opts.includeArchived ? sql`` : sql`AND status <> 'archived'`} ORDER BY created_at DESC, id LIMIT ${opts.limit}`,
      );
    },

    /** Moves an experiment to a status; stamps start / stop times. Returns false when the row is gone. */
    async setStatus(q: Q, tenantId: string, id: string, status: string, now: Date): Promise<boolean> {
      const rows = await queryRows(
        q,
        sql`UPDATE experiments SET status = ${status}, updated_at = ${now},
              started_at = CASE WHEN ${status} = 'running' THEN coalesce(started_at, ${now}) ELSE started_at END,
              stopped_at = CASE WHEN ${status} IN ('stopped', 'archived') THEN coalesce(stopped_at, ${now}) ELSE NULL END
            WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING id`,
      );
      return rows.length > 0;
    },

    /** Locks the experiment row for a change of its variants (concurrent variant writes serialize here). */
    async lockExperiment(q: Q, tenantId: string, id: string): Promise<ExperimentRow | undefined> {
      return queryOne<ExperimentRow>(
        q,
        sql`SELECT ${EXPERIMENT_COLUMNS} FROM experiments WHERE tenant_id = ${tenantId} AND id = ${id} FOR UPDATE`,
      );
    },

    async touch(q: Q, tenantId: string, id: string, now: Date): Promise<void> {
      await q.execute(sql`UPDATE experiments SET updated_at = ${now} WHERE tenant_id = ${tenantId} AND id = ${id}`);
    },

    /** Replaces the variants of an experiment in one statement pair (set-based). */
    async replaceVariants(q: Q, tenantId: string, experimentId: string, rows: readonly VariantRow[], now: Date): Promise<void> {
      await q.execute(sql`DELETE FROM experiment_variants WHERE tenant_id = ${tenantId} AND experiment_id = ${experimentId}`);
      if (!rows.length) return;
      await q.execute(sql`INSERT INTO experiment_variants (tenant_id, id, experiment_id, key, name, weight, config, position, created_at)
        SELECT ${tenantId}, v.id, ${experimentId}, v.key, v.name, v.weight, v.config::jsonb, v.position, ${now}
        FROM unnest(${arrayParam(rows.map((r) => r.id))}::uuid[], ${arrayParam(rows.map((r) => r.key))}::text[],
                    ${arrayParam(rows.map((r) => r.name))}::text[], ${arrayParam(rows.map((r) => r.weight))}::float8[],
                    ${arrayParam(rows.map((r) => JSON.stringify(r.config ?? {})))}::text[], ${arrayParam(rows.map((r) => r.position))}::int[])
          AS v(id, key, name, weight, config, position)`);
    },

    variantsOf(q: Q, tenantId: string, experimentIds: readonly string[]): Promise<VariantRow[]> {
      if (!experimentIds.length) return Promise.resolve([]);
      return queryRows<VariantRow>(
        q,
        sql`SELECT ${VARIANT_COLUMNS} FROM experiment_variants WHERE tenant_id = ${tenantId} AND experiment_id = ANY(${arrayParam(experimentIds)}::uuid[])
            ORDER BY experiment_id, position`,
      );
    },

    /** Everything assignment needs in memory: experiments that are not archived, with their variants. */
    async loadConfig(
      q: Q,
      tenantId: string,
    ): Promise<{ experiments: ExperimentRow[]; variants: VariantRow[]; banditWeights: Map<string, number[]> }> {
      const experiments = await queryRows<ExperimentRow>(
        q,
        sql`SELECT ${EXPERIMENT_COLUMNS} FROM experiments WHERE tenant_id = ${tenantId} AND status <> 'archived'`,
      );
      const variants = await this.variantsOf(
        q,
        tenantId,
        experiments.map((e) => e.id),
      );
      const bandits = experiments.filter((e) => e.type === 'bandit').map((e) => e.id);
      const latest = await this.latestBanditWeights(q, tenantId, bandits);
      return { experiments, variants, banditWeights: new Map(latest.map((l) => [l.experimentId, l.weights])) };
    },

    /**
     * Writes a bandit period's weights unless the period already has them. Returns whether this call wrote them
     * (the primary key makes concurrent updates of one period agree on one row).
     */
    async insertBanditPeriod(q: Q, tenantId: string, experimentId: string, p: BanditPeriod): Promise<boolean> {
      const rows = await queryRows(
        q,
        sql`INSERT INTO experiment_bandit_periods (tenant_id, experiment_id, period, started_at, weights, best_arm_probabilities, arms, message)
            VALUES (${tenantId}, ${experimentId}, ${p.period}, ${p.startedAt}, ${JSON.stringify(p.weights)}::jsonb,
              ${p.bestArmProbabilities === null ? null : JSON.stringify(p.bestArmProbabilities)}::jsonb, ${JSON.stringify(p.arms)}::jsonb, ${p.message})
            ON CONFLICT (tenant_id, experiment_id, period) DO NOTHING RETURNING period`,
      );
      return rows.length > 0;
    },

    /** A bandit's periods, oldest first. */
    banditPeriods(q: Q, tenantId: string, experimentId: string): Promise<BanditPeriod[]> {
      return queryRows<BanditPeriod>(
        q,
        sql`SELECT period, started_at AS "startedAt", weights, best_arm_probabilities AS "bestArmProbabilities", arms, message
            FROM experiment_bandit_periods WHERE tenant_id = ${tenantId} AND experiment_id = ${experimentId} ORDER BY period`,
      );
    },

    /** The newest weights of each of the experiments that have bandit periods. */
    latestBanditWeights(
      q: Q,
      tenantId: string,
      experimentIds: readonly string[],
    ): Promise<{ experimentId: string; period: number; weights: number[] }[]> {
      if (!experimentIds.length) return Promise.resolve([]);
      return queryRows(
        q,
        sql`SELECT DISTINCT ON (experiment_id) experiment_id AS "experimentId", period, weights FROM experiment_bandit_periods
            WHERE tenant_id = ${tenantId} AND experiment_id = ANY(${arrayParam(experimentIds)}::uuid[]) ORDER BY experiment_id, period DESC`,
      );
    },

    /**
     * Units first exposed in each period, per variant position: the i-th boundary opens period i (the last one
     * runs to now). Moved assignments keep their first exposure, so a person counts in the period they came.
     */
    unitsPerPeriod(
      q: Q,
      tenantId: string,
      experimentId: string,
      boundaries: readonly Date[],
    ): Promise<{ period: number; position: number; n: number }[]> {
      if (!boundaries.length) return Promise.resolve([]);
      return queryRows(
        q,
        sql`SELECT (width_bucket(extract(epoch FROM a.first_exposed_at)::float8, ${arrayParam(boundaries.map((b) => b.getTime() / 1000))}::float8[]) - 1)::int AS period,
                   v.position, count(*)::int AS n
            FROM ${assignmentsOf(tenantId, experimentId)} a JOIN experiment_variants v ON v.tenant_id = a.tenant_id AND v.id = a.variant_id
            GROUP BY 1, 2 ORDER BY 1, 2`,
      );
    },

    /** Stored assignments of any of the units (sticky bucketing), per experiment. */
    stickyAssignments(
      q: Q,
      tenantId: string,
      experimentIds: readonly string[],
      unitIds: readonly string[],
    ): Promise<{ experimentId: string; unitId: string; variantId: string }[]> {
      if (!experimentIds.length || !unitIds.length) return Promise.resolve([]);
      return queryRows(
        q,
        sql`SELECT e.experiment_id AS "experimentId", x.unit_id AS "unitId", e.variant_id AS "variantId"
            FROM experiment_assignments x CROSS JOIN LATERAL unnest(x.experiment_ids, x.variant_ids) AS e(experiment_id, variant_id)
            WHERE x.tenant_id = ${tenantId} AND x.unit_id = ANY(${arrayParam(unitIds)}::text[])
              AND e.experiment_id = ANY(${arrayParam(experimentIds)}::uuid[])`,
      );
    },

    /**
     * Logs exposures of one tenant in one statement, one row per unit however many experiments the unit saw: the
     * first exposure of a unit to an experiment adds its entry (variant, first and last time, count), later ones
     * add to the count and move the last time (the variant of a stored entry never changes). `rows` hold each
     * (experiment, unit) once (the caller merges repeats); they are grouped by unit here, so no row is touched
     * twice. Each unit's arrays travel as one array literal per column (cast in SQL), not as one entry per
     * experiment: a new visitor of ten experiments is one row to insert, not ten.
     */
    async recordExposures(q: Q, tenantId: string, rows: readonly (Exposure & { lastAt: Date; count: number })[]): Promise<void> {
      if (!rows.length) return;
      const byUnit = new Map<string, (Exposure & { lastAt: Date; count: number })[]>();
      for (const r of rows) {
        const list = byUnit.get(r.unitId);
        if (list) list.push(r);
        else byUnit.set(r.unitId, [r]);
      }
      const units = [...byUnit.keys()];
      const lists = [...byUnit.values()];
      const column = (f: (r: Exposure & { lastAt: Date; count: number }) => string | number) =>
        arrayParam(lists.map((l) => arrayLiteral(l.map(f))));
      await q.execute(sql`INSERT INTO experiment_assignments AS x (tenant_id, unit_id, experiment_ids, variant_ids, first_exposed_at, last_exposed_at, exposures)
        SELECT ${tenantId}, r.unit_id, r.e::uuid[], r.v::uuid[], r.f::timestamptz[], r.l::timestamptz[], r.n::int[]
        FROM unnest(${arrayParam(units)}::text[], ${column((r) => r.experimentId)}::text[], ${column((r) => r.variantId)}::text[],
                    ${column((r) => r.at.toISOString())}::text[], ${column((r) => r.lastAt.toISOString())}::text[], ${column((r) => r.count)}::text[])
          AS r(unit_id, e, v, f, l, n)
        ON CONFLICT (tenant_id, unit_id) DO UPDATE SET changed_xid = pg_current_xact_id(),
          (experiment_ids, variant_ids, first_exposed_at, last_exposed_at, exposures) = (
          SELECT array_agg(m.e ORDER BY m.o), array_agg(m.v ORDER BY m.o), array_agg(m.f ORDER BY m.o), array_agg(m.l ORDER BY m.o), array_agg(m.n ORDER BY m.o)
          FROM (SELECT s.e, min(s.ord) AS o, (array_agg(s.v ORDER BY s.ord))[1] AS v, min(s.f) AS f, max(s.l) AS l, sum(s.n)::int AS n
                FROM (SELECT * FROM unnest(${ASSIGNMENT_ARRAYS}) WITH ORDINALITY AS stored(e, v, f, l, n, ord)
                      UNION ALL
                      SELECT e, v, f, l, n, ord + 1000000 FROM unnest(excluded.experiment_ids, excluded.variant_ids, excluded.first_exposed_at,
                        excluded.last_exposed_at, excluded.exposures) WITH ORDINALITY AS added(e, v, f, l, n, ord)) s
                GROUP BY s.e) m)`);
    },

    /**
     * Moves a unit's assignment to an experiment to another unit id (an anonymous visitor who became a known
     * person): keeps the variant and the first exposure, so the person is counted once. When the person already
     * holds an assignment to the experiment, theirs stays and the visitor's is dropped.
     */
    async moveAssignment(q: Q, tenantId: string, experimentId: string, fromUnit: string, toUnit: string): Promise<void> {
      await q.execute(sql`WITH old AS (
          SELECT e.* FROM experiment_assignments x
          CROSS JOIN LATERAL unnest(${ASSIGNMENT_ARRAYS}) AS e(experiment_id, variant_id, first_exposed_at, last_exposed_at, exposures)
          WHERE x.tenant_id = ${tenantId} AND x.unit_id = ${fromUnit} AND e.experiment_id = ${experimentId}::uuid),
        removed AS (
          UPDATE experiment_assignments x SET changed_xid = pg_current_xact_id(), (experiment_ids, variant_ids, first_exposed_at, last_exposed_at, exposures) = (
            SELECT coalesce(array_agg(k.e ORDER BY k.o), '{}'), coalesce(array_agg(k.v ORDER BY k.o), '{}'), coalesce(array_agg(k.f ORDER BY k.o), '{}'),
                   coalesce(array_agg(k.l ORDER BY k.o), '{}'), coalesce(array_agg(k.n ORDER BY k.o), '{}')
            FROM unnest(${ASSIGNMENT_ARRAYS}) WITH ORDINALITY AS k(e, v, f, l, n, o) WHERE k.e <> ${experimentId}::uuid)
          WHERE x.tenant_id = ${tenantId} AND x.unit_id = ${fromUnit} AND x.experiment_ids @> ARRAY[${experimentId}::uuid])
        INSERT INTO experiment_assignments AS x (tenant_id, unit_id, experiment_ids, variant_ids, first_exposed_at, last_exposed_at, exposures)
        SELECT ${tenantId}, ${toUnit}, ARRAY[old.experiment_id], ARRAY[old.variant_id], ARRAY[old.first_exposed_at], ARRAY[old.last_exposed_at], ARRAY[old.exposures] FROM old
        ON CONFLICT (tenant_id, unit_id) DO UPDATE SET changed_xid = pg_current_xact_id(), experiment_ids = x.experiment_ids || excluded.experiment_ids,
          variant_ids = x.variant_ids || excluded.variant_ids, first_exposed_at = x.first_exposed_at || excluded.first_exposed_at,
          last_exposed_at = x.last_exposed_at || excluded.last_exposed_at, exposures = x.exposures || excluded.exposures
        WHERE NOT x.experiment_ids @> excluded.experiment_ids`);
    },

    /** Stores metric events; a (event, dedupe key) seen before is skipped. Returns the ids actually inserted. */
    async insertMetricEvents(q: Q, tenantId: string, rows: readonly NewMetricEvent[]): Promise<Set<string>> {
      if (!rows.length) return new Set();
      const inserted = await queryRows<{ id: string }>(
        q,
        sql`INSERT INTO experiment_metric_events (tenant_id, id, unit_id, event, value, amount_minor, currency, dedupe_key, experiment_id, item_id, recommendation_id, occurred_at)
          SELECT ${tenantId}, r.id, r.unit_id, r.event, r.value, r.amount_minor, r.currency, r.dedupe_key, r.experiment_id, r.item_id, r.recommendation_id, r.occurred_at
          FROM unnest(${arrayParam(rows.map((r) => r.id))}::uuid[], ${arrayParam(rows.map((r) => r.unitId))}::text[], ${arrayParam(rows.map((r) => r.event))}::text[],
                      ${arrayParam(rows.map((r) => r.value))}::float8[], ${arrayParam(rows.map((r) => (r.amountMinor === null ? null : r.amountMinor.toString())))}::int8[],
                      ${arrayParam(rows.map((r) => r.currency))}::text[], ${arrayParam(rows.map((r) => r.dedupeKey))}::text[],
                      ${arrayParam(rows.map((r) => r.experimentId))}::uuid[], ${arrayParam(rows.map((r) => r.itemId))}::text[],
                      ${arrayParam(rows.map((r) => r.recommendationId))}::text[], ${arrayParam(rows.map((r) => r.occurredAt.toISOString()))}::timestamptz[])
            AS r(id, unit_id, event, value, amount_minor, currency, dedupe_key, experiment_id, item_id, recommendation_id, occurred_at)
          ON CONFLICT (tenant_id, event, dedupe_key) DO NOTHING RETURNING id`,
      );
      return new Set(inserted.map((r) => r.id));
    },

    /** Exposed units per variant (every variant listed, 0 when nobody got it). */
    unitsPerVariant(q: Q, tenantId: string, experimentId: string): Promise<{ variantId: string; n: number; exposures: number }[]> {
      return queryRows(
        q,
        sql`SELECT v.id AS "variantId", count(a.unit_id)::int AS n, coalesce(sum(a.exposures), 0)::int AS exposures
            FROM experiment_variants v LEFT JOIN ${assignmentsOf(tenantId, experimentId)} a
              ON a.tenant_id = v.tenant_id AND a.experiment_id = v.experiment_id AND a.variant_id = v.id
            WHERE v.tenant_id = ${tenantId} AND v.experiment_id = ${experimentId} GROUP BY v.id, v.position ORDER BY v.position`,
      );
    },

    /**
     * Sufficient statistics of one metric per variant: each exposed unit's value (events from its first exposure
     * to the end of the conversion window; converted or not for binomial; capped), then n, Σx, Σx², and for ratios
     * the denominator's Σy, Σy², Σxy. Value metrics (revenue) count events in the experiment's currency only.
     */
    metricSums(
      q: Q,
      tenantId: string,
      experimentId: string,
      m: MetricDefinition,
      opts: { windowHours: number; currency: string },
    ): Promise<MetricSums[]> {
      return queryRows<MetricSums>(
        q,
        sql`WITH ${unitValues(tenantId, experimentId, m, opts, null, connector)}
            SELECT v.id AS "variantId", count(z.variant_id)::int AS n, coalesce(sum(z.x), 0)::float8 AS sum, coalesce(sum(z.x * z.x), 0)::float8 AS "sumSquares",
                   coalesce(sum(z.y), 0)::float8 AS "denominatorSum", coalesce(sum(z.y * z.y), 0)::float8 AS "denominatorSumSquares",
                   coalesce(sum(z.x * z.y), 0)::float8 AS "sumProduct"
            FROM experiment_variants v LEFT JOIN z ON z.variant_id = v.id
            WHERE v.tenant_id = ${tenantId} AND v.experiment_id = ${experimentId}
            GROUP BY v.id, v.position ORDER BY v.position`,
      );
    },

    /**
     * The same per-unit values as `metricSums`, summed per bandit period (the period in which the unit was first
     * exposed: the i-th boundary opens period i) and variant position: the period-weighted effects' input.
     */
    metricSumsByPeriod(
      q: Q,
      tenantId: string,
      experimentId: string,
      m: MetricDefinition,
      opts: { windowHours: number; currency: string; boundaries: readonly Date[] },
    ): Promise<{ period: number; position: number; n: number; sum: number; sumSquares: number }[]> {
      if (!opts.boundaries.length) return Promise.resolve([]);
      return queryRows(
        q,
        sql`WITH ${unitValues(tenantId, experimentId, m, opts, opts.boundaries, connector)}
            SELECT greatest(z.period, 0)::int AS period, v.position, count(*)::int AS n, sum(z.x)::float8 AS sum, sum(z.x * z.x)::float8 AS "sumSquares"
            FROM z JOIN experiment_variants v ON v.tenant_id = ${tenantId} AND v.id = z.variant_id
            GROUP BY 1, 2 ORDER BY 1, 2`,
      );
    },
  };
}
export type ExperimentsRepository = ReturnType<typeof createExperimentsRepository>;

/**
 * CTEs `u` (per exposed unit: the metric's events from its first exposure to the end of the conversion window)
 * and `z` (per unit: variant, unit, first exposure, exposures, the value `x`, converted or not for binomial,
 * capped, and the denominator count `y`; with `boundaries`, also its period). Values are numeric, so sums and
 * sums of squares are exact whatever order they are added in: the rollups' deltas add up to the raw scan's sums
 * to the last digit. `from` reads the experiment's assignments (rows of `assignmentsOf`) and the metric events
 * (columns of `experiment_metric_events`) from the given relations instead: a rollup refresh's changed units,
 * fetched once for all of its rollups. `m` null: no metric, x = y = 0.
 */
export function unitValues(
  tenantId: string,
  experimentId: string,
  m: MetricDefinition | null,
  opts: { windowHours: number; currency: string },
  boundaries: readonly Date[] | null,
  connector: ConnectorMetricEvents | undefined,
  from: { assignments: SQL; events: SQL } | null = null,
): SQL {
  const assignments = from ? from.assignments : assignmentsOf(tenantId, experimentId);
  const period = boundaries
    ? sql`, (width_bucket(extract(epoch FROM u.first_exposed_at)::float8, ${arrayParam(boundaries.map((b) => b.getTime() / 1000))}::float8[]) - 1) AS period`
    : sql``;
  if (!m)
    return sql`u AS (SELECT a.variant_id, a.unit_id, a.first_exposed_at, a.exposures, 0::numeric AS x, 0::numeric AS y
        FROM ${assignments} a),
      z AS (SELECT u.variant_id, u.unit_id, u.first_exposed_at, u.exposures, u.x, u.y${period} FROM u)`;
  const events = m.denominatorEvent ? [m.event, m.denominatorEvent] : [m.event];
  // Interactions (metrics with sources) carry revenue in minor units of their currency: the experiment's
  // currency's exponent turns them into major units, as tracked purchases are stored.
  const fromConnector = !!(m.sources?.length && connector);
  const numerator =
    m.value !== 'value'
      ? sql`1`
      : fromConnector
        ? sql`m.value::numeric * ${minorToMajor(1n, opts.currency)}::numeric`
        : sql`m.value::numeric`;
  const source = fromConnector
    ? (connector as ConnectorMetricEvents).metricEventsSql(tenantId, {
        types: events,
        sources: m.sources as string[],
        since: sql`(SELECT min(a.first_exposed_at) FROM ${assignmentsOf(tenantId, experimentId)} a)`,
      })
    : (from?.events ?? sql`experiment_metric_events`);
  const sameTenant = fromConnector ? sql`` : sql`m.tenant_id = a.tenant_id AND`;
  const capped = m.type === 'binomial' ? sql`(u.x > 0)::int::numeric` : m.cap !== null ? sql`least(u.x, ${m.cap}::numeric)` : sql`u.x`;
  return sql`u AS (
      SELECT a.variant_id, a.unit_id, a.first_exposed_at, a.exposures,
        coalesce(sum(CASE WHEN m.event = ${m.event} THEN ${numerator} END), 0)::numeric AS x,
        coalesce(sum(CASE WHEN m.event = ${m.denominatorEvent ?? ''} THEN 1 END), 0)::numeric AS y
      FROM ${assignments} a
      LEFT JOIN ${source} m
        ON ${sameTenant} m.unit_id = a.unit_id AND m.event = ANY(${arrayParam(events)}::text[])
       AND m.occurred_at >= a.first_exposed_at AND m.occurred_at < a.first_exposed_at + make_interval(hours => ${opts.windowHours}::int)
       ${m.value === 'value' ? sql`AND (m.currency IS NULL OR m.currency = ${opts.currency})` : sql``}
      GROUP BY a.variant_id, a.unit_id, a.first_exposed_at, a.exposures),
    z AS (SELECT u.variant_id, u.unit_id, u.first_exposed_at, u.exposures, ${capped} AS x, u.y${period} FROM u)`;
}
