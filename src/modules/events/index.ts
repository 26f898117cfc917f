/**
 * Events: interactions and tracking (sessions, page views, funnel and cart events), webhook connectors,
 * Segment-compatible endpoints. Public entry.
 */
export { createInteractionsRepository } from './interactions.repository.ts';
import type { BoundQuery } from '../../platform/index.ts';
import type { HistoryRepository as HistoryQueries } from './history.repository.ts';
import type { InteractionsRepository as InteractionQueries } from './interactions.repository.ts';
/** The module's interactions and history views, bound to the database (the shape other modules call). */
export type InteractionsRepository = BoundQuery<InteractionQueries>;
export type HistoryRepository = BoundQuery<HistoryQueries>;
export { CUSTOM_TYPE_PATTERN, DEFAULT_INTERACTION_WEIGHTS, INTERACTION_TYPES } from './interactions.core.ts';
export type { NewInteraction } from './interactions.core.ts';
export { fromApiInteraction, fromImportedRow } from './ingest.core.ts';
export { createIngestService } from './ingest.service.ts';
export type { IngestService } from './ingest.service.ts';
/** Read-only views of interactions for the recommender (histories, change markers, counts, attributed outcomes). */
export { createHistoryRepository } from './history.repository.ts';
export type { AttributedInteraction } from './history.repository.ts';
/** Implements identity's `ProfileEvents` port over the interactions table (wired in src/app.ts). */
export { createProfileLinksRepository } from './profile-links.repository.ts';

import type { FastifyInstance } from 'fastify';
import { type PlatformServices, bindQuery } from '../../platform/index.ts';
import type { IdentityModule, ProfileActivitySource } from '../identity/index.ts';
import { type CommittedListener, createIngestService, usersWritten } from './ingest.service.ts';
import { createIntegrationsRepository } from './integrations.repository.ts';
import { createIntegrationsService } from './integrations.service.ts';
import { createInteractionStatsRepository } from './interaction-stats.repository.ts';
import { createHistoryRepository as makeHistory } from './history.repository.ts';
import { integrationsRoutes, type PublicUrlSetting } from './integrations.routes.ts';
import { interactionsRoutes } from './interactions.routes.ts';
import { segmentRoutes } from './segment.routes.ts';
import { createTrackingRepository } from './tracking.repository.ts';
import { trackingRoutes } from './tracking.routes.ts';
import { createTrackingService } from './tracking.service.ts';
import { createWebhooksService } from './webhooks.service.ts';
import { createShopifyBackfillRepository } from './shopify-backfill.repository.ts';
import { shopifyBackfillRoutes } from './shopify-backfill.routes.ts';
import { type CatalogItemWriter, createShopifyBackfillService } from './shopify-backfill.service.ts';
export type { CatalogItemWriter } from './shopify-backfill.service.ts';
import { appendCounts, createInteractionsRepository as makeInteractions } from './interactions.repository.ts';
import { retentionHorizon } from './interaction-partitions.core.ts';
import { createRetentionRepository } from './retention.repository.ts';
import { retentionRoutes } from './retention.routes.ts';
import { createRetentionService, type InteractionArchive } from './retention.service.ts';
import { createInteractionPartitionsRepository } from './interaction-partitions.repository.ts';
import { createInteractionPartitionsService } from './interaction-partitions.service.ts';
import type { ScheduledTask } from '../../platform/index.ts';

export interface EventsModuleDeps {
  identity: IdentityModule;
  /** Whether a tenant may take data in (tenancy's cached tenant status; a suspended tenant's webhooks are deferred). */
  tenantActive: (tenantId: string) => Promise<boolean>;
  /** The tenant's public base URL setting for webhook addresses (kept by tenancy). */
  publicUrlSetting?: PublicUrlSetting;
}

