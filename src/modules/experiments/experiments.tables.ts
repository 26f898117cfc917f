import {
  bigint,
  boolean,
  customType,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';

/**
 * A 64-bit transaction id (`pg_current_xact_id()`): which transaction wrote a row. Rollups read the rows written
 * by transactions their watermark snapshot did not see (platform/snapshots.ts), so a row committed late (a slow
 * transaction, a late event) is never skipped. Returned as a decimal string.
 */
const xid8 = customType<{ data: string }>({ dataType: () => 'xid8' });
/** A snapshot (`pg_current_snapshot()`: xmin, xmax and the transactions in progress), as its text form. */
const pgSnapshot = customType<{ data: string }>({ dataType: () => 'pg_snapshot' });

/**
 * Experiments (A/B/n tests, seed 000's experiment service): one row per experiment, its assignment rules and
 * its analysis settings. Variants, assignments and metric events hang off it.
 */
export const experiments = pgTable(
  'experiments',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    /** Stable key clients assign by (also the default hash seed). */
    key: text('key').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    /** draft | running | stopped | archived */
    status: text('status').notNull().default('draft'),
    /** Metric definitions (name, type, event, value, cap, denominator) and which one is primary. */
    metrics: jsonb('metrics').notNull().default([]),
    primaryMetric: text('primary_metric').notNull(),
    /** Share of eligible units that enter the experiment (GrowthBook's coverage), 0..1. */
    trafficAllocation: real('traffic_allocation').notNull().default(1),
    /** Targeting condition on request attributes (a small MongoDB-style object), or null for everyone. */
    targeting: jsonb('targeting'),
    /** Mutually exclusive layer: experiments of one namespace take disjoint slices [start, end) of its units. */
    namespace: text('namespace'),
    namespaceStart: real('namespace_start').notNull().default(0),
    namespaceEnd: real('namespace_end').notNull().default(1),
    /** Holdout: units whose hash under holdout_seed falls below holdout_percent see control and are not counted. */
    holdoutSeed: text('holdout_seed'),
    holdoutPercent: real('holdout_percent').notNull().default(0),
    hashSeed: text('hash_seed').notNull(),
    /**
     * What assignment hashes: 1 = the unit key (`u:<user id>`, `a:<anonymous id>`, `p:<profile>`), the scheme of
     * experiments created before the raw-id change (the column default keeps their bucketing); 2 = the raw user id
     * (else the anonymous id), as a GrowthBook SDK's `id` attribute, for every experiment created since.
     */
    hashVersion: integer('hash_version').notNull().default(1),
    /** standard (fixed weights) | bandit (weights recomputed every period from the primary metric). */
    type: text('type').notNull().default('standard'),
    /** Bandit settings (posterior, top-two, minimum weight, burn-in and update cadence in hours), null for standard. */
    bandit: jsonb('bandit'),
    excludeBots: boolean('exclude_bots').notNull().default(true),
    engine: text('engine').notNull().default('frequentist'),
    confidence: real('confidence').notNull().default(0.95),
    correction: text('correction').notNull().default('holm'),
    sequential: boolean('sequential').notNull().default(false),
    minimumSampleSize: integer('minimum_sample_size').notNull().default(100),
    /** Metric events count for a unit from its first exposure until this many hours after. */
    conversionWindowHours: integer('conversion_window_hours').notNull().default(72),
    /** Revenue metrics count purchases in this currency only (ISO 4217). */
    currency: text('currency').notNull().default('USD'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    stoppedAt: timestamp('stopped_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), uniqueIndex('experiments_key_key').on(t.tenantId, t.key)],
);

/** Arms of an experiment: weight (shares sum to 1) and a JSON config handed to the client (model, layout ...). */
export const experimentVariants = pgTable(
  'experiment_variants',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    experimentId: uuid('experiment_id').notNull(),
    key: text('key').notNull(),
    name: text('name').notNull(),
    weight: doublePrecision('weight').notNull(),
    config: jsonb('config').notNull().default({}),
    /** 0 is control. */
    position: integer('position').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), uniqueIndex('experiment_variants_key_key').on(t.tenantId, t.experimentId, t.key)],
);

/**
 * One row per unit (profile, user or anonymous id) exposed to any experiment: per experiment (parallel arrays,
 * one entry each) the variant it got, when it first and last saw it and how often. A request assigning a new
 * visitor to ten running experiments writes one row, not ten (the heap and key insert per row was most of
 * /assign's write cost). Reads unnest the arrays (`assignmentsOf` in the repository); the report counts
 * units there. Only the primary key is indexed: this is the table assignment writes to on every new unit.
 */
export const experimentAssignments = pgTable(
  'experiment_assignments',
  {
    tenantId: uuid('tenant_id').notNull(),
    unitId: text('unit_id').notNull(),
    experimentIds: uuid('experiment_ids').array().notNull(),
    variantIds: uuid('variant_ids').array().notNull(),
    firstExposedAt: timestamp('first_exposed_at', { withTimezone: true }).array().notNull(),
    lastExposedAt: timestamp('last_exposed_at', { withTimezone: true }).array().notNull(),
    exposures: integer('exposures').array().notNull(),
    /** The transaction that last wrote the row (every write sets it): rollups refresh the units changed since. */
    changedXid: xid8('changed_xid').default(sql`pg_current_xact_id()`),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.unitId] }), index('experiment_assignments_changed_idx').on(t.tenantId, t.changedXid)],
);

/**
 * Metric events of units (clicks, add-to-carts, purchases, any tracked event). Not tied to one experiment: a
 * report joins them to its assignments inside the conversion window. (tenant, event, dedupe_key) is unique, so a
 * purchase tracked twice counts once.
 */
