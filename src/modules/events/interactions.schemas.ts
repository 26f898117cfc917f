import { z } from 'zod';
import { isCurrencyCode, parseMoney } from '../../platform/money.ts';
import { currencyCode, errorBody } from '../../platform/schemas.ts';
import { CUSTOM_TYPE_PATTERN } from './interactions.core.ts';

/** Request and response schemas of the interactions API (seed 003 steps 8b, 8d, 8e). JSON in snake_case. */

const id = z.string().trim().min(1).max(200);
/** A small free-form object (context, metadata): at most 8 kB of JSON. */
export const smallObject = z
  .record(z.string().max(100), z.unknown())
  .refine((o) => JSON.stringify(o).length <= 8192, 'must be at most 8 kB of JSON');
export const timestamp = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2024-01-16T19:23:45Z' });
const money = z.union([z.number().finite(), z.string().regex(/^-?\d{1,15}(\.\d{1,6})?$/, 'must be a decimal amount such as "99.99"')]);

export const interactionType = z
  .string()
  .regex(
    CUSTOM_TYPE_PATTERN,
    'must be a built-in type (view, click, add_to_cart, remove_from_cart, purchase, rating, like, search, recommendations_shown, refund) or a custom lower_snake_case type',
  );

export const interactionBody = z
  .object({
    event_id: id.optional(),
    user_id: id.optional(),
    anonymous_id: id.optional(),
    session_id: id.optional(),
    item_id: id.nullish(),
    interaction_type: interactionType,
    timestamp: timestamp.optional(),
    /** A rating, a duration or any numeric value of the event. */
    value: z.number().finite().optional(),
    recommendation_id: id.optional(),
    /** Extra identifiers for identity resolution, e.g. {"email": "...", "phone": "..."}. */
    identifiers: z
      .record(z.string().regex(/^[a-z][a-z0-9_]{1,39}$/), z.string().max(320))
      .refine((o) => Object.keys(o).length <= 10, 'at most 10 identifiers')
      .optional(),
    context: smallObject.optional(),
    metadata: z
      .object({
        order_id: id.optional(),
        price: money.optional(),
        currency: currencyCode.optional(),
        quantity: z.number().int().min(-100000).max(100000).optional(),
        recommendation_id: id.optional(),
      })
      .catchall(z.unknown())
      .refine((o) => JSON.stringify(o).length <= 8192, 'must be at most 8 kB of JSON')
      .superRefine((o, ctx) => {
        // The API's own clients are told, not rounded: "12.5" JPY is a bug in the caller (webhooks round instead).
        const currency = o.currency ?? 'USD';
        if (o.price === undefined || !isCurrencyCode(currency)) return;
        const m = parseMoney(o.price, currency, { allowNegative: true });
        if (!m.ok) ctx.addIssue({ code: 'custom', path: ['price'], message: `price ${m.reason}` });
      })
      .optional(),
  })
  .strict()
  .refine((b) => b.user_id || b.anonymous_id, { message: 'give user_id or anonymous_id', path: ['user_id'] });
export type InteractionBody = z.infer<typeof interactionBody>;

export const interactionResponse = z.object({ status: z.literal('tracked'), interaction_id: z.string(), processed_at: z.string() });

export const MAX_BATCH_EVENTS = 1000;
export const batchBody = z
  .object({
    events: z
      .array(z.unknown())
      .min(1)
      .max(MAX_BATCH_EVENTS, `at most ${MAX_BATCH_EVENTS} events per batch; split larger sets or use the upload endpoints`),
  })
  .strict();

export const batchResultSchema = z.object({
  index: z.number().int(),
  status: z.enum(['tracked', 'duplicate', 'rejected']),
  interaction_id: z.string().optional(),
  processed_at: z.string().optional(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});
export const batchResponse = z.object({
  accepted: z.number().int(),
  duplicates: z.number().int(),
  rejected: z.number().int(),
  results: z.array(batchResultSchema),
});

export const overloadResponses = { 503: errorBody } as const;

export const arrivalsQuery = z
  .object({
    source: z.enum(['segment', 'api']).default('segment').describe('segment: the SDK and Segment libraries; api: /api/v1/interactions'),
    minutes: z.coerce.number().int().min(1).max(60).default(10),
  })
  .strict();
export const arrivalsResponse = z.object({
  source: z.string(),
  since: z.string(),
  count: z.number().int(),
  latest: z.array(z.object({ type: z.string(), item_id: z.string().nullable(), occurred_at: z.string(), received_at: z.string() })),
});
