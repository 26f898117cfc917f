import { type SQL, sql } from 'drizzle-orm';
import { arrayParam, unseenBy } from '../../platform/index.ts';

/**
 * SQL pieces over tracking_sessions, page_views and cart_events that analytics' report rollups (`ReportRollupSources`,
 * analytics/analytics.types.ts) aggregate in their own statements, so analytics' SQL names none of events' tables (the
 * funnel rollups' pattern). Each piece is a parenthesised subquery filtered on the tenant; `hour` is the row's UTC
 * hour (timestamptz), `at` its own instant. Rows are picked by `pick`: the UTC hours of a list (ISO instants of
 * hour starts, distinct), an instant range [from, to), or all (a build).
 */
export type ReportRowsPick = { hours: readonly string[] } | { from: Date; to: Date } | 'all';

const utcHour = (col: string) => sql.raw(`(date_trunc('hour', ${col} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')`);

/**
 * FROM `table alias` and the WHERE condition on its instant column `col` for the pick: listed hours are joined from
 * their array, so each is one index range (tenant, time); a range is one range; 'all' is the tenant's rows.
 */
function from(table: string, col: string, pick: ReportRowsPick): { from: SQL; where: SQL } {
  const c = sql.raw(col);
  if (pick === 'all') return { from: sql.raw(table), where: sql`true` };
  if ('hours' in pick)
    return {
      from: sql`unnest(${arrayParam(pick.hours)}::timestamptz[]) AS ph(h) JOIN ${sql.raw(table)} ON ${c} >= ph.h AND ${c} < ph.h + interval '1 hour'`,
      where: sql`true`,
    };
  return { from: sql.raw(table), where: sql`${c} >= ${pick.from.toISOString()} AND ${c} < ${pick.to.toISOString()}` };
}

const ATTRS = sql`s.device_type AS device, s.browser, s.os, s.country, s.utm_source, s.utm_medium, s.utm_campaign`;

