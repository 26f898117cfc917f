import { type SQL, sql } from 'drizzle-orm';
import { type Q, arrayParam, currentSnapshot, queryOne, queryRows } from '../../platform/index.ts';
import type { FunnelCountRow } from './funnel.core.ts';
import type { FunnelRollupSources, ReportWindow, SessionFilters } from './analytics.types.ts';

/**
 * The funnel rollups' I/O (tables `analytics_funnel_sessions`, `analytics_funnel_rollups`): per (tenant, funnel key)
 * each session's greedy step reach over all its stage events, refreshed from a snapshot watermark (platform/snapshots.ts) as
 * experiments' rollups are. Events' rows are read only through `FunnelRollupSources`' SQL pieces. Every method takes the query
 * handle first, then the tenant.
 */
export interface FunnelTrack {
  key: string;
  steps: readonly string[];
}

const ATTRIBUTE: Record<keyof SessionFilters, SQL> = {
  device: sql`a.device`,
  browser: sql`a.browser`,
  os: sql`a.os`,
  utm_source: sql`a.utm_source`,
  utm_medium: sql`a.utm_medium`,
  utm_campaign: sql`a.utm_campaign`,
};

export function createFunnelRollupsRepository(src: FunnelRollupSources) {
  const rowsOf = (tenantId: string, t: FunnelTrack) => sql`r.tenant_id = ${tenantId} AND r.funnel_key = ${t.key}`;
  return {
    /**
     * The current snapshot (as text): every funnel row it sees is seen by the refresh's later statements, so rows it
     * does not see (written since, or by transactions still running) are the next refresh's and the reports' tail.
     * Ask it first in the refresh's transaction, before it writes.
     */
    horizon: (q: Q): Promise<string> => currentSnapshot(q),

    /** The rollup's watermark (null: never built; undefined: no such rollup). */
    async watermark(q: Q, tenantId: string, key: string): Promise<string | null | undefined> {
      const row = await queryOne<{ watermark: string | null }>(
        q,
        sql`SELECT watermark::text AS watermark FROM analytics_funnel_rollups WHERE tenant_id = ${tenantId} AND funnel_key = ${key}`,
      );
      return row ? row.watermark : undefined;
    },

    /** How many funnel rollups the tenant has (a cap keeps hostile step lists from building rollups without end). */
    async count(q: Q, tenantId: string): Promise<number> {
      const row = await queryOne<{ n: number }>(
        q,
        sql`SELECT count(*)::int AS n FROM analytics_funnel_rollups WHERE tenant_id = ${tenantId}`,
      );
      return row?.n ?? 0;
    },

    /** Locks the rollup's row (made on first use): concurrent refreshes take turns. Returns its watermark. */
    async lock(q: Q, tenantId: string, t: FunnelTrack): Promise<string | null> {
      await q.execute(sql`INSERT INTO analytics_funnel_rollups (tenant_id, funnel_key, steps)
        VALUES (${tenantId}, ${t.key}, ${arrayParam(t.steps)}::text[]) ON CONFLICT DO NOTHING`);
      const row = await queryOne<{ watermark: string | null }>(
        q,
        sql`SELECT watermark::text AS watermark FROM analytics_funnel_rollups r WHERE ${rowsOf(tenantId, t)} FOR UPDATE`,
      );
      return row?.watermark ?? null;
    },

    async setWatermark(q: Q, tenantId: string, t: FunnelTrack, watermark: string, now: Date): Promise<void> {
      await q.execute(
        sql`UPDATE analytics_funnel_rollups r SET watermark = ${watermark}::pg_snapshot, refreshed_at = ${now} WHERE ${rowsOf(tenantId, t)}`,
      );
    },

    /** Whether the tenant wrote a funnel row that snapshot `since` does not see: a probe of the xid index's newest end. */
    async changedSince(q: Q, tenantId: string, since: string): Promise<boolean> {
      const row = await queryOne<{ changed: boolean }>(
        q,
        sql`SELECT EXISTS (SELECT 1 FROM ${src.changesSql(tenantId, since)} c) AS changed`,
      );
      return row?.changed ?? true;
    },

    /** Builds the rollup whole from the raw rows. */
    async rebuild(q: Q, tenantId: string, t: FunnelTrack): Promise<void> {
      await q.execute(sql`DELETE FROM analytics_funnel_sessions r WHERE ${rowsOf(tenantId, t)}`);
      await q.execute(sql`INSERT INTO analytics_funnel_sessions (tenant_id, funnel_key, session_id, anchor_id, first_at, last_at, step_at)
        SELECT ${tenantId}, ${t.key}, x.session_id, x.anchor_id, x.first_at, x.last_at, x.step_at FROM ${src.sessionStepsSql(tenantId, t.steps, null, null)} x`);
      // Fresh statistics for the rows just written: without them (one row estimated) a report's join to the sessions
      // was planned as a nested loop of one index probe per session (EXPLAIN at 40k sessions: 1.4 s of 2.4 s).
      await q.execute(sql`ANALYZE analytics_funnel_sessions`);
    },

    /**
     * Brings the rollup forward from snapshot `since`: every session with a funnel row that snapshot did not see (a new event, a
     * late or out-of-order one, an erasure's rename) is recomputed from all its raw rows; the old row of a renamed
     * session goes (found by its anchor, an id the rename keeps). Recomputing, not adding, makes it idempotent.
     * Returns the number of sessions recomputed.
     */
    async applyChanges(q: Q, tenantId: string, t: FunnelTrack, since: string): Promise<number> {
      const changed = await queryRows<{ id: string; sessionId: string }>(
        q,
        sql`SELECT c.id, c.session_id AS "sessionId" FROM ${src.changesSql(tenantId, since)} c`,
      );
      if (!changed.length) return 0;
      const sessions = [...new Set(changed.map((c) => c.sessionId))];
      // Arrays, probed through the indexes one id at a time (experiments' rollups: IN (subquery) misplanned).
      await q.execute(sql`DELETE FROM analytics_funnel_sessions r WHERE ${rowsOf(tenantId, t)}
        AND (r.session_id = ANY(${arrayParam(sessions)}::text[]) OR r.anchor_id = ANY(${arrayParam(changed.map((c) => c.id))}::uuid[]))`);
      await q.execute(sql`INSERT INTO analytics_funnel_sessions (tenant_id, funnel_key, session_id, anchor_id, first_at, last_at, step_at)
        SELECT ${tenantId}, ${t.key}, x.session_id, x.anchor_id, x.first_at, x.last_at, x.step_at
        FROM ${src.sessionStepsSql(tenantId, t.steps, null, sql`SELECT unnest(${arrayParam(sessions)}::text[])`)} x`);
      return sessions.length;
    },

    /**
     * An erasure's step, in its transaction after events renamed the person's sessions: each rollup row whose anchor
     * was renamed takes the session's new id, so no rollup keeps the old one (the next refresh recomputes it anyway).
     */
    async renameErased(q: Q, tenantId: string): Promise<void> {
      await q.execute(sql`UPDATE analytics_funnel_sessions r SET session_id = w.session_id
        FROM ${src.writtenNowSql(tenantId)} w WHERE r.tenant_id = ${tenantId} AND r.anchor_id = w.id`);
    },

    /**
     * The ordered funnel per session, as events' raw `funnel` counts it (per step and breakdown value: sessions
     * reaching it, median seconds from the previous step), from the rollup as of `watermark` plus the raw tail in one
     * statement: a rollup row is read when the window holds the session's whole span and nothing of the session was
     * written since the watermark; every other session with events in the window is sequenced from its raw rows in
     * the window. So the answer equals the raw scan's at any moment, refreshed or not.
     */
    read(
      q: Q,
      tenantId: string,
      t: FunnelTrack,
      watermark: string,
      w: ReportWindow,
      f: SessionFilters,
      breakdown?: { dimension: keyof SessionFilters; limit: number },
    ): Promise<FunnelCountRow[]> {
      const from = w.from.toISOString();
      const to = w.to.toISOString();
      const filters = (Object.keys(ATTRIBUTE) as (keyof SessionFilters)[])
        .filter((d) => f[d] !== undefined)
        .map((d) => sql` AND ${ATTRIBUTE[d]} = ${f[d]}`);
      const needsAttributes = filters.length > 0 || breakdown !== undefined;
      const bv = breakdown ? sql`coalesce(${ATTRIBUTE[breakdown.dimension]}, '(none)')` : sql`''`;
      const value = breakdown ? sql`CASE WHEN e.bv IN (SELECT bv FROM top) THEN e.bv ELSE 'other' END` : sql`''`;
      const top = breakdown ? sql`, top AS (SELECT bv FROM e GROUP BY bv ORDER BY count(*) DESC, bv LIMIT ${breakdown.limit})` : sql``;
      return queryRows<FunnelCountRow>(
        q,
        sql`WITH tail AS MATERIALIZED ${src.changesSql(tenantId, watermark)},
          roll AS NOT MATERIALIZED (SELECT r.session_id, r.anchor_id, r.first_at, r.last_at, r.step_at FROM analytics_funnel_sessions r
            WHERE ${rowsOf(tenantId, t)} AND r.first_at < ${to} AND r.last_at >= ${from}),
          kept AS (SELECT r.session_id, r.step_at FROM roll r
            WHERE r.first_at >= ${from} AND r.last_at < ${to}
              -- Two anti-joins (hashed), not one with OR (a nested loop over rollup x tail).
              AND NOT EXISTS (SELECT 1 FROM tail c WHERE c.session_id = r.session_id)
              AND NOT EXISTS (SELECT 1 FROM tail c WHERE c.id = r.anchor_id)),
          redo AS (SELECT session_id FROM tail UNION SELECT session_id FROM roll r WHERE r.first_at < ${from} OR r.last_at >= ${to}),
          fresh AS (SELECT x.session_id, x.step_at FROM ${src.sessionStepsSql(tenantId, t.steps, w, sql`SELECT session_id FROM redo`)} x),
          e AS MATERIALIZED (SELECT fs.session_id, fs.step_at, ${bv} AS bv
            FROM (SELECT * FROM kept UNION ALL SELECT * FROM fresh) fs
            ${needsAttributes ? sql`LEFT JOIN ${src.sessionAttributesSql(tenantId)} a ON a.session_id = fs.session_id` : sql``}
            WHERE true ${sql.join(filters, sql``)})${top}
          -- Steps as a constant series (estimated exactly): a lateral generate_series over each row's array length is
          -- estimated at 1,000 rows a row, which put the statement past jit_above_cost (EXPLAIN: 4.9 s of JIT, 0.7 s of work).
          SELECT s.i AS step, ${value} AS value, count(*)::int AS count,
                 (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.step_at[s.i + 1] - e.step_at[s.i])))::float8 AS "medianSeconds"
          FROM e JOIN generate_series(0, ${t.steps.length - 1}::int) AS s(i) ON s.i < cardinality(e.step_at)
          GROUP BY 1, 2 ORDER BY 1, 2`,
      );
    },
  };
}
export type FunnelRollupsRepository = ReturnType<typeof createFunnelRollupsRepository>;
