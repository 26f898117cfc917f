import { type SQL, sql } from 'drizzle-orm';
import { type Q, arrayParam, currentSnapshot, queryOne, queryRows } from '../../platform/index.ts';
import type {
  CartMeasures,
  Granularity,
  PageMeasures,
  ReportRollupSources,
  ReportRowsPick,
  ReportWindow,
  SessionFilters,
  SessionMeasures,
} from './analytics.types.ts';
import { type RollupCut, cutWindow, floorHour } from './analytics.core.ts';

/**
 * The report rollups' I/O (tables `analytics_report_rollups`, `analytics_session_marks`, `analytics_report_hour_totals`,
 * `analytics_page_hour_totals`): per tenant, seed 000's session, page and cart measures per UTC hour, and page measures
 * per UTC hour x page x page type, refreshed from a snapshot watermark (platform/snapshots.ts) by recounting every hour
 * a changed session touches. Reads by session attribute (a filter, a breakdown) take the window's raw rows through the
 * same pieces: no hour row keeps attributes (report-rollups.service.ts `shapeMisfit`). Events' rows are read only
 * through `ReportRollupSources`' SQL pieces. Every method takes the query handle first, then the tenant.
 */

/** A report's grouping, as events' raw statements take it (`AnalyticsGrouping`), plus pages. */
export type RollupGrouping =
  | { kind: 'total' }
  | { kind: 'time'; granularity: Granularity }
  | { kind: 'dimension'; dimension: keyof SessionFilters | 'page_type'; limit: number }
  | { kind: 'page'; limit: number };

const DIMENSIONS = ['device', 'browser', 'os', 'country', 'utm_source', 'utm_medium', 'utm_campaign'] as const;
const ATTRS_OF = (x: string) => sql.raw(DIMENSIONS.map((d) => `${x}.${d}`).join(', '));
/** A 64-bit hash of a text member (distinct counts over hours; a collision needs ~4e9 members to be likely). */
const hashOf = (x: SQL) => sql`hashtextextended(${x}, 0)`;

/** `AND b.<dim> = $v` per filter (a null attribute never matches, as in the raw reports). */
function filtersSql(f: SessionFilters): SQL {
  return sql.join(
    DIMENSIONS.filter((d) => f[d] !== undefined).map((d) => sql` AND b.${sql.raw(d)} = ${f[d]}`),
    sql``,
  );
}

/** The group key of base row `b` before top-N folding (the raw reports' labels). */
function keyOf(g: RollupGrouping, tz: string): SQL {
  if (g.kind === 'total') return sql`''`;
  if (g.kind === 'page') return sql`b.page`;
  if (g.kind === 'dimension') return sql`coalesce(b.${sql.raw(g.dimension)}, '(none)')`;
  const format = g.granularity === 'hour' ? 'YYYY-MM-DD"T"HH24:00' : 'YYYY-MM-DD';
  return sql`to_char(date_trunc(${g.granularity}, b.at AT TIME ZONE ${tz}), ${format})`;
}

/** `top` CTE over `k` (weighted by `weight`) and the folded key, for dimension and page groupings. */
function fold(g: RollupGrouping, weight: SQL): { cte: SQL; key: SQL } {
  if (g.kind !== 'dimension' && g.kind !== 'page') return { cte: sql``, key: sql`k.key` };
  return {
    cte: sql`, top AS (SELECT key FROM k GROUP BY key ORDER BY ${weight} DESC, key LIMIT ${g.limit})`,
    key: sql`CASE WHEN k.key IN (SELECT key FROM top) THEN k.key ELSE 'other' END`,
  };
}

/** The folded 'other' row goes last, whatever its size (as the raw reports). */
function otherLast<T extends { key: string }>(rows: T[], g: RollupGrouping): T[] {
  if (g.kind !== 'dimension' && g.kind !== 'page') return rows;
  return [...rows.filter((r) => r.key !== 'other'), ...rows.filter((r) => r.key === 'other')];
}

const unfiltered = (f: SessionFilters) => DIMENSIONS.every((d) => f[d] === undefined);

/** Whether a read can use the rows without attributes: no filter, and totals or a time series. */
function totalsFit(f: SessionFilters, g: RollupGrouping): g is { kind: 'total' } | { kind: 'time'; granularity: Granularity } {
  return (g.kind === 'total' || g.kind === 'time') && unfiltered(f);
}

