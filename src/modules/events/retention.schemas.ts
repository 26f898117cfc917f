import { z } from 'zod';

const MAX_RETENTION_MONTHS = 1200;

export const retentionBody = z
  .object({
    months: z
      .number()
      .int()
      .min(1)
      .max(MAX_RETENTION_MONTHS)
      .nullable()
      .describe('Whole months kept before the current one (null: keep everything, up to the platform retention)'),
    archive: z
      .boolean()
      .default(true)
      .describe("Delete only events the Parquet export has already written (the Data page's export), so a copy is kept"),
  })
  .strict();

export const retentionResponse = z.object({
  months: z.number().int().nullable(),
  archive: z.boolean(),
  platform_months: z.number().int().nullable().describe('LOUPE_INTERACTIONS_RETENTION_MONTHS, applied over every tenant'),
  kept_from: z.string().nullable().describe('Events before this instant are not stored (null: all kept)'),
  past_retention: z.object({
    rows: z.number().int().describe('Stored events before kept_from (counted up to 100,000)'),
    awaiting_archive: z.number().int().describe('Of those, events the export has not written yet: kept until it has'),
    capped: z.boolean(),
  }),
  last_purge_at: z.string().nullable(),
  last_purged_rows: z.number().int(),
  purged_rows: z.number().int(),
});

export const purgeResponse = z.object({
  deleted: z.number().int(),
  awaiting_archive: z.number().int(),
  done: z.boolean().describe('False when rows past the retention are left for the next run (batch budget)'),
});
