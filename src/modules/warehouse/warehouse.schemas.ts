import { z } from 'zod';

/** The tables the warehouse export writes, in the order a run exports them. */
export const EXPORT_TABLES = ['events', 'profiles', 'orders', 'items'] as const;

const table = z.enum(EXPORT_TABLES);

export const watermarkSchema = z.object({
  table,
  key_ts: z.string().nullable(),
  key_id: z.string().nullable(),
  batches: z.number(),
  rows_exported: z.number(),
  last_error: z.string().nullable(),
  last_run_at: z.string().nullable(),
});

export const exportFileSchema = z.object({
  table,
  seq: z.number(),
  partition_date: z.string(),
  path: z.string().describe('relative to the export folder: tenant_id=<id>/<table>/date=<YYYY-MM-DD>/part-<seq>-<token>.parquet'),
  row_count: z.number(),
  bytes: z.number(),
  sha256: z.string(),
  created_at: z.string(),
});

export const exportStatusResponse = z.object({
  interval_minutes: z.number(),
  watermarks: z.array(watermarkSchema),
  files: z.array(exportFileSchema).describe('the most recent committed files, newest first'),
});

export const startExportBody = z
  .object({ tables: z.array(table).min(1).max(EXPORT_TABLES.length).optional() })
  .strict()
  .optional();

export const manifestResponse = z
  .object({
    format: z.literal('loupe.warehouse.v1'),
    tenant_id: z.string(),
    generated_at: z.string(),
    file_format: z.literal('parquet'),
    tables: z.record(z.string(), z.unknown()),
  })
  .describe('The manifest written beside the files (tenant_id=<id>/manifest.json): per table its columns, watermark and files');
