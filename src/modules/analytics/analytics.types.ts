/**
 * What analytics asks of the module that owns the raw tracking rows (events: tracking_sessions, page_views,
 * funnel_events, cart_events), the same way recs declares `RecsEventsPort`: events implements it in
 * `events/analytics-source.repository.ts` and src/app.ts wires it. Every method takes the query handle first, then
 * the tenant id, and returns rows already aggregated the way a report asks (events' SQL over events' tables).
 */
import type { SQL } from 'drizzle-orm';
import type { AnalyticsBehaviourRepository, AnalyticsSourceRepository } from '../events/index.ts';
import type { OrderStatsRepository } from '../identity/index.ts';

export type AnalyticsEventsPort = Pick<
  AnalyticsSourceRepository,
  | 'sessionMeasures'
  | 'sessionRevenue'
  | 'listSessions'
  | 'pageMeasures'
  | 'funnel'
  | 'cartMeasures'
  | 'cartRevenue'
  | 'cartProducts'
  | 'realtime'
  | 'realtimePages'
  | 'session'
  | 'timeline'
  | 'itemSales'
> &
  Pick<AnalyticsBehaviourRepository, 'retention' | 'pathCounts' | 'funnelOccurrences'>;

export type {
  AnalyticsGranularity as Granularity,
  AnalyticsSessionFilters as SessionFilters,
  AnalyticsWindow as ReportWindow,
  CartMeasures,
  CurrencyAmount,
  PageMeasures,
  SessionMeasures,
} from '../events/index.ts';

/** Orders, revenue and customers per period: identity's profile_orders, through identity's public entry. */
export type AnalyticsOrdersPort = Pick<OrderStatsRepository, 'orderMoney' | 'orderPeople'>;

/**
 * Saved cohorts' facts as SQL pieces their owners build over their own tables (subqueries filtered on the tenant, as
 * the warehouse's `MartSources`): identity's active profiles, predictions' scores, events' counts per profile. The
 * cohort's one statement (`cohorts.repository.ts`) joins them and names none of their tables.
 */
export interface CohortSources {
  /** profile_id uuid, traits jsonb, total_orders int, event_count int, revenue_minor int8, last_seen_at timestamptz. */
  profilesSql(tenantId: string): SQL;
  /** profile_id uuid, segment text, churn_probability float8, p_alive float8, expected_purchases float8. */
  scoresSql(tenantId: string): SQL;
  /** profile_id uuid, n int: events of `type` that occurred in [since, until], per profile. */
  eventCountsSql(tenantId: string, type: string, since: Date, until: Date): SQL;
}

/**
 * The funnel rollups' SQL pieces over events' funnel_events and tracking_sessions (implemented by
 * `events/funnel-rollup-source.repository.ts`, wired in src/app.ts): subqueries filtered on the tenant that the
 * rollups' statements (`funnel-rollups.repository.ts`) join, naming none of events' tables.
 */
export interface FunnelRollupSources {
  /** session_id text, anchor_id uuid, first_at, last_at timestamptz, step_at timestamptz[] (greedy reach of each step). */
  sessionStepsSql(tenantId: string, steps: readonly string[], window: { from: Date; to: Date } | null, sessions: SQL | null): SQL;
  /**
   * id uuid, session_id text: funnel rows written by transactions that snapshot `since` (pg_snapshot as text) did not
   * see, and (id null) sessions whose report attributes such transactions wrote.
   */
  changesSql(tenantId: string, since: string): SQL;
  /** id uuid, session_id text: funnel rows written by the current transaction. */
  writtenNowSql(tenantId: string): SQL;
  /** session_id, device, browser, os, utm_source, utm_medium, utm_campaign, country. */
  sessionAttributesSql(tenantId: string): SQL;
}