export function createEventsModule(platform: PlatformServices, deps: EventsModuleDeps) {
  const appendListeners: CommittedListener[] = [];
  /** Tells the listeners after a commit (a listener only drops caches or queues work: it must not fail a write). */
  const appended: CommittedListener = (tenantId, userIds, write) => {
    for (const l of appendListeners) {
      try {
        l(tenantId, userIds, write);
      } catch (err) {
        platform.log.error({ err, tenantId }, 'an interactions listener failed');
      }
    }
  };
  const retentionMonths = platform.config.interactions.retentionMonths;
  const retainFrom = () => retentionHorizon(platform.clock(), retentionMonths);
  const interactions = makeInteractions({ retainFrom, clock: platform.clock });
  const partitions = createInteractionPartitionsService({
    db: platform.db,
    repo: createInteractionPartitionsRepository(),
    clock: platform.clock,
    retentionMonths,
  });
  const ingest = createIngestService({
    onCommitted: appended,
    db: platform.db,
    repo: interactions,
    identity: deps.identity,
    log: platform.log,
    // Group commit: a few ms of waiting buys one set-based insert for many concurrent requests.
    batching: { maxBatch: 1000, maxWaitMs: 4, maxPending: 20_000, concurrency: platform.databaseKind === 'pglite' ? 1 : 4 },
  });
  const integrationsRepo = createIntegrationsRepository(platform.secrets);
  const webhooks = createWebhooksService({
    db: platform.db,
    repo: integrationsRepo,
    ingest,
    identity: deps.identity,
    clock: platform.clock,
    log: platform.log,
    tenantActive: deps.tenantActive,
  });
  const integrations = createIntegrationsService({ db: platform.db, repo: integrationsRepo, webhooks, log: platform.log });
  let catalogWriter: CatalogItemWriter | null = null;
  const shopifyBackfillRepo = createShopifyBackfillRepository(platform.secrets);
  const shopifyBackfill = createShopifyBackfillService({
    db: platform.db,
    repo: shopifyBackfillRepo,
    connections: integrationsRepo,
    ingest,
    identity: deps.identity,
    catalog: () => catalogWriter,
    jobs: platform.jobs,
    config: platform.config,
    clock: platform.clock,
    log: platform.log,
  });
  shopifyBackfill.registerJobs();
  let archive: InteractionArchive | null = null;
  const retention = createRetentionService({
    db: platform.db,
    repo: createRetentionRepository(),
    clock: platform.clock,
    platformMonths: retentionMonths,
    archive: () => archive,
    log: platform.log,
  });
  const tracking = createTrackingService({ db: platform.db, repo: createTrackingRepository(), ingest, clock: platform.clock });
  /** Identity's view of profile activity, computed from the events this module owns (wired in app.ts). */
  const interactionStats = bindQuery(platform.db, createInteractionStatsRepository());
  const activitySource: ProfileActivitySource = {
    activityOf: (unitOfWork, tenantId, profileIds) => interactions.profileActivity(unitOfWork, tenantId, profileIds),
  };
  return {
    /**
     * The module's periodic work, run once per cluster by the elected scheduler: `interactions`' monthly partitions
     * made ahead and split out of the default partition, and the retention (whole months dropped with their keys);
     * each tenant's own retention (its rows deleted in batches, after the export archived them when it asks so).
     */
    scheduledTasks(): ScheduledTask[] {
      return [
        { name: 'events.interaction-partitions', everyMs: 3_600_000, runOnElection: true, run: () => partitions.maintain() },
        // Tenants' own retention: a few batches per tenant per run, the least recently purged first.
        { name: 'events.tenant-retention', everyMs: 3_600_000, runOnElection: true, run: () => retention.purgeAll() },
      ];
    },
    /** Interactions bound to the database (reads, direct appends in tests and benches; appends notify once stored). */
    interactions: bindAppendsNotifying(bindQuery(platform.db, interactions), appended),
    activitySource,
    /** Wiring: the catalog's write door, through which the Shopify backfill stores products (set in src/app.ts). */
    useCatalogWriter(writer: CatalogItemWriter): void {
      catalogWriter = writer;
    },
    /** Wiring: where the archive of the tenants' interactions stands (the warehouse export; set in src/app.ts). */
    useArchive(source: InteractionArchive): void {
      archive = source;
    },
    /** Tenants' own retention of their interactions (settings, status, purge; tests run the purge directly). */
    retention,
    /** Calls `listener` with the users of interactions written in this process (serving drops their cached history). */
    onInteractionsAppended(listener: CommittedListener): void {
      appendListeners.push(listener);
    },
    /** When the tenant's newest interaction happened (null when none): the data-quality dashboard's freshness. */
    lastInteractionAt: interactionStats.lastInteractionAt,
    /** Units sold per item and UTC day (purchases), for predictions' per-item demand forecasts. */
    itemUnitsByDay: interactionStats.itemUnitsByDay,
    /** Each profile's sessions and purchased items, for predictions' feature store (sessions, category affinity). */
    profileSessions: interactionStats.profileSessions,
    profilePurchasedItems: interactionStats.profilePurchasedItems,
    /** Purchases recorded, store connections, tracked sessions: the first-run checklist's events facts. */
    setupFacts: interactionStats.setupFacts,
    /** Read-only views of interactions for the recommender: histories, change markers, counts, attributed outcomes. */
    history: bindQuery(platform.db, makeHistory()),
    /**
     * THE events write door (`events.ingest.write(ctx, inputs, { source, within })`): validation, identity
     * resolution, idempotent set-based insert and profile aggregates in one transaction. Every channel uses it.
     */
    ingest,
    /** Start-up step: seals vendor secrets and Shopify backfill tokens still stored in clear or under a previous key. */
    async resealSecrets(): Promise<void> {
      const r = await integrationsRepo.resealAll(platform.db);
      if (r.resealed) platform.log.info({ resealed: r.resealed }, 'integration secrets sealed with the current key');
      if (r.unreadable)
        platform.log.error(
          { unreadable: r.unreadable },
          'integration secrets that no configured key opens: set LOUPE_SECRETS_KEY_PREVIOUS to the old key, or set new secrets with PATCH /api/v1/integrations/:id',
        );
      const b = await shopifyBackfillRepo.resealAll(platform.db);
      if (b.resealed) platform.log.info({ resealed: b.resealed }, 'Shopify backfill tokens sealed with the current key');
      if (b.unreadable)
        platform.log.error(
          { unreadable: b.unreadable },
          'Shopify backfill tokens that no configured key opens: set LOUPE_SECRETS_KEY_PREVIOUS to the old key, or start the backfill again with a new token',
        );
    },
    async routes(app: FastifyInstance): Promise<void> {
      await interactionsRoutes(app, { ingest, clock: platform.clock, arrivals: interactionStats.arrivals });
      await trackingRoutes(app, { tracking, countryHeader: platform.config.trustedCountryHeader });
      await segmentRoutes(app, { ingest, identity: deps.identity, clock: platform.clock, publicUrl: platform.config.publicUrl });
      await integrationsRoutes(app, {
        integrations,
        config: platform.config,
        clock: platform.clock,
        publicUrlSetting: deps.publicUrlSetting,
      });
      await shopifyBackfillRoutes(app, { backfill: shopifyBackfill });
      await retentionRoutes(app, { retention });
    },
  };
}
export type EventsModule = ReturnType<typeof createEventsModule>;

