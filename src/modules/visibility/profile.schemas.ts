import { z } from 'zod';
import { DAYS } from './profile.core.ts';

const str = (max: number) => z.string().max(max);
const address = z
  .object({
    line1: str(200).optional(),
    line2: str(200).optional(),
    city: str(100).optional(),
    region: str(100).optional(),
    postal_code: str(20).optional(),
    country: z
      .string()
      .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 code')
      .transform((s) => s.toUpperCase())
      .optional(),
  })
  .strict();
const interval = { open: str(5), close: str(5) };
const fields = {
  name: z.string().trim().max(200),
  address,
  phone: str(40).nullable(),
  website: str(2000).nullable(),
  categories: z.array(str(100)).max(20),
  time_zone: str(64).nullable(),
  regular_hours: z.array(z.object({ day: z.enum(DAYS), ...interval }).strict()).max(50),
  special_hours: z
    .array(z.object({ date: str(10), closed: z.boolean().optional(), open: str(5).optional(), close: str(5).optional() }).strict())
    .max(400),
  seo: z.object({ title: str(200).optional(), description: str(1000).optional(), keywords: z.array(str(100)).max(50).optional() }).strict(),
};
export const profileBody = z.object(fields).partial().required({ name: true }).strict();
export const profilePatchBody = z.object(fields).partial().strict();
export const profileResponse = z.object({
  name: z.string(),
  address: z.object({
    line1: z.string().optional(),
    line2: z.string().optional(),
    city: z.string().optional(),
    region: z.string().optional(),
    postal_code: z.string().optional(),
    country: z.string().optional(),
  }),
  phone: z.string().nullable(),
  website: z.string().nullable(),
  categories: z.array(z.string()),
  time_zone: z.string().nullable(),
  regular_hours: z.array(z.object({ day: z.string(), open: z.string(), close: z.string() })),
  special_hours: z.array(
    z.object({ date: z.string(), closed: z.boolean().optional(), open: z.string().optional(), close: z.string().optional() }),
  ),
  seo: z.object({ title: z.string().optional(), description: z.string().optional(), keywords: z.array(z.string()).optional() }),
  /** Where the geocoder placed the address (null: not looked up: geocoding is off, or the address is too short). */
  location: z
    .object({
      status: z.enum(['found', 'not_found', 'unavailable']),
      latitude: z.number().optional(),
      longitude: z.number().optional(),
      precision: z.string().optional(),
      formatted_address: z.string().optional(),
      place_id: z.string().nullable().optional(),
      partial_match: z.boolean().optional(),
      error: z.string().optional(),
      geocoded_at: z.string(),
    })
    .nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export const profileValidation = z.object({
  score: z.number(),
  fixes: z.array(z.object({ field: z.string(), severity: z.enum(['error', 'warning']), message: z.string(), fix: z.string() })),
});
