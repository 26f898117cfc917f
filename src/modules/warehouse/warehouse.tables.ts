import { sql } from 'drizzle-orm';
import { bigint, boolean, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * How far each exported table of a tenant has been written: the key (`key_ts`, `key_id`) of the last row in a
 * durable file, and the number of batches committed (a batch's files are named by its sequence number and the
 * exporter's fencing token; a batch redone after a crash first removes the files its journal names). Advanced only after the
 * batch's files are renamed into place and fsynced.
 */
export const warehouseWatermarks = pgTable(
  'warehouse_watermarks',
  {
    tenantId: uuid('tenant_id').notNull(),
    tableName: text('table_name').notNull(),
    keyTs: timestamp('key_ts', { withTimezone: true }),
    keyId: text('key_id'),
    batches: integer('batches').notNull().default(0),
    rowsExported: bigint('rows_exported', { mode: 'number' }).notNull().default(0),
    lastError: text('last_error'),
    lastRunAt: timestamp('last_run_at', { withTimezone: true }),
    /**
     * The journal of the batch being written (`{seq, token, files}`), or null: set under the export lease's lock
     * (an exporter fenced off cannot overwrite its taker's), cleared by the batch's commit; a journal found by the
     * next run names the files of a batch that never committed.
     */
    pending: jsonb('pending'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.tableName] })],
);

/** Every committed Parquet file: what the manifest lists (a file on disk but not here is a crashed batch's). */
export const warehouseFiles = pgTable(
  'warehouse_files',
  {
    tenantId: uuid('tenant_id').notNull(),
    tableName: text('table_name').notNull(),
    seq: integer('seq').notNull(),
    partitionDate: text('partition_date').notNull(),
    /** Relative to the export folder: `<table>/tenant_id=<id>/date=<YYYY-MM-DD>/part-<seq>-<token>.parquet`. */
    path: text('path').notNull(),
    rowCount: integer('row_count').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.tableName, t.seq, t.partitionDate] })],
);

/**
 * The marts (dbt-style, refreshed by the `warehouse.marts` job; columns documented in `marts.core.ts`). Each is a
 * per-tenant copy built from the owners' rows (through `MartSources`) or, for RFM and cohorts, by SQL over the
 * warehouse's own fact and dimension tables. A refresh replaces a tenant's rows in one transaction.
 */
export const warehouseFactOrders = pgTable(
  'warehouse_fact_orders',
  {
    tenantId: uuid('tenant_id').notNull(),
    orderId: text('order_id').notNull(),
    profileId: uuid('profile_id').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    orderDate: text('order_date').notNull(),
    currency: text('currency'),
    revenueMinor: bigint('revenue_minor', { mode: 'bigint' }).notNull(),
    refundedMinor: bigint('refunded_minor', { mode: 'bigint' }).notNull(),
    netMinor: bigint('net_minor', { mode: 'bigint' }).notNull(),
    orderNumber: integer('order_number').notNull(),
    isFirstOrder: boolean('is_first_order').notNull(),
    daysSincePreviousOrder: doublePrecision('days_since_previous_order'),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.orderId] }), index('warehouse_fact_orders_profile_idx').on(t.tenantId, t.profileId)],
);

export const warehouseDimProducts = pgTable(
  'warehouse_dim_products',
  {
    tenantId: uuid('tenant_id').notNull(),
    productId: uuid('product_id').notNull(),
    itemId: text('item_id').notNull(),
    name: text('name'),
    brand: text('brand'),
    categoryPath: text('category_path'),
    priceMinor: bigint('price_minor', { mode: 'bigint' }),
    salePriceMinor: bigint('sale_price_minor', { mode: 'bigint' }),
    currency: text('currency'),
    availability: text('availability'),
    isActive: boolean('is_active').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.productId] }), index('warehouse_dim_products_item_idx').on(t.tenantId, t.itemId)],
);

