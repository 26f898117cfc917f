import {
  bigint,
  boolean,
  customType,
  doublePrecision,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';

/** A snapshot (`pg_current_snapshot()`), as its text form. */
const pgSnapshot = customType<{ data: string }>({ dataType: () => 'pg_snapshot' });
const int8Array = customType<{ data: string[] }>({ dataType: () => 'bigint[]' });

/**
 * Seed 000's daily views as UTC-hour rollups (report-rollups.service.ts): session stats, page performance and cart
 * abandonment per UTC hour x the session's attributes. Hours, not days, so any time zone whose offset is a whole
 * number of hours reads them (a local day is 23, 24 or 25 UTC hours). Distinct counts keep the hashed members
 * (`hashtextextended`, 64 bits) so a sum over hours counts each person or session once. Every hour a changed
 * session touches is recounted whole from the raw rows (late events and erasures included). Rows have no key:
 * an hour's rows are deleted and rewritten together.
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

const attrs = {
  device: text('device'),
  browser: text('browser'),
  os: text('os'),
  country: text('country'),
  utmSource: text('utm_source'),
  utmMedium: text('utm_medium'),
  utmCampaign: text('utm_campaign'),
};

/** Sessions started per UTC hour and attributes: additive measures, and the hashed people (`users` = distinct over hours). */
export const analyticsSessionHours = pgTable(
  'analytics_session_hours',
  {
    tenantId: uuid('tenant_id').notNull(),
    /** A row key (the attribute columns may be null): the primary key with tenant_id, which Citus needs. */
    id: uuid('id').notNull().defaultRandom(),
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    ...attrs,
    sessions: integer('sessions').notNull(),
    bounces: integer('bounces').notNull(),
    durationSum: doublePrecision('duration_sum').notNull(),
    durationCount: integer('duration_count').notNull(),
    pageViews: doublePrecision('page_views').notNull(),
    cartAdds: doublePrecision('cart_adds').notNull(),
    purchases: doublePrecision('purchases').notNull(),
    convertedSessions: integer('converted_sessions').notNull(),
    persons: int8Array('persons').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('analytics_session_hours_hour_idx').on(t.tenantId, t.hour)],
);

/** Page views per UTC hour, page, page type and session attributes, with the hashed sessions that viewed it. */
export const analyticsPageHours = pgTable(
  'analytics_page_hours',
  {
    tenantId: uuid('tenant_id').notNull(),
    /** A row key (the attribute columns may be null): the primary key with tenant_id, which Citus needs. */
    id: uuid('id').notNull().defaultRandom(),
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    page: text('page').notNull(),
    pageType: text('page_type'),
    ...attrs,
    views: integer('views').notNull(),
    timeSum: doublePrecision('time_sum').notNull(),
    timeCount: integer('time_count').notNull(),
    scrollSum: doublePrecision('scroll_sum').notNull(),
    scrollCount: integer('scroll_count').notNull(),
    sessions: int8Array('sessions').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('analytics_page_hours_hour_idx').on(t.tenantId, t.hour)],
);

/**
 * Cart events per (UTC hour, session): whether the session added an item or converted in that hour, the items added and
 * removed. A report groups a window's rows by session (its first hour in the window is its bucket, as the raw report's
 * first cart event), so carts, conversions and abandonment equal the raw count for any whole-hour window.
 */
export const analyticsCartHours = pgTable(
  'analytics_cart_hours',
  {
    tenantId: uuid('tenant_id').notNull(),
    /** A row key (the attribute columns may be null): the primary key with tenant_id, which Citus needs. */
    id: uuid('id').notNull().defaultRandom(),
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    sessionKey: bigint('session_key', { mode: 'bigint' }).notNull(),
    ...attrs,
    added: boolean('added').notNull(),
    converted: boolean('converted').notNull(),
    itemsAdded: doublePrecision('items_added').notNull(),
    itemsRemoved: doublePrecision('items_removed').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('analytics_cart_hours_hour_idx').on(t.tenantId, t.hour)],
);
