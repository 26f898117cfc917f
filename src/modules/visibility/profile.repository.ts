import { sql } from 'drizzle-orm';
import { type Q, arrayParam, queryOne } from '../../platform/index.ts';
import type { BusinessProfile, GeoLocation } from './profile.core.ts';

export interface ProfileRow extends BusinessProfile {
  location: GeoLocation | null;
  createdAt: Date;
  updatedAt: Date;
}

const COLS = sql`name, address, phone, website, categories, time_zone AS "timeZone", regular_hours AS "regularHours", special_hours AS "specialHours",
  seo, location, created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Seed 004's tenant_business_profile: one row per tenant. */
export function createProfileRepository() {
  return {
    get: (q: Q, tenantId: string) =>
      queryOne<ProfileRow>(q, sql`SELECT ${COLS} FROM tenant_business_profile WHERE tenant_id = ${tenantId}`),
    /** Inserts; undefined when the tenant already has a profile (ON CONFLICT DO NOTHING: concurrent creates make one). */
    insert: (q: Q, tenantId: string, p: BusinessProfile, now: Date) =>
      queryOne<ProfileRow>(
        q,
        sql`INSERT INTO tenant_business_profile (tenant_id, name, address, phone, website, categories, time_zone, regular_hours, special_hours, seo, created_at, updated_at)
            VALUES (${tenantId}, ${p.name}, ${JSON.stringify(p.address)}::jsonb, ${p.phone}, ${p.website}, ${arrayParam(p.categories)}::text[], ${p.timeZone}, ${JSON.stringify(p.regularHours)}::jsonb, ${JSON.stringify(p.specialHours)}::jsonb, ${JSON.stringify(p.seo)}::jsonb,
                    ${now.toISOString()}, ${now.toISOString()})
            ON CONFLICT (tenant_id) DO NOTHING RETURNING ${COLS}`,
      ),
    update: (q: Q, tenantId: string, p: BusinessProfile, now: Date) =>
      queryOne<ProfileRow>(
        q,
        sql`UPDATE tenant_business_profile SET name = ${p.name}, address = ${JSON.stringify(p.address)}::jsonb,
              location = CASE WHEN address = ${JSON.stringify(p.address)}::jsonb THEN location END, phone = ${p.phone}, website = ${p.website},
              categories = ${arrayParam(p.categories)}::text[], time_zone = ${p.timeZone}, regular_hours = ${JSON.stringify(p.regularHours)}::jsonb,
              special_hours = ${JSON.stringify(p.specialHours)}::jsonb, seo = ${JSON.stringify(p.seo)}::jsonb, updated_at = ${now.toISOString()}
            WHERE tenant_id = ${tenantId} RETURNING ${COLS}`,
      ),
    /** Stores where the address was found, only if the address is still the one that was looked up. */
    setLocation: (q: Q, tenantId: string, address: BusinessProfile['address'], location: GeoLocation) =>
      queryOne<ProfileRow>(
        q,
        sql`UPDATE tenant_business_profile SET location = ${JSON.stringify(location)}::jsonb
            WHERE tenant_id = ${tenantId} AND address = ${JSON.stringify(address)}::jsonb RETURNING ${COLS}`,
      ),
  };
}
export type ProfileRepository = ReturnType<typeof createProfileRepository>;
