import { type SQL, sql } from 'drizzle-orm';
import { type Q, arrayParam, queryOne, queryRows } from '../../platform/index.ts';

/**
 * Analytics' reads of the raw tracking rows this module owns (tracking_sessions, page_views, funnel_events,
 * cart_events): analytics declares the port (`AnalyticsEventsPort`), this file implements it and src/app.ts wires
 * it. Every statement takes the query handle first, filters on tenant_id and returns rows already aggregated
 * (additive measures per group; ratios are analytics' business). Text values never reach SQL but as parameters;
 * dimensions map to fixed columns below.
 */
export type AnalyticsGranularity = 'hour' | 'day' | 'week' | 'month';
export type AnalyticsSessionDimension = 'device' | 'browser' | 'os' | 'country' | 'utm_source' | 'utm_medium' | 'utm_campaign';
export type AnalyticsPageDimension = AnalyticsSessionDimension | 'page_type';
/** Equality filters on the session's attributes; absent = any. */
export type AnalyticsSessionFilters = Partial<Record<AnalyticsSessionDimension, string>>;
/** The half-open instant range [from, to) and the IANA time zone local buckets are cut in. */
export interface AnalyticsWindow {
  from: Date;
  to: Date;
  tz: string;
}
/**
 * One total row (key ''), one row per local time bucket (key 'YYYY-MM-DD', or 'YYYY-MM-DDTHH:00' by hour, the
 * bucket's local start in `tz`), or one row per dimension value: the `limit` largest kept, the rest folded into
 * one row keyed 'other' (rows without a value are keyed '(none)').
 */
export type AnalyticsGrouping =
  | { kind: 'total' }
  | { kind: 'time'; granularity: AnalyticsGranularity }
  | { kind: 'dimension'; dimension: AnalyticsPageDimension; limit: number };

export interface SessionMeasures {
  key: string;
  sessions: number;
  users: number;
  bounces: number;
  durationSum: number;
  durationCount: number;
  pageViews: number;
  cartAdds: number;
  purchases: number;
  convertedSessions: number;
}
export interface PageMeasures {
  key: string;
  views: number;
  sessions: number;
  timeSum: number;
  timeCount: number;
  scrollSum: number;
  scrollCount: number;
}
export interface CartMeasures {
  key: string;
  carts: number;
  convertedCarts: number;
  conversions: number;
  itemsAdded: number;
  itemsRemoved: number;
}
export interface ProductCartMeasures {
  key: string;
  adds: number;
  removes: number;
  addsConverted: number;
  quantityAdded: number;
}
export interface CurrencyAmount {
  currency: string;
  /** Minor units as text (int8). */
  amountMinor: string;
  count: number;
}
/**
 * One item's sales per group: per (key, currency) its units, revenue and refunds (unit price x quantity, as the
 * write path counts them) and orders; the row with `currency` null and `all` true is the key's total across
 * currencies, which alone carries exact distinct buyers, the item's views and its viewers.
 */
export interface ItemSalesRow {
  key: string;
  currency: string | null;
  all: boolean;
  units: number;
  revenueMinor: string;
  refundedMinor: string;
  orders: number;
  buyers: number;
  views: number;
  /** Distinct people who viewed the item, and those of them who bought it in the same group (totals only). */
  viewers: number;
  viewersWhoBought: number;
}
export interface FunnelStepRow {
  step: number;
  /** The breakdown value ('' without a breakdown). */
  value: string;
  count: number;
  medianSeconds: number | null;
}
export interface RealtimeRow {
  activeSessions: number;
  activeUsers: number;
  pageViews: number;
  funnelEvents: number;
  cartEvents: number;
  sessionsStarted: number;
}
export interface SessionRecord {
  sessionId: string;
  userId: string | null;
  anonymousId: string | null;
  deviceType: string | null;
  browser: string | null;
  os: string | null;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  country: string | null;
  referrer: string | null;
  landingUrl: string | null;
  exitPageUrl: string | null;
  pagesViewed: number;
  cartAdds: number;
  purchases: number;
  revenueMinor: string;
  currency: string | null;
  startedAt: Date;
  endedAt: Date | null;
  durationSeconds: number | null;
}
export interface TimelineEntry {
  kind: 'page_view' | 'funnel' | 'cart';
  at: Date;
  name: string | null;
  pageUrl: string | null;
  productId: string | null;
  timeOnPageSeconds: number | null;
  scrollDepthPercent: number | null;
  quantity: number | null;
  valueMinor: string | null;
  currency: string | null;
}

