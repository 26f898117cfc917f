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
     *
     * One grouping of the events by session (each step's times as an array), then per session a chain of lateral
     * minimums over those small arrays: linear in the events read. The former shape (a CTE per step joined to the
     * previous one on session id) was planned as nested loops over CTE scans when the session list was a parameter
     * (estimated at a handful of rows), so a refresh of N changed sessions cost ~N^2 comparisons per step.
     */
    sessionStepsSql(tenantId: string, steps: readonly string[], window: { from: Date; to: Date } | null, sessions: SQL | null): SQL {
      const n = (i: number) => sql.raw(`s${i}`);
      const a = (i: number) => sql.raw(`a${i}`);
      const inWindow = window
        ? sql` AND x.reached_at >= ${window.from.toISOString()} AND x.reached_at < ${window.to.toISOString()}`
        : sql``;
      const only = sessions ? sql` AND x.session_id IN (${sessions})` : sql``;
      const arrays = sql.join(
        steps.map((name, i) => sql`, array_agg(x.reached_at) FILTER (WHERE x.stage = ${name}) AS ${a(i)}`),
        sql``,
      );
      const chain = steps.map((name, i) =>
        i === 0
          ? sql` CROSS JOIN LATERAL (SELECT min(u) AS t FROM unnest(g.a0) u) s0`
          : sql` CROSS JOIN LATERAL (SELECT min(u) AS t FROM unnest(g.${a(i)}) u WHERE ${steps[i - 1] === name ? sql`u > ${n(i - 1)}.t` : sql`u >= ${n(i - 1)}.t`}) ${n(i)}`,
      );
      const times = sql.join(
        steps.map((_, i) => sql`${n(i)}.t`),
        sql`, `,
      );
      // The rows first, materialized: their access path stays the filter's (the listed sessions through the session
      // index); inlined, a grouping by session could be planned as a walk of the tenant's whole session index.
      return sql`(WITH x AS MATERIALIZED (
          SELECT x.id, x.session_id, x.stage, x.reached_at FROM funnel_events x
          WHERE x.tenant_id = ${tenantId} AND x.stage = ANY(${arrayParam([...new Set(steps)])}::text[])${inWindow}${only})
        SELECT g.session_id, g.anchor_id, g.first_at, g.last_at, array_remove(ARRAY[${times}]::timestamptz[], NULL) AS step_at
        FROM (SELECT x.session_id, min(x.id::text)::uuid AS anchor_id, min(x.reached_at) AS first_at, max(x.reached_at) AS last_at${arrays}
              FROM x GROUP BY x.session_id) g${sql.join(chain, sql``)}
        WHERE s0.t IS NOT NULL)`;
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
      return sql`(SELECT s.session_id, s.device_type AS device, s.browser, s.os, s.utm_source, s.utm_medium, s.utm_campaign, s.country
        FROM tracking_sessions s WHERE s.tenant_id = ${tenantId})`;
    },
  };
}
