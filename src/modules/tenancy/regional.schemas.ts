import { z } from 'zod';
import { isCurrencyCode } from '../../platform/money.ts';
import { canonicalLocale, canonicalTimeZone } from './regional.core.ts';

export const regionalResponse = z.object({
  currency: z.string().describe('ISO 4217 code: the currency of figures that name none (a GBP store sees GBP)'),
  locale: z.string().describe('BCP 47 tag numbers and dates are written in, e.g. en-GB'),
  timezone: z.string().describe('IANA time zone days are cut in, e.g. Europe/London (analytics reports use it too)'),
});
export type RegionalResponse = z.infer<typeof regionalResponse>;

export const regionalBody = z
  .object({
    currency: z
      .string()
      .max(3)
      .transform((v) => v.toUpperCase())
      .refine(isCurrencyCode, 'must be an ISO 4217 currency code such as GBP')
      .optional(),
    locale: z
      .string()
      .max(35)
      .refine((v) => canonicalLocale(v) !== null, 'must be a BCP 47 locale such as en-GB')
      .transform((v) => canonicalLocale(v)!)
      .optional(),
    timezone: z
      .string()
      .max(64)
      .refine((v) => canonicalTimeZone(v) !== null, 'must be an IANA time zone such as Europe/London')
      .transform((v) => canonicalTimeZone(v)!)
      .optional(),
  })
  .strict();
