import { z } from 'zod';
import { paginationQuery } from '../../platform/pagination.ts';
import { safeString } from '../../platform/text.ts';

/** Request and response schemas of the Customer 360 API (JSON in snake_case; seed 002's profile shape). */

export const idParams = z.object({ id: z.string().max(100) });

// Query values go into SQL as text: NUL and lone surrogates are refused (400) rather than failing there (500).
const identifierQuery = {
  email: safeString().max(320).optional(),
  phone: safeString().max(64).optional(),
  user_id: safeString().max(256).optional(),
  whatsapp: safeString().max(64).optional(),
  loyalty_id: safeString().max(256).optional(),
  device_id: safeString().max(256).optional(),
  anonymous_id: safeString().max(256).optional(),
  cookie_id: safeString().max(256).optional(),
  identifier_type: safeString().max(40).optional(),
  identifier: safeString().max(320).optional(),
};
export const IDENTIFIER_QUERY_KEYS = [
  'email',
  'phone',
  'user_id',
  'whatsapp',
  'loyalty_id',
  'device_id',
  'anonymous_id',
  'cookie_id',
] as const;

/** Sort keys of GET /profiles, a whitelist (each maps to one fixed SQL ordering in the repository). */
export const PROFILE_SORTS = [
  'last_seen_at',
  '-last_seen_at',
  'first_seen_at',
  '-first_seen_at',
  'total_orders',
  '-total_orders',
  'lifetime_value',
  '-lifetime_value',
  'profile_strength',
  '-profile_strength',
] as const;
export type ProfileSort = (typeof PROFILE_SORTS)[number];
/** Offset paging stops here: deeper pages scan too much; filters narrow instead. */
const PROFILE_OFFSET_MAX = 10_000;

