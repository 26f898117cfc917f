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

export interface AnalyticsPorts {
  events: AnalyticsEventsPort;
  orders: AnalyticsOrdersPort;
  /** The tenant's settings (read-only; `{}` for an unknown tenant): `timezone` is the reports' default zone. */
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
  cohorts: CohortSources;
}
