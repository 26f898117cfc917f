import { z } from 'zod';
import { MAPPABLE_ATTRIBUTES, MAPPING_SOURCES } from './feeds.mapping.core.ts';
import { TARGET_COUNTRIES } from './feeds.countries.core.ts';
import { PRECHECK_RULE_IDS } from './feeds.precheck.core.ts';

export const MAX_PRECHECK_ITEMS = 10_000;

const country = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code')
  .transform((s) => s.toUpperCase())
  .refine((c) => TARGET_COUNTRIES.includes(c), `must be a Google Shopping target country (${TARGET_COUNTRIES.join(', ')})`);

/** A product in Google's attribute names; values are text (numbers and booleans are accepted and written as text). */
const feedItem = z
  .record(
    z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'attribute names are Google snake_case names'),
    z.union([z.string().max(20_000), z.number(), z.boolean(), z.null()]),
  )
  .refine((o) => Object.keys(o).length <= 100, 'at most 100 attributes per item')
  .transform((o) => {
    const out: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(o)) out[k] = v === null ? undefined : String(v);
    return out;
  });

export const precheckParams = z.object({ tenantId: z.string().max(100) }).strict();

export const precheckBody = z
  .object({
    target_country: country.optional().describe("Default: the tenant's feed setting (US when unset)"),
    items: z
      .array(feedItem)
      .max(MAX_PRECHECK_ITEMS)
      .optional()
      .describe(
        `Up to ${MAX_PRECHECK_ITEMS} products in Google's attribute names (price as "19.99 USD"); without it, the tenant's active catalog`,
      ),
    rule: z
      .enum(PRECHECK_RULE_IDS as [string, ...string[]])
      .optional()
      .describe('Only items breaking this rule'),
    status: z
      .enum(['error', 'warning', 'ok', 'issues', 'all'])
      .default('issues')
      .describe('Which items to list (default: those with issues)'),
    offset: z.number().int().min(0).max(10_000_000).default(0),
    limit: z.number().int().min(1).max(5000).default(500),
  })
  .strict();

const issue = z.object({
  rule: z.string(),
  attribute: z.string(),
  severity: z.enum(['error', 'warning']),
  message: z.string(),
  fix: z.string(),
});

export const precheckResponse = z.object({
  target_country: z.string(),
  source: z.enum(['request', 'catalog']),
  summary: z.object({
    items: z.number(),
    ok: z.number(),
    warnings: z.number(),
    errors: z.number(),
    by_rule: z.record(z.string(), z.number()),
  }),
  rules: z.array(z.object({ rule: z.string(), severity: z.enum(['error', 'warning']) })),
  items: z.array(z.object({ index: z.number(), id: z.string(), status: z.enum(['ok', 'warning', 'error']), issues: z.array(issue) })),
  /** Total items matching the filter, and the next page's offset (null at the end). */
  matched: z.number(),
  next_offset: z.number().nullable(),
});

export const mappingRule = z
  .object({
    attribute: z.enum(MAPPABLE_ATTRIBUTES),
    source: z
      .string()
      .max(100)
      .refine(
        (s) => (MAPPING_SOURCES as readonly string[]).includes(s) || /^attributes\.[A-Za-z0-9_.-]{1,64}$/.test(s),
        `must be one of ${MAPPING_SOURCES.join(', ')} or attributes.<key>`,
      )
      .optional(),
    value: z.string().max(5000).optional(),
    categories: z
      .object({ mode: z.enum(['only', 'except']), paths: z.array(z.string().min(1).max(1000)).min(1).max(100) })
      .strict()
      .optional(),
  })
  .strict()
  .refine((r) => (r.source === undefined) !== (r.value === undefined), 'give exactly one of source or value');

export const feedSettingsBody = z
  .object({
    target_country: country,
    content_language: z.string().regex(/^[a-z]{2}$/, 'must be an ISO 639-1 language code such as en'),
    mapping_rules: z.array(mappingRule).max(200),
  })
  .strict();

export const feedSettingsResponse = z.object({
  target_country: z.string(),
  content_language: z.string(),
  mapping_rules: z.array(
    z.object({
      attribute: z.string(),
      source: z.string().optional(),
      value: z.string().optional(),
      categories: z.object({ mode: z.enum(['only', 'except']), paths: z.array(z.string()) }).optional(),
    }),
  ),
  updated_at: z.string().nullable(),
});
export type FeedSettingsResponse = z.infer<typeof feedSettingsResponse>;

const jobEvent = z.object({
  from_status: z.string().nullable(),
  to_status: z.string(),
  reason: z.string().nullable(),
  actor_type: z.string(),
  actor_id: z.string(),
  created_at: z.string(),
});
export const feedJob = z.object({
  id: z.string(),
  status: z.enum(['queued', 'processing', 'success', 'failed', 'retried']),
  trigger: z.string(),
  attempts: z.number(),
  max_attempts: z.number(),
  summary: z.record(z.string(), z.number()),
  last_error: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  history: z.array(jobEvent),
});
export const feedJobList = z.object({ data: z.array(feedJob), next_cursor: z.string().nullable() });
export const feedItemIssues = z.object({
  data: z.array(
    z.object({
      item_id: z.string(),
      status: z.string(),
      issues: z.array(z.object({ source: z.string(), field: z.string(), message: z.string() })),
      last_job_id: z.string().nullable(),
      updated_at: z.string(),
    }),
  ),
});