export const experimentMetricEvents = pgTable(
  'experiment_metric_events',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    unitId: text('unit_id').notNull(),
    event: text('event').notNull(),
    /** The event's numeric value (revenue in major units for purchases; 1 otherwise unless given). */
    value: doublePrecision('value').notNull().default(1),
    amountMinor: bigint('amount_minor', { mode: 'bigint' }),
    currency: text('currency'),
    dedupeKey: text('dedupe_key').notNull(),
    experimentId: uuid('experiment_id'),
    itemId: text('item_id'),
    recommendationId: text('recommendation_id'),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    /** The inserting transaction (null for rows from before rollups): rollups refresh the units with new events. */
    ingestXid: xid8('ingest_xid').default(sql`pg_current_xact_id()`),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('experiment_metric_events_dedupe_key').on(t.tenantId, t.event, t.dedupeKey),
    index('experiment_metric_events_unit_idx').on(t.tenantId, t.unitId, t.event, t.occurredAt),
    index('experiment_metric_events_ingest_idx').on(t.tenantId, t.ingestXid),
  ],
);

/**
 * Rollups, per-unit state: one row per (experiment, metric definition, exposed unit) with the unit's variant, day
 * of first exposure, exposures, and its capped metric value and denominator count, exactly as the raw report
 * computes them (numeric: sums of values and of squares stay exact whatever order deltas arrive in). `metric_key`
 * is a hash of the definition and the experiment's window and currency (`units` for the exposure counts alone),
 * so an edited metric starts a new key (a rebuild) and the old one is dropped.
 */
export const experimentUnitMetrics = pgTable(
  'experiment_unit_metrics',
  {
    tenantId: uuid('tenant_id').notNull(),
    experimentId: uuid('experiment_id').notNull(),
    metricKey: text('metric_key').notNull(),
    unitId: text('unit_id').notNull(),
    variantId: uuid('variant_id').notNull(),
    day: date('day').notNull(),
    exposures: integer('exposures').notNull(),
    x: numeric('x').notNull(),
    y: numeric('y').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.experimentId, t.metricKey, t.unitId] })],
);

/**
 * Rollups, per (experiment, metric key, variant, day of first exposure): units, exposures and the exact sufficient
 * statistics (Σx, Σx², Σy, Σy², Σxy), moved by the difference between a changed unit's old and new state. The
 * report sums a variant's days: a few hundred rows instead of the experiment's units and events.
 */
export const experimentMetricRollups = pgTable(
  'experiment_metric_rollups',
  {
    tenantId: uuid('tenant_id').notNull(),
    experimentId: uuid('experiment_id').notNull(),
    metricKey: text('metric_key').notNull(),
    variantId: uuid('variant_id').notNull(),
    day: date('day').notNull(),
    n: bigint('n', { mode: 'number' }).notNull(),
    exposures: bigint('exposures', { mode: 'number' }).notNull(),
    sum: numeric('sum').notNull(),
    sumSquares: numeric('sum_squares').notNull(),
    denominatorSum: numeric('denominator_sum').notNull(),
    denominatorSumSquares: numeric('denominator_sum_squares').notNull(),
    sumProduct: numeric('sum_product').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.experimentId, t.metricKey, t.variantId, t.day] })],
);

/**
 * How far each (experiment, metric key) rollup has read: rows written by transactions the `watermark` snapshot
 * sees are in it (null: never built, the next refresh builds it whole); a whole snapshot, not its xmin, so one long
 * transaction elsewhere does not make every refresh re-read what was written since it began. Its row lock
 * serializes refreshes of one rollup.
 */
export const experimentRollupWatermarks = pgTable(
  'experiment_rollup_watermarks',
  {
    tenantId: uuid('tenant_id').notNull(),
    experimentId: uuid('experiment_id').notNull(),
    metricKey: text('metric_key').notNull(),
    watermark: pgSnapshot('watermark'),
    /** When the watermark snapshot was taken: the rollup holds every row committed before it (the report's `as_of`). */
    refreshedAt: timestamp('refreshed_at', { withTimezone: true }),
    /**
     * A refresh in progress (null: none): the snapshot it will set as the watermark when its last batch commits, when
     * that snapshot was taken, and the last unit id its committed batches recomputed (batches walk unit ids in order,
     * each in its own transaction).
     */
    target: pgSnapshot('target'),
    targetAt: timestamp('target_at', { withTimezone: true }),
    cursor: text('cursor'),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.experimentId, t.metricKey] })],
);

/**
 * Bandit weights over time: one row per (experiment, period). Period 0 holds the starting weights (written on
 * start); period k >= 1 the weights the update job computed once the period began; `started_at` is when they
 * took effect (were stored), so each unit counts against the weights it was assigned under. The primary key makes each
 * period's update happen once however many workers race. SRM compares each period's new units with its weights.
 */
export const experimentBanditPeriods = pgTable(
  'experiment_bandit_periods',
  {
    tenantId: uuid('tenant_id').notNull(),
    experimentId: uuid('experiment_id').notNull(),
    period: integer('period').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    /** Weights by variant position (sum to 1). */
    weights: jsonb('weights').notNull(),
    /** Probability each arm is best (Monte Carlo), null for period 0 or when too few units to update. */
    bestArmProbabilities: jsonb('best_arm_probabilities'),
    /** Units exposed and primary-metric sums per arm the update saw (n, sum, sum_squares by position). */
    arms: jsonb('arms').notNull().default([]),
    /** Why the weights are what they are ("updated", "burn-in", "too few units: ..."). */
    message: text('message').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.experimentId, t.period] })],
);
