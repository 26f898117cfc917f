import { z } from 'zod';
import { LRUCache } from 'lru-cache';
import { BUILT_IN_TYPES, CUSTOM_IDENTIFIER_TYPE, DEFAULT_SETTINGS, type IdentitySettings } from './identity.core.ts';
import type { IdentityRepository, Q } from './identity.repository.ts';

/** Tenant identity settings as stored and as the API takes them (snake_case JSON). */
export const identitySettingsBody = z
  .object({
    default_region: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 region such as US or FR')
      .optional(),
    blocked_values: z.array(z.string().max(256)).max(1000).optional(),
    identifier_limits: z.record(z.string().max(40), z.number().int().min(1).max(1000)).optional(),
    custom_types: z
      .record(
        z
          .string()
          .regex(CUSTOM_IDENTIFIER_TYPE, 'must be lower_snake_case')
          .refine((t) => !(BUILT_IN_TYPES as readonly string[]).includes(t), 'is a built-in type'),
        z.object({ confidence: z.number().min(0).max(1) }).strict(),
      )
      .optional(),
    max_auto_merge: z.number().int().min(1).max(10).optional(),
    protect_weak_links: z.boolean().optional(),
  })
  .strict();
export type IdentitySettingsBody = z.infer<typeof identitySettingsBody>;

export function toSettings(raw: Record<string, unknown> | undefined): IdentitySettings {
  const parsed = identitySettingsBody.safeParse(raw ?? {});
  const b = parsed.success ? parsed.data : {};
  return {
    defaultRegion: b.default_region ?? DEFAULT_SETTINGS.defaultRegion,
    blockedValues: b.blocked_values ?? [],
    limits: b.identifier_limits ?? {},
    customTypes: b.custom_types ?? {},
    maxAutoMerge: b.max_auto_merge ?? DEFAULT_SETTINGS.maxAutoMerge,
    protectWeakLinks: b.protect_weak_links ?? DEFAULT_SETTINGS.protectWeakLinks,
  };
}

export function fromSettings(s: IdentitySettings): Required<IdentitySettingsBody> {
  return {
    default_region: s.defaultRegion,
    blocked_values: [...s.blockedValues],
    identifier_limits: { ...s.limits },
    custom_types: { ...s.customTypes },
    max_auto_merge: s.maxAutoMerge,
    protect_weak_links: s.protectWeakLinks,
  };
}

/** Settings per tenant, cached for a few seconds (a change made through this process applies at once). */
export function createSettingsStore(db: Q, repo: IdentityRepository, ttlMs = 5000) {
  const cache = new LRUCache<string, IdentitySettings>({ max: 10_000, ttl: ttlMs });
  return {
    async get(tenantId: string): Promise<IdentitySettings> {
      const hit = cache.get(tenantId);
      if (hit) return hit;
      const value = toSettings(await repo.getSettings(db, tenantId));
      cache.set(tenantId, value);
      return value;
    },
    async put(tenantId: string, body: IdentitySettingsBody): Promise<IdentitySettings> {
      const current = fromSettings(toSettings(await repo.getSettings(db, tenantId)));
      const next = { ...current, ...body };
      await repo.putSettings(db, tenantId, next);
      cache.delete(tenantId);
      return toSettings(next);
    },
  };
}
export type SettingsStore = ReturnType<typeof createSettingsStore>;
