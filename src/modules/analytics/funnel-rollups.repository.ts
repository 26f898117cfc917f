import { type SQL, sql } from 'drizzle-orm';
import { type Q, arrayParam, currentSnapshot, queryOne, queryRows } from '../../platform/index.ts';
import type { FunnelCountRow } from './funnel.core.ts';
import { FUNNEL_HISTOGRAM_BUCKETS, FUNNEL_HISTOGRAM_FLOOR_SECONDS, FUNNEL_HISTOGRAM_GROWTH } from './funnel-histogram.core.ts';
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
  country: sql`a.country`,
};

/** A pre-aggregate dimension: '' (the whole funnel) or a session attribute. */
export type FunnelDimension = '' | keyof SessionFilters;

/** Merged histogram cells of one breakdown value: from day rows (`sign` 1) or per-session deltas (summed, may be < 0). */
export interface FunnelCellsRow {
  value: string;
  cells: number[];
  counts: number[];
}

/** A row's breakdown value under `d` (alias `x`: stored or joined attributes), as the raw funnel coalesces it. */
const valueOf = (d: FunnelDimension, x: string) => (d === '' ? sql`''` : sql`coalesce(${sql.raw(`${x}.${d}`)}, '(none)')`);
const DIMENSIONS = Object.keys(ATTRIBUTE) as (keyof SessionFilters)[];

/**
 * Histogram cells of a row with step times `x.step_at` joined to the constant series `s(i)` over its reached steps:
 * cell 0 for step 1, else step * BUCKETS + the log bucket of the time from the previous step (funnel-histogram.core.ts:
 * the only place durations are bucketed, so day rows and deltas always agree).
 */
function cellSql(x: string): SQL {
  const d = sql.raw(`extract(epoch FROM ${x}.step_at[s.i + 1] - ${x}.step_at[s.i])::float8`);
  return sql`CASE WHEN s.i = 0 THEN 0 ELSE s.i * ${sql.raw(String(FUNNEL_HISTOGRAM_BUCKETS))} + CASE WHEN ${d} <= 0 THEN 0
    WHEN ${d} < ${sql.raw(String(FUNNEL_HISTOGRAM_FLOOR_SECONDS))} THEN 1
    ELSE least(${sql.raw(String(FUNNEL_HISTOGRAM_BUCKETS - 1))}, 2 + floor(ln(${d} / ${sql.raw(String(FUNNEL_HISTOGRAM_FLOOR_SECONDS))}) / ln(${sql.raw(String(FUNNEL_HISTOGRAM_GROWTH))}))::int) END END`;
}
const stepSeries = (t: FunnelTrack, x: string) =>
  sql`JOIN generate_series(0, ${sql.raw(String(t.steps.length - 1))}) AS s(i) ON s.i < cardinality(${sql.raw(x)}.step_at)`;

