import { z } from 'zod';
import { isCountryCode } from './countries.ts';
import { isCurrencyCode } from './money.ts';

/** The one error shape (DESIGN.md), declared on every route so the OpenAPI document shows it. */
export const errorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ field: z.string().optional(), message: z.string() }).loose()).optional(),
    request_id: z.string(),
  }),
});

/** A durable job as the API shows it (imports, training, maintenance). */
export const jobSchema = z.object({
  id: z.string(),
  type: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
  attempts: z.number(),
  max_attempts: z.number(),
  progress: z.record(z.string(), z.unknown()).nullable(),
  result: z.unknown(),
  error: z.string().nullable(),
  cancel_requested: z.boolean(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  updated_at: z.string(),
});

/** The classes of traffic a tenant's rate limits are set for (`settings.rate_limit`; see platform/rate-limit.ts). */
export const TENANT_RATE_CLASSES = ['management', 'serving', 'ingest'] as const;
export type TenantRateClass = (typeof TENANT_RATE_CLASSES)[number];

export const errorResponses = {
  400: errorBody,
  401: errorBody,
  403: errorBody,
  404: errorBody,
  409: errorBody,
  429: errorBody,
} as const;

/** An ISO 3166-1 alpha-2 country code, any case, upper-cased (`"fr"` → `"FR"`); unassigned codes are refused. */
export const countryCode = z
  .string()
  .trim()
  .regex(/^[A-Za-z]{2}$/, 'must be a two-letter ISO 3166-1 alpha-2 country code, e.g. US, FR')
  .transform((s) => s.toUpperCase())
  .refine(isCountryCode, 'is not an assigned ISO 3166-1 alpha-2 country code (e.g. US, FR, JP)');

/** An ISO 4217 currency code, any case, upper-cased (`"jpy"` → `"JPY"`); unknown codes are refused by name. */
export const currencyCode = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO 4217 code')
  .transform((s) => s.toUpperCase())
  .refine(isCurrencyCode, 'is not an ISO 4217 currency code');
