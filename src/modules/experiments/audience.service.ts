/**
 * Experiments whose audience is a saved cohort (`{"$inCohort": "<id>"}` in the targeting): the cohorts are checked
 * when the experiment is saved, and at assignment the unit's person is looked up in the cohorts the running
 * experiments target (only those), through analytics' cohorts, declared here as the port this module needs.
 */
import { validation } from '../../platform/index.ts';
import { type Attributes, COHORT_MEMBERSHIP, type Condition } from './assign.core.ts';
import { cohortIdsOf, hasMalformedCohort } from './audience.core.ts';

/** analytics' saved cohorts (its `cohorts.known` / `cohorts.profileIn`), as experiments needs them. */
export interface CohortPort {
  /** Of `ids`, those that are saved cohorts of the tenant. */
  known(tenantId: string, ids: readonly string[]): Promise<Set<string>>;
  /** Of `ids`, those the profile is in now. */
  profileIn(tenantId: string, profileId: string, ids: readonly string[]): Promise<Set<string>>;
}

export function createAudienceService(port: CohortPort | undefined) {
  return {
    /**
     * Refuses targeting that names a cohort the tenant does not have (another tenant's id answers the same as an
     * unknown one: 400 EXPERIMENT_COHORT_UNKNOWN), or names cohorts when no cohort source is wired.
     */
    async check(tenantId: string, targeting: Condition | null | undefined): Promise<void> {
      if (hasMalformedCohort(targeting)) throw validation('EXPERIMENT_COHORT_UNKNOWN', '$inCohort takes a saved cohort id.');
      const ids = cohortIdsOf(targeting);
      if (ids.length === 0) return;
      const known = port ? await port.known(tenantId, ids) : new Set<string>();
      const missing = ids.filter((id) => !known.has(id));
      if (missing.length)
        throw validation('EXPERIMENT_COHORT_UNKNOWN', `Unknown saved cohort in the targeting: ${missing.slice(0, 5).join(', ')}.`);
    },

    /**
     * The request's attributes with COHORT_MEMBERSHIP set to the targeted cohorts the unit's person is in (a client's
     * own value of that key is dropped). A unit with no person is in no cohort. `primary` is the resolved unit
     * (`p:<profile id>` for a known person).
     */
    async attributes(tenantId: string, primary: string, conditions: readonly (Condition | null)[], attrs: Attributes): Promise<Attributes> {
      const ids = [...new Set(conditions.flatMap((c) => cohortIdsOf(c)))];
      const out: Attributes = { ...attrs };
      delete out[COHORT_MEMBERSHIP];
      if (ids.length === 0) return out;
      const profileId = primary.startsWith('p:') ? primary.slice(2) : null;
      if (!profileId || !port) {
        out[COHORT_MEMBERSHIP] = [];
        return out;
      }
      // Not cached here: analytics' `profileIn` answers from its membership cache (cohorts.cache.ts), which forgets
      // an answer when the cohort is saved or the profile changes; a second cache over it kept answers 30 s longer.
      const inside = await port.profileIn(tenantId, profileId, ids);
      out[COHORT_MEMBERSHIP] = ids.filter((id) => inside.has(id));
      return out;
    },
  };
}
export type AudienceService = ReturnType<typeof createAudienceService>;
