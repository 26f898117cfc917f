import { type SQL, sql } from 'drizzle-orm';

/**
 * Analytics' saved cohorts read the interactions this module owns through this SQL piece (analytics declares
 * `CohortSources`, src/app.ts wires it).
 */
export function createCohortEventsSource() {
  return {
    /**
     * Per profile, how many events of `type` occurred in [since, until], as a subquery: profile_id uuid, n int.
     * Events with no profile are left out (they belong to no one a cohort can name).
     */
    eventCountsSql: (tenantId: string, type: string, since: Date, until: Date): SQL =>
      sql`SELECT profile_id, count(*)::int AS n FROM interactions
           WHERE tenant_id = ${tenantId} AND type = ${type} AND profile_id IS NOT NULL
             AND occurred_at >= ${since.toISOString()}::timestamptz AND occurred_at <= ${until.toISOString()}::timestamptz
           GROUP BY profile_id`,
  };
}
