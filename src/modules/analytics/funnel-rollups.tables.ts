import { customType, date, doublePrecision, index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** A snapshot (`pg_current_snapshot()`: xmin, xmax and the transactions in progress), as its text form. */
const pgSnapshot = customType<{ data: string }>({ dataType: () => 'pg_snapshot' });
const timestamptzArray = customType<{ data: string }>({ dataType: () => 'timestamptz[]' });
const int4Array = customType<{ data: number[] }>({ dataType: () => 'integer[]' });

/**
 * Funnel rollups, per session: for one ordered list of funnel stages (`funnel_key`), each session's greedy
 * earliest reach of step 1, 2, ... (`step_at`, as long as the deepest step reached) over all of the session's
 * stage events, and the span of those events (`first_at`, `last_at`). A report whose window holds a session's
 * whole span reads its row; the rest (sessions cut by the window, sessions written to since the watermark) are
 * sequenced from the raw rows in the same statement. `anchor_id` is the least id of the session's stage events:
 * it survives an erasure's session rename, so the renamed session's old row is found. No person id is kept. The
 * session's report attributes as of the refresh are kept too: they say which `analytics_funnel_days` row counts it.
 */
export const analyticsFunnelSessions = pgTable(
  'analytics_funnel_sessions',
  {
    tenantId: uuid('tenant_id').notNull(),
    funnelKey: text('funnel_key').notNull(),
    sessionId: text('session_id').notNull(),
    anchorId: uuid('anchor_id').notNull(),
    firstAt: timestamp('first_at', { withTimezone: true }).notNull(),
    lastAt: timestamp('last_at', { withTimezone: true }).notNull(),
    stepAt: timestamptzArray('step_at').notNull(),
    device: text('device'),
    browser: text('browser'),
    os: text('os'),
    utmSource: text('utm_source'),
    utmMedium: text('utm_medium'),
    utmCampaign: text('utm_campaign'),
    country: text('country'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.funnelKey, t.sessionId] }),
    index('analytics_funnel_sessions_span_idx').on(t.tenantId, t.funnelKey, t.firstAt),
    index('analytics_funnel_sessions_anchor_idx').on(t.tenantId, t.anchorId),
  ],
);

/**
 * One row per funnel rollup: its steps and watermark, the snapshot its last refresh started from (null: never
 * built). Funnel rows written by a transaction that snapshot does not see are the tail a report sequences raw; a
 * snapshot, not just its xmin, so one long transaction elsewhere does not turn every later row into tail.
 */
export const analyticsFunnelRollups = pgTable(
  'analytics_funnel_rollups',
  {
    tenantId: uuid('tenant_id').notNull(),
    funnelKey: text('funnel_key').notNull(),
    steps: text('steps').array().notNull(),
    watermark: pgSnapshot('watermark'),
    refreshedAt: timestamp('refreshed_at', { withTimezone: true }),
    /** The longest span (last_at - first_at, seconds) of any session row so far (never lowered): bounds a read's index ranges. */
    maxSpanSeconds: doublePrecision('max_span_seconds').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.funnelKey] })],
);

/**
 * The funnel rollups' per-day pre-aggregate: per (UTC day of a session's first step event, UTC day of its last,
 * dimension, value) the sum of the `analytics_funnel_sessions` rows as of the rollup's watermark, as a sparse
 * histogram: `cells[k]` (ascending) counted `counts[k]` times. Cell 0 counts sessions reaching step 1; cell
 * `i * FUNNEL_HISTOGRAM_BUCKETS + b` sessions reaching step i+1 whose time from step i fell in log bucket b
 * (funnel-histogram.core.ts). Dimension '' (value '') is the whole funnel; each of device, browser, os, utm_source,
 * utm_medium, utm_campaign, country splits the same sessions by the attribute ('(none)' when unset). A report over whole days
 * merges these rows instead of reading one row per session; rewritten for the days a refresh touched.
 */
export const analyticsFunnelDays = pgTable(
  'analytics_funnel_days',
  {
    tenantId: uuid('tenant_id').notNull(),
    funnelKey: text('funnel_key').notNull(),
    firstDay: date('first_day').notNull(),
    lastDay: date('last_day').notNull(),
    dimension: text('dimension').notNull(),
    value: text('value').notNull(),
    sessions: integer('sessions').notNull(),
    cells: int4Array('cells').notNull(),
    counts: int4Array('counts').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.funnelKey, t.dimension, t.firstDay, t.lastDay, t.value] })],
);