export function createReportRollupSources() {
  return {
    /**
     * `session_id` of the tenant's sessions with a session, page view or cart row written by a transaction snapshot
     * `since` did not see (new rows, page ends, late starts, an erasure's renames): the ranges of three xid indexes.
     */
    changedSessionsSql(tenantId: string, since: string): SQL {
      return sql`(SELECT s.session_id FROM tracking_sessions s WHERE s.tenant_id = ${tenantId} AND ${unseenBy(sql`s.report_xid`, since)}
        UNION SELECT p.session_id FROM page_views p WHERE p.tenant_id = ${tenantId} AND ${unseenBy(sql`p.write_xid`, since)}
        UNION SELECT c.session_id FROM cart_events c WHERE c.tenant_id = ${tenantId} AND ${unseenBy(sql`c.ingest_xid`, since)})`;
    },

    /** `h`: the UTC hours the sessions of `sessions` (a subquery of session ids) start in or have a page view or cart event in. */
    hoursOfSessionsSql(tenantId: string, sessions: SQL): SQL {
      return sql`(SELECT ${utcHour('s.started_at')} AS h FROM tracking_sessions s WHERE s.tenant_id = ${tenantId} AND s.session_id IN (${sessions})
        UNION SELECT ${utcHour('p.started_at')} FROM page_views p WHERE p.tenant_id = ${tenantId} AND p.session_id IN (${sessions})
        UNION SELECT ${utcHour('c.occurred_at')} FROM cart_events c WHERE c.tenant_id = ${tenantId} AND c.session_id IN (${sessions}))`;
    },

    /**
     * One row per session started in the pick: hour, at (started_at), session_id, person (user, else anonymous id,
     * else 's:' + session id), the session attributes, pages_viewed, cart_adds, purchases and duration_seconds (from
     * the timestamps, as the raw report counts it).
     */
    sessionRowsSql(tenantId: string, pick: ReportRowsPick): SQL {
      const t = from('tracking_sessions s', 's.started_at', pick);
      return sql`(SELECT ${utcHour('s.started_at')} AS hour, s.started_at AS at, s.session_id, coalesce(s.user_id, s.anonymous_id, 's:' || s.session_id) AS person,
          ${ATTRS}, s.pages_viewed, s.cart_adds, s.purchases,
          CASE WHEN s.ended_at IS NOT NULL THEN greatest(0, floor(extract(epoch FROM s.ended_at - s.started_at))) END AS duration_seconds
        FROM ${t.from} WHERE s.tenant_id = ${tenantId} AND ${t.where})`;
    },

    /** One row per page view started in the pick: hour, at, session_id, page (path, else URL), page_type, the session's attributes, time on page, scroll. */
    pageRowsSql(tenantId: string, pick: ReportRowsPick): SQL {
      const t = from('page_views p', 'p.started_at', pick);
      return sql`(SELECT ${utcHour('p.started_at')} AS hour, p.started_at AS at, p.session_id, coalesce(p.page_path, p.page_url) AS page, p.page_type,
          ${ATTRS}, p.time_on_page_seconds, p.scroll_depth_percent
        FROM ${t.from} LEFT JOIN tracking_sessions s ON s.tenant_id = ${tenantId} AND s.session_id = p.session_id
        WHERE p.tenant_id = ${tenantId} AND ${t.where})`;
    },

    /** One row per cart event in the pick: hour, at, session_id, event_type, quantity, the session's attributes. */
    cartRowsSql(tenantId: string, pick: ReportRowsPick): SQL {
      const t = from('cart_events c', 'c.occurred_at', pick);
      return sql`(SELECT ${utcHour('c.occurred_at')} AS hour, c.occurred_at AS at, c.session_id, c.event_type, c.quantity, ${ATTRS}
        FROM ${t.from} LEFT JOIN tracking_sessions s ON s.tenant_id = ${tenantId} AND s.session_id = c.session_id
        WHERE c.tenant_id = ${tenantId} AND ${t.where})`;
    },

    /**
     * One row per session with a page view in the pick: session_id, and the UTC hours of its first and last page view
     * over all its page views (not only the pick's), so a rollup knows whether the session's views span hours.
     */
    pageSpansSql(tenantId: string, pick: ReportRowsPick): SQL {
      return spans('page_views', 'started_at', tenantId, pick);
    },

    /**
     * Every page view (any hour) of each session with a page view in the pick: hour, session_id, page (path, else URL),
     * page_type, time on page, scroll. A rollup by page sees all of a session's views, so it knows whether those of a
     * page, or all of them, fall in one (hour, page, page type). A pick of hours probes each of its sessions through the
     * (tenant, session) index, as `spans`.
     */
    sessionPagesSql(tenantId: string, pick: ReportRowsPick): SQL {
      const cols = sql`${utcHour('x.started_at')} AS hour, x.session_id, coalesce(x.page_path, x.page_url) AS page, x.page_type, x.time_on_page_seconds,
        x.scroll_depth_percent`;
      if (pick === 'all') return sql`(SELECT ${cols} FROM page_views x WHERE x.tenant_id = ${tenantId})`;
      const inPick = from('page_views y', 'y.started_at', pick);
      return sql`(SELECT m.* FROM (SELECT DISTINCT y.session_id FROM ${inPick.from} WHERE y.tenant_id = ${tenantId} AND ${inPick.where}) d
        CROSS JOIN LATERAL (SELECT ${cols} FROM page_views x WHERE x.tenant_id = ${tenantId} AND x.session_id = d.session_id) m)`;
    },

    /** One row per session with a cart event in the pick: session_id, first_hour, last_hour over all its cart events. */
    cartSpansSql(tenantId: string, pick: ReportRowsPick): SQL {
      return spans('cart_events', 'occurred_at', tenantId, pick);
    },
  };
}

/**
 * Per session with a row of `table` in the pick, the UTC hours of its first and last row. A pick of hours probes each of
 * its sessions through the (tenant, session) index (a join was planned as a scan of every row of the tenant: 2.3 s at
 * 3.6M page views for one hour's 3,000 sessions).
 */
function spans(table: string, col: string, tenantId: string, pick: ReportRowsPick): SQL {
  if (pick === 'all')
    return sql`(SELECT x.session_id, ${utcHour(`min(x.${col})`)} AS first_hour, ${utcHour(`max(x.${col})`)} AS last_hour
      FROM ${sql.raw(table)} x WHERE x.tenant_id = ${tenantId} GROUP BY x.session_id)`;
  const inPick = from(`${table} y`, `y.${col}`, pick);
  return sql`(SELECT d.session_id, ${utcHour('m.first_at')} AS first_hour, ${utcHour('m.last_at')} AS last_hour
    FROM (SELECT DISTINCT y.session_id FROM ${inPick.from} WHERE y.tenant_id = ${tenantId} AND ${inPick.where}) d
    CROSS JOIN LATERAL (SELECT min(x.${sql.raw(col)}) AS first_at, max(x.${sql.raw(col)}) AS last_at FROM ${sql.raw(table)} x
                        WHERE x.tenant_id = ${tenantId} AND x.session_id = d.session_id) m)`;
}