export const listQuery = z
  .object({
    ...paginationQuery,
    sort: z.enum(PROFILE_SORTS).optional().describe('A column, `-` first for descending; ties fall back to newest first'),
    offset: z.coerce
      .number()
      .int()
      .min(0)
      .max(PROFILE_OFFSET_MAX)
      .optional()
      .describe(`Rows to skip for page-numbered tables (at most ${PROFILE_OFFSET_MAX}); not with cursor`),
    ...identifierQuery,
    min_strength: z.coerce.number().int().min(0).max(100).optional(),
    channel: z.string().max(60).optional(),
    min_orders: z.coerce.number().int().min(0).optional(),
    seen_since: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .refine((q) => !(q.cursor && (q.sort || q.offset !== undefined)), {
    message: 'cursor pages newest first: use offset with sort',
    path: ['cursor'],
  });
export const lookupQuery = z.object(identifierQuery).strict();
export const detailQuery = z.object({ events: z.coerce.number().int().min(0).max(200).default(20) }).strict();

export const identifierView = z.object({
  type: z.string(),
  value: z.string(),
  confidence: z.number(),
  channel: z.string().nullable(),
  first_seen_at: z.string(),
  last_seen_at: z.string(),
});

export const profileView = z.object({
  id: z.string(),
  brand_id: z.string(),
  tenant_id: z.string(),
  status: z.string(),
  identifiers: z.record(z.string(), z.string()),
  identifier_list: z.array(identifierView),
  profile_strength: z.number(),
  lifetime_value: z.number(),
  lifetime_value_minor: z.string(),
  refunded_minor: z.string(),
  currency: z.string().nullable(),
  total_orders: z.number(),
  average_order_value: z.number().nullable(),
  event_count: z.number(),
  channels: z.array(z.string()),
  first_seen_at: z.string().nullable(),
  last_seen_at: z.string().nullable(),
  traits: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  updated_at: z.string(),
});

export const eventView = z.object({
  id: z.string(),
  type: z.string(),
  item_id: z.string().nullable(),
  source: z.string(),
  order_id: z.string().nullable(),
  value: z.number().nullable(),
  quantity: z.number().nullable(),
  price_minor: z.string().nullable(),
  currency: z.string().nullable(),
  occurred_at: z.string(),
});

export const mergeView = z.object({
  id: z.string(),
  kind: z.enum(['merge', 'unmerge']),
  survivor_profile_id: z.string(),
  merged_profile_id: z.string(),
  rule: z.string(),
  identifier_type: z.string().nullable(),
  identifier_hash: z.string().nullable(),
  event_ref: z.string().nullable(),
  actor: z.string(),
  reverts_merge_id: z.string().nullable(),
  events_moved: z.number(),
  created_at: z.string(),
});

export const profileDetail = profileView.extend({
  requested_id: z.string(),
  redirected: z.boolean(),
  recent_events: z.array(eventView),
  merges: z.array(mergeView),
});

export const profileList = z.object({
  data: z.array(
    profileView.extend({
      matched_by: z
        .array(z.string())
        .optional()
        .describe('With `identifier` and no `identifier_type`: what matched (user_id, email, phone, loyalty_id, ..., profile_id, name)'),
    }),
  ),
  next_cursor: z.string().nullable(),
  total: z.number().int().describe('Profiles matching the filters (all pages)'),
});

export const mergeHistoryResponse = z.object({ profile_id: z.string(), merges: z.array(mergeView) });

export const unmergeBody = z
  .object({ merge_id: z.string().max(100).optional(), profile_id: z.string().max(100).optional() })
  .strict()
  .nullish();
export const unmergeResponse = z.object({ merge_id: z.string(), restored: profileView, survivor: profileView });

export const reviewView = z.object({
  id: z.string(),
  status: z.string(),
  reason: z.string(),
  profile_ids: z.array(z.string()),
  event_ref: z.string().nullable(),
  occurrences: z.number(),
  decided_by: z.string().nullable(),
  decided_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export const reviewListQuery = z.object({ ...paginationQuery, status: z.enum(['pending', 'approved', 'rejected']).optional() }).strict();
export const reviewList = z.object({ data: z.array(reviewView), next_cursor: z.string().nullable() });
export const reviewDecision = z.object({ review: reviewView, survivor_profile_id: z.string().nullable() });

export const exportResponse = z.object({
  exported_at: z.string(),
  profile: profileView,
  profile_ids: z.array(z.string()),
  identifiers: z.array(identifierView),
  orders: z.array(
    z.object({
      order_id: z.string(),
      revenue_minor: z.string(),
      refunded_minor: z.string(),
      currency: z.string().nullable(),
      occurred_at: z.string(),
    }),
  ),
  events: z.array(
    eventView.extend({
      user_id: z.string().nullable(),
      anonymous_id: z.string().nullable(),
      session_id: z.string().nullable(),
      context: z.unknown(),
      metadata: z.unknown(),
    }),
  ),
  merges: z.array(mergeView),
  review_cases: z.array(reviewView),
});

export const eraseResponse = z.object({
  profile_id: z.string(),
  status: z.literal('erased'),
  profiles_erased: z.number(),
  identifiers_deleted: z.number(),
  events_anonymized: z.number(),
});

export const settingsResponse = z.object({
  default_region: z.string(),
  blocked_values: z.array(z.string()),
  identifier_limits: z.record(z.string(), z.number()),
  custom_types: z.record(z.string(), z.object({ confidence: z.number() })),
  max_auto_merge: z.number(),
  protect_weak_links: z.boolean(),
});

export const ordersQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(500).default(50), cursor: z.string().max(300).optional() })
  .strict();
const moneyText = z.string().describe('minor units of `currency`, as text (exact beyond 2^53)');
export const ordersResponse = z.object({
  /** The profile the orders belong to (the survivor when a merged-away id was asked). */
  profile_id: z.string(),
  data: z.array(
    z.object({
      order_id: z.string(),
      occurred_at: z.string(),
      currency: z.string().nullable(),
      revenue_minor: moneyText,
      refunded_minor: moneyText,
      /** Revenue less refunds. */
      net_minor: moneyText,
    }),
  ),
  /** Over all the person's orders, per currency (largest first). */
  totals: z.array(
    z.object({
      currency: z.string().nullable(),
      orders: z.number(),
      revenue_minor: moneyText,
      refunded_minor: moneyText,
      net_minor: moneyText,
    }),
  ),
  next_cursor: z.string().nullable(),
});