/** A rollup's watermark and the end of its closed hours (the UTC hour of its last refresh; null: never built). */
export interface RollupState {
  watermark: string | null;
  closedThrough: Date | null;
}
type StateRow = { watermark: string | null; refreshedAt: Date | string | null };
const STATE = sql`watermark::text AS watermark, refreshed_at AS "refreshedAt" FROM analytics_report_rollups`;
function stateOf(row: StateRow | undefined): RollupState {
  const at = row?.watermark ? row.refreshedAt : null;
  return { watermark: row?.watermark ?? null, closedThrough: at ? floorHour(new Date(at)) : null };
}

export function createReportRollupsRepository(src: ReportRollupSources) {
  /** Rollup rows of `table` in the cut's whole hours (none without), as `cols`. */
  const innerRows = (tenantId: string, table: string, cut: RollupCut, cols: SQL, and: SQL = sql`true`) =>
    cut.inner
      ? sql`SELECT ${cols} FROM ${sql.raw(table)} r WHERE r.tenant_id = ${tenantId} AND r.hour >= ${cut.inner.from.toISOString()} AND r.hour < ${cut.inner.to.toISOString()} AND ${and}`
      : sql`SELECT ${cols} FROM ${sql.raw(table)} r WHERE false`;
  /** Raw rows of each edge, as `cols` over alias x. */
  const edgeRows = (rows: (pick: ReportRowsPick) => SQL, cut: RollupCut, cols: SQL) =>
    cut.edges.map((e) => sql` UNION ALL SELECT ${cols} FROM ${rows(e)} x`);
  /** Raw rows of the whole window as `cols` (named) over alias x: reads by session attribute, which no hour row keeps. */
  const windowRows = (rows: (pick: ReportRowsPick) => SQL, w: ReportWindow, cols: SQL) =>
    sql`SELECT ${cols} FROM ${rows({ from: w.from, to: w.to })} x`;

  /** Rewrites the tenant's rows of the UTC hours `hours` (distinct ISO hour starts) from the raw rows. */
  async function recount(q: Q, tenantId: string, hours: readonly string[] | 'all'): Promise<void> {
    const inHours = hours === 'all' ? sql`true` : sql`r.hour = ANY(${arrayParam(hours)}::timestamptz[])`;
    const pick: ReportRowsPick = hours === 'all' ? 'all' : { hours };
    for (const table of ['analytics_session_marks', 'analytics_report_hour_totals', 'analytics_page_hour_totals'])
      await q.execute(sql`DELETE FROM ${sql.raw(table)} r WHERE r.tenant_id = ${tenantId} AND ${inHours}`);
    await q.execute(sql`INSERT INTO analytics_session_marks (tenant_id, session_id, hour)
      SELECT ${tenantId}::uuid, x.session_id, x.hour FROM ${src.sessionRowsSql(tenantId, pick)} x`);
    await recountTotals(q, tenantId, pick);
    await recountPages(q, tenantId, pick, inHours);
  }

  /**
   * The hours' rows per page and page type (`analytics_page_hour_totals`), from every page view of the hours' sessions
   * (events' `sessionPagesSql`): a session whose views of the page fall in one (hour, page type) is a count in that row,
   * else a hash in each row it touches; the same over all its views for reads over several pages. One pass: the
   * sessions' rows per (hour, page, page type), then window counts per session and page.
   */
  async function recountPages(q: Q, tenantId: string, pick: ReportRowsPick, inHours: SQL): Promise<void> {
    const bigints = sql`'{}'::bigint[]`;
    await q.execute(sql`INSERT INTO analytics_page_hour_totals (tenant_id, hour, page, page_type, views, time_sum, time_count, scroll_sum, scroll_count,
        page_sessions_single, page_sessions_multi, sessions_single, sessions_multi)
      WITH v AS (
        SELECT x.hour, x.page, x.page_type, x.session_id, count(*) AS views, coalesce(sum(x.time_on_page_seconds), 0) AS time_sum,
               count(x.time_on_page_seconds) AS time_count, coalesce(sum(x.scroll_depth_percent), 0) AS scroll_sum,
               count(x.scroll_depth_percent) AS scroll_count
        FROM ${src.sessionPagesSql(tenantId, pick)} x GROUP BY x.hour, x.page, x.page_type, x.session_id
      ), r AS (
        SELECT v.*, count(*) OVER (PARTITION BY v.session_id, v.page) = 1 AS page_one, count(*) OVER (PARTITION BY v.session_id) = 1 AS all_one FROM v
      )
      SELECT ${tenantId}::uuid, r.hour, r.page, r.page_type, sum(r.views), sum(r.time_sum), sum(r.time_count), sum(r.scroll_sum), sum(r.scroll_count),
             count(*) FILTER (WHERE r.page_one), coalesce(array_agg(${hashOf(sql`r.session_id`)}) FILTER (WHERE NOT r.page_one), ${bigints}),
             count(*) FILTER (WHERE r.all_one), coalesce(array_agg(${hashOf(sql`r.session_id`)}) FILTER (WHERE NOT r.all_one), ${bigints})
      FROM r WHERE ${inHours} GROUP BY r.hour, r.page, r.page_type`);
  }

  /**
   * The hours' rows without attributes (`analytics_report_hour_totals`): a session whose page views (cart events) all
   * fall in one UTC hour is a count there, one spanning hours keeps its hash in each of its hours (its span from events'
   * `pageSpansSql` / `cartSpansSql`, over all its rows).
   */
  async function recountTotals(q: Q, tenantId: string, pick: ReportRowsPick): Promise<void> {
    const bigints = sql`'{}'::bigint[]`;
    await q.execute(sql`INSERT INTO analytics_report_hour_totals (tenant_id, hour, sessions, bounces, duration_sum, duration_count, page_views, cart_adds,
        purchases, converted_sessions, persons, views, time_sum, time_count, scroll_sum, scroll_count, page_sessions_single, page_sessions_multi,
        cart_sessions_single, carts_single, converted_carts_single, conversions_single, items_added_single, items_removed_single, cart_multi_keys,
        cart_multi_flags, cart_multi_added, cart_multi_removed)
      WITH s AS (
        SELECT x.hour, count(*) AS sessions, count(*) FILTER (WHERE x.pages_viewed <= 1) AS bounces, coalesce(sum(x.duration_seconds), 0) AS duration_sum,
               count(x.duration_seconds) AS duration_count, coalesce(sum(x.pages_viewed), 0) AS page_views, coalesce(sum(x.cart_adds), 0) AS cart_adds,
               coalesce(sum(x.purchases), 0) AS purchases, count(*) FILTER (WHERE x.purchases > 0) AS converted_sessions,
               array_agg(DISTINCT ${hashOf(sql`x.person`)}) AS persons
        FROM ${src.sessionRowsSql(tenantId, pick)} x GROUP BY x.hour
      ), p AS (
        SELECT x.hour, count(*) AS views, coalesce(sum(x.time_on_page_seconds), 0) AS time_sum, count(x.time_on_page_seconds) AS time_count,
               coalesce(sum(x.scroll_depth_percent), 0) AS scroll_sum, count(x.scroll_depth_percent) AS scroll_count,
               count(DISTINCT x.session_id) FILTER (WHERE sp.first_hour = sp.last_hour) AS single,
               coalesce(array_agg(DISTINCT ${hashOf(sql`x.session_id`)}) FILTER (WHERE sp.first_hour <> sp.last_hour), ${bigints}) AS multi
        FROM ${src.pageRowsSql(tenantId, pick)} x JOIN ${src.pageSpansSql(tenantId, pick)} sp ON sp.session_id = x.session_id GROUP BY x.hour
      ), cs AS (
        SELECT x.hour, ${hashOf(sql`x.session_id`)} AS k, bool_or(x.event_type = 'item_added') AS added, bool_or(x.event_type = 'converted') AS converted,
               coalesce(sum(coalesce(x.quantity, 1)) FILTER (WHERE x.event_type = 'item_added'), 0)::float8 AS items_added,
               coalesce(sum(coalesce(x.quantity, 1)) FILTER (WHERE x.event_type = 'item_removed'), 0)::float8 AS items_removed,
               min(sp.first_hour) = min(sp.last_hour) AS single
        FROM ${src.cartRowsSql(tenantId, pick)} x JOIN ${src.cartSpansSql(tenantId, pick)} sp ON sp.session_id = x.session_id GROUP BY x.hour, x.session_id
      ), c AS (
        SELECT cs.hour, count(*) FILTER (WHERE cs.single) AS sessions, count(*) FILTER (WHERE cs.single AND cs.added) AS carts,
               count(*) FILTER (WHERE cs.single AND cs.added AND cs.converted) AS converted_carts, count(*) FILTER (WHERE cs.single AND cs.converted) AS conversions,
               coalesce(sum(cs.items_added) FILTER (WHERE cs.single), 0) AS items_added, coalesce(sum(cs.items_removed) FILTER (WHERE cs.single), 0) AS items_removed,
               coalesce(array_agg(cs.k ORDER BY cs.k) FILTER (WHERE NOT cs.single), ${bigints}) AS keys,
               coalesce(array_agg((cs.added::int + 2 * cs.converted::int)::smallint ORDER BY cs.k) FILTER (WHERE NOT cs.single), '{}') AS flags,
               coalesce(array_agg(cs.items_added ORDER BY cs.k) FILTER (WHERE NOT cs.single), '{}') AS added,
               coalesce(array_agg(cs.items_removed ORDER BY cs.k) FILTER (WHERE NOT cs.single), '{}') AS removed
        FROM cs GROUP BY cs.hour
      ), hs AS (SELECT hour FROM s UNION SELECT hour FROM p UNION SELECT hour FROM c)
      SELECT ${tenantId}::uuid, hs.hour, coalesce(s.sessions, 0), coalesce(s.bounces, 0), coalesce(s.duration_sum, 0), coalesce(s.duration_count, 0),
             coalesce(s.page_views, 0), coalesce(s.cart_adds, 0), coalesce(s.purchases, 0), coalesce(s.converted_sessions, 0), coalesce(s.persons, ${bigints}),
             coalesce(p.views, 0), coalesce(p.time_sum, 0), coalesce(p.time_count, 0), coalesce(p.scroll_sum, 0), coalesce(p.scroll_count, 0),
             coalesce(p.single, 0), coalesce(p.multi, ${bigints}), coalesce(c.sessions, 0), coalesce(c.carts, 0), coalesce(c.converted_carts, 0),
             coalesce(c.conversions, 0), coalesce(c.items_added, 0), coalesce(c.items_removed, 0), coalesce(c.keys, ${bigints}),
             coalesce(c.flags, '{}'::smallint[]), coalesce(c.added, '{}'::float8[]), coalesce(c.removed, '{}'::float8[])
      FROM hs LEFT JOIN s ON s.hour = hs.hour LEFT JOIN p ON p.hour = hs.hour LEFT JOIN c ON c.hour = hs.hour`);
  }

  /**
   * Page measures without a session filter from the rows per hour and page (`analytics_page_hour_totals`): top pages
   * (a page's sessions are its rows' counts plus its distinct hashes; the folded 'other' row's, over many pages, the
   * counts of sessions whose every view is in one row plus the distinct hashes of the others), or one page type's totals
   * and series (the latter, per bucket). The cut's edges read raw, every session there a hash.
   */
  async function pageTotals(
    q: Q,
    tenantId: string,
    w: ReportWindow,
    pageType: string | null,
    g: Exclude<RollupGrouping, { kind: 'dimension' }>,
    cut: RollupCut,
  ): Promise<PageMeasures[]> {
    const cols = sql`r.hour AS at, r.page, r.page_type, r.views, r.time_sum, r.time_count, r.scroll_sum, r.scroll_count,
      r.page_sessions_single AS page_single, r.page_sessions_multi AS page_multi, r.sessions_single AS single, r.sessions_multi AS multi`;
    const hashed = sql`ARRAY[${hashOf(sql`x.session_id`)}]`;
    const raw = sql`x.at, x.page, x.page_type, 1, coalesce(x.time_on_page_seconds, 0)::float8, (x.time_on_page_seconds IS NOT NULL)::int,
      coalesce(x.scroll_depth_percent, 0)::float8, (x.scroll_depth_percent IS NOT NULL)::int, 0, ${hashed}, 0, ${hashed}`;
    const typed = pageType === null ? sql`true` : sql`b.page_type = ${pageType}`;
    const b = sql`b AS (${innerRows(tenantId, 'analytics_page_hour_totals', cut, cols)}${sql.join(
      edgeRows((p) => src.pageRowsSql(tenantId, p), cut, raw),
      sql``,
    )}), k AS (SELECT ${keyOf(g, w.tz)} AS key, b.* FROM b WHERE ${typed})`;
    const measures = sql`sum(k.time_sum)::float8 AS "timeSum", sum(k.time_count)::int AS "timeCount", sum(k.scroll_sum)::float8 AS "scrollSum",
      sum(k.scroll_count)::int AS "scrollCount"`;
    if (g.kind !== 'page')
      return queryRows<PageMeasures>(
        q,
        sql`WITH ${b}, m AS (SELECT k.key, count(DISTINCT s.h)::int AS multi FROM k CROSS JOIN LATERAL unnest(k.multi) AS s(h) GROUP BY 1)
          SELECT k.key, sum(k.views)::int AS views, (sum(k.single) + coalesce(max(m.multi), 0))::int AS sessions, ${measures}
          FROM k LEFT JOIN m ON m.key = k.key GROUP BY 1 ORDER BY 2 DESC, 1`,
      );
    const rows = await queryRows<PageMeasures>(
      q,
      sql`WITH ${b}, top AS (SELECT key FROM k GROUP BY key ORDER BY sum(views) DESC, key LIMIT ${g.limit}),
        t AS (SELECT k.key IN (SELECT key FROM top) AS listed, k.* FROM k),
        m AS (SELECT t.key, count(DISTINCT s.h)::int AS multi FROM t CROSS JOIN LATERAL unnest(t.page_multi) AS s(h) WHERE t.listed GROUP BY 1
              UNION ALL SELECT 'other', count(DISTINCT s.h)::int FROM t CROSS JOIN LATERAL unnest(t.multi) AS s(h) WHERE NOT t.listed),
        f AS (SELECT CASE WHEN t.listed THEN t.key ELSE 'other' END AS key, CASE WHEN t.listed THEN t.page_single ELSE t.single END AS single, t.views,
                     t.time_sum, t.time_count, t.scroll_sum, t.scroll_count FROM t)
      SELECT k.key, sum(k.views)::int AS views, (sum(k.single) + coalesce(max(m.multi), 0))::int AS sessions, ${measures}
      FROM f k LEFT JOIN m ON m.key = k.key GROUP BY 1 ORDER BY 2 DESC, 1`,
    );
    return otherLast(rows, g);
  }

  return {
    /** The current snapshot (text); ask it first in the refresh's transaction, before it writes. */
    horizon: (q: Q): Promise<string> => currentSnapshot(q),

    /** The tenant's watermark (null: never built; undefined: no rollup row). */
    async watermark(q: Q, tenantId: string): Promise<string | null | undefined> {
      const row = await queryOne<{ watermark: string | null }>(
        q,
        sql`SELECT watermark::text AS watermark FROM analytics_report_rollups WHERE tenant_id = ${tenantId}`,
      );
      return row ? row.watermark : undefined;
    },

    /**
     * The tenant's watermark and the hours its rollup holds: those before `closedThrough` (the UTC hour of its last
     * refresh; null: never built).
     */
    state: async (q: Q, tenantId: string): Promise<RollupState> =>
      stateOf(await queryOne<StateRow>(q, sql`SELECT ${STATE} WHERE tenant_id = ${tenantId}`)),

    /** Locks the tenant's rollup row (made on first use): refreshes take turns. Returns its state (`state`). */
    async lock(q: Q, tenantId: string): Promise<RollupState> {
      await q.execute(sql`INSERT INTO analytics_report_rollups (tenant_id) VALUES (${tenantId}) ON CONFLICT DO NOTHING`);
      return stateOf(await queryOne<StateRow>(q, sql`SELECT ${STATE} WHERE tenant_id = ${tenantId} FOR UPDATE`));
    },

    async setWatermark(q: Q, tenantId: string, watermark: string, now: Date): Promise<void> {
      await q.execute(
        sql`UPDATE analytics_report_rollups SET watermark = ${watermark}::pg_snapshot, refreshed_at = ${now} WHERE tenant_id = ${tenantId}`,
      );
    },

    /** The sessions written since snapshot `since` (ids). */
    async changedSessions(q: Q, tenantId: string, since: string): Promise<string[]> {
      const rows = await queryRows<{ sessionId: string }>(
        q,
        sql`SELECT c.session_id AS "sessionId" FROM ${src.changedSessionsSql(tenantId, since)} c`,
      );
      return rows.map((r) => r.sessionId);
    },

    /** Builds the tenant's rollup whole from the raw rows. */
    async rebuild(q: Q, tenantId: string): Promise<void> {
      await recount(q, tenantId, 'all');
    },

    /**
     * Recounts every closed UTC hour (before `closeTo`) the sessions touch: their start's, their page views' and cart
     * events' hours now, and the hour each was last counted in (a start that moved), with the hours `closing` (those
     * that closed since the last refresh: counted whole now that they are over). Open hours are not counted: reads
     * take them raw. Recounting, not adding, makes it idempotent. Returns the hours.
     */
    async applyChanges(q: Q, tenantId: string, sessions: readonly string[], closeTo: Date, closing: readonly Date[] = []): Promise<number> {
      const hours = new Set(closing.map((h) => h.toISOString()));
      if (sessions.length) {
        const list = sql`SELECT unnest(${arrayParam(sessions)}::text[])`;
        const rows = await queryRows<{ h: Date | string }>(
          q,
          sql`SELECT x.h FROM (SELECT h FROM ${src.hoursOfSessionsSql(tenantId, list)} hs
            UNION SELECT m.hour FROM analytics_session_marks m WHERE m.tenant_id = ${tenantId} AND m.session_id = ANY(${arrayParam(sessions)}::text[])) x(h)
            WHERE x.h < ${closeTo.toISOString()}`,
        );
        for (const r of rows) hours.add(new Date(r.h).toISOString());
      }
      if (!hours.size) return 0;
      await recount(q, tenantId, [...hours]);
      return hours.size;
    },

    /** Session measures of sessions started in the window (events' `sessionMeasures`, same rows): whole hours from the rollup, edges raw. */
    async sessionMeasures(
      q: Q,
      tenantId: string,
      w: ReportWindow,
      f: SessionFilters,
      g: RollupGrouping,
      closedThrough: Date | null,
    ): Promise<SessionMeasures[]> {
      const cut = cutWindow(w, closedThrough ?? undefined);
      if (totalsFit(f, g)) {
        const cols = sql`r.hour AS at, r.sessions, r.bounces, r.duration_sum, r.duration_count, r.page_views, r.cart_adds, r.purchases, r.converted_sessions, r.persons`;
        const raw = sql`x.at, 1, (x.pages_viewed <= 1)::int, coalesce(x.duration_seconds, 0)::float8, (x.duration_seconds IS NOT NULL)::int,
          x.pages_viewed::float8, x.cart_adds::float8, x.purchases::float8, (x.purchases > 0)::int, ARRAY[${hashOf(sql`x.person`)}]`;
        return queryRows<SessionMeasures>(
          q,
          sql`WITH b AS (${innerRows(tenantId, 'analytics_report_hour_totals', cut, cols, sql`r.sessions > 0`)}${sql.join(
            edgeRows((p) => src.sessionRowsSql(tenantId, p), cut, raw),
            sql``,
          )}),
            k AS (SELECT ${keyOf(g, w.tz)} AS key, b.* FROM b),
            u AS (SELECT k.key, count(DISTINCT p.h)::int AS users FROM k CROSS JOIN LATERAL unnest(k.persons) AS p(h) GROUP BY 1)
          SELECT k.key, sum(k.sessions)::int AS sessions, max(u.users)::int AS users, sum(k.bounces)::int AS bounces,
                 sum(k.duration_sum)::float8 AS "durationSum", sum(k.duration_count)::int AS "durationCount", sum(k.page_views)::float8 AS "pageViews",
                 sum(k.cart_adds)::float8 AS "cartAdds", sum(k.purchases)::float8 AS purchases, sum(k.converted_sessions)::int AS "convertedSessions"
          FROM k JOIN u ON u.key = k.key GROUP BY 1 ORDER BY 1`,
        );
      }
      const raw = sql`x.at, ${ATTRS_OF('x')}, 1 AS sessions, (x.pages_viewed <= 1)::int AS bounces, coalesce(x.duration_seconds, 0)::float8 AS duration_sum,
        (x.duration_seconds IS NOT NULL)::int AS duration_count, x.pages_viewed::float8 AS page_views, x.cart_adds::float8 AS cart_adds,
        x.purchases::float8 AS purchases, (x.purchases > 0)::int AS converted_sessions, ARRAY[${hashOf(sql`x.person`)}] AS persons`;
      const fo = fold(g, sql`sum(sessions)`);
      const rows = await queryRows<SessionMeasures>(
        q,
        sql`WITH b AS (${windowRows((p) => src.sessionRowsSql(tenantId, p), w, raw)}),
          k AS (SELECT ${keyOf(g, w.tz)} AS key, b.* FROM b WHERE true ${filtersSql(f)})${fo.cte},
          fk AS (SELECT ${fo.key} AS fkey, k.* FROM k),
          u AS (SELECT fk.fkey, count(DISTINCT p.h)::int AS users FROM fk CROSS JOIN LATERAL unnest(fk.persons) AS p(h) GROUP BY 1)
        SELECT fk.fkey AS key, sum(fk.sessions)::int AS sessions, max(u.users)::int AS users, sum(fk.bounces)::int AS bounces,
               sum(fk.duration_sum)::float8 AS "durationSum", sum(fk.duration_count)::int AS "durationCount", sum(fk.page_views)::float8 AS "pageViews",
               sum(fk.cart_adds)::float8 AS "cartAdds", sum(fk.purchases)::float8 AS purchases, sum(fk.converted_sessions)::int AS "convertedSessions"
        FROM fk JOIN u ON u.fkey = fk.fkey GROUP BY 1 ORDER BY 1`,
      );
      return otherLast(rows, g);
    },

    /** Page measures of views started in the window (events' `pageMeasures`), optionally of one page type. */
    async pageMeasures(
      q: Q,
      tenantId: string,
      w: ReportWindow,
      f: SessionFilters,
      pageType: string | null,
      g: RollupGrouping,
      closedThrough: Date | null,
    ): Promise<PageMeasures[]> {
      const cut = cutWindow(w, closedThrough ?? undefined);
      if (pageType === null && totalsFit(f, g)) {
        // Distinct sessions: those whose views fall in one hour are counted there; the rest (and the edges') by hash.
        const cols = sql`r.hour AS at, r.views, r.time_sum, r.time_count, r.scroll_sum, r.scroll_count, r.page_sessions_single AS single, r.page_sessions_multi AS multi`;
        const raw = sql`x.at, 1, coalesce(x.time_on_page_seconds, 0)::float8, (x.time_on_page_seconds IS NOT NULL)::int,
          coalesce(x.scroll_depth_percent, 0)::float8, (x.scroll_depth_percent IS NOT NULL)::int, 0, ARRAY[${hashOf(sql`x.session_id`)}]`;
        return queryRows<PageMeasures>(
          q,
          sql`WITH b AS (${innerRows(tenantId, 'analytics_report_hour_totals', cut, cols, sql`r.views > 0`)}${sql.join(
            edgeRows((p) => src.pageRowsSql(tenantId, p), cut, raw),
            sql``,
          )}),
            k AS (SELECT ${keyOf(g, w.tz)} AS key, b.* FROM b),
            m AS (SELECT k.key, count(DISTINCT s.h)::int AS multi FROM k CROSS JOIN LATERAL unnest(k.multi) AS s(h) GROUP BY 1)
          SELECT k.key, sum(k.views)::int AS views, (sum(k.single) + coalesce(max(m.multi), 0))::int AS sessions, sum(k.time_sum)::float8 AS "timeSum",
                 sum(k.time_count)::int AS "timeCount", sum(k.scroll_sum)::float8 AS "scrollSum", sum(k.scroll_count)::int AS "scrollCount"
          FROM k LEFT JOIN m ON m.key = k.key GROUP BY 1 ORDER BY 2 DESC, 1`,
        );
      }
      if (g.kind !== 'dimension' && unfiltered(f)) return pageTotals(q, tenantId, w, pageType, g, cut);
      const raw = sql`x.at, x.page, x.page_type, ${ATTRS_OF('x')}, 1 AS views, coalesce(x.time_on_page_seconds, 0)::float8 AS time_sum,
        (x.time_on_page_seconds IS NOT NULL)::int AS time_count, coalesce(x.scroll_depth_percent, 0)::float8 AS scroll_sum,
        (x.scroll_depth_percent IS NOT NULL)::int AS scroll_count, ARRAY[${hashOf(sql`x.session_id`)}] AS sessions`;
      const fo = fold(g, sql`sum(views)`);
      const rows = await queryRows<PageMeasures>(
        q,
        sql`WITH b AS (${windowRows((p) => src.pageRowsSql(tenantId, p), w, raw)}),
          k AS (SELECT ${keyOf(g, w.tz)} AS key, b.* FROM b WHERE true ${filtersSql(f)}${pageType === null ? sql`` : sql` AND b.page_type = ${pageType}`})${fo.cte},
          fk AS (SELECT ${fo.key} AS fkey, k.* FROM k),
          u AS (SELECT fk.fkey, count(DISTINCT s.h)::int AS sessions FROM fk CROSS JOIN LATERAL unnest(fk.sessions) AS s(h) GROUP BY 1)
        SELECT fk.fkey AS key, sum(fk.views)::int AS views, max(u.sessions)::int AS sessions, sum(fk.time_sum)::float8 AS "timeSum",
               sum(fk.time_count)::int AS "timeCount", sum(fk.scroll_sum)::float8 AS "scrollSum", sum(fk.scroll_count)::int AS "scrollCount"
        FROM fk JOIN u ON u.fkey = fk.fkey GROUP BY 1 ORDER BY 2 DESC, 1`,
      );
      return otherLast(rows, g);
    },

    /**
     * Cart measures per session with cart events in the window (events' `cartMeasures`): the session's rows of the
     * window's hours grouped by session, its first hour in the window its bucket.
     */
    async cartMeasures(
      q: Q,
      tenantId: string,
      w: ReportWindow,
      f: SessionFilters,
      g: RollupGrouping,
      closedThrough: Date | null,
    ): Promise<CartMeasures[]> {
      const cut = cutWindow(w, closedThrough ?? undefined);
      if (totalsFit(f, g)) {
        // Sessions whose cart events fall in one hour are counts of that hour; the rest (and the edges') are grouped by
        // session, their first hour in the window their bucket.
        const single = sql`r.hour AS at, r.cart_sessions_single AS n, r.carts_single AS carts, r.converted_carts_single AS converted_carts,
          r.conversions_single AS conversions, r.items_added_single AS items_added, r.items_removed_single AS items_removed`;
        const multi = sql`r.hour AS at, m.k, m.flags, m.added, m.removed`;
        const inner = cut.inner
          ? sql`SELECT ${multi} FROM analytics_report_hour_totals r CROSS JOIN LATERAL unnest(r.cart_multi_keys, r.cart_multi_flags, r.cart_multi_added, r.cart_multi_removed) AS m(k, flags, added, removed)
              WHERE r.tenant_id = ${tenantId} AND r.hour >= ${cut.inner.from.toISOString()} AND r.hour < ${cut.inner.to.toISOString()} AND cardinality(r.cart_multi_keys) > 0`
          : sql`SELECT NULL::timestamptz AS at, NULL::bigint AS k, NULL::smallint AS flags, NULL::float8 AS added, NULL::float8 AS removed WHERE false`;
        const raw = sql`x.at, ${hashOf(sql`x.session_id`)}, ((x.event_type = 'item_added')::int + 2 * (x.event_type = 'converted')::int)::smallint,
          CASE WHEN x.event_type = 'item_added' THEN coalesce(x.quantity, 1) ELSE 0 END::float8,
          CASE WHEN x.event_type = 'item_removed' THEN coalesce(x.quantity, 1) ELSE 0 END::float8`;
        const rows = await queryRows<CartMeasures>(
          q,
          sql`WITH m0 AS (${inner}${sql.join(
            edgeRows((p) => src.cartRowsSql(tenantId, p), cut, raw),
            sql``,
          )}),
            m AS (SELECT min(m0.at) AS at, bool_or(m0.flags & 1 = 1) AS added, bool_or(m0.flags & 2 = 2) AS converted, sum(m0.added) AS items_added,
                         sum(m0.removed) AS items_removed FROM m0 GROUP BY m0.k),
            b AS (${innerRows(tenantId, 'analytics_report_hour_totals', cut, single, sql`r.cart_sessions_single > 0`)}
              UNION ALL SELECT m.at, 1, m.added::int, (m.added AND m.converted)::int, m.converted::int, m.items_added, m.items_removed FROM m),
            k AS (SELECT ${keyOf(g, w.tz)} AS key, b.* FROM b)
          SELECT k.key, sum(k.carts)::int AS carts, sum(k.converted_carts)::int AS "convertedCarts", sum(k.conversions)::int AS conversions,
                 coalesce(sum(k.items_added), 0)::float8 AS "itemsAdded", coalesce(sum(k.items_removed), 0)::float8 AS "itemsRemoved"
          FROM k GROUP BY 1 ORDER BY 1`,
        );
        return rows;
      }
      const raw = sql`x.at, ${hashOf(sql`x.session_id`)} AS session_key, ${ATTRS_OF('x')}, x.event_type = 'item_added' AS added,
        x.event_type = 'converted' AS converted, CASE WHEN x.event_type = 'item_added' THEN coalesce(x.quantity, 1) ELSE 0 END::float8 AS items_added,
        CASE WHEN x.event_type = 'item_removed' THEN coalesce(x.quantity, 1) ELSE 0 END::float8 AS items_removed`;
      const fo = fold(g, sql`count(*)`);
      const rows = await queryRows<CartMeasures>(
        q,
        sql`WITH r0 AS (${windowRows((p) => src.cartRowsSql(tenantId, p), w, raw)}),
          b AS (SELECT min(r0.at) AS at, ${sql.raw(DIMENSIONS.map((d) => `max(r0.${d}) AS ${d}`).join(', '))}, bool_or(r0.added) AS added,
                       bool_or(r0.converted) AS converted, sum(r0.items_added) AS items_added, sum(r0.items_removed) AS items_removed
                FROM r0 GROUP BY r0.session_key),
          k AS (SELECT ${keyOf(g, w.tz)} AS key, b.* FROM b WHERE true ${filtersSql(f)})${fo.cte}
        SELECT ${fo.key} AS key, count(*) FILTER (WHERE k.added)::int AS carts, count(*) FILTER (WHERE k.added AND k.converted)::int AS "convertedCarts",
               count(*) FILTER (WHERE k.converted)::int AS conversions, coalesce(sum(k.items_added), 0)::float8 AS "itemsAdded",
               coalesce(sum(k.items_removed), 0)::float8 AS "itemsRemoved"
        FROM k GROUP BY 1 ORDER BY 1`,
      );
      return otherLast(rows, g);
    },
  };
}
export type ReportRollupsRepository = ReturnType<typeof createReportRollupsRepository>;