const SESSION_COLUMN: Record<AnalyticsSessionDimension, SQL> = {
  device: sql`s.device_type`,
  browser: sql`s.browser`,
  os: sql`s.os`,
  utm_source: sql`s.utm_source`,
  utm_medium: sql`s.utm_medium`,
  utm_campaign: sql`s.utm_campaign`,
  country: sql`s.country`,
};
const dimensionColumn = (d: AnalyticsPageDimension): SQL => (d === 'page_type' ? sql`p.page_type` : SESSION_COLUMN[d]);

/** `AND s.<col> = $v` for each filter given (a row without a session then never matches a filter). */
function sessionFilter(f: AnalyticsSessionFilters): SQL {
  const parts = (Object.keys(SESSION_COLUMN) as AnalyticsSessionDimension[])
    .filter((d) => f[d] !== undefined)
    .map((d) => sql` AND ${SESSION_COLUMN[d]} = ${f[d]}`);
  return sql.join(parts, sql``);
}

/** The local bucket label of instant `col` in the window's zone. */
function bucket(col: SQL, w: AnalyticsWindow, g: AnalyticsGranularity): SQL {
  const format = g === 'hour' ? 'YYYY-MM-DD"T"HH24:00' : 'YYYY-MM-DD';
  return sql`to_char(date_trunc(${g}, ${col} AT TIME ZONE ${w.tz}), ${format})`;
}

/** The group key before top-N folding. */
function groupKey(g: AnalyticsGrouping, w: AnalyticsWindow, timeCol: SQL): SQL {
  if (g.kind === 'total') return sql`''`;
  if (g.kind === 'time') return bucket(timeCol, w, g.granularity);
  return sql`coalesce(${dimensionColumn(g.dimension)}, '(none)')`;
}

/**
 * `top` CTE (the `limit` keys with the most base rows) and the folded key, for dimension groupings; the key
 * itself otherwise. Folding regroups the base rows, so distinct counts in 'other' stay exact.
 */
function folding(g: AnalyticsGrouping | { kind: 'page'; limit: number }): { cte: SQL; key: SQL } {
  if (g.kind !== 'dimension' && g.kind !== 'page') return { cte: sql``, key: sql`key` };
  return {
    cte: sql`, top AS (SELECT key FROM base GROUP BY key ORDER BY count(*) DESC, key LIMIT ${g.limit})`,
    key: sql`CASE WHEN key IN (SELECT key FROM top) THEN key ELSE 'other' END`,
  };
}

const SESSION_RECORD = sql`s.session_id AS "sessionId", s.user_id AS "userId", s.anonymous_id AS "anonymousId", s.device_type AS "deviceType", s.browser, s.os,
  s.utm_source AS "utmSource", s.utm_medium AS "utmMedium", s.utm_campaign AS "utmCampaign", s.country, s.referrer, s.landing_url AS "landingUrl",
  s.exit_page_url AS "exitPageUrl", s.pages_viewed AS "pagesViewed", s.cart_adds AS "cartAdds", s.purchases, s.revenue_minor::text AS "revenueMinor",
  s.currency, s.started_at AS "startedAt", s.ended_at AS "endedAt", s.duration_seconds AS "durationSeconds"`;

/** The folded 'other' row goes last, whatever its size. */
async function otherLast<T extends { key: string }>(rows: Promise<T[]>, g: { kind: string }): Promise<T[]> {
  const all = await rows;
  if (g.kind !== 'dimension' && g.kind !== 'page') return all;
  return [...all.filter((r) => r.key !== 'other'), ...all.filter((r) => r.key === 'other')];
}

/**
 * The session of a tracking row `x` of `tenantId`. The tenant is a value, not `x.tenant_id`: when `x` is a grouped CTE
 * the planner cannot carry the tenant through it, and a hash-partitioned (or Citus) `tracking_sessions` was read on
 * every partition.
 */
const sessionsJoin = (tenantId: string) => sql`LEFT JOIN tracking_sessions s ON s.tenant_id = ${tenantId} AND s.session_id = x.session_id`;