/**
 * The bound repository's appends run outside any transaction (each statement commits on its own), so they tell
 * the listeners when they return, as the write door does after its commit.
 */
function bindAppendsNotifying(bound: InteractionsRepository, appended: CommittedListener): InteractionsRepository {
  const appendManyDetailed: InteractionsRepository['appendManyDetailed'] = async (tenantId, rows) => {
    const r = await bound.appendManyDetailed(tenantId, rows);
    const users = usersWritten(rows, r.created);
    // Direct appends (tests, benches, seeding) are not imports: their users are treated as shoppers acting.
    if (users.length) appended(tenantId, users, { bulk: false });
    return r;
  };
  return {
    ...bound,
    appendManyDetailed,
    appendMany: async (tenantId, rows) => appendCounts(await appendManyDetailed(tenantId, rows)),
  };
}
/** Implements analytics' `AnalyticsEventsPort` over the tracking tables (wired in src/app.ts). */
export { createAnalyticsSourceRepository } from './analytics-source.repository.ts';
export { createAnalyticsBehaviourRepository } from './analytics-behaviour.repository.ts';
export type { AnalyticsBehaviourRepository } from './analytics-behaviour.repository.ts';
export type {
  AnalyticsGranularity,
  AnalyticsSessionFilters,
  AnalyticsSourceRepository,
  AnalyticsWindow,
  CartMeasures,
  CurrencyAmount,
  PageMeasures,
  SessionMeasures,
} from './analytics-source.repository.ts';
/** The warehouse export's reads of interactions (the warehouse module's `WarehouseSource` port). */
export { createEventsWarehouseSource } from './warehouse-source.repository.ts';
/** Implements experiments' `ConnectorMetricEvents` port over the interactions table (wired in src/app.ts). */
export { createExperimentMetricSource } from './experiment-source.repository.ts';
/** The warehouse's data-quality facts about interactions (the warehouse module's `EventQualitySource` port). */
export { createEventsQualitySource } from './quality-source.repository.ts';
/** Per-profile event counts for analytics' saved cohorts (analytics' `CohortSources` port). */
export { createCohortEventsSource } from './cohort-source.repository.ts';
/** A shopper's recent interactions as an SQL piece for the newsfeed's one per-shopper statement (its `ShopperHistorySql`). */
export { createShopperHistorySource } from './shopper-history-source.repository.ts';
/** SQL pieces over funnel_events and tracking_sessions for analytics' funnel rollups (analytics' `FunnelRollupSources`). */
export { createFunnelRollupSources } from './funnel-rollup-source.repository.ts';
/** SQL pieces over tracking_sessions, page_views and cart_events for analytics' report rollups (analytics' `ReportRollupSources`). */
export { createReportRollupSources } from './report-rollup-source.repository.ts';