export const warehouseDimCustomers = pgTable(
  'warehouse_dim_customers',
  {
    tenantId: uuid('tenant_id').notNull(),
    profileId: uuid('profile_id').notNull(),
    status: text('status').notNull(),
    mergedInto: uuid('merged_into'),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
    eventCount: integer('event_count').notNull(),
    channels: text('channels').array().notNull(),
    orders: integer('orders').notNull(),
    netRevenueMinor: bigint('net_revenue_minor', { mode: 'bigint' }).notNull(),
    firstOrderAt: timestamp('first_order_at', { withTimezone: true }),
    lastOrderAt: timestamp('last_order_at', { withTimezone: true }),
    cohortMonth: text('cohort_month'),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.profileId] })],
);

export const warehouseRfmAnalysis = pgTable(
  'warehouse_rfm_analysis',
  {
    tenantId: uuid('tenant_id').notNull(),
    profileId: uuid('profile_id').notNull(),
    asOf: timestamp('as_of', { withTimezone: true }).notNull(),
    recencyDays: doublePrecision('recency_days').notNull(),
    frequency: integer('frequency').notNull(),
    monetaryMinor: bigint('monetary_minor', { mode: 'bigint' }).notNull(),
    rScore: integer('r_score').notNull(),
    fScore: integer('f_score').notNull(),
    mScore: integer('m_score').notNull(),
    rfmScore: text('rfm_score').notNull(),
    segment: text('segment').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.profileId] })],
);

export const warehouseCohortAnalysis = pgTable(
  'warehouse_cohort_analysis',
  {
    tenantId: uuid('tenant_id').notNull(),
    cohortMonth: text('cohort_month').notNull(),
    periodIndex: integer('period_index').notNull(),
    periodMonth: text('period_month').notNull(),
    cohortSize: integer('cohort_size').notNull(),
    activeCustomers: integer('active_customers').notNull(),
    orders: integer('orders').notNull(),
    netRevenueMinor: bigint('net_revenue_minor', { mode: 'bigint' }).notNull(),
    retentionRate: doublePrecision('retention_rate').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.cohortMonth, t.periodIndex] })],
);

/** Each mart refresh of a tenant: when, as of which instant, rows per mart, how long. The latest is the marts' freshness. */
export const warehouseMartRuns = pgTable(
  'warehouse_mart_runs',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    asOf: timestamp('as_of', { withTimezone: true }).notNull(),
    rowCounts: jsonb('row_counts').notNull(),
    durationMs: integer('duration_ms').notNull(),
    /** The owners' change marker read by this refresh: a scheduled run skips the rebuild while it is unchanged. */
    sourceMarker: text('source_marker'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('warehouse_mart_runs_recent_idx').on(t.tenantId, t.createdAt)],
);

/**
 * The history of data-quality results: one row per expectation per run (`run_id` groups a run). `observed` is the
 * measured figure (failing rows, hours since the newest row, ...), `failing_rows` up to five example keys.
 */
export const warehouseQualityResults = pgTable(
  'warehouse_quality_results',
  {
    tenantId: uuid('tenant_id').notNull(),
    runId: uuid('run_id').notNull(),
    checkName: text('check_name').notNull(),
    tableName: text('table_name').notNull(),
    kind: text('kind').notNull(),
    status: text('status').notNull(),
    observed: doublePrecision('observed'),
    threshold: doublePrecision('threshold'),
    examples: text('examples').array().notNull(),
    message: text('message').notNull(),
    trigger: text('trigger').notNull(),
    ranAt: timestamp('ran_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.runId, t.checkName] }),
    index('warehouse_quality_results_recent_idx').on(t.tenantId, t.ranAt),
  ],
);

/**
 * The one exporter of a tenant (any store, any process of the cluster): taken by compare-and-set (a row inserted,
 * or an expired one taken over, in one statement), refreshed while held, and fenced: `token` grows with every
 * taker, and a batch commits only while its exporter's token is still the row's (warehouse.repository.ts).
 */
export const warehouseExportLeases = pgTable('warehouse_export_leases', {
  tenantId: uuid('tenant_id').primaryKey(),
  owner: uuid('owner').notNull(),
  token: bigint('token', { mode: 'number' }).notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});