export interface AnalyticsPorts {
  events: AnalyticsEventsPort;
  funnelRollups: FunnelRollupSources;
  /** Report rollups' SQL pieces (absent: the session, page and cart reports read the raw rows). */
  reportRollups?: ReportRollupSources | undefined;
  /**
   * Whether unfiltered reports read the report rollups when the window allows (config LOUPE_ANALYTICS_ROLLUP_READS,
   * default on; index.ts defaults to off for callers that wire none). Filtered and broken-down reads stay raw
   * (`shapeMisfit`): no hour row keeps session attributes.
   */
  rollupReads?: boolean | undefined;
  /**
   * Longest a report waits for a rollup's first build before answering from the raw rows while the build goes on
   * (config LOUPE_ANALYTICS_ROLLUP_BUILD_WAIT_MS; default 2,000 ms).
   */
  rollupBuildWaitMs?: number | undefined;
  orders: AnalyticsOrdersPort;
  /** The tenant's settings (read-only; `{}` for an unknown tenant): `timezone` is the reports' default zone. */
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
  cohorts: CohortSources;
  /**
   * Identity's profile changes, for the cohort membership cache (cohorts.cache.ts): its announcements in this process
   * and its change marker (profiles changed since an instant, read when other processes may write). Default: none
   * (cached answers then age out by their TTL only).
   */
  profileChanges?: ProfileChangesPort | undefined;
  /** Identity's read-only lookup, for `cohorts.userIn` (a shopper's user id in saved cohorts). Default: none. */
  profileLookup?: ProfileLookupPort | undefined;
}

/** Identity's `lookupProfiles` (read-only, creates nothing): the profile holding each identifier, or null. */
export interface ProfileLookupPort {
  lookupProfiles(tenantId: string, identifiers: readonly { type: string; value: string }[]): Promise<(string | null)[]>;
}

/** Identity's `onProfilesChanged` and `customerOrders.changedSince`, as the cohort membership cache needs them. */
export interface ProfileChangesPort {
  onProfilesChanged(listener: (tenantId: string, profileIds: readonly string[]) => void): void;
  changedSince(tenantId: string, since: Date, limit: number): Promise<string[]>;
}

/**
 * The report rollups' SQL pieces over events' tracking_sessions, page_views and cart_events (implemented by
 * `events/report-rollup-source.repository.ts`, wired in src/app.ts). `pick`: the listed UTC hours (ISO hour
 * starts, distinct), an instant range [from, to), or 'all'. Row columns: hour (UTC hour, timestamptz), at (the row's
 * instant), session_id, and device, browser, os, country, utm_source, utm_medium, utm_campaign of the session.
 */
export interface ReportRollupSources {
  /** session_id: sessions with a session, page view or cart row written by transactions snapshot `since` did not see. */
  changedSessionsSql(tenantId: string, since: string): SQL;
  /** h: the UTC hours the listed sessions start in or have a page view or cart event in. */
  hoursOfSessionsSql(tenantId: string, sessions: SQL): SQL;
  /** + person text, pages_viewed, cart_adds, purchases int, duration_seconds (null while open): sessions started in the pick. */
  sessionRowsSql(tenantId: string, pick: ReportRowsPick): SQL;
  /** + page text, page_type, time_on_page_seconds, scroll_depth_percent: page views started in the pick. */
  pageRowsSql(tenantId: string, pick: ReportRowsPick): SQL;
  /** + event_type, quantity: cart events in the pick. */
  cartRowsSql(tenantId: string, pick: ReportRowsPick): SQL;
  /** session_id, first_hour, last_hour: the UTC hours of the first and last page view of each session with a page view in the pick. */
  pageSpansSql(tenantId: string, pick: ReportRowsPick): SQL;
  /** hour, session_id, page, page_type, time_on_page_seconds, scroll_depth_percent: every page view of the pick's sessions. */
  sessionPagesSql(tenantId: string, pick: ReportRowsPick): SQL;
  /** session_id, first_hour, last_hour: the same over cart events. */
  cartSpansSql(tenantId: string, pick: ReportRowsPick): SQL;
}
export type ReportRowsPick = { hours: readonly string[] } | { from: Date; to: Date } | 'all';
