import { z } from 'zod';
import { countryCode } from '../../platform/schemas.ts';
import { UNSAFE_TEXT_MESSAGE, unsafeTextReason } from '../../platform/text.ts';
import { FUNNEL_STEP_RE } from './analytics.schemas.ts';

/**
 * Behavioural reports (`GET /api/v1/analytics/retention`, `/paths`): the same `from`, `to`, `tz` and session
 * filters as seed 000's reports.
 */
const filterValue = z.string().trim().min(1).max(200);
const common = {
  from: z.string().trim().min(1).max(40).optional(),
  to: z.string().trim().min(1).max(40).optional(),
  tz: z.string().trim().min(1).max(64).optional(),
  device: filterValue.optional(),
  browser: filterValue.optional(),
  os: filterValue.optional(),
  utm_source: filterValue.optional(),
  utm_medium: filterValue.optional(),
  utm_campaign: filterValue.optional(),
  country: countryCode.optional(),
};
/** A funnel stage, `cart:<cart event type>` or `page:<page type>`. */
const eventName = z.string().trim().regex(FUNNEL_STEP_RE, 'a stage name (letters, digits, _ . -), cart:<type> or page:<type>');

export const MAX_RETENTION_PERIODS = 52;
export const retentionQuery = z
  .object({
    ...common,
    /** The event whose first occurrence in the range puts a person in a cohort. */
    start_event: eventName.default('browse'),
    /** The event that counts as coming back (default: the start event). */
    return_event: eventName.optional(),
    period: z.enum(['day', 'week', 'month']).default('week'),
    /** Periods after the cohort's own (period 0) to report. */
    periods: z.coerce.number().int().min(1).max(MAX_RETENTION_PERIODS).default(8),
    /** "on": came back in that period; "on_or_after": came back in that period or any later one. */
    criterion: z.enum(['on', 'on_or_after']).default('on'),
  })
  .strict();

const cell = z.object({ period: z.number(), count: z.number(), rate: z.number() });
export const retentionResponse = z.object({
  range: z.object({ from: z.string(), to: z.string(), tz: z.string() }),
  start_event: z.string(),
  return_event: z.string(),
  period: z.enum(['day', 'week', 'month']),
  periods: z.number(),
  criterion: z.enum(['on', 'on_or_after']),
  /** One row per local period of the range (oldest first): its size and periods 0..periods (null: not observed yet). */
  cohorts: z.array(z.object({ cohort: z.string(), size: z.number(), values: z.array(cell.nullable()) })),
  /** Per period: returns over the sizes of the cohorts that observed it. */
  average: z.array(cell.extend({ size: z.number() })),
});

export const pathsQuery = z
  .object({
    ...common,
    /** `page`: pages by path (else URL); `event`: page:<type>, funnel stages and cart:<type> in time order. */
    type: z.enum(['page', 'event']).default('page'),
    /** The page path (or URL) or event the paths start from. */
    anchor: z
      .string()
      .trim()
      .min(1)
      .max(2000)
      .superRefine((v, ctx) => {
        const bad = unsafeTextReason(v);
        if (bad) ctx.addIssue({ code: 'custom', message: UNSAFE_TEXT_MESSAGE[bad] });
      }),
    direction: z.enum(['next', 'previous']).default('next'),
    depth: z.coerce.number().int().min(1).max(5).default(3),
    /** Nodes kept per step; the rest are summed as `other`. */
    top: z.coerce.number().int().min(1).max(50).default(10),
  })
  .strict();

const pathNode = z.object({ name: z.string(), sessions: z.number(), share: z.number() });
export const pathsResponse = z.object({
  range: z.object({ from: z.string(), to: z.string(), tz: z.string() }),
  type: z.enum(['page', 'event']),
  anchor: z.string(),
  direction: z.enum(['next', 'previous']),
  /** Sessions with the anchor in the range (each counted from its first occurrence). */
  sessions: z.number(),
  /** Per offset (1, 2, ... going forward; -1, -2, ... going back): nodes largest first, `other`, then `(end)` (the path stops). */
  steps: z.array(z.object({ offset: z.number(), sessions: z.number(), nodes: z.array(pathNode) })),
  /** Sessions moving from a node at the previous offset (the anchor first) to one at this offset: a Sankey's links. */
  edges: z.array(z.object({ offset: z.number(), from: z.string(), to: z.string(), sessions: z.number() })),
});

export type RetentionQuery = z.infer<typeof retentionQuery>;
export type RetentionResponse = z.infer<typeof retentionResponse>;
export type PathsQuery = z.infer<typeof pathsQuery>;
export type PathsResponse = z.infer<typeof pathsResponse>;
