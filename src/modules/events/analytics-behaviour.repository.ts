import { type SQL, sql } from 'drizzle-orm';
import { type Q, arrayParam, queryOne, queryRows } from '../../platform/index.ts';
import type { AnalyticsSessionFilters, AnalyticsWindow } from './analytics-source.repository.ts';

/**
 * Analytics' behavioural reads of the tracking rows (retention cohorts and paths), the second half of the
 * `AnalyticsEventsPort` events implements (the first is analytics-source.repository.ts). Same rules: the query
 * handle first, tenant_id on every table, values only as parameters, rows already aggregated.
 */
export type RetentionPeriod = 'day' | 'week' | 'month';

/**
 * One row per (cohort, period, kind): `size` rows (period 0) count the cohort; `on` rows count people with a return
 * event in that period; `last` rows count people whose latest return falls in that period (what "on or after"
 * accumulates from the end).
 */
export interface RetentionRow {
  cohort: string;
  period: number;
  kind: 'size' | 'on' | 'last';
  count: number;
}
const SESSION_COLUMN: Record<keyof AnalyticsSessionFilters, SQL> = {
  device: sql`s.device_type`,
  browser: sql`s.browser`,
  os: sql`s.os`,
  utm_source: sql`s.utm_source`,
  utm_medium: sql`s.utm_medium`,
  utm_campaign: sql`s.utm_campaign`,
  country: sql`s.country`,
};
function sessionFilter(f: AnalyticsSessionFilters): SQL {
  const parts = (Object.keys(SESSION_COLUMN) as (keyof AnalyticsSessionFilters)[])
    .filter((d) => f[d] !== undefined)
    .map((d) => sql` AND ${SESSION_COLUMN[d]} = ${f[d]}`);
  return sql.join(parts, sql``);
}
const range = (col: SQL, w: AnalyticsWindow) => sql`${col} >= ${w.from.toISOString()} AND ${col} < ${w.to.toISOString()}`;

/**
 * Occurrences of the named events in the window (a funnel stage, `cart:<event type>` or `page:<page type>`), as
 * (tenant_id, session_id, user_id, name, at, o, id); `o` orders kinds at equal times like a session's timeline.
 */
function occurrences(tenantId: string, w: AnalyticsWindow, names: readonly string[], allOfKindsOf: readonly string[] = []): SQL {
  const stages = names.filter((s) => !s.startsWith('cart:') && !s.startsWith('page:'));
  const carts = names.filter((s) => s.startsWith('cart:')).map((s) => s.slice(5));
  const pages = names.filter((s) => s.startsWith('page:')).map((s) => s.slice(5));
  // Every event of the kinds `allOfKindsOf` names (what a strict-order funnel must see between its steps).
  const whole = new Set<string>(allOfKindsOf.map((s) => (s.startsWith('cart:') ? 'cart' : s.startsWith('page:') ? 'page' : 'stage')));
  const only = (kind: string, col: SQL, values: string[]) =>
    whole.has(kind) ? sql`` : sql` AND ${col} = ANY(${arrayParam(values)}::text[])`;
  const parts: SQL[] = [];
  if (pages.length)
    parts.push(sql`SELECT x.tenant_id, x.session_id, x.user_id, 'page:' || coalesce(x.page_type, '(none)') AS name, x.started_at AS at, 0 AS o, x.id FROM page_views x
      WHERE x.tenant_id = ${tenantId} AND ${range(sql`x.started_at`, w)}${only('page', sql`x.page_type`, pages)}`);
  if (stages.length)
    parts.push(sql`SELECT x.tenant_id, x.session_id, x.user_id, x.stage AS name, x.reached_at AS at, 1 AS o, x.id FROM funnel_events x
      WHERE x.tenant_id = ${tenantId} AND ${range(sql`x.reached_at`, w)}${only('stage', sql`x.stage`, stages)}`);
  if (carts.length)
    parts.push(sql`SELECT x.tenant_id, x.session_id, x.user_id, 'cart:' || x.event_type AS name, x.occurred_at AS at, 2 AS o, x.id FROM cart_events x
      WHERE x.tenant_id = ${tenantId} AND ${range(sql`x.occurred_at`, w)}${only('cart', sql`x.event_type`, carts)}`);
  return sql.join(parts, sql` UNION ALL `);
}

