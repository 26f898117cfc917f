/**
 * What recs asks of the modules that own the data it reads (wired in src/app.ts): events' interaction
 * histories and attributed outcomes, catalog's serving columns, tenancy's tenant settings.
 */
import type { HistoryRepository } from '../events/index.ts';
import type { ServingRepository } from '../catalog/index.ts';

export type RecsEventsPort = Pick<
  HistoryRepository,
  'userHistories' | 'recentUsers' | 'usersWithInteractionsSince' | 'interactionsSince' | 'interactionQuality' | 'attributedInteractions'
>;

export type RecsCatalogPort = Pick<ServingRepository, 'servingItems' | 'catalogMarker' | 'contentItems' | 'activeItemCount'>;

export interface RecsPorts {
  events: RecsEventsPort;
  catalog: RecsCatalogPort;
  /** The tenant's settings (read-only; `{}` for an unknown tenant): interaction weights, purchased-item exclusion, retraining policy. */
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
}
