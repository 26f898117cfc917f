import { bigint, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * One row per uploaded file: where the raw file is kept, how it is read, and live counters. Counters and
 * `checkpoint_row` advance together after each committed batch, so a resumed job skips exactly the rows
 * already written.
 */
export const importRuns = pgTable(
  'import_runs',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    kind: text('kind').notNull(), // items | interactions
    status: text('status').notNull().default('queued'), // queued | running | succeeded | failed
    mode: text('mode').notNull(), // sync | async
    fileName: text('file_name').notNull(),
    storageKey: text('storage_key'),
    fileBytes: bigint('file_bytes', { mode: 'number' }).notNull().default(0),
    compressed: text('compressed'), // gzip | null
    format: text('format'), // csv | json | ndjson
    delimiter: text('delimiter'),
    options: jsonb('options').notNull().default({}), // mapping, format, delimiter, custom types as given
    jobId: uuid('job_id'),
    rowsRead: integer('rows_read').notNull().default(0),
    rowsAccepted: integer('rows_accepted').notNull().default(0),
    rowsRejected: integer('rows_rejected').notNull().default(0),
    rowsDuplicate: integer('rows_duplicate').notNull().default(0),
    warnings: integer('warnings').notNull().default(0),
    bytesRead: bigint('bytes_read', { mode: 'number' }).notNull().default(0),
    checkpointRow: integer('checkpoint_row').notNull().default(0),
    statistics: jsonb('statistics'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    createdBy: text('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('import_runs_tenant_created_idx').on(t.tenantId, t.createdAt)],
);

/** Row-level problems of an import (errors and warnings). Keyed so a replayed batch adds nothing twice. */
export const importErrors = pgTable(
  'import_errors',
  {
    tenantId: uuid('tenant_id').notNull(),
    importId: uuid('import_id').notNull(),
    row: integer('row').notNull(),
    field: text('field').notNull(),
    code: text('code').notNull(),
    severity: text('severity').notNull(), // error | warning
    reason: text('reason').notNull(),
    value: text('value'),
    itemId: text('item_id'),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.importId, t.row, t.field, t.code] })],
);

/**
 * Column mappings a tenant saved under a name, to pick at the next upload of a file of that layout (a supplier's
 * feed, a point-of-sale export). `mapping` is what an upload's `mapping` field takes; names are unique per kind.
 */
export const importMappings = pgTable(
  'import_mappings',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    kind: text('kind').notNull(), // items | interactions
    name: text('name').notNull(),
    mapping: jsonb('mapping').notNull(),
    anonymousRows: text('anonymous_rows'), // anonymous | null (reject)
    createdBy: text('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), uniqueIndex('import_mappings_name_key').on(t.tenantId, t.kind, t.name)],
);
