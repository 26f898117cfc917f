import { type SQL, sql } from 'drizzle-orm';
import { arrayParam, unseenBy } from '../../platform/index.ts';

/**
 * SQL pieces over funnel_events and tracking_sessions that analytics' funnel rollups (`FunnelRollupSources`,
 * analytics/analytics.types.ts) join in their own statements, so analytics' SQL names none of events' tables (the
 * cohorts' and the warehouse marts' pattern). Each piece is a parenthesised subquery filtered on the tenant.
 */
export function createFunnelRollupSources() {
  return {
    /**
     * Per session with a step-1 event: `session_id`, `anchor_id` (least id of its step events), `first_at` and
     * `last_at` (span of its step events) and `step_at`, the greedy earliest reach of each step in order (step 1's
     * earliest event, then each next step's earliest at or after the previous one, strictly after when it repeats the
     * previous step's name), as long as the deepest step reached: what events' ordered funnel counts per session.
     * `window` keeps only events in [from, to); `sessions`, a subquery of session ids, only those sessions.
     */
    sessionStepsSql(tenantId: string, steps: readonly string[], window: { from: Date; to: Date } | null, sessions: SQL | null): SQL {
      const n = (i: number) => sql.raw(`s${i}`);
      const inWindow = window
        ? sql` AND x.reached_at >= ${window.from.toISOString()} AND x.reached_at < ${window.to.toISOString()}`
        : sql``;
      const only = sessions ? sql` AND x.session_id IN (${sessions})` : sql``;
      const ctes = steps.map((name, i) =>
        i === 0
          ? sql`, s0 AS (SELECT session_id, min(at) AS t FROM ev WHERE name = ${name} GROUP BY session_id)`
          : sql`, ${n(i)} AS (SELECT e.session_id, min(e.at) AS t FROM ev e JOIN ${n(i - 1)} p ON p.session_id = e.session_id
                  AND ${steps[i - 1] === name ? sql`e.at > p.t` : sql`e.at >= p.t`} WHERE e.name = ${name} GROUP BY e.session_id)`,
      );
      const joins = steps.slice(1).map((_, k) => sql` LEFT JOIN ${n(k + 1)} USING (session_id)`);
      const times = sql.join(
        steps.map((_, i) => sql`${n(i)}.t`),
        sql`, `,
      );
      return sql`(WITH ev AS MATERIALIZED (
          SELECT x.id, x.session_id, x.stage AS name, x.reached_at AS at FROM funnel_events x
          WHERE x.tenant_id = ${tenantId} AND x.stage = ANY(${arrayParam([...new Set(steps)])}::text[])${inWindow}${only}),
        span AS (SELECT session_id, min(id::text)::uuid AS anchor_id, min(at) AS first_at, max(at) AS last_at FROM ev GROUP BY session_id)
        ${sql.join(ctes, sql``)}
        SELECT span.session_id, span.anchor_id, span.first_at, span.last_at, array_remove(ARRAY[${times}]::timestamptz[], NULL) AS step_at
        FROM span JOIN s0 USING (session_id)${sql.join(joins, sql``)})`;
    },

    /**
     * `id`, `session_id` of the tenant's funnel rows written by a transaction that snapshot `since` (a pg_snapshot as
     * text) does not see, and (`id` null) the sessions whose report attributes were written so (a session started,
     * or a late start filling a bare session's device and UTM): a range of each xid index from the snapshot's xmax
     * plus a probe per transaction it saw running (platform/snapshots.ts), not the range from its xmin a long
     * transaction holds back.
     */
    changesSql(tenantId: string, since: string): SQL {
      return sql`(SELECT x.id, x.session_id FROM funnel_events x WHERE x.tenant_id = ${tenantId} AND ${unseenBy(sql`x.ingest_xid`, since)}
        UNION ALL SELECT NULL::uuid, s.session_id FROM tracking_sessions s WHERE s.tenant_id = ${tenantId}
        AND ${unseenBy(sql`s.attrs_xid`, since)})`;
    },

    /** `id`, `session_id` of the tenant's funnel rows written by the current transaction (an erasure's renames). */
    writtenNowSql(tenantId: string): SQL {
      return sql`(SELECT x.id, x.session_id FROM funnel_events x WHERE x.tenant_id = ${tenantId} AND x.ingest_xid = pg_current_xact_id())`;
    },

    /** `session_id` and the session attributes reports filter and break down by (one row per tracked session). */
    sessionAttributesSql(tenantId: string): SQL {
      return sql`(SELECT s.session_id, s.device_type AS device, s.browser, s.os, s.utm_source, s.utm_medium, s.utm_campaign
        FROM tracking_sessions s WHERE s.tenant_id = ${tenantId})`;
    },
  };
}
