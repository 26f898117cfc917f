import { sql } from 'drizzle-orm';
import { type Q, newId, queryOne, queryRows } from '../../platform/index.ts';

export interface SessionRow {
  sessionId: string;
  userId: string | null;
  deviceType: string | null;
  browser: string | null;
  os: string | null;
  /** ISO 3166-1 alpha-2, or null. */
  country: string | null;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  pagesViewed: number;
  cartAdds: number;
  purchases: number;
  revenueMinor: string;
  startedAt: Date;
  endedAt: Date | null;
  durationSeconds: number | null;
  bounce: boolean | null;
  exitPageUrl: string | null;
}

export interface NewSession {
  sessionId: string;
  userId: string | null;
  anonymousId: string | null;
  deviceType: string | null;
  browser: string | null;
  os: string | null;
  userAgent: string | null;
  locale: string | null;
  /** ISO 3166-1 alpha-2 (validated by the caller), or null. */
  country: string | null;
  utm: { source: string | null; medium: string | null; campaign: string | null; term: string | null; content: string | null };
  referrer: string | null;
  landingUrl: string | null;
  startedAt: Date;
  metadata: Record<string, unknown> | null;
}

export interface PageViewRow {
  pageViewId: string;
  sessionId: string;
  startedAt: Date;
  endedAt: Date | null;
  timeOnPageSeconds: number | null;
  scrollDepthPercent: number | null;
}

const SESSION = sql`session_id AS "sessionId", user_id AS "userId", device_type AS "deviceType", browser, os, country, utm_source AS "utmSource", utm_medium AS "utmMedium",
  utm_campaign AS "utmCampaign", pages_viewed AS "pagesViewed", cart_adds AS "cartAdds", purchases, revenue_minor::text AS "revenueMinor", started_at AS "startedAt",
  ended_at AS "endedAt", duration_seconds AS "durationSeconds", bounce, exit_page_url AS "exitPageUrl"`;
const PAGE_VIEW = sql`page_view_id AS "pageViewId", session_id AS "sessionId", started_at AS "startedAt", ended_at AS "endedAt",
  time_on_page_seconds AS "timeOnPageSeconds", scroll_depth_percent AS "scrollDepthPercent"`;

/**
 * Seed 000's tracking tables. Every write is idempotent on the client's id (session_id, page_view_id, event
 * id or a content hash), and session counters move only when the row they count was written now, in the same
 * statement (data-modifying CTEs), so retries never inflate them.
 */
