import { z } from 'zod';
import { paginationQuery } from '../../platform/pagination.ts';
import { MART_NAMES } from './marts.core.ts';
import { QUALITY_KINDS, QUALITY_TRIGGERS } from './quality.core.ts';

export const martName = z.enum(MART_NAMES);

export const martColumnSchema = z.object({
  name: z.string(),
  type: z.enum(['string', 'integer', 'number', 'money', 'boolean', 'timestamp', 'string[]']).describe('money: minor units as a string'),
  doc: z.string(),
});

const lastRefresh = z
  .object({ id: z.string(), as_of: z.string(), duration_ms: z.number(), refreshed_at: z.string() })
  .nullable()
  .describe('the latest refresh (null: never refreshed: POST /api/v1/warehouse/marts/refresh)');

export const martsListResponse = z.object({
  last_refresh: lastRefresh,
  marts: z.array(
    z.object({ name: martName, description: z.string(), key: z.array(z.string()), rows: z.number(), columns: z.array(martColumnSchema) }),
  ),
});

export const martParams = z.object({ name: martName }).strict();

export const martQuery = z
  .object({
    ...paginationQuery,
    format: z.enum(['json', 'csv']).default('json').describe('csv: the whole mart from `cursor` on (at most 100,000 rows; header row)'),
  })
  .strict();

const cell = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.string())]);

export const martPageResponse = z.object({
  name: martName,
  last_refresh: lastRefresh,
  columns: z.array(martColumnSchema),
  data: z.array(z.record(z.string(), cell)).describe('rows in key order; columns as documented'),
  next_cursor: z.string().nullable(),
});

export const qualityResultSchema = z.object({
  check: z.string(),
  table: z.enum(['events', 'fact_orders', 'dim_products', 'dim_customers']),
  kind: z.enum(QUALITY_KINDS),
  status: z.enum(['pass', 'fail', 'skipped']),
  observed: z.number().nullable().describe('offending rows, or hours since the newest row (freshness)'),
  threshold: z.number(),
  examples: z.array(z.string()).describe('up to five keys of offending rows'),
  message: z.string(),
});

export const qualityQuery = z
  .object({
    run_id: z.string().max(64).optional().describe('a past run (default the latest)'),
    history: z.coerce.number().int().min(0).max(200).default(20).describe('recent runs to list'),
  })
  .strict();

export const qualityResponse = z.object({
  latest: z
    .object({ run_id: z.string(), ran_at: z.string(), trigger: z.enum(QUALITY_TRIGGERS), results: z.array(qualityResultSchema) })
    .nullable()
    .describe('the run asked for (default the latest; null: no run yet), failing checks first'),
  history: z.array(
    z.object({
      run_id: z.string(),
      ran_at: z.string(),
      trigger: z.enum(QUALITY_TRIGGERS),
      passed: z.number(),
      failed: z.number(),
      skipped: z.number(),
    }),
  ),
  expectations: z.array(
    z.object({ check: z.string(), table: z.string(), kind: z.enum(QUALITY_KINDS), description: z.string(), threshold: z.number() }),
  ),
});
