import { bigint, date, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** The Google Business Profile location a tenant's business profile is synced to (one per tenant). */
export const gbpLocations = pgTable('gbp_locations', {
  tenantId: uuid('tenant_id').primaryKey(),
  /** `accounts/{id}` the location was picked from. */
  accountName: text('account_name').notNull(),
  /** `locations/{id}`: the Business Information and Performance APIs' resource name. */
  locationName: text('location_name').notNull(),
  /** The location's title on Google when it was picked. */
  title: text('title'),
  /** 'synced' | 'unchanged' | 'rejected' (Google refused fields: see issues) | 'failed' (Google did not answer); null before any sync. */
  syncStatus: text('sync_status'),
  /** [{ field, google_field, message }] of the last sync Google refused, and fields Loupe did not send. */
  syncIssues: jsonb('sync_issues'),
  syncedAt: timestamp('synced_at', { withTimezone: true }),
  /** When the daily metrics were last fetched, and the error of the last failed fetch. */
  metricsFetchedAt: timestamp('metrics_fetched_at', { withTimezone: true }),
  metricsError: text('metrics_error'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Business Profile performance per location, day and metric (Performance API DailyMetric), as Google last reported
 * it: a re-fetch of a day overwrites its value (Google revises recent days), never adds a row.
 */
export const gbpDailyMetrics = pgTable(
  'gbp_daily_metrics',
  {
    tenantId: uuid('tenant_id').notNull(),
    locationName: text('location_name').notNull(),
    day: date('day').notNull(),
    /** BUSINESS_IMPRESSIONS_DESKTOP_MAPS, ..._DESKTOP_SEARCH, ..._MOBILE_MAPS, ..._MOBILE_SEARCH, BUSINESS_DIRECTION_REQUESTS, CALL_CLICKS, WEBSITE_CLICKS */
    metric: text('metric').notNull(),
    value: bigint('value', { mode: 'number' }).notNull(),
    fetchedAt: timestamp('fetched_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.locationName, t.day, t.metric] })],
);
