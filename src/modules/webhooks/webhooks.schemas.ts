import { z } from 'zod';
import { paginationQuery } from '../../platform/pagination.ts';
import { safeString } from '../../platform/text.ts';
import { EVENT_TYPES } from './webhooks.core.ts';

const url = safeString().pipe(z.string().min(1, 'must not be empty').max(2048)).describe('http(s) URL receiving POSTs');
const eventTypes = z
  .array(safeString().pipe(z.string().min(1).max(100)))
  .min(1, 'subscribe to at least one event type')
  .max(50)
  .describe('Event types: exact names, wildcards like "pricing.*", or "*" for all');
const description = safeString().pipe(z.string().max(500));

export const endpointCreateBody = z.object({ url, event_types: eventTypes, description: description.default('') }).strict();
export const endpointUpdateBody = z
  .object({ url: url.optional(), event_types: eventTypes.optional(), description: description.optional(), enabled: z.boolean().optional() })
  .strict();
export const rotateSecretBody = z
  .object({
    grace_hours: z
      .number()
      .int()
      .min(0)
      .max(168)
      .default(24)
      .describe('Hours during which the old secret still signs (a second signature), so receivers can switch'),
  })
  .strict();

export const endpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  event_types: z.array(z.string()),
  enabled: z.boolean(),
  disabled_reason: z.string().nullable().describe('Set when Loupe disabled the endpoint after days of failures'),
  previous_secret_expires_at: z.string().nullable().describe('Until then the previous secret signs too'),
  failing_since: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export const endpointWithSecretSchema = endpointSchema.extend({
  secret: z.string().describe('The signing secret (whsec_...): shown once, store it now'),
});
export const endpointListResponse = z.object({ data: z.array(endpointSchema) });

const DELIVERY_STATUSES = ['pending', 'sending', 'succeeded', 'failed'] as const;
export const deliverySchema = z.object({
  id: z.string(),
  message_id: z.string().describe('Also the webhook-id header (msg_ + this id without dashes): the same on every attempt'),
  endpoint_id: z.string(),
  type: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number(),
  next_attempt_at: z.string().nullable(),
  last_status_code: z.number().nullable(),
  last_error: z.string().nullable(),
  last_latency_ms: z.number().nullable(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
});
export const attemptSchema = z.object({
  attempt: z.number(),
  ok: z.boolean(),
  status_code: z.number().nullable(),
  latency_ms: z.number(),
  error: z.string().nullable(),
  response_body: z.string().nullable().describe('At most 1 kB of what the endpoint answered'),
  attempted_at: z.string(),
});
export const deliveryDetailSchema = deliverySchema.extend({ log: z.array(attemptSchema) });
/** Sort keys of GET /webhooks/deliveries, a whitelist (each maps to one fixed SQL ordering in the repository). */
export const DELIVERY_SORTS = ['created_at', '-created_at', 'type', '-type', 'status', '-status', 'attempts', '-attempts'] as const;
export type DeliverySort = (typeof DELIVERY_SORTS)[number];
/** Offset paging stops here: deeper pages scan too much; filters narrow instead. */
const DELIVERY_OFFSET_MAX = 10_000;

export const deliveryListQuery = z
  .object({
    endpoint_id: z.string().max(100).optional(),
    status: z.enum(DELIVERY_STATUSES).optional(),
    type: safeString().pipe(z.string().max(100)).optional(),
    ...paginationQuery,
    sort: z.enum(DELIVERY_SORTS).optional().describe('A column, `-` first for descending; ties fall back to newest first'),
    offset: z.coerce
      .number()
      .int()
      .min(0)
      .max(DELIVERY_OFFSET_MAX)
      .optional()
      .describe(`Rows to skip for page-numbered tables (at most ${DELIVERY_OFFSET_MAX}); not with cursor`),
  })
  .strict()
  .refine((q) => !(q.cursor && (q.sort || q.offset !== undefined)), {
    message: 'cursor pages newest first: use offset with sort',
    path: ['cursor'],
  });
export const deliveryListResponse = z.object({
  data: z.array(deliverySchema),
  next_cursor: z.string().nullable(),
  total: z.number().int().describe('Deliveries matching the filters (all pages)'),
});

export const eventTypesResponse = z.object({
  data: z.array(z.object({ type: z.enum(EVENT_TYPES.map((e) => e.type) as [string, ...string[]]), description: z.string() })),
});
export const statsQuery = z
  .object({ days: z.coerce.number().int().min(1).max(90).default(14), endpoint_id: z.string().max(100).optional() })
  .strict();
export const statsResponse = z.object({
  data: z.array(
    z.object({
      day: z.string(),
      attempts: z.number(),
      succeeded: z.number(),
      success_rate: z.number().nullable(),
      avg_latency_ms: z.number().nullable(),
      p95_latency_ms: z.number().nullable(),
    }),
  ),
});

export type EndpointResponse = z.infer<typeof endpointSchema>;
export type EndpointWithSecretResponse = z.infer<typeof endpointWithSecretSchema>;
export type DeliveryResponse = z.infer<typeof deliverySchema>;
export type DeliveryDetailResponse = z.infer<typeof deliveryDetailSchema>;
export type WebhookStatsResponse = z.infer<typeof statsResponse>;
export type WebhookEventTypesResponse = z.infer<typeof eventTypesResponse>;
