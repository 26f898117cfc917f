import { sql } from 'drizzle-orm';
import { jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Seed 004's business profile of a tenant (name, address, phone, hours, SEO): one per tenant. */
export const tenantBusinessProfile = pgTable('tenant_business_profile', {
  tenantId: uuid('tenant_id').primaryKey(),
  name: text('name').notNull(),
  /** { line1, line2, city, region, postal_code, country } */
  address: jsonb('address').notNull().default(sql`'{}'::jsonb`),
  /** E.164 when it parsed; the validation lists a fix otherwise. */
  phone: text('phone'),
  website: text('website'),
  categories: text('categories').array().notNull().default(sql`'{}'::text[]`),
  /** IANA time zone the hours are in, e.g. America/New_York. */
  timeZone: text('time_zone'),
  /** [{ day: 'monday', open: '09:00', close: '17:00' }] */
  regularHours: jsonb('regular_hours').notNull().default(sql`'[]'::jsonb`),
  /** [{ date: '2026-12-25', closed: true } | { date, open, close }] */
  specialHours: jsonb('special_hours').notNull().default(sql`'[]'::jsonb`),
  /** { title, description, keywords[] } */
  seo: jsonb('seo').notNull().default(sql`'{}'::jsonb`),
  /** Where the geocoder found the address ({ status, latitude, longitude, precision, ... }); null before any lookup. */
  location: jsonb('location'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