/** Every tracked event of the window as a path node: page types, funnel stages and cart event types. */
function allEvents(tenantId: string, w: AnalyticsWindow): SQL {
  return sql`SELECT x.tenant_id, x.session_id, 'page:' || coalesce(x.page_type, '(none)') AS node, x.started_at AS at, 0 AS o, x.id FROM page_views x
      WHERE x.tenant_id = ${tenantId} AND ${range(sql`x.started_at`, w)}
    UNION ALL SELECT x.tenant_id, x.session_id, x.stage, x.reached_at, 1, x.id FROM funnel_events x
      WHERE x.tenant_id = ${tenantId} AND ${range(sql`x.reached_at`, w)}
    UNION ALL SELECT x.tenant_id, x.session_id, 'cart:' || x.event_type, x.occurred_at, 2, x.id FROM cart_events x
      WHERE x.tenant_id = ${tenantId} AND ${range(sql`x.occurred_at`, w)}`;
}

/** Whole local periods between two instants' periods in zone `tz` (day, ISO week from Monday, calendar month). */
function periodDiff(later: SQL, earlier: SQL, tz: string, p: RetentionPeriod): SQL {
  const l = sql`(${later} AT TIME ZONE ${tz})`;
  const e = sql`(${earlier} AT TIME ZONE ${tz})`;
  if (p === 'day') return sql`(${l}::date - ${e}::date)`;
  if (p === 'week') return sql`((date_trunc('week', ${l})::date - date_trunc('week', ${e})::date) / 7)`;
  return sql`((extract(year FROM ${l}) * 12 + extract(month FROM ${l})) - (extract(year FROM ${e}) * 12 + extract(month FROM ${e})))::int`;
}

/**
 * One funnel occurrence: the entity (session id, or the person: user id, else the session's user or anonymous id),
 * the event name, its instant in whole microseconds since the epoch, `o` (page 0, stage 1, cart 2: the timeline's
 * order at equal instants) and the breakdown value (the session attribute, '(none)' when missing; '' without one).
 */
export interface FunnelOccurrenceRow {
  entity: string;
  name: string;
  at: number;
  o: number;
  value: string;
}