export function createAnalyticsSourceRepository() {
  return {
    /** Session measures of sessions started in the window, grouped. One pass over tracking_sessions. */
    sessionMeasures(q: Q, tenantId: string, w: AnalyticsWindow, f: AnalyticsSessionFilters, g: AnalyticsGrouping) {
      const fold = folding(g);
      return otherLast(
        queryRows<SessionMeasures>(
          q,
          sql`WITH base AS (
              SELECT ${groupKey(g, w, sql`s.started_at`)} AS key, s.session_id, s.user_id, s.anonymous_id, s.pages_viewed, s.cart_adds, s.purchases,
                     -- From the timestamps, not the stored duration: a start that arrives after the end moves started_at.
                     CASE WHEN s.ended_at IS NOT NULL THEN greatest(0, floor(extract(epoch FROM s.ended_at - s.started_at))) END AS duration_seconds
              FROM tracking_sessions s
              WHERE s.tenant_id = ${tenantId} AND s.started_at >= ${w.from.toISOString()} AND s.started_at < ${w.to.toISOString()} ${sessionFilter(f)}
            )${fold.cte}
            SELECT ${fold.key} AS key, count(*)::int AS sessions,
                   count(DISTINCT coalesce(user_id, anonymous_id, 's:' || session_id))::int AS users,
                   count(*) FILTER (WHERE pages_viewed <= 1)::int AS bounces,
                   coalesce(sum(duration_seconds), 0)::float8 AS "durationSum", count(duration_seconds)::int AS "durationCount",
                   coalesce(sum(pages_viewed), 0)::float8 AS "pageViews", coalesce(sum(cart_adds), 0)::float8 AS "cartAdds",
                   coalesce(sum(purchases), 0)::float8 AS purchases, count(*) FILTER (WHERE purchases > 0)::int AS "convertedSessions"
            FROM base GROUP BY 1 ORDER BY 1`,
        ),
        g,
      );
    },

    /**
     * One item's purchases, refunds and views in the window (the stored interactions), per currency and in total,
     * grouped by time bucket or in all. One pass over the item's rows (index on tenant and item).
     */
    itemSales(
      q: Q,
      tenantId: string,
      itemId: string,
      w: AnalyticsWindow,
      g: { kind: 'total' } | { kind: 'time'; granularity: AnalyticsGranularity },
    ) {
      return queryRows<ItemSalesRow>(
        q,
        sql`WITH x AS (
              SELECT ${groupKey(g, w, sql`occurred_at`)} AS key, upper(currency) AS currency, type, quantity, price_minor, order_id, id,
                     coalesce(profile_id::text, user_id, anonymous_id) AS who
                FROM interactions
               WHERE tenant_id = ${tenantId} AND item_id = ${itemId} AND type IN ('purchase', 'refund', 'view')
                 AND occurred_at >= ${w.from.toISOString()} AND occurred_at < ${w.to.toISOString()}
            ), m AS (
              SELECT key, currency, grouping(currency) = 1 AS "all",
                     coalesce(sum(coalesce(quantity, 1)) FILTER (WHERE type = 'purchase'), 0)::int AS units,
                     coalesce(sum(abs(price_minor * coalesce(quantity, 1))) FILTER (WHERE type = 'purchase'), 0)::text AS "revenueMinor",
                     coalesce(sum(abs(price_minor * coalesce(quantity, 1))) FILTER (WHERE type = 'refund'), 0)::text AS "refundedMinor",
                     count(DISTINCT coalesce(order_id, id::text)) FILTER (WHERE type = 'purchase')::int AS orders,
                     count(DISTINCT who) FILTER (WHERE type = 'purchase')::int AS buyers,
                     count(*) FILTER (WHERE type = 'view')::int AS views
                FROM x GROUP BY GROUPING SETS ((key, currency), (key))
            ), p AS (
              SELECT key, count(*) FILTER (WHERE viewed)::int AS viewers, count(*) FILTER (WHERE viewed AND bought)::int AS "viewersWhoBought"
                FROM (SELECT key, who, bool_or(type = 'view') AS viewed, bool_or(type = 'purchase') AS bought
                        FROM x WHERE who IS NOT NULL GROUP BY key, who) y
               GROUP BY key
            )
            SELECT m.key, m.currency, m."all", m.units, m."revenueMinor", m."refundedMinor", m.orders, m.buyers, m.views,
                   CASE WHEN m."all" THEN coalesce(p.viewers, 0) ELSE 0 END AS viewers,
                   CASE WHEN m."all" THEN coalesce(p."viewersWhoBought", 0) ELSE 0 END AS "viewersWhoBought"
              FROM m LEFT JOIN p ON p.key = m.key
             ORDER BY 1, 2`,
      );
    },

    /** Revenue of the window's sessions, per currency (minor units as text). */
    sessionRevenue: (q: Q, tenantId: string, w: AnalyticsWindow, f: AnalyticsSessionFilters) =>
      queryRows<CurrencyAmount>(
        q,
        sql`SELECT s.currency, sum(s.revenue_minor)::text AS "amountMinor", count(*) FILTER (WHERE s.purchases > 0)::int AS count
            FROM tracking_sessions s
            WHERE s.tenant_id = ${tenantId} AND s.started_at >= ${w.from.toISOString()} AND s.started_at < ${w.to.toISOString()}
              AND s.currency IS NOT NULL AND s.revenue_minor <> 0 ${sessionFilter(f)}
            GROUP BY s.currency ORDER BY count(*) DESC, s.currency`,
      ),

    /** Sessions started in the window, newest first, after the (started_at, session_id) cursor. */
    listSessions(
      q: Q,
      tenantId: string,
      w: AnalyticsWindow,
      f: AnalyticsSessionFilters,
      limit: number,
      after: { startedAt: Date; sessionId: string } | null,
    ) {
      return queryRows<SessionRecord>(
        q,
        sql`SELECT ${SESSION_RECORD} FROM tracking_sessions s
            WHERE s.tenant_id = ${tenantId} AND s.started_at >= ${w.from.toISOString()} AND s.started_at < ${w.to.toISOString()} ${sessionFilter(f)}
              ${after ? sql`AND (s.started_at, s.session_id) < (${after.startedAt.toISOString()}::timestamptz, ${after.sessionId})` : sql``}
            ORDER BY s.started_at DESC, s.session_id DESC LIMIT ${limit}`,
      );
    },

    /**
     * Page-view measures of views started in the window, grouped by time, dimension or page (path, else URL),
     * optionally of one page type.
     */
    pageMeasures(
      q: Q,
      tenantId: string,
      w: AnalyticsWindow,
      f: AnalyticsSessionFilters,
      pageType: string | null,
      g: AnalyticsGrouping | { kind: 'page'; limit: number },
    ) {
      const fold = folding(g);
      const key = g.kind === 'page' ? sql`coalesce(p.page_path, p.page_url)` : groupKey(g, w, sql`p.started_at`);
      return otherLast(
        queryRows<PageMeasures>(
          q,
          sql`WITH base AS (
              SELECT ${key} AS key, p.session_id, p.time_on_page_seconds, p.scroll_depth_percent
              FROM page_views p LEFT JOIN tracking_sessions s ON s.tenant_id = p.tenant_id AND s.session_id = p.session_id
              WHERE p.tenant_id = ${tenantId} AND p.started_at >= ${w.from.toISOString()} AND p.started_at < ${w.to.toISOString()}
                ${pageType === null ? sql`` : sql`AND p.page_type = ${pageType}`} ${sessionFilter(f)}
            )${fold.cte}
            SELECT ${fold.key} AS key, count(*)::int AS views, count(DISTINCT session_id)::int AS sessions,
                   coalesce(sum(time_on_page_seconds), 0)::float8 AS "timeSum", count(time_on_page_seconds)::int AS "timeCount",
                   coalesce(sum(scroll_depth_percent), 0)::float8 AS "scrollSum", count(scroll_depth_percent)::int AS "scrollCount"
            FROM base GROUP BY 1 ORDER BY 2 DESC, 1`,
        ),
        g,
      );
    },

    /**
     * An ordered funnel in one statement (what analytics runs for sessions in order without exclusions: a session has
     * few attempts, and this stays in the database; by person the per-step self-joins grow quadratically with a
     * person's attempts, so analytics sequences those itself): per session (or person), the earliest occurrence of step 1 in the window, then the
     * earliest of each next step at or after the previous one (strictly after when the step repeats the previous
     * name). Greedy earliest matching finds every entity that completed the steps in order. Per step: entities
     * reaching it and the median seconds from the previous step. Steps name funnel stages, `cart:<event type>` or
     * `page:<page type>`.
     */
    async funnel(
      q: Q,
      tenantId: string,
      w: AnalyticsWindow,
      f: AnalyticsSessionFilters,
      query: {
        steps: readonly string[];
        by: 'session' | 'user';
        /** Split by a session attribute of the entity's first step-1 event; the `limit` largest values kept, the rest as 'other'. */
        breakdown?: { dimension: AnalyticsSessionDimension; limit: number } | undefined;
        /** Later steps must happen within this many seconds of the attempt's step 1. */
        windowSeconds?: number | undefined;
      },
    ) {
      const range = (col: SQL) => sql`${col} >= ${w.from.toISOString()} AND ${col} < ${w.to.toISOString()}`;
      const stages = query.steps.filter((s) => !s.startsWith('cart:') && !s.startsWith('page:'));
      const carts = query.steps.filter((s) => s.startsWith('cart:')).map((s) => s.slice(5));
      const pages = query.steps.filter((s) => s.startsWith('page:')).map((s) => s.slice(5));
      const sources: SQL[] = [];
      if (stages.length)
        sources.push(sql`SELECT x.tenant_id, x.session_id, x.user_id, x.stage AS name, x.reached_at AS at FROM funnel_events x
          WHERE x.tenant_id = ${tenantId} AND ${range(sql`x.reached_at`)} AND x.stage = ANY(${arrayParam(stages)}::text[])`);
      if (carts.length)
        sources.push(sql`SELECT x.tenant_id, x.session_id, x.user_id, 'cart:' || x.event_type AS name, x.occurred_at AS at FROM cart_events x
          WHERE x.tenant_id = ${tenantId} AND ${range(sql`x.occurred_at`)} AND x.event_type = ANY(${arrayParam(carts)}::text[])`);
      if (pages.length)
        sources.push(sql`SELECT x.tenant_id, x.session_id, x.user_id, 'page:' || x.page_type AS name, x.started_at AS at FROM page_views x
          WHERE x.tenant_id = ${tenantId} AND ${range(sql`x.started_at`)} AND x.page_type = ANY(${arrayParam(pages)}::text[])`);
      const entity = query.by === 'user' ? sql`coalesce(x.user_id, s.user_id, s.anonymous_id, 's:' || x.session_id)` : sql`x.session_id`;
      // Breakdown value: the session attribute of the entity's first step-1 event (first touch).
      const bv = query.breakdown ? sql`coalesce(${SESSION_COLUMN[query.breakdown.dimension]}, '(none)')` : sql`''`;
      const sameAsPrevious = (i: number) => (query.steps[i - 1] === query.steps[i] ? sql`e.at > p.t` : sql`e.at >= p.t`);
      const n = (prefix: string, i: number) => sql.raw(`${prefix}${i}`);
      // Sessions without a window: the session's attributes are the same on all its events, so its row is joined once,
      // to its step 1 (EXPLAIN at ~1M events: the join per event was ~30 % of the statement; filtering step 1 drops the
      // session's later steps too, as their joins start from it).
      const joinOnce = query.by === 'session' && query.windowSeconds === undefined;
      let steps: SQL[];
      if (joinOnce) {
        steps = query.steps.map((name, i) =>
          i === 0
            ? sql`, s0 AS (SELECT f.entity, f.t, ${bv} AS bv FROM (SELECT DISTINCT ON (entity) entity, at AS t FROM ev WHERE name = ${name} ORDER BY entity, at) f
                ${Object.keys(f).length || query.breakdown ? sql`LEFT JOIN tracking_sessions s ON s.tenant_id = ${tenantId} AND s.session_id = f.entity` : sql``}
                WHERE true ${sessionFilter(f)})`
            : sql`, ${n('s', i)} AS (
                SELECT e.entity, min(e.at) AS t, p.bv FROM ev e JOIN ${n('s', i - 1)} p ON p.entity = e.entity AND ${sameAsPrevious(i)}
                WHERE e.name = ${name} GROUP BY e.entity, p.bv)`,
        );
      } else if (query.windowSeconds === undefined) {
        steps = query.steps.map((name, i) =>
          i === 0
            ? sql`, s0 AS (SELECT DISTINCT ON (entity) entity, at AS t, bv FROM ev WHERE name = ${name} ORDER BY entity, at)`
            : sql`, ${n('s', i)} AS (
                SELECT e.entity, min(e.at) AS t, p.bv FROM ev e JOIN ${n('s', i - 1)} p ON p.entity = e.entity AND ${sameAsPrevious(i)}
                WHERE e.name = ${name} GROUP BY e.entity, p.bv)`,
        );
      } else {
        // A conversion window: every step-1 occurrence starts an attempt whose later steps must fall within the window of
        // its start; each entity is counted by its deepest attempt (the earliest of equals), as PostHog's funnels do.
        const within = sql`e.at <= p.t0 + ${query.windowSeconds}::int * interval '1 second'`;
        const attempts = query.steps.map((name, i) =>
          i === 0
            ? sql`, c0 AS (SELECT DISTINCT ON (entity, at) entity, at AS t0, at AS t, bv FROM ev WHERE name = ${name} ORDER BY entity, at)`
            : sql`, ${n('c', i)} AS (
                SELECT p.entity, p.t0, min(e.at) AS t, p.bv FROM ev e JOIN ${n('c', i - 1)} p ON p.entity = e.entity AND ${sameAsPrevious(i)} AND ${within}
                WHERE e.name = ${name} GROUP BY p.entity, p.t0, p.bv)`,
        );
        const depths = sql.join(
          query.steps.map((_, i) => sql`SELECT entity, t0, ${i} AS d FROM ${n('c', i)}`),
          sql` UNION ALL `,
        );
        steps = [
          ...attempts,
          sql`, best AS (SELECT DISTINCT ON (entity) entity, t0 FROM (${depths}) x ORDER BY entity, d DESC, t0)`,
          ...query.steps.map(
            (_, i) =>
              sql`, ${n('s', i)} AS (SELECT c.entity, c.t, c.bv FROM ${n('c', i)} c JOIN best b ON b.entity = c.entity AND b.t0 = c.t0)`,
          ),
        ];
      }
      const top = query.breakdown
        ? sql`, top AS (SELECT bv FROM s0 GROUP BY bv ORDER BY count(*) DESC, bv LIMIT ${query.breakdown.limit})`
        : sql``;
      const value = (t: string) =>
        query.breakdown ? sql`CASE WHEN ${sql.raw(t)}.bv IN (SELECT bv FROM top) THEN ${sql.raw(t)}.bv ELSE 'other' END` : sql`''`;
      const counts: SQL[] = query.steps.map((_, i) =>
        i === 0
          ? sql`SELECT 0 AS step, ${value('s0')} AS value, count(*)::int AS count, NULL::float8 AS "medianSeconds" FROM s0 GROUP BY 2`
          : sql`SELECT ${i}, ${value('c')}, count(*)::int, (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.t - p.t)))::float8
                FROM ${sql.raw(`s${i}`)} c JOIN ${sql.raw(`s${i - 1}`)} p USING (entity) GROUP BY 2`,
      );
      const rows = await queryRows<FunnelStepRow>(
        q,
        sql`WITH raw AS (${sql.join(sources, sql` UNION ALL `)}),
            ev AS (${
              joinOnce
                ? sql`SELECT x.session_id AS entity, x.name, x.at FROM raw x`
                : sql`SELECT ${entity} AS entity, x.name, x.at, ${bv} AS bv FROM raw x ${sessionsJoin(tenantId)} WHERE true ${sessionFilter(f)}`
            })
            ${sql.join(steps, sql``)}${top}
            ${sql.join(counts, sql` UNION ALL `)}`,
      );
      return rows.sort((a, b) => a.step - b.step);
    },

    /**
     * Cart measures per session with cart events in the window, grouped by the local bucket of the session's
     * first cart event in the window, or by a session attribute.
     */
    cartMeasures(q: Q, tenantId: string, w: AnalyticsWindow, f: AnalyticsSessionFilters, g: AnalyticsGrouping) {
      const fold = folding(g);
      return otherLast(
        queryRows<CartMeasures>(
          q,
          sql`WITH cs AS (
              SELECT x.tenant_id, x.session_id, min(x.occurred_at) AS first_at,
                     bool_or(x.event_type = 'item_added') AS added, bool_or(x.event_type = 'converted') AS converted,
                     coalesce(sum(coalesce(x.quantity, 1)) FILTER (WHERE x.event_type = 'item_added'), 0) AS items_added,
                     coalesce(sum(coalesce(x.quantity, 1)) FILTER (WHERE x.event_type = 'item_removed'), 0) AS items_removed
              FROM cart_events x WHERE x.tenant_id = ${tenantId} AND x.occurred_at >= ${w.from.toISOString()} AND x.occurred_at < ${w.to.toISOString()}
              GROUP BY x.tenant_id, x.session_id
            ), base AS (
              SELECT ${groupKey(g, w, sql`x.first_at`)} AS key, x.* FROM cs x ${sessionsJoin(tenantId)} WHERE true ${sessionFilter(f)}
            )${fold.cte}
            SELECT ${fold.key} AS key, count(*) FILTER (WHERE added)::int AS carts, count(*) FILTER (WHERE added AND converted)::int AS "convertedCarts",
                   count(*) FILTER (WHERE converted)::int AS conversions, coalesce(sum(items_added), 0)::float8 AS "itemsAdded",
                   coalesce(sum(items_removed), 0)::float8 AS "itemsRemoved"
            FROM base GROUP BY 1 ORDER BY 1`,
        ),
        g,
      );
    },

    /** Value of the window's `converted` cart events, per currency. */
    cartRevenue: (q: Q, tenantId: string, w: AnalyticsWindow, f: AnalyticsSessionFilters) =>
      queryRows<CurrencyAmount>(
        q,
        sql`SELECT x.currency, sum(x.value_minor)::text AS "amountMinor", count(*)::int AS count
            FROM cart_events x ${sessionsJoin(tenantId)}
            WHERE x.tenant_id = ${tenantId} AND x.occurred_at >= ${w.from.toISOString()} AND x.occurred_at < ${w.to.toISOString()}
              AND x.event_type = 'converted' AND x.value_minor IS NOT NULL AND x.currency IS NOT NULL ${sessionFilter(f)}
            GROUP BY x.currency ORDER BY count(*) DESC, x.currency`,
      ),

    /** Per product: adds, removals, adds in sessions that converted (in the window); the `limit` most added, the rest as 'other'. */
    cartProducts(q: Q, tenantId: string, w: AnalyticsWindow, f: AnalyticsSessionFilters, limit: number) {
      const range = sql`x.occurred_at >= ${w.from.toISOString()} AND x.occurred_at < ${w.to.toISOString()}`;
      return otherLast(
        queryRows<ProductCartMeasures>(
          q,
          sql`WITH conv AS (SELECT DISTINCT x.session_id FROM cart_events x WHERE x.tenant_id = ${tenantId} AND ${range} AND x.event_type = 'converted'),
            base AS (
              SELECT x.product_id AS key, x.event_type, coalesce(x.quantity, 1) AS quantity, (conv.session_id IS NOT NULL) AS converted
              FROM cart_events x ${sessionsJoin(tenantId)} LEFT JOIN conv ON conv.session_id = x.session_id
              WHERE x.tenant_id = ${tenantId} AND ${range} AND x.event_type IN ('item_added', 'item_removed') AND x.product_id IS NOT NULL ${sessionFilter(f)}
            ),
            top AS (SELECT key FROM base WHERE event_type = 'item_added' GROUP BY key ORDER BY count(*) DESC, key LIMIT ${limit})
            SELECT CASE WHEN key IN (SELECT key FROM top) THEN key ELSE 'other' END AS key,
                   count(*) FILTER (WHERE event_type = 'item_added')::int AS adds, count(*) FILTER (WHERE event_type = 'item_removed')::int AS removes,
                   count(*) FILTER (WHERE event_type = 'item_added' AND converted)::int AS "addsConverted",
                   coalesce(sum(quantity) FILTER (WHERE event_type = 'item_added'), 0)::float8 AS "quantityAdded"
            FROM base GROUP BY 1 ORDER BY 2 DESC, 1`,
        ),
        { kind: 'page' },
      );
    },

    /**
     * Activity in [since, until): sessions with any tracked event or start, their people, and events by kind. Each
     * table is read through a (tenant, time) index, so the cost is the window's rows, not the tenant's history
     * (without funnel_events' and cart_events' time indexes: a scan of both, 200 ms to 2 s at 5M events); the
     * sessions table is probed once per active session, not per event.
     */
    async realtime(q: Q, tenantId: string, since: Date, until: Date): Promise<RealtimeRow> {
      const a = since.toISOString();
      const b = until.toISOString();
      return (await queryOne<RealtimeRow>(
        q,
        sql`WITH act AS MATERIALIZED (
              SELECT 'page' AS kind, session_id, user_id FROM page_views WHERE tenant_id = ${tenantId} AND started_at >= ${a} AND started_at < ${b}
              UNION ALL SELECT 'funnel', session_id, user_id FROM funnel_events WHERE tenant_id = ${tenantId} AND reached_at >= ${a} AND reached_at < ${b}
              UNION ALL SELECT 'cart', session_id, user_id FROM cart_events WHERE tenant_id = ${tenantId} AND occurred_at >= ${a} AND occurred_at < ${b}
              UNION ALL SELECT 'start', session_id, coalesce(user_id, anonymous_id) FROM tracking_sessions WHERE tenant_id = ${tenantId} AND started_at >= ${a} AND started_at < ${b}
            ), who AS (
              SELECT x.session_id, coalesce(x.user_id, s.user_id, s.anonymous_id, 's:' || x.session_id) AS person
              FROM (SELECT session_id, max(user_id) AS user_id FROM act GROUP BY session_id) x
              LEFT JOIN tracking_sessions s ON s.tenant_id = ${tenantId} AND s.session_id = x.session_id
            )
            SELECT (SELECT count(*) FROM who)::int AS "activeSessions", (SELECT count(DISTINCT person) FROM who)::int AS "activeUsers",
                   count(*) FILTER (WHERE kind = 'page')::int AS "pageViews", count(*) FILTER (WHERE kind = 'funnel')::int AS "funnelEvents",
                   count(*) FILTER (WHERE kind = 'cart')::int AS "cartEvents", count(*) FILTER (WHERE kind = 'start')::int AS "sessionsStarted"
            FROM act`,
      ))!;
    },

    /** The most viewed pages in [since, until). */
    realtimePages: (q: Q, tenantId: string, since: Date, until: Date, limit: number) =>
      queryRows<{ key: string; views: number }>(
        q,
        sql`SELECT coalesce(page_path, page_url) AS key, count(*)::int AS views FROM page_views
            WHERE tenant_id = ${tenantId} AND started_at >= ${since.toISOString()} AND started_at < ${until.toISOString()}
            GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${limit}`,
      ),

    session: (q: Q, tenantId: string, sessionId: string) =>
      queryOne<SessionRecord>(
        q,
        sql`SELECT ${SESSION_RECORD} FROM tracking_sessions s WHERE s.tenant_id = ${tenantId} AND s.session_id = ${sessionId}`,
      ),

    /** The session's page views, funnel stages and cart events in time order (ties: pages, stages, cart), at most `limit`. */
    timeline: (q: Q, tenantId: string, sessionId: string, limit: number) =>
      queryRows<TimelineEntry>(
        q,
        sql`SELECT kind, at, name, "pageUrl", "productId", "timeOnPageSeconds", "scrollDepthPercent", quantity, "valueMinor", currency FROM (
              SELECT 'page_view' AS kind, 0 AS o, started_at AS at, page_type AS name, page_url AS "pageUrl", product_id AS "productId",
                     time_on_page_seconds AS "timeOnPageSeconds", scroll_depth_percent::int AS "scrollDepthPercent", NULL::int AS quantity,
                     NULL::text AS "valueMinor", NULL::text AS currency, id
              FROM page_views WHERE tenant_id = ${tenantId} AND session_id = ${sessionId}
              UNION ALL
              SELECT 'funnel', 1, reached_at, stage, NULL, product_id, NULL, NULL, NULL, NULL, NULL, id
              FROM funnel_events WHERE tenant_id = ${tenantId} AND session_id = ${sessionId}
              UNION ALL
              SELECT 'cart', 2, occurred_at, event_type, NULL, product_id, NULL, NULL, quantity, value_minor::text, currency, id
              FROM cart_events WHERE tenant_id = ${tenantId} AND session_id = ${sessionId}
            ) t ORDER BY at, o, id LIMIT ${limit}`,
      ),
  };
}
export type AnalyticsSourceRepository = ReturnType<typeof createAnalyticsSourceRepository>;
