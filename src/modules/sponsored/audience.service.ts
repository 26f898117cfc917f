/**
 * Campaign audiences from saved cohorts (`targeting.cohorts`: analytics' cohort ids): checked when a campaign is
 * saved, and at a decision the shopper's person is looked up in the cohorts the active campaigns target (only
 * those), through identity's read-only profile lookup and analytics' cohorts, declared here as the port sponsored needs.
 */
import { LRUCache } from 'lru-cache';
import { validation } from '../../platform/index.ts';

/** identity's `lookupProfiles` and analytics' `cohorts.known` / `cohorts.profileIn`, as sponsored needs them. */
export interface CohortAudiencePort {
  lookupProfiles(tenantId: string, identifiers: readonly { type: string; value: string }[]): Promise<(string | null)[]>;
  known(tenantId: string, ids: readonly string[]): Promise<Set<string>>;
  profileIn(tenantId: string, profileId: string, ids: readonly string[]): Promise<Set<string>>;
}

/** How long a shopper's membership answer is reused by decisions (cohort rules read aggregates, not the request). */
export const AUDIENCE_TTL_MS = 30_000;

export function createAudienceService(port: CohortAudiencePort | undefined) {
  const cache = new LRUCache<string, boolean>({ max: 100_000, ttl: AUDIENCE_TTL_MS });
  return {
    /** Refuses cohort ids the tenant does not have (another tenant's answers as an unknown one: 400 SPONSORED_COHORT_UNKNOWN). */
    async check(tenantId: string, cohorts: readonly string[] | undefined): Promise<void> {
      if (!cohorts || cohorts.length === 0) return;
      const known = port ? await port.known(tenantId, cohorts) : new Set<string>();
      const missing = [...new Set(cohorts)].filter((id) => !known.has(id));
      if (missing.length)
        throw validation('SPONSORED_COHORT_UNKNOWN', `Unknown saved cohort in targeting.cohorts: ${missing.slice(0, 5).join(', ')}.`, [
          { field: 'targeting.cohorts', message: 'must name saved cohorts of this tenant' },
        ]);
    },

    /** Of `ids`, the cohorts the shopper (`userId`, the placement's user id) is in now; no person, no cohort. */
    async cohortsOf(tenantId: string, userId: string, ids: readonly string[]): Promise<Set<string>> {
      const out = new Set<string>();
      if (!port || ids.length === 0) return out;
      const key = (id: string) => `${tenantId}|${userId}|${id}`;
      const unknown = ids.filter((id) => cache.get(key(id)) === undefined);
      if (unknown.length) {
        const [profileId] = await port.lookupProfiles(tenantId, [{ type: 'user_id', value: userId }]);
        const inside = profileId ? await port.profileIn(tenantId, profileId, unknown) : new Set<string>();
        for (const id of unknown) cache.set(key(id), inside.has(id));
      }
      for (const id of ids) if (cache.get(key(id))) out.add(id);
      return out;
    },
  };
}
export type AudienceService = ReturnType<typeof createAudienceService>;
