/**
 * What analytics asks of the module that owns the raw tracking rows (events: tracking_sessions, page_views,
 * funnel_events, cart_events), the same way recs declares `RecsEventsPort`: events implements it in
 * `events/analytics-source.repository.ts` and src/app.ts wires it. Every method takes the query handle first, then
 * the tenant id, and returns rows already aggregated the way a report asks (events' SQL over events' tables).
 */
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
  Pick<AnalyticsBehaviourRepository, 'retention' | 'pathSequences' | 'funnelOccurrences'>;

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

export interface AnalyticsPorts {
  events: AnalyticsEventsPort;
  orders: AnalyticsOrdersPort;
  /** The tenant's settings (read-only; `{}` for an unknown tenant): `timezone` is the reports' default zone. */
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
}
