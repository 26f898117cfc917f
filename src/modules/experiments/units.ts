/**
 * Units of assignment: the person behind a user or anonymous id when identity resolution links them (so a
 * person keeps one variant across devices), else the id itself. Lookups are cached for a minute.
 */
import { LRUCache } from 'lru-cache';

/** identity's read-only lookup (IdentityModule.lookupProfiles), declared here as the port this module needs. */
export type ProfileLookup = (tenantId: string, identifiers: readonly { type: string; value: string }[]) => Promise<(string | null)[]>;

export interface ResolvedUnit {
  /** The unit assignments and metric events are keyed by: `p:<profile>`, `u:<user id>` or `a:<anonymous id>`. */
  primary: string;
  /** Every id the request names, primary first (sticky lookups try them in order). */
  candidates: string[];
}

export interface UnitResolver {
  resolve(tenantId: string, userId: string | undefined, anonymousId: string | undefined): Promise<ResolvedUnit>;
}

export function createUnitResolver(lookup: ProfileLookup): UnitResolver {
  const cache = new LRUCache<string, { profile: string | null }>({ max: 200_000, ttl: 60_000 });
  return {
    async resolve(tenantId, userId, anonymousId) {
      const ids: { type: string; value: string; unit: string }[] = [];
      if (userId !== undefined) ids.push({ type: 'user_id', value: userId, unit: `u:${userId}` });
      if (anonymousId !== undefined) ids.push({ type: 'anonymous_id', value: anonymousId, unit: `a:${anonymousId}` });
      const profiles: (string | null)[] = new Array(ids.length).fill(null);
      const misses: number[] = [];
      ids.forEach((id, i) => {
        const hit = cache.get(`${tenantId}|${id.unit}`);
        if (hit) profiles[i] = hit.profile;
        else misses.push(i);
      });
      if (misses.length) {
        const found = await lookup(
          tenantId,
          misses.map((i) => ({ type: ids[i]!.type, value: ids[i]!.value })),
        );
        misses.forEach((i, j) => {
          profiles[i] = found[j] ?? null;
          cache.set(`${tenantId}|${ids[i]!.unit}`, { profile: found[j] ?? null });
        });
      }
      const profile = profiles.find((p) => p !== null) ?? null;
      const direct = ids.map((i) => i.unit);
      if (profile) return { primary: `p:${profile}`, candidates: [`p:${profile}`, ...direct] };
      return { primary: direct[0] as string, candidates: direct };
    },
  };
}
