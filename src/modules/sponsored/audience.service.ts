/**
 * Campaign audiences from saved cohorts (`targeting.cohorts`: analytics' cohort ids): checked when a campaign is
 * saved, and at a decision the shopper's person is looked up in the cohorts the active campaigns target (only
 * those), through analytics' cohorts (which ask identity's read-only lookup), declared here as the port sponsored needs.
 */
import { validation } from '../../platform/index.ts';

/** analytics' `cohorts.known` / `cohorts.userIn`, as sponsored needs them. */
export interface CohortAudiencePort {
  /** Of `ids`, those that are saved cohorts of the tenant. */
  known(tenantId: string, ids: readonly string[]): Promise<Set<string>>;
  /** Of `ids`, the cohorts holding the person behind `userId` now (no person: none). */
  userIn(tenantId: string, userId: string, ids: readonly string[]): Promise<Set<string>>;
}

/** A segment naming a saved cohort of analytics: `cohort:<cohort id>` (the feed answers it through `SegmentSource`). */
export const COHORT_SEGMENT_PREFIX = 'cohort:';

/** The cohort ids named by `cohort:<id>` segments (as written: a malformed id is an unknown cohort). */
export function cohortIdsOfSegments(segments: readonly string[] | undefined): string[] {
  return [
    ...new Set((segments ?? []).filter((s) => s.startsWith(COHORT_SEGMENT_PREFIX)).map((s) => s.slice(COHORT_SEGMENT_PREFIX.length))),
  ];
}

export function createAudienceService(port: CohortAudiencePort | undefined) {
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

    /**
     * Of `ids`, the cohorts the shopper (`userId`, the placement's user id) is in now; no person, no cohort. Not cached
     * here: analytics' `userIn` answers the person and the memberships from its cache (cohorts.cache.ts), which forgets
     * an answer when the cohort is saved or identity changes the person; a second cache here kept answers 30 s past
     * such a change, and without analytics keeping the person every decision read identity's identifiers.
     */
    async cohortsOf(tenantId: string, userId: string, ids: readonly string[]): Promise<Set<string>> {
      if (!port || ids.length === 0) return new Set();
      return port.userIn(tenantId, userId, ids);
    },
  };
}
export type AudienceService = ReturnType<typeof createAudienceService>;