export function createTrackingRepository() {
  return {
    /** Starts a session; a retry (same session_id) returns the stored one unchanged. */
    async startSession(q: Q, tenantId: string, s: NewSession): Promise<SessionRow> {
      await q.execute(
        sql`INSERT INTO tracking_sessions (tenant_id, id, session_id, user_id, anonymous_id, device_type, browser, os, user_agent, locale, country,
                                           utm_source, utm_medium, utm_campaign, utm_term, utm_content, referrer, landing_url, started_at, metadata)
            VALUES (${tenantId}, ${newId()}, ${s.sessionId}, ${s.userId}, ${s.anonymousId}, ${s.deviceType}, ${s.browser}, ${s.os}, ${s.userAgent}, ${s.locale}, ${s.country},
                    ${s.utm.source}, ${s.utm.medium}, ${s.utm.campaign}, ${s.utm.term}, ${s.utm.content}, ${s.referrer}, ${s.landingUrl}, ${s.startedAt.toISOString()},
                    ${s.metadata ? JSON.stringify(s.metadata) : null}::jsonb)
            ON CONFLICT (tenant_id, session_id) DO UPDATE SET
              -- A session first seen through a page view (out of order) gets its start details now.
              device_type = coalesce(tracking_sessions.device_type, excluded.device_type), browser = coalesce(tracking_sessions.browser, excluded.browser),
              os = coalesce(tracking_sessions.os, excluded.os), country = coalesce(tracking_sessions.country, excluded.country), user_agent = coalesce(tracking_sessions.user_agent, excluded.user_agent),
              utm_source = coalesce(tracking_sessions.utm_source, excluded.utm_source), utm_medium = coalesce(tracking_sessions.utm_medium, excluded.utm_medium),
              utm_campaign = coalesce(tracking_sessions.utm_campaign, excluded.utm_campaign), utm_term = coalesce(tracking_sessions.utm_term, excluded.utm_term),
              utm_content = coalesce(tracking_sessions.utm_content, excluded.utm_content), referrer = coalesce(tracking_sessions.referrer, excluded.referrer),
              landing_url = coalesce(tracking_sessions.landing_url, excluded.landing_url), user_id = coalesce(tracking_sessions.user_id, excluded.user_id),
              started_at = least(tracking_sessions.started_at, excluded.started_at),
              -- Analytics' funnel pre-aggregates keep sessions' attributes: a start that may have filled them is a change.
              attrs_xid = pg_current_xact_id(), report_xid = pg_current_xact_id()`,
      );
      return (await this.getSession(q, tenantId, s.sessionId))!;
    },

    getSession: (q: Q, tenantId: string, sessionId: string) =>
      queryOne<SessionRow>(q, sql`SELECT ${SESSION} FROM tracking_sessions WHERE tenant_id = ${tenantId} AND session_id = ${sessionId}`),

    /** Creates a bare session when events arrive before (or without) session/start. */
    async ensureSession(q: Q, tenantId: string, sessionId: string, at: Date, userId: string | null): Promise<void> {
      await q.execute(
        sql`INSERT INTO tracking_sessions (tenant_id, id, session_id, user_id, started_at) VALUES (${tenantId}, ${newId()}, ${sessionId}, ${userId}, ${at.toISOString()})
            ON CONFLICT (tenant_id, session_id) DO NOTHING`,
      );
    },

    /** Ends a session once (a retry keeps the first end): duration, bounce (at most one page viewed), exit page. */
    endSession: (q: Q, tenantId: string, sessionId: string, endedAt: Date, exitPageUrl: string | null) =>
      queryOne<SessionRow>(
        q,
        sql`UPDATE tracking_sessions s SET report_xid = pg_current_xact_id(),
              ended_at = coalesce(s.ended_at, ${endedAt.toISOString()}::timestamptz),
              duration_seconds = coalesce(s.duration_seconds, greatest(0, floor(extract(epoch FROM (${endedAt.toISOString()}::timestamptz - s.started_at))))::int),
              bounce = s.pages_viewed <= 1,
              exit_page_url = coalesce(s.exit_page_url, ${exitPageUrl}::text,
                (SELECT p.page_url FROM page_views p WHERE p.tenant_id = ${tenantId} AND p.session_id = s.session_id ORDER BY p.started_at DESC, p.id DESC LIMIT 1))
            WHERE s.tenant_id = ${tenantId} AND s.session_id = ${sessionId}
            RETURNING ${SESSION}`,
      ),

    /** Records a page view; the session's pages_viewed counts it only when written now. True when new. */
    async pageView(
      q: Q,
      tenantId: string,
      p: {
        pageViewId: string;
        sessionId: string;
        userId: string | null;
        pageUrl: string;
        pagePath: string | null;
        pageType: string | null;
        pageTitle: string | null;
        productId: string | null;
        referrer: string | null;
        startedAt: Date;
      },
    ): Promise<boolean> {
      const rows = await queryRows<{ n: number }>(
        q,
        sql`WITH ins AS (
              INSERT INTO page_views (tenant_id, id, page_view_id, session_id, user_id, page_url, page_path, page_type, page_title, product_id, referrer, started_at)
              VALUES (${tenantId}, ${newId()}, ${p.pageViewId}, ${p.sessionId}, ${p.userId}, ${p.pageUrl}, ${p.pagePath}, ${p.pageType}, ${p.pageTitle}, ${p.productId}, ${p.referrer}, ${p.startedAt.toISOString()})
              ON CONFLICT (tenant_id, page_view_id) DO NOTHING RETURNING 1),
            upd AS (UPDATE tracking_sessions SET pages_viewed = pages_viewed + 1 WHERE tenant_id = ${tenantId} AND session_id = ${p.sessionId} AND EXISTS (SELECT 1 FROM ins) RETURNING 1)
            SELECT (SELECT count(*) FROM ins)::int AS n`,
      );
      return rows[0]!.n > 0;
    },

    getPageView: (q: Q, tenantId: string, pageViewId: string) =>
      queryOne<PageViewRow>(q, sql`SELECT ${PAGE_VIEW} FROM page_views WHERE tenant_id = ${tenantId} AND page_view_id = ${pageViewId}`),

    /** Ends a page view: time on page (given, or from its start) and the deepest scroll reported. */
    endPageView: (
      q: Q,
      tenantId: string,
      pageViewId: string,
      endedAt: Date,
      timeOnPageSeconds: number | null,
      scrollDepthPercent: number | null,
    ) =>
      queryOne<PageViewRow>(
        q,
        sql`UPDATE page_views SET write_xid = pg_current_xact_id(),
              ended_at = coalesce(ended_at, ${endedAt.toISOString()}::timestamptz),
              time_on_page_seconds = coalesce(${timeOnPageSeconds}::int, time_on_page_seconds, greatest(0, floor(extract(epoch FROM (${endedAt.toISOString()}::timestamptz - started_at))))::int),
              scroll_depth_percent = greatest(scroll_depth_percent, ${scrollDepthPercent}::smallint)
            WHERE tenant_id = ${tenantId} AND page_view_id = ${pageViewId}
            RETURNING ${PAGE_VIEW}`,
      ),

    /** Records a funnel stage once per dedupe key; returns the stored row's id. */
    async funnel(
      q: Q,
      tenantId: string,
      f: {
        dedupeKey: string;
        sessionId: string;
        userId: string | null;
        stage: string;
        productId: string | null;
        metadata: Record<string, unknown> | null;
        reachedAt: Date;
      },
    ): Promise<string> {
      await q.execute(
        sql`INSERT INTO funnel_events (tenant_id, id, dedupe_key, session_id, user_id, stage, product_id, metadata, reached_at)
            VALUES (${tenantId}, ${newId()}, ${f.dedupeKey}, ${f.sessionId}, ${f.userId}, ${f.stage}, ${f.productId}, ${f.metadata ? JSON.stringify(f.metadata) : null}::jsonb, ${f.reachedAt.toISOString()})
            ON CONFLICT (tenant_id, dedupe_key) DO NOTHING`,
      );
      return (await queryOne<{ id: string }>(
        q,
        sql`SELECT id FROM funnel_events WHERE tenant_id = ${tenantId} AND dedupe_key = ${f.dedupeKey}`,
      ))!.id;
    },

    /** Records a cart event once; the session's cart_adds / purchases / revenue move only when it is new. */
    async cartEvent(
      q: Q,
      tenantId: string,
      c: {
        dedupeKey: string;
        sessionId: string;
        userId: string | null;
        eventType: string;
        productId: string | null;
        cartItemId: string | null;
        quantity: number | null;
        valueMinor: bigint | null;
        currency: string | null;
        interactionId: string | null;
        metadata: Record<string, unknown> | null;
        occurredAt: Date;
      },
    ): Promise<string> {
      const adds = c.eventType === 'item_added' ? 1 : 0;
      const purchases = c.eventType === 'converted' ? 1 : 0;
      const revenue = c.eventType === 'converted' && c.valueMinor != null ? c.valueMinor.toString() : '0';
      await q.execute(
        sql`WITH ins AS (
              INSERT INTO cart_events (tenant_id, id, dedupe_key, session_id, user_id, event_type, product_id, cart_item_id, quantity, value_minor, currency, interaction_id, metadata, occurred_at)
              VALUES (${tenantId}, ${newId()}, ${c.dedupeKey}, ${c.sessionId}, ${c.userId}, ${c.eventType}, ${c.productId}, ${c.cartItemId}, ${c.quantity}, ${c.valueMinor?.toString() ?? null}::bigint,
                      ${c.currency}, ${c.interactionId}::uuid, ${c.metadata ? JSON.stringify(c.metadata) : null}::jsonb, ${c.occurredAt.toISOString()})
              ON CONFLICT (tenant_id, dedupe_key) DO NOTHING RETURNING 1)
            UPDATE tracking_sessions SET cart_adds = cart_adds + ${adds}, purchases = purchases + ${purchases}, revenue_minor = revenue_minor + ${revenue}::bigint,
                   currency = coalesce(currency, ${c.currency}::text)
            WHERE tenant_id = ${tenantId} AND session_id = ${c.sessionId} AND EXISTS (SELECT 1 FROM ins)`,
      );
      return (await queryOne<{ id: string }>(
        q,
        sql`SELECT id FROM cart_events WHERE tenant_id = ${tenantId} AND dedupe_key = ${c.dedupeKey}`,
      ))!.id;
    },
  };
}
export type TrackingRepository = ReturnType<typeof createTrackingRepository>;
