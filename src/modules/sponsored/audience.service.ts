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

/** A segment naming a saved cohort of analytics: `cohort:<cohort id>` (the feed answers it through `SegmentSource`). */
export const COHORT_SEGMENT_PREFIX = 'cohort:';

/** The cohort ids named by `cohort:<id>` segments (as written: a malformed id is an unknown cohort). */
export function cohortIdsOfSegments(segments: readonly string[] | undefined): string[] {
  return [
    ...new Set((segments ?? []).filter((s) => s.startsWith(COHORT_SEGMENT_PREFIX)).map((s) => s.slice(COHORT_SEGMENT_PREFIX.length))),
  ];
}

/** How long a shopper's membership answer is reused by decisions (cohort rules read aggregates, not the request). */
export const AUDIENCE_TTL_MS = 30_000;

export function createAudienceService(port: CohortAudiencePort | undefined) {
  const cache = new LRUCache<string, boolean>({ max: 100_000, ttl: AUDIENCE_TTL_MS });
  return {
    /**
     * Refuses cohort ids the tenant does not have, in `targeting.cohorts` and as `cohort:<id>` segments of
     * `targeting.segments` (another tenant's id answers as an unknown one, and so does a malformed one: 400
     * SPONSORED_COHORT_UNKNOWN naming the field). One statement for both lists.
     */
    async check(
      tenantId: string,
      targeting: { cohorts?: readonly string[] | undefined; segments?: readonly string[] | undefined },
    ): Promise<void> {
      const cohorts = targeting.cohorts ?? [];
      const segmentCohorts = cohortIdsOfSegments(targeting.segments);
      if (cohorts.length === 0 && segmentCohorts.length === 0) return;
      const known = port ? await port.known(tenantId, [...new Set([...cohorts, ...segmentCohorts])]) : new Set<string>();
      for (const [field, ids] of [
        ['targeting.cohorts', cohorts],
        ['targeting.segments', segmentCohorts],
      ] as const) {
        const missing = [...new Set(ids)].filter((id) => !known.has(id));
        if (missing.length)
          throw validation('SPONSORED_COHORT_UNKNOWN', `Unknown saved cohort in ${field}: ${missing.slice(0, 5).join(', ')}.`, [
            { field, message: 'must name saved cohorts of this tenant' },
          ]);
      }
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
