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
  /** session_id, device, browser, os, utm_source, utm_medium, utm_campaign. */
  sessionAttributesSql(tenantId: string): SQL;
}

export interface AnalyticsPorts {
  events: AnalyticsEventsPort;
  funnelRollups: FunnelRollupSources;
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