export function createFunnelRollupsRepository(src: FunnelRollupSources) {
  const rowsOf = (tenantId: string, t: FunnelTrack) => sql`r.tenant_id = ${tenantId} AND r.funnel_key = ${t.key}`;
  /** Per-session rows with the sessions' attributes now, from `steps` (events' `sessionStepsSql`). */
  const insertSessions = (tenantId: string, t: FunnelTrack, steps: SQL) =>
    sql`INSERT INTO analytics_funnel_sessions (tenant_id, funnel_key, session_id, anchor_id, first_at, last_at, step_at, device, browser, os, utm_source, utm_medium, utm_campaign, country)
        SELECT ${tenantId}, ${t.key}, x.session_id, x.anchor_id, x.first_at, x.last_at, x.step_at, a.device, a.browser, a.os, a.utm_source, a.utm_medium, a.utm_campaign, a.country
        FROM ${steps} x LEFT JOIN ${src.sessionAttributesSql(tenantId)} a ON a.session_id = x.session_id`;
  /** Rewrites every day row of the funnel from its per-session rows (a build). */
  async function writeDays(q: Q, tenantId: string, t: FunnelTrack): Promise<void> {
    await q.execute(sql`DELETE FROM analytics_funnel_days r WHERE ${rowsOf(tenantId, t)}`);
    await q.execute(sql`INSERT INTO analytics_funnel_days (tenant_id, funnel_key, first_day, last_day, dimension, value, sessions, cells, counts)
      ${daysSql(tenantId, t, sql`${rowsOf(tenantId, t)}`, 1)}`);
  }
  /**
   * Adds (`sign` 1) or takes away (-1) the per-session rows `where` picks to or from the day rows: their histogram cells
   * merged into the rows' cells (a cell whose count reaches 0 goes; a row left without cells keeps `cells` '{}' until
   * `dropEmptyDays`). A refresh so costs the sessions it recomputes, not the days they fall on (recounting the touched
   * days from their per-session rows cost a day's sessions: 1.1-1.5 s a refresh at 200k sessions, loaded).
   */
  async function addDays(q: Q, tenantId: string, t: FunnelTrack, where: SQL, sign: 1 | -1): Promise<void> {
    await q.execute(sql`INSERT INTO analytics_funnel_days AS x (tenant_id, funnel_key, first_day, last_day, dimension, value, sessions, cells, counts)
      ${daysSql(tenantId, t, where, sign)}
      ON CONFLICT (tenant_id, funnel_key, dimension, first_day, last_day, value) DO UPDATE SET (sessions, cells, counts) = (
        SELECT coalesce(sum(m.n) FILTER (WHERE m.cell = 0), 0)::int, coalesce(array_agg(m.cell ORDER BY m.cell), '{}'), coalesce(array_agg(m.n ORDER BY m.cell), '{}')
        FROM (SELECT u.cell, sum(u.n)::int AS n
              FROM (SELECT * FROM unnest(x.cells, x.counts) UNION ALL SELECT * FROM unnest(excluded.cells, excluded.counts)) AS u(cell, n)
              GROUP BY u.cell HAVING sum(u.n) <> 0) m)`);
  }
  /** Removes the day rows of first days `days` that `addDays` left without cells. */
  async function dropEmptyDays(q: Q, tenantId: string, t: FunnelTrack, days: readonly string[]): Promise<void> {
    if (!days.length) return;
    // The dimension list too, so the primary key (tenant, funnel, dimension, first_day, ...) finds the days' rows.
    await q.execute(sql`DELETE FROM analytics_funnel_days r WHERE ${rowsOf(tenantId, t)} AND r.dimension = ANY(${arrayParam(['', ...DIMENSIONS])}::text[])
      AND r.first_day = ANY(${arrayParam(days)}::date[]) AND cardinality(r.cells) = 0`);
  }
  /**
   * Day-row cells (times `sign`) of the per-session rows `r` that `where` picks, one row per (first day, last day,
   * dimension, value). The rows are first counted per (days, all attributes, cell), then those counts are spread over
   * the seven dimensions: a build aggregates sessions x steps rows once instead of seven times (sessions with the same
   * days, attributes and cells share a count).
   */
  function daysSql(tenantId: string, t: FunnelTrack, where: SQL, sign: 1 | -1): SQL {
    const dims = sql.join([sql`('', '')`, ...DIMENSIONS.map((d) => sql`(${d}, ${valueOf(d, 'p')})`)], sql`, `);
    return sql`SELECT ${tenantId}::uuid, ${t.key}, c.first_day, c.last_day, c.dimension, c.value, coalesce(sum(c.n) FILTER (WHERE c.cell = 0), 0)::int,
             array_agg(c.cell ORDER BY c.cell), array_agg(c.n ORDER BY c.cell)
      FROM (SELECT p.first_day, p.last_day, d.dimension, d.value, p.cell, ${sql.raw(String(sign))} * sum(p.n)::int AS n
            FROM (SELECT (r.first_at AT TIME ZONE 'UTC')::date AS first_day, (r.last_at AT TIME ZONE 'UTC')::date AS last_day,
                         r.device, r.browser, r.os, r.utm_source, r.utm_medium, r.utm_campaign, r.country, ${cellSql('r')} AS cell, count(*) AS n
                  FROM analytics_funnel_sessions r ${stepSeries(t, 'r')}
                  WHERE ${where}
                  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10) p
            CROSS JOIN LATERAL (VALUES ${dims}) AS d(dimension, value)
            GROUP BY 1, 2, 3, 4, 5) c
      GROUP BY c.first_day, c.last_day, c.dimension, c.value`;
  }
  /** Raises the rollup's longest session span to cover the rows of `sessions` (null: all). */
  async function raiseSpan(q: Q, tenantId: string, t: FunnelTrack, sessions: readonly string[] | null): Promise<void> {
    await q.execute(sql`UPDATE analytics_funnel_rollups r SET max_span_seconds = greatest(r.max_span_seconds,
        coalesce((SELECT max(extract(epoch FROM x.last_at - x.first_at))::float8 FROM analytics_funnel_sessions x
                  WHERE x.tenant_id = ${tenantId} AND x.funnel_key = ${t.key}${sessions ? sql` AND x.session_id = ANY(${arrayParam(sessions)}::text[])` : sql``}), 0))
      WHERE ${rowsOf(tenantId, t)}`);
  }
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

    /** The rollup's watermark and longest session span (seconds), in one read; undefined: no such rollup. */
    async state(q: Q, tenantId: string, key: string): Promise<{ watermark: string | null; maxSpanSeconds: number } | undefined> {
      const row = await queryOne<{ watermark: string | null; maxSpanSeconds: number }>(
        q,
        sql`SELECT watermark::text AS watermark, max_span_seconds AS "maxSpanSeconds" FROM analytics_funnel_rollups WHERE tenant_id = ${tenantId} AND funnel_key = ${key}`,
      );
      return row ? { watermark: row.watermark, maxSpanSeconds: Number(row.maxSpanSeconds) } : undefined;
    },

    /** How many funnel rollups of keys starting `prefix` the tenant has (a cap keeps hostile step lists from building rollups without end). */
    async count(q: Q, tenantId: string, prefix: string): Promise<number> {
      const row = await queryOne<{ n: number }>(
        q,
        sql`SELECT count(*)::int AS n FROM analytics_funnel_rollups WHERE tenant_id = ${tenantId} AND starts_with(funnel_key, ${prefix})`,
      );
      return row?.n ?? 0;
    },

    /**
     * Deletes the tenant's rollups whose key does not start with `prefix` (an older key version: never read again), their
     * session and day rows with them. Returns the keys dropped.
     */
    async dropOtherVersions(q: Q, tenantId: string, prefix: string): Promise<string[]> {
      const old = await queryRows<{ key: string }>(
        q,
        sql`DELETE FROM analytics_funnel_rollups WHERE tenant_id = ${tenantId} AND NOT starts_with(funnel_key, ${prefix}) RETURNING funnel_key AS key`,
      );
      if (!old.length) return [];
      const keys = arrayParam(old.map((r) => r.key));
      for (const table of ['analytics_funnel_sessions', 'analytics_funnel_days'])
        await q.execute(sql`DELETE FROM ${sql.raw(table)} WHERE tenant_id = ${tenantId} AND funnel_key = ANY(${keys}::text[])`);
      return old.map((r) => r.key);
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

    /** Builds the rollup whole from the raw rows: the per-session rows, then the day rows from them. */
    async rebuild(q: Q, tenantId: string, t: FunnelTrack): Promise<void> {
      await q.execute(sql`DELETE FROM analytics_funnel_sessions r WHERE ${rowsOf(tenantId, t)}`);
      await q.execute(insertSessions(tenantId, t, src.sessionStepsSql(tenantId, t.steps, null, null)));
      await writeDays(q, tenantId, t);
      await raiseSpan(q, tenantId, t, null);
      // Fresh statistics for the rows just written: without them (one row estimated) a report's join to the sessions
      // was planned as a nested loop of one index probe per session (EXPLAIN at 40k sessions: 1.4 s of 2.4 s).
      await q.execute(sql`ANALYZE analytics_funnel_sessions`);
      await q.execute(sql`ANALYZE analytics_funnel_days`);
    },

    /**
     * Brings the rollup forward from snapshot `since`: every session with a funnel row that snapshot did not see (a new event, a
     * late or out-of-order one, an erasure's rename) is recomputed from all its raw rows; the old row of a renamed
     * session goes (found by its anchor, an id the rename keeps). Recomputing, not adding, makes it idempotent.
     * Returns the number of sessions recomputed.
     */
    async applyChanges(q: Q, tenantId: string, t: FunnelTrack, since: string): Promise<number> {
      const changed = await queryRows<{ id: string | null; sessionId: string }>(
        q,
        sql`SELECT c.id, c.session_id AS "sessionId" FROM ${src.changesSql(tenantId, since)} c`,
      );
      if (!changed.length) return 0;
      const sessions = [...new Set(changed.map((c) => c.sessionId))];
      const anchors = changed.flatMap((c) => (c.id === null ? [] : [c.id]));
      const day = sql`(r.first_at AT TIME ZONE 'UTC')::date::text AS day`;
      // Arrays, probed through the indexes one id at a time (experiments' rollups: IN (subquery) misplanned).
      const target = sql`${rowsOf(tenantId, t)} AND (r.session_id = ANY(${arrayParam(sessions)}::text[]) OR r.anchor_id = ANY(${arrayParam(anchors)}::uuid[]))`;
      // The day rows lose the old rows' cells, then gain the recomputed rows' cells.
      await addDays(q, tenantId, t, target, -1);
      const gone = await queryRows<{ day: string }>(q, sql`DELETE FROM analytics_funnel_sessions r WHERE ${target} RETURNING ${day}`);
      const made = await queryRows<{ day: string }>(
        q,
        sql`WITH ins AS (${insertSessions(tenantId, t, src.sessionStepsSql(tenantId, t.steps, null, sql`SELECT unnest(${arrayParam(sessions)}::text[])`))}
          RETURNING first_at) SELECT DISTINCT ${day} FROM ins r`,
      );
      await addDays(q, tenantId, t, sql`${rowsOf(tenantId, t)} AND r.session_id = ANY(${arrayParam(sessions)}::text[])`, 1);
      await dropEmptyDays(q, tenantId, t, [...new Set([...gone, ...made].map((r) => r.day))].sort());
      await raiseSpan(q, tenantId, t, sessions);
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
     * The ordered funnel's histogram cells per breakdown value (dimension `d`; with `only`, just that value), as of
     * `watermark`, over window `w` whose whole UTC days are [innerFrom, innerTo) (innerFrom < innerTo, midnights):
     * - the day rows of sessions wholly inside the whole days (one row per day pair and value, not per session);
     * - minus the stored rows of those sessions written since the watermark (their day-row share is stale);
     * - plus the stored rows of unchanged sessions wholly inside the window but not the whole days (the edge days);
     * - plus, sequenced from the raw rows in the window, sessions written since and sessions the window cuts.
     * The per-session rows near the edges are found through the first_at index in [edge - longest span, edge).
     * Summed per value these equal events' raw funnel counts exactly; the caller takes medians from the cells
     * (`funnelRowsFromCells`). One statement: the day rows and the per-session rows come from one snapshot.
     */
    readDays(
      q: Q,
      tenantId: string,
      t: FunnelTrack,
      state: { watermark: string; maxSpanSeconds: number },
      w: ReportWindow,
      inner: { from: Date; to: Date },
      d: FunnelDimension,
      only?: string,
    ): Promise<FunnelCellsRow[]> {
      const from = w.from.toISOString();
      const to = w.to.toISOString();
      const d1 = inner.from.toISOString();
      const d2 = inner.to.toISOString();
      // One second more than the longest span: the stored span is rounded through float8.
      const spanMs = (state.maxSpanSeconds + 1) * 1000;
      const fromLess = new Date(w.from.getTime() - spanMs).toISOString();
      const d2Less = new Date(inner.to.getTime() - spanMs).toISOString();
      const pick = only === undefined ? sql`` : sql` WHERE p.value = ${only}`;
      const dayPick = only === undefined ? sql`` : sql` AND r.value = ${only}`;
      return queryRows<FunnelCellsRow>(
        q,
        sql`WITH tail AS MATERIALIZED ${src.changesSql(tenantId, state.watermark)},
          near AS MATERIALIZED (SELECT r.* FROM analytics_funnel_sessions r WHERE ${rowsOf(tenantId, t)}
            AND ((r.first_at >= ${fromLess} AND r.first_at < ${d1}) OR (r.first_at >= ${d2Less} AND r.first_at < ${to}))),
          gone AS MATERIALIZED (SELECT r.* FROM analytics_funnel_sessions r WHERE ${rowsOf(tenantId, t)} AND r.session_id IN (SELECT session_id FROM tail)
            UNION SELECT r.* FROM analytics_funnel_sessions r WHERE ${rowsOf(tenantId, t)} AND r.anchor_id IN (SELECT id FROM tail)),
          redo AS (SELECT session_id FROM tail
            UNION SELECT session_id FROM near n WHERE (n.first_at < ${from} AND n.last_at >= ${from}) OR (n.first_at < ${to} AND n.last_at >= ${to})),
          parts AS (
            SELECT -1 AS sign, ${valueOf(d, 'g')} AS value, g.step_at FROM gone g WHERE g.first_at >= ${d1} AND g.last_at < ${d2}
            UNION ALL
            SELECT 1, ${valueOf(d, 'n')}, n.step_at FROM near n
              WHERE n.first_at >= ${from} AND n.last_at < ${to} AND NOT (n.first_at >= ${d1} AND n.last_at < ${d2})
                AND NOT EXISTS (SELECT 1 FROM gone g WHERE g.session_id = n.session_id)
            UNION ALL
            SELECT 1, ${valueOf(d, 'a')}, x.step_at FROM ${src.sessionStepsSql(tenantId, t.steps, w, sql`SELECT session_id FROM redo`)} x
              LEFT JOIN ${src.sessionAttributesSql(tenantId)} a ON a.session_id = x.session_id),
          delta AS (SELECT p.value, ${cellSql('p')} AS cell, sum(p.sign)::int AS n FROM parts p ${stepSeries(t, 'p')}${pick} GROUP BY 1, 2)
        SELECT value, array_agg(cell ORDER BY cell) AS cells, array_agg(n ORDER BY cell) AS counts FROM delta GROUP BY value
        UNION ALL
        SELECT r.value, r.cells, r.counts FROM analytics_funnel_days r WHERE ${rowsOf(tenantId, t)} AND r.dimension = ${d}
          AND r.first_day >= ${d1.slice(0, 10)}::date AND r.last_day < ${d2.slice(0, 10)}::date${dayPick}`,
      );
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