export function createAnalyticsBehaviourRepository() {
  return {
    /**
     * The window's occurrences of the named events, and of every event of the kinds `allOfKindsOf` names (a strict
     * funnel's steps), that pass the session filters, unordered: analytics' funnel core sequences them per entity.
     * One scan per kind.
     */
    async funnelOccurrences(
      q: Q,
      tenantId: string,
      w: AnalyticsWindow,
      f: AnalyticsSessionFilters,
      query: {
        names: readonly string[];
        allOfKindsOf: readonly string[];
        by: 'session' | 'user';
        breakdown?: keyof AnalyticsSessionFilters | undefined;
      },
    ): Promise<FunnelOccurrenceRow[]> {
      const entity = query.by === 'user' ? sql`coalesce(x.user_id, s.user_id, s.anonymous_id, 's:' || x.session_id)` : sql`x.session_id`;
      const value = query.breakdown ? sql`coalesce(${SESSION_COLUMN[query.breakdown]}, '(none)')` : sql`''`;
      const needsSession = query.by === 'user' || query.breakdown !== undefined || Object.keys(f).length > 0;
      // One JSON text of tuples, not one row per occurrence: PGlite hands rows to JavaScript at ~20 µs each, which
      // dominated the report (bench/analytics); JSON.parse reads the same tuples several times faster.
      const row = await queryOne<{ j: string }>(
        q,
        sql`SELECT coalesce(json_agg(json_build_array(y.entity, y.name, y.at, y.o, y.value)), '[]')::text AS j FROM (
              SELECT ${entity} AS entity, x.name, (extract(epoch FROM x.at) * 1000000)::float8 AS at, x.o, ${value} AS value
              FROM (${occurrences(tenantId, w, query.names, query.allOfKindsOf)}) x
              ${needsSession ? sql`LEFT JOIN tracking_sessions s ON s.tenant_id = x.tenant_id AND s.session_id = x.session_id` : sql``}
              WHERE true ${sessionFilter(f)}
            ) y`,
      );
      const tuples = JSON.parse(row?.j ?? '[]') as [string, string, number, number, string][];
      return tuples.map(([e, name, at, o, v]) => ({ entity: e, name, at, o, value: v }));
    },

    /**
     * Retention by person (user id, else the session's user or anonymous id): each person's cohort is the local
     * period of their first start event in the window; their returns are return events in the window, `period`
     * whole periods after the cohort's (1 to `periods`). Session filters apply to the events' sessions.
     */
    retention(
      q: Q,
      tenantId: string,
      w: AnalyticsWindow,
      f: AnalyticsSessionFilters,
      query: { startEvent: string; returnEvent: string; period: RetentionPeriod; periods: number },
    ) {
      const label = sql`to_char(date_trunc(${query.period}, p.first_at AT TIME ZONE ${w.tz}), 'YYYY-MM-DD')`;
      // One grouping per person (first start, return times as an array), then each person's distinct return periods
      // from that small array: no join of every return event back to its person's cohort and no sort of the pairs
      // (PostgreSQL, 200,000 sessions, 180k start events: 2.8 s against 3.7-5.6 s, load 20).
      // Without session filters only the events lacking a user id look up their session: hashing every session of
      // the tenant to name people who already carry a user id was ~0.9 s of PGlite's 4.2 s at 200,000 sessions.
      const filtered = (Object.keys(SESSION_COLUMN) as (keyof AnalyticsSessionFilters)[]).some((d) => f[d] !== undefined);
      const joined = sql`LEFT JOIN tracking_sessions s ON s.tenant_id = ${tenantId} AND s.session_id = x.session_id`;
      const people = filtered
        ? sql`SELECT coalesce(x.user_id, s.user_id, s.anonymous_id, 's:' || x.session_id) AS person, x.name, x.at
              FROM raw x ${joined} WHERE true ${sessionFilter(f)}`
        : sql`SELECT x.user_id AS person, x.name, x.at FROM raw x WHERE x.user_id IS NOT NULL
              UNION ALL SELECT coalesce(s.user_id, s.anonymous_id, 's:' || x.session_id), x.name, x.at
              FROM raw x ${joined} WHERE x.user_id IS NULL`;
      return queryRows<RetentionRow>(
        q,
        sql`WITH raw AS (${occurrences(tenantId, w, [...new Set([query.startEvent, query.returnEvent])])}),
            per AS (
              SELECT e.person, min(e.at) FILTER (WHERE e.name = ${query.startEvent}) AS first_at,
                     array_agg(e.at) FILTER (WHERE e.name = ${query.returnEvent}) AS returns
              FROM (${people}) e
              GROUP BY 1
            ),
            c AS MATERIALIZED (
              SELECT ${label} AS cohort, r.periods, r.last
              FROM per p CROSS JOIN LATERAL (
                SELECT array_agg(DISTINCT d.period) FILTER (WHERE d.period BETWEEN 1 AND ${query.periods}) AS periods, max(d.period) AS last
                FROM (SELECT ${periodDiff(sql`u.at`, sql`p.first_at`, w.tz, query.period)} AS period FROM unnest(p.returns) AS u(at) WHERE u.at > p.first_at) d
              ) r
              WHERE p.first_at IS NOT NULL
            )
            SELECT cohort, 0 AS period, 'size' AS kind, count(*)::int AS count FROM c GROUP BY 1
            UNION ALL SELECT c.cohort, k.period, 'on', count(*)::int FROM c CROSS JOIN LATERAL unnest(c.periods) AS k(period) GROUP BY 1, 2
            -- A return past the last reported period still counts "on or after" every reported one.
            UNION ALL SELECT cohort, least(last, ${query.periods}), 'last', count(*)::int FROM c WHERE last >= 1 GROUP BY 1, 2`,
      );
    },

    /**
     * Paths cut in SQL, grouped: per session that reached `anchor` in the window (and passes the filters), its pages
     * (path, else URL) or events (`page:<type>`, stages, `cart:<type>`) in the window in time order (ties: page,
     * stage, cart, then by name in byte order), repeats in a row collapsed, from its first `anchor` the next (or
     * previous, nearest first) `depth` nodes; one row per distinct path with its session count (a path shorter than
     * `depth` stopped there; an empty one stopped at the anchor). Analytics' core folds rare nodes and builds edges.
     * Sequencing stays in the database so only distinct paths (not every node of every session) reach JavaScript.
     */
    async pathCounts(
      q: Q,
      tenantId: string,
      w: AnalyticsWindow,
      f: AnalyticsSessionFilters,
      query: { type: 'page' | 'event'; anchor: string; direction: 'next' | 'previous'; depth: number },
    ): Promise<{ path: string[]; sessions: number }[]> {
      // Only sessions that reached the anchor in the window are sequenced.
      const anchored =
        query.type === 'page'
          ? sql`SELECT DISTINCT x.session_id FROM page_views x
                WHERE x.tenant_id = ${tenantId} AND ${range(sql`x.started_at`, w)} AND coalesce(x.page_path, x.page_url) = ${query.anchor}`
          : sql`SELECT DISTINCT x.session_id FROM (${allEvents(tenantId, w)}) x WHERE x.node = ${query.anchor}`;
      const source =
        query.type === 'page'
          ? sql`SELECT x.tenant_id, x.session_id, coalesce(x.page_path, x.page_url) AS node, x.started_at AS at, 0 AS o FROM page_views x
                WHERE x.tenant_id = ${tenantId} AND ${range(sql`x.started_at`, w)} AND x.session_id IN (SELECT session_id FROM anchored)`
          : sql`SELECT x.tenant_id, x.session_id, x.node, x.at, x.o FROM (${allEvents(tenantId, w)}) x WHERE x.session_id IN (SELECT session_id FROM anchored)`;
      const depth = Math.trunc(query.depth);
      // i: position in the collapsed sequence; a: the first anchor's; k: steps away from it (1..depth).
      const step = query.direction === 'next' ? sql`s.i - a.a` : sql`a.a - s.i`;
      const row = await queryOne<{ j: string }>(
        q,
        sql`WITH anchored AS (${anchored}),
            raw AS (
              SELECT x.session_id, x.node, x.at, x.o FROM (${source}) x
              ${Object.keys(f).length ? sql`JOIN tracking_sessions s ON s.tenant_id = x.tenant_id AND s.session_id = x.session_id` : sql``}
              WHERE true ${sessionFilter(f)}
            ),
            ordered AS (
              SELECT session_id, node, lag(node) OVER (PARTITION BY session_id ORDER BY at, o, node COLLATE "C") AS prev,
                     row_number() OVER (PARTITION BY session_id ORDER BY at, o, node COLLATE "C") AS n
              FROM raw
            ),
            seq AS (SELECT session_id, node, row_number() OVER (PARTITION BY session_id ORDER BY n) AS i FROM ordered WHERE prev IS DISTINCT FROM node),
            a AS (SELECT session_id, min(i) AS a FROM seq WHERE node = ${query.anchor} GROUP BY session_id),
            cut AS (
              SELECT a.session_id, coalesce(array_agg(s.node ORDER BY ${step}) FILTER (WHERE s.node IS NOT NULL), '{}') AS path
              FROM a LEFT JOIN seq s ON s.session_id = a.session_id AND ${step} BETWEEN 1 AND ${depth}::int
              GROUP BY a.session_id
            )
            SELECT coalesce(json_agg(json_build_array(p.path, p.sessions)), '[]')::text AS j
            FROM (SELECT path, count(*)::int AS sessions FROM cut GROUP BY path) p`,
      );
      return (JSON.parse(row?.j ?? '[]') as [string[], number][]).map(([path, sessions]) => ({ path, sessions }));
    },
  };
}
export type AnalyticsBehaviourRepository = ReturnType<typeof createAnalyticsBehaviourRepository>;
