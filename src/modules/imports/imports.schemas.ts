import { z } from 'zod';

export const importKind = z.enum(['items', 'interactions']);

/** Multipart text fields accepted next to the file (anything else is refused, naming the field). */
export const UPLOAD_FIELDS = [
  'mapping',
  'mapping_id',
  'delimiter',
  'format',
  'mode',
  'tenant_id',
  'custom_types',
  'source',
  'anonymous_rows',
] as const;

/** Rows that name no customer: `reject` them (default) or import them as `anonymous` shoppers, one per order or session. */
export const anonymousRows = z.enum(['reject', 'anonymous']);

export const uploadFields = z
  .object({
    mapping: z.record(z.string().min(1).max(300), z.string().max(100)).optional(),
    /** A saved mapping (GET /imports/mappings) to apply; columns named in `mapping` override it. */
    mapping_id: z.string().max(100).optional(),
    delimiter: z
      .string()
      .transform((d) => (d === 'tab' || d === '\\t' ? '\t' : d))
      .pipe(z.string().length(1, 'delimiter must be one character (or "tab")'))
      .optional(),
    format: z.enum(['csv', 'json', 'ndjson']).optional(),
    mode: z.enum(['sync', 'async']).optional(),
    tenant_id: z.string().max(100).optional(),
    custom_types: z.array(z.string().max(60)).max(100).optional(),
    /** Channel of the rows, e.g. `pos` for a point-of-sale export (default `upload`). */
    source: z.string().max(40).optional(),
    anonymous_rows: anonymousRows.optional(),
  })
  .strict();

export const validationError = z.object({
  row: z.number(),
  field: z.string(),
  code: z.string(),
  severity: z.enum(['error', 'warning']),
  error: z.string(),
  value: z.string().nullable(),
  item_id: z.string().nullable(),
});

export const interactionStatistics = z.object({
  unique_users: z.number(),
  unique_items: z.number(),
  interaction_types: z.record(z.string(), z.number()),
});

/**
 * How a finished import went, beyond "it ran to its end": `complete` (nothing rejected), `partial` (some rows
 * rejected), `mostly_rejected` (half or more rejected), `nothing_imported` (no row accepted); null while it runs
 * or when it failed as a whole.
 */
export const importOutcome = z.enum(['complete', 'partial', 'mostly_rejected', 'nothing_imported']);

export const issueSummary = z.object({
  field: z.string(),
  code: z.string(),
  severity: z.string(),
  reason: z.string().describe('One of the reasons given for this field and code'),
  rows: z.number(),
});

/** Seed 003 steps 4 and 5, plus the import's id and links. */
export const uploadSyncResponse = z.object({
  status: z.literal('success'),
  import_id: z.string(),
  rows_accepted: z.number(),
  rows_rejected: z.number(),
  rows_duplicate: z.number().describe('Rows already stored (same dedupe key): a re-import, not an error'),
  warnings: z.number(),
  validation_errors: z.array(validationError).describe('The first 100 problems; all of them at validation_errors_url'),
  validation_errors_url: z.string(),
  storage_location: z.string(),
  statistics: z.union([interactionStatistics, z.object({ items_inserted: z.number(), items_updated: z.number() })]).optional(),
  outcome: importOutcome.describe('`status` stays "success" (seed 003) whenever the file was read; this says how much of it was kept'),
});

export const uploadAsyncResponse = z.object({
  status: z.literal('queued'),
  import_id: z.string(),
  job_id: z.string().nullable(),
  progress_url: z.string(),
  validation_errors_url: z.string(),
  storage_location: z.string(),
});

export const importRun = z.object({
  id: z.string(),
  kind: importKind,
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'interrupted']),
  mode: z.enum(['sync', 'async']),
  file_name: z.string(),
  file_bytes: z.number(),
  compressed: z.string().nullable(),
  format: z.string().nullable(),
  delimiter: z.string().nullable(),
  job_id: z.string().nullable(),
  rows_read: z.number(),
  rows_accepted: z.number(),
  rows_rejected: z.number(),
  rows_duplicate: z.number(),
  warnings: z.number(),
  outcome: importOutcome.nullable(),
  progress: z.object({ fraction: z.number(), rows_per_second: z.number(), eta_seconds: z.number().nullable() }),
  statistics: z.record(z.string(), z.unknown()).nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  validation_errors_url: z.string(),
  storage_location: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
});

