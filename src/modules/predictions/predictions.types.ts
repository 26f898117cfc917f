/**
 * What predictions asks of other modules, wired in src/app.ts: identity's read-only profiles and orders (identity
 * owns profiles and profile_orders), the recommendation models' registry (recs owns recs_model_versions) and the
 * tenant's settings (tenancy).
 */
import type { IdentifierInput } from '../identity/index.ts';
import type { CustomerOrderRow, CustomerOrdersRepository, OrderStatsRepository } from '../identity/index.ts';
import type { TenantContext } from '../../platform/index.ts';
import type { WebhookPublisher } from '../webhooks/index.ts';

export interface PredictionsIdentityPort {
  findActiveProfileOrders(
    tenantId: string,
    ref: { profileId: string } | { identifier: IdentifierInput },
  ): Promise<{ profileId: string; orders: CustomerOrderRow[] } | null>;
  customerOrders: CustomerOrdersRepository;
  /** Profiles whose orders, status or merge chain change in this process (before the commit): the serving cache drops them. */
  onProfilesChanged(listener: (tenantId: string, profileIds: readonly string[]) => void): void;
  orderStats: OrderStatsRepository;
}

/** A recommendation model version as the model registry lists it beside the predictions models. */
export interface RecsModelSummary {
  id: string;
  version: string;
  modelType: string;
  status: string;
  metrics: Record<string, number>;
  createdAt: Date;
}

/** A tenant's activity rows for the feature store (sessions, purchased categories, identifiers), any profile order. */
export interface ActivityRows {
  /** Sessions: the client's session id, or a UTC day of events sent without one. */
  sessions: { profileId: string; startedAt: Date; events: number }[];
  /** Purchased items whose catalog category is known. */
  purchases: { profileId: string; occurredAt: Date; category: string }[];
  identifiers: { profileId: string; type: string; confidence: number; channel: string | null; firstSeenAt: Date }[];
}

export interface PredictionsPorts {
  /** These profiles' sessions (events), purchases with catalog categories and identifiers (absent: no activity columns). */
  activity?: ((tenantId: string, profileIds: readonly string[]) => Promise<ActivityRows>) | undefined;
  identity: PredictionsIdentityPort;
  /** Events' units sold per item and UTC day (events owns interactions): of `itemIds`, or the top `limit` items. */
  itemUnits(
    tenantId: string,
    opts: { itemIds?: readonly string[] | undefined; from: Date; to: Date; limit: number },
  ): Promise<{ itemId: string; day: string; units: number }[]>;
  recsModels(ctx: TenantContext): Promise<RecsModelSummary[]>;
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
  /** Webhooks' outbox: segment entries and churn-threshold crossings, emitted when scores are replaced. */
  webhooks?: WebhookPublisher | undefined;
}
