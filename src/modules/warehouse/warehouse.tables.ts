import { sql } from 'drizzle-orm';
import { bigint, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * How far each exported table of a tenant has been written: the key (`key_ts`, `key_id`) of the last row in a
 * durable file, and the number of batches committed (a batch's files are named by its sequence number, so a
 * batch redone after a crash overwrites its own files instead of adding copies). Advanced only after the
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
    /** Relative to the export folder: `<table>/tenant_id=<id>/date=<YYYY-MM-DD>/part-<seq>.parquet`. */
    path: text('path').notNull(),
    rowCount: integer('row_count').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.tableName, t.seq, t.partitionDate] })],
);
