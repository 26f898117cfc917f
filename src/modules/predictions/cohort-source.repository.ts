import { type SQL, sql } from 'drizzle-orm';

/**
 * Analytics' saved cohorts read the scores this module owns through this SQL piece (analytics declares
 * `CohortSources`, src/app.ts wires it).
 */
export function createCohortScoresSource() {
  return {
    /**
     * The tenant's scored profiles as a subquery: profile_id uuid, segment text (the RFM segment), churn_probability,
     * p_alive and expected_purchases as float8 (null when the model gave none).
     */
    scoresSql: (tenantId: string): SQL =>
      sql`SELECT profile_id, segment, churn_probability::float8 AS churn_probability, p_alive::float8 AS p_alive,
                 expected_purchases::float8 AS expected_purchases
            FROM prediction_scores WHERE tenant_id = ${tenantId}`,
  };
}
