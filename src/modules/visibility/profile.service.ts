import { conflict, type Db, notFound, type TenantContext, inTenant } from '../../platform/index.ts';
import type { Geocoder } from './geocoding.client.ts';
import { type BusinessProfile, locationFixes, toE164, validateProfile } from './profile.core.ts';
import type { ProfileRepository, ProfileRow } from './profile.repository.ts';

const profileNotFound = () => notFound('BUSINESS_PROFILE_NOT_FOUND', 'The business profile');

/** Phones are stored in E.164 when they parse (the validation reports those that do not). */
const normalized = (p: BusinessProfile): BusinessProfile => ({
  ...p,
  phone: p.phone ? (toE164(p.phone, p.address.country) ?? p.phone) : null,
  categories: [...new Set(p.categories.map((c) => c.trim()).filter(Boolean))],
});

/** The tenant's business profile: one per tenant, validated on read (a draft may be saved while incomplete). */
export function createProfileService(deps: { db: Db; repo: ProfileRepository; clock: () => Date; geocoder?: Geocoder | undefined }) {
  const { db, repo } = deps;
  /**
   * Looks the saved address up when it has no location yet (new, or changed: the update clears it), outside any
   * transaction; the answer is kept only if the address is still the one looked up.
   */
  const locate = async (tenantId: string, row: ProfileRow): Promise<ProfileRow> => {
    if (!deps.geocoder || row.location) return row;
    const location = await deps.geocoder.locate(row.address, deps.clock());
    if (!location) return row;
    return (await repo.setLocation(db, tenantId, row.address, location)) ?? row;
  };
  const validate = (p: ProfileRow) => {
    const v = validateProfile(p);
    const extra = locationFixes(p.location);
    if (!extra.length) return v;
    const fixes = [...v.fixes, ...extra];
    const cost = extra.reduce((n, f) => n + (f.severity === 'error' ? 15 : 5), 0);
    return { score: Math.max(0, v.score - cost), fixes };
  };
  const get = async (ctx: TenantContext): Promise<ProfileRow> => {
    const row = await repo.get(db, ctx.tenantId);
    if (!row) throw profileNotFound();
    return row;
  };
  return {
    get,
    async create(ctx: TenantContext, p: BusinessProfile): Promise<ProfileRow> {
      const row = await repo.insert(db, ctx.tenantId, normalized(p), deps.clock());
      if (!row)
        throw conflict('BUSINESS_PROFILE_EXISTS', 'This tenant already has a business profile: change it with PATCH /tenant/profile.');
      return locate(ctx.tenantId, row);
    },
    /** Applies a partial change (top-level fields replace, address and seo merge) in one transaction. */
    async patch(ctx: TenantContext, change: Partial<BusinessProfile>): Promise<ProfileRow> {
      const saved = await inTenant(db, ctx.tenantId, async (tx) => {
        const cur = await repo.get(tx, ctx.tenantId);
        if (!cur) throw profileNotFound();
        const next: BusinessProfile = {
          name: change.name ?? cur.name,
          address: { ...cur.address, ...(change.address ?? {}) },
          phone: change.phone !== undefined ? change.phone : cur.phone,
          website: change.website !== undefined ? change.website : cur.website,
          categories: change.categories ?? cur.categories,
          timeZone: change.timeZone !== undefined ? change.timeZone : cur.timeZone,
          regularHours: change.regularHours ?? cur.regularHours,
          specialHours: change.specialHours ?? cur.specialHours,
          seo: { ...cur.seo, ...(change.seo ?? {}) },
        };
        return (await repo.update(tx, ctx.tenantId, normalized(next), deps.clock()))!;
      });
      return locate(ctx.tenantId, saved);
    },
    async validation(ctx: TenantContext) {
      return validate(await get(ctx));
    },
    /** Validates a draft without saving it (the dashboard's live validation). */
    validateDraft: (_ctx: TenantContext, p: BusinessProfile) => validateProfile(normalized(p)),
  };
}
export type ProfileService = ReturnType<typeof createProfileService>;
