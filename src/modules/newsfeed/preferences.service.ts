import { type Db, type TenantContext, parseMoney, validation } from '../../platform/index.ts';
import type { PreferencesBody } from './newsfeed.schemas.ts';
import type { PreferencesRepository, StatedPreferences } from './preferences.repository.ts';

export interface PreferencesServiceDeps {
  db: Db;
  repo: PreferencesRepository;
  clock: () => Date;
}

const EMPTY: StatedPreferences = {
  styles: [],
  categories: [],
  brands: [],
  sizes: [],
  occasions: [],
  priceMin: null,
  priceMax: null,
  currency: null,
};

/** Shopper preferences: brand follows, favorites and stated preferences (idempotent writes). */
export function createPreferencesService(deps: PreferencesServiceDeps) {
  const { db, repo, clock } = deps;
  return {
    follow: (ctx: TenantContext, userId: string, brandId: string) => repo.follow(db, ctx.tenantId, userId, brandId, clock()),
    unfollow: (ctx: TenantContext, userId: string, brandId: string) => repo.unfollow(db, ctx.tenantId, userId, brandId),
    favorite: (ctx: TenantContext, userId: string, itemId: string) => repo.favorite(db, ctx.tenantId, userId, itemId, clock()),
    unfavorite: (ctx: TenantContext, userId: string, itemId: string) => repo.unfavorite(db, ctx.tenantId, userId, itemId),

    async get(ctx: TenantContext, userId: string) {
      const [follows, favorites, prefs] = await Promise.all([
        repo.follows(db, ctx.tenantId, userId),
        repo.favorites(db, ctx.tenantId, userId),
        repo.preferences(db, ctx.tenantId, userId),
      ]);
      return { follows, favorites, preferences: prefs ?? EMPTY };
    },

    /** Replaces the stated preferences; a price range is exact decimal text in its currency, min <= max. */
    async set(ctx: TenantContext, userId: string, b: PreferencesBody): Promise<void> {
      const errors: { field: string; message: string }[] = [];
      const price = (field: string, v: string | number | null | undefined): bigint | null => {
        if (v === null || v === undefined) return null;
        if (!b.currency) {
          errors.push({ field: 'currency', message: 'currency is required with a price range' });
          return null;
        }
        const r = parseMoney(v, b.currency);
        if (!r.ok) errors.push({ field, message: `${field} ${r.reason}` });
        return r.ok ? r.minor : null;
      };
      const min = price('price_min', b.price_min);
      const max = price('price_max', b.price_max);
      if (min !== null && max !== null && min > max) errors.push({ field: 'price_max', message: 'price_max must not be below price_min' });
      if (errors.length) throw validation('VALIDATION_FAILED', errors.map((e) => e.message).join('; '), errors);
      await repo.setPreferences(
        db,
        ctx.tenantId,
        userId,
        {
          styles: b.styles ?? [],
          categories: b.categories ?? [],
          brands: b.brands ?? [],
          sizes: b.sizes ?? [],
          occasions: b.occasions ?? [],
          priceMin: min === null ? null : min.toString(),
          priceMax: max === null ? null : max.toString(),
          currency: b.currency ?? null,
        },
        clock(),
      );
    },

    async styleProfile(ctx: TenantContext, userId: string) {
      const [profile, snapshots] = await Promise.all([
        repo.profile(db, ctx.tenantId, userId),
        repo.snapshots(db, ctx.tenantId, userId, 20),
      ]);
      return { profile, snapshots };
    },
  };
}
export type PreferencesService = ReturnType<typeof createPreferencesService>;
