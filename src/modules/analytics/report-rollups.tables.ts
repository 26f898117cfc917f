import { customType, doublePrecision, index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** A snapshot (`pg_current_snapshot()`), as its text form. */
const pgSnapshot = customType<{ data: string }>({ dataType: () => 'pg_snapshot' });
const int8Array = customType<{ data: string[] }>({ dataType: () => 'bigint[]' });
const int2Array = customType<{ data: number[] }>({ dataType: () => 'smallint[]' });
const float8Array = customType<{ data: number[] }>({ dataType: () => 'double precision[]' });

/**
 * Seed 000's daily views as UTC-hour rollups (report-rollups.service.ts): session stats, page performance and cart
 * abandonment per UTC hour, and page performance per UTC hour x page x page type. No session attributes: filtered and
 * broken-down reads take the raw rows (report-rollups.service.ts `shapeMisfit`). Hours, not days, so any time zone
 * whose offset is a whole number of hours reads them (a local day is 23, 24 or 25 UTC hours). Distinct counts keep the
 * hashed members (`hashtextextended`, 64 bits) of those that span hours, so a sum over hours counts each person or
 * session once. Every hour a changed session touches is recounted whole from the raw rows (late events and erasures
 * included): an hour's rows are deleted and rewritten together.
 */
export const analyticsReportRollups = pgTable('analytics_report_rollups', {
  tenantId: uuid('tenant_id').primaryKey(),
  /** The snapshot the last refresh started from (null: never built). */
  watermark: pgSnapshot('watermark'),
  refreshedAt: timestamp('refreshed_at', { withTimezone: true }),
});

/** The UTC hour each session was last counted in (its start's), so a session whose start moves has its old hour redone. */
export const analyticsSessionMarks = pgTable(
  'analytics_session_marks',
  {
    tenantId: uuid('tenant_id').notNull(),
    /** A row key (the attribute columns may be null): the primary key with tenant_id, which Citus needs. */
    id: uuid('id').notNull().defaultRandom(),
    sessionId: text('session_id').notNull(),
    hour: timestamp('hour', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('analytics_session_marks_session_idx').on(t.tenantId, t.sessionId),
    index('analytics_session_marks_hour_idx').on(t.tenantId, t.hour),
  ],
);

/**
 * Page views per (UTC hour, page, page type), no session attributes: what `/top-pages` and a page type's `/page-views`
 * read. Distinct sessions stay exact without keeping every member, as `analytics_report_hour_totals`: a session whose
 * views of the page all fall in this one row is a count (`page_sessions_single`), one whose views of it span rows keeps
 * its hash (`page_sessions_multi`), so a page's sessions over any hours and page types are the counts plus the distinct
 * hashes. Over several pages (top pages' 'other', a page type) a session counts once only if every view it made is in
 * this row (`sessions_single`); every other session keeps its hash in each row it touches (`sessions_multi`).
 * Recounted with the other hour rows.
 */
export const analyticsPageHourTotals = pgTable(
  'analytics_page_hour_totals',
  {
    tenantId: uuid('tenant_id').notNull(),
    /** A row key (page_type may be null): the primary key with tenant_id, which Citus needs. */
    id: uuid('id').notNull().defaultRandom(),
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    page: text('page').notNull(),
    pageType: text('page_type'),
    views: integer('views').notNull(),
    timeSum: doublePrecision('time_sum').notNull(),
    timeCount: integer('time_count').notNull(),
    scrollSum: doublePrecision('scroll_sum').notNull(),
    scrollCount: integer('scroll_count').notNull(),
    pageSessionsSingle: integer('page_sessions_single').notNull(),
    pageSessionsMulti: int8Array('page_sessions_multi').notNull(),
    sessionsSingle: integer('sessions_single').notNull(),
    sessionsMulti: int8Array('sessions_multi').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('analytics_page_hour_totals_hour_idx').on(t.tenantId, t.hour)],
);

/**
 * The hour rows without session attributes, for the unfiltered reads (most reads): one row per (tenant, UTC hour) with
 * the session measures (`persons`: the hour's distinct hashed people), the page measures and the cart measures. Distinct
 * sessions over many hours stay exact without keeping every member: a session whose page views (cart events) all fall in
 * one UTC hour is counted in that hour (`page_sessions_single`, `carts_single`, ...); only sessions spanning hours keep
 * their hash (`page_sessions_multi`; for carts `cart_multi_keys` with, in the same order, the hour's `cart_multi_flags`
 * (1 added, 2 converted) and items), and a read counts those distinct (a cart's items go to its first hour in the window,
 * as the raw report's). Recounted with the other hour rows.
 */
export const analyticsReportHourTotals = pgTable(
  'analytics_report_hour_totals',
  {
    tenantId: uuid('tenant_id').notNull(),
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    sessions: integer('sessions').notNull(),
    bounces: integer('bounces').notNull(),
    durationSum: doublePrecision('duration_sum').notNull(),
    durationCount: integer('duration_count').notNull(),
    pageViews: doublePrecision('page_views').notNull(),
    cartAdds: doublePrecision('cart_adds').notNull(),
    purchases: doublePrecision('purchases').notNull(),
    convertedSessions: integer('converted_sessions').notNull(),
    persons: int8Array('persons').notNull(),
    views: integer('views').notNull(),
    timeSum: doublePrecision('time_sum').notNull(),
    timeCount: integer('time_count').notNull(),
    scrollSum: doublePrecision('scroll_sum').notNull(),
    scrollCount: integer('scroll_count').notNull(),
    pageSessionsSingle: integer('page_sessions_single').notNull(),
    pageSessionsMulti: int8Array('page_sessions_multi').notNull(),
    cartSessionsSingle: integer('cart_sessions_single').notNull(),
    cartsSingle: integer('carts_single').notNull(),
    convertedCartsSingle: integer('converted_carts_single').notNull(),
    conversionsSingle: integer('conversions_single').notNull(),
    itemsAddedSingle: doublePrecision('items_added_single').notNull(),
    itemsRemovedSingle: doublePrecision('items_removed_single').notNull(),
    cartMultiKeys: int8Array('cart_multi_keys').notNull(),
    cartMultiFlags: int2Array('cart_multi_flags').notNull(),
    cartMultiAdded: float8Array('cart_multi_added').notNull(),
    cartMultiRemoved: float8Array('cart_multi_removed').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.hour] })],
);
