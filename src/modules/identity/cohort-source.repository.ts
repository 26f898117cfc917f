import { type SQL, sql } from 'drizzle-orm';

/**
 * Analytics' saved cohorts read the profiles this module owns through this SQL piece (analytics declares
 * `CohortSources`, src/app.ts wires it), so the cohort's one statement names no identity table.
 */
export function createCohortProfilesSource() {
  return {
    /**
     * The tenant's active profiles as a subquery: profile_id uuid, traits jsonb, total_orders int, event_count int,
     * revenue_minor int8, last_seen_at timestamptz. Merged and erased profiles are no one's cohort member.
     */
    profilesSql: (tenantId: string): SQL =>
      sql`SELECT id AS profile_id, traits, total_orders, event_count, revenue_minor, last_seen_at
            FROM profiles WHERE tenant_id = ${tenantId} AND status = 'active'`,
  };
}