export const importDetail = importRun.extend({
  validation_errors: z.array(validationError),
  problems: z.array(issueSummary).describe('Problems grouped by field and code, most frequent first (at most 10)'),
});

/** The resolved mapping of a header: what an upload with this header (and mapping) would do with each column. */
export const mappingPreviewBody = z
  .object({
    kind: importKind,
    headers: z.array(z.string().max(300)).min(1).max(500),
    mapping: z.record(z.string().min(1).max(300), z.string().max(100)).optional(),
    anonymous_rows: anonymousRows.optional(),
  })
  .strict();
export const mappingPreviewResponse = z.object({
  kind: importKind,
  fields: z.array(z.string()).describe('The fields this kind of import can fill'),
  columns: z.array(
    z.object({
      column: z.string(),
      field: z.string().nullable(),
      source: z.enum(['mapping', 'default', 'attribute', 'ignored']),
    }),
  ),
  constants: z.array(z.object({ field: z.string(), value: z.string() })),
  problems: z.array(z.string()).describe('What would refuse the file (a required field with no column, an unknown target)'),
  saved: z
    .object({
      import_id: z.string(),
      created_at: z.string(),
      mapping: z.record(z.string(), z.string()),
      anonymous_rows: anonymousRows.nullable(),
    })
    .nullable()
    .describe('The mapping of the newest import of a file with this same header that kept rows (null when none)'),
});

export const rerunBody = z
  .object({
    mapping: z.record(z.string().min(1).max(300), z.string().max(100)).optional(),
    anonymous_rows: anonymousRows.optional(),
    mode: z.enum(['sync', 'async']).optional(),
  })
  .strict();

/** Sort keys of GET /imports, a whitelist (each maps to one fixed SQL ordering in the repository). */
export const IMPORT_SORTS = ['created_at', '-created_at', 'file_name', '-file_name', 'rows_rejected', '-rows_rejected'] as const;
export type ImportSort = (typeof IMPORT_SORTS)[number];
/** Offset paging stops here: deeper pages scan too much; filters narrow instead. */
const IMPORT_OFFSET_MAX = 10_000;

export const importListQuery = z
  .object({
    kind: importKind.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.uuid().optional().describe('Keyset paging, newest first only (no `sort`, no `offset`)'),
    sort: z.enum(IMPORT_SORTS).optional().describe('A column, `-` first for descending; ties fall back to newest first'),
    offset: z.coerce
      .number()
      .int()
      .min(0)
      .max(IMPORT_OFFSET_MAX)
      .optional()
      .describe(`Rows to skip for page-numbered tables (at most ${IMPORT_OFFSET_MAX})`),
  })
  .refine((q) => !(q.cursor && (q.sort || q.offset !== undefined)), {
    message: 'cursor pages newest first: use offset with sort',
    path: ['cursor'],
  });
export const importListResponse = z.object({
  data: z.array(importRun),
  next_cursor: z.string().nullable(),
  total: z.number().int().describe('Imports matching the filters (all pages)'),
});

export const errorsQuery = z.object({ format: z.enum(['csv', 'ndjson']).default('csv') });

export const dataQualityResponse = z.object({
  data_quality: z.object({
    freshness_hours: z.number().nullable(),
    completeness_percent: z.number().nullable(),
    validity_percent: z.number().nullable(),
  }),
  completeness: z.object({ items: z.number(), fields: z.record(z.string(), z.number()) }),
  validity: z.object({ window_days: z.number(), imports: z.number(), rows_accepted: z.number(), rows_rejected: z.number() }),
  freshness: z.object({ last_item_update_at: z.string().nullable(), last_interaction_at: z.string().nullable() }),
});

/** The tenant's kept upload files against its storage quota. */
export const importStorage = z.object({ used_bytes: z.number(), files: z.number(), quota_bytes: z.number() });
