import { sql } from 'drizzle-orm';
import { type Q, arrayParam, queryOne, queryRows } from '../../platform/index.ts';
import type { MetricRow } from './gbp.core.ts';

export interface GbpIssue {
  field: string;
  googleField: string | null;
  message: string;
}
export interface GbpLocationRow {
  accountName: string;
  locationName: string;
  title: string | null;
  syncStatus: 'synced' | 'unchanged' | 'rejected' | 'failed' | null;
  syncIssues: GbpIssue[] | null;
  syncedAt: Date | null;
  metricsFetchedAt: Date | null;
  metricsError: string | null;
}

const COLS = sql`account_name AS "accountName", location_name AS "locationName", title, sync_status AS "syncStatus",
  sync_issues AS "syncIssues", synced_at AS "syncedAt", metrics_fetched_at AS "metricsFetchedAt", metrics_error AS "metricsError"`;

/** The tenant's Google Business Profile location and its daily performance metrics. */
export function createGbpRepository() {
  return {
    get: (q: Q, tenantId: string) => queryOne<GbpLocationRow>(q, sql`SELECT ${COLS} FROM gbp_locations WHERE tenant_id = ${tenantId}`),
    /** Picks (or re-picks) the location; a different location starts with no sync state. */
    put: (q: Q, tenantId: string, l: { accountName: string; locationName: string; title: string | null }, now: Date) =>
      queryOne<GbpLocationRow>(
        q,
        sql`INSERT INTO gbp_locations (tenant_id, account_name, location_name, title, created_at, updated_at)
            VALUES (${tenantId}, ${l.accountName}, ${l.locationName}, ${l.title}, ${now.toISOString()}, ${now.toISOString()})
            ON CONFLICT (tenant_id) DO UPDATE SET account_name = EXCLUDED.account_name, title = EXCLUDED.title,
              sync_status = CASE WHEN gbp_locations.location_name = EXCLUDED.location_name THEN gbp_locations.sync_status END,
              sync_issues = CASE WHEN gbp_locations.location_name = EXCLUDED.location_name THEN gbp_locations.sync_issues END,
              synced_at = CASE WHEN gbp_locations.location_name = EXCLUDED.location_name THEN gbp_locations.synced_at END,
              location_name = EXCLUDED.location_name, updated_at = EXCLUDED.updated_at
            RETURNING ${COLS}`,
      ),
    setSync: (q: Q, tenantId: string, s: { status: NonNullable<GbpLocationRow['syncStatus']>; issues: GbpIssue[]; now: Date }) =>
      q.execute(
        sql`UPDATE gbp_locations SET sync_status = ${s.status}, sync_issues = ${JSON.stringify(s.issues)}::jsonb,
              synced_at = ${s.now.toISOString()}, updated_at = ${s.now.toISOString()}
            WHERE tenant_id = ${tenantId}`,
      ),
    setMetricsFetch: (q: Q, tenantId: string, locationName: string, s: { error: string | null; now: Date }) =>
      q.execute(
        sql`UPDATE gbp_locations SET metrics_error = ${s.error},
              metrics_fetched_at = CASE WHEN ${s.error}::text IS NULL THEN ${s.now.toISOString()}::timestamptz ELSE metrics_fetched_at END
            WHERE tenant_id = ${tenantId} AND location_name = ${locationName}`,
      ),
    /** Writes a fetch's figures: one set-based upsert; a day fetched again takes Google's new value (never a second row). */
    async upsertMetrics(q: Q, tenantId: string, locationName: string, rows: readonly MetricRow[], now: Date): Promise<number> {
      if (!rows.length) return 0;
      const out = await queryRows<{ n: number }>(
        q,
        sql`WITH up AS (
              INSERT INTO gbp_daily_metrics (tenant_id, location_name, day, metric, value, fetched_at)
              SELECT ${tenantId}, ${locationName}, d::date, m, v, ${now.toISOString()}
              FROM unnest(${arrayParam(rows.map((r) => r.day))}::text[], ${arrayParam(rows.map((r) => r.metric))}::text[],
                          ${arrayParam(rows.map((r) => r.value))}::bigint[]) AS w(d, m, v)
              ON CONFLICT (tenant_id, location_name, day, metric) DO UPDATE SET value = EXCLUDED.value, fetched_at = EXCLUDED.fetched_at
              RETURNING 1)
            SELECT count(*)::int AS n FROM up`,
      );
      return out[0]?.n ?? 0;
    },
    /** A location's figures over [from, to] (ISO dates, inclusive). */
    metrics: (q: Q, tenantId: string, locationName: string, from: string, to: string) =>
      queryRows<MetricRow>(
        q,
        sql`SELECT day::text AS day, metric, value::float8 AS value FROM gbp_daily_metrics
            WHERE tenant_id = ${tenantId} AND location_name = ${locationName} AND day BETWEEN ${from}::date AND ${to}::date
            ORDER BY day, metric`,
      ),
  };
}
export type GbpRepository = ReturnType<typeof createGbpRepository>;
