import { z } from 'zod';
import { UNSAFE_TEXT_MESSAGE, unsafeTextReason } from '../../platform/text.ts';
import { COMPARE_OPS, PROFILE_FIELDS, SCORE_FIELDS, TRAIT_OPS } from './cohorts.core.ts';

/** Saved cohorts under /api/v1/analytics/cohorts (definitions: `cohorts.core.ts`). */
const text = (max: number) =>
  z
    .string()
    .max(max)
    .superRefine((s, ctx) => {
      const bad = unsafeTextReason(s);
      if (bad) ctx.addIssue({ code: 'custom', message: UNSAFE_TEXT_MESSAGE[bad] });
    });
const finite = z.number().finite().min(-1e15).max(1e15);

const traitRule = z
  .object({
    kind: z.literal('trait'),
    key: text(100).pipe(z.string().min(1)),
    op: z.enum(TRAIT_OPS),
    value: z.union([text(200), finite]).optional(),
  })
  .strict()
  .refine((r) => r.op === 'exists' || r.op === 'not_exists' || r.value !== undefined, {
    message: 'value is required for this op',
    path: ['value'],
  })
  .refine((r) => !['gt', 'gte', 'lt', 'lte'].includes(r.op) || typeof r.value === 'number', {
    message: 'gt, gte, lt and lte compare numbers: value must be a number',
    path: ['value'],
  });
const profileRule = z
  .object({ kind: z.literal('profile'), field: z.enum(PROFILE_FIELDS), op: z.enum(COMPARE_OPS), value: finite })
  .strict()
  .refine((r) => r.field !== 'revenue_minor' || Number.isSafeInteger(r.value), {
    message: 'revenue_minor is in minor units: an integer',
    path: ['value'],
  });
const eventRule = z
  .object({
    kind: z.literal('event'),
    event: text(100).pipe(z.string().min(1)),
    op: z.enum(COMPARE_OPS),
    count: z.number().int().min(0).max(1_000_000),
    within_days: z.number().int().min(1).max(3650),
  })
  .strict();
const segmentRule = z
  .object({
    kind: z.literal('segment'),
    segments: z
      .array(text(100).pipe(z.string().min(1)))
      .min(1)
      .max(50),
  })
  .strict();
const scoreRule = z.object({ kind: z.literal('score'), score: z.enum(SCORE_FIELDS), op: z.enum(COMPARE_OPS), value: finite }).strict();

export const cohortDefinition = z
  .object({
    match: z.enum(['all', 'any']).default('all'),
    rules: z
      .array(z.union([traitRule, profileRule, eventRule, segmentRule, scoreRule]))
      .min(1)
      .max(20),
  })
  .strict()
  .describe('Rules over profile traits and aggregates, events, RFM segment and prediction scores; all or any must hold');

export const cohortBody = z
  .object({
    name: text(100).pipe(z.string().trim().min(1)),
    description: text(1000).default(''),
    definition: cohortDefinition,
  })
  .strict();
export const previewBody = z.object({ definition: cohortDefinition }).strict();
export const cohortParams = z.object({ id: z.string().uuid() }).strict();
export const membersQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().uuid().optional(),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict();

export const cohortResponse = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  definition: z.any().describe('as created (see the request body)'),
  created_at: z.string(),
  updated_at: z.string(),
  /** Present on single reads: the members now. */
  count: z.number().int().optional(),
});
export const cohortListResponse = z.object({ data: z.array(cohortResponse) });
export const previewResponse = z.object({ count: z.number().int(), as_of: z.string() });
export const membersResponse = z.object({
  data: z.array(
    z.object({
      profile_id: z.string(),
      total_orders: z.number().int(),
      event_count: z.number().int(),
      revenue_minor: z.string().describe('minor units, all currencies summed as identity keeps them'),
      last_seen_at: z.string().nullable(),
    }),
  ),
  next_cursor: z.string().nullable(),
  as_of: z.string(),
});
