/**
 * Pricing: stores and affiliate networks, offers from retailer feeds, match groups across stores, price
 * history, and seed 000's product page (best offer, Omnibus savings). Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices, ScheduledTask } from '../../platform/index.ts';
import type { WebhookPublisher } from '../webhooks/index.ts';
import { createAlertsService } from './alerts.service.ts';
import { createBestOffersService } from './bestoffers.service.ts';
import { createFeedsService } from './feeds.service.ts';
import { pricingRoutes } from './pricing.routes.ts';
import { createPricingService } from './pricing.service.ts';
import { createRefreshService } from './refresh.service.ts';
import { createSourcesService } from './sources.service.ts';
import { backfillGroupSummaries } from './summary.service.ts';
import { DEFAULT_MAX_BYTES } from './products.cache.ts';
import { type CatalogItemView, createProductsService } from './products.service.ts';

export interface PricingDeps {
  /** Catalog's `findItem`: a product page may open a catalog item. */
  findCatalogItem(tenantId: string, ref: string): Promise<CatalogItemView | null>;
  tenantName(tenantId: string): Promise<string>;
  /** Catalog: the GTIN of each of these items that has one (best offers of feed items). */
  catalogGtins(tenantId: string, itemIds: readonly string[]): Promise<Map<string, string>>;
  /** Catalog: the tenant's items carrying any of these GTINs as stored (imports link match groups to them). */
  catalogItemsByGtin(tenantId: string, gtins: readonly string[]): Promise<{ itemId: string; gtin: string }[]>;
  /** Webhooks' outbox: fired price alerts become `pricing.price_alert.triggered` events. */
  webhooks?: WebhookPublisher;
}

export type { ItemBestOffer } from './bestoffers.service.ts';

/** Told after a committed change of a tenant's offers, prices or match groups in this process. */
export type OffersChangedListener = (tenantId: string) => void;

export function createPricingModule(platform: PlatformServices, deps: PricingDeps) {
  const listeners: OffersChangedListener[] = [];
  const offersChanged = (tenantId: string) => {
    for (const l of listeners) {
      try {
        l(tenantId);
      } catch (err) {
        platform.log.warn({ err, tenantId }, 'a pricing change listener failed');
      }
    }
  };
  const service = createPricingService({ platform, offersChanged });
  const alerts = createAlertsService({ platform, webhooks: deps.webhooks });
  const feeds = createFeedsService({
    platform,
    catalogItemsByGtin: deps.catalogItemsByGtin,
    evaluateAlerts: alerts.evaluateForOffers,
    offersChanged,
  });
  const sources = createSourcesService({ platform, feeds });
  const refresh = createRefreshService({ platform, queuePriceRun: (tenantId, sourceId) => sources.queuePriceRefresh(tenantId, sourceId) });
  const products = createProductsService({
    platform,
    findCatalogItem: deps.findCatalogItem,
    tenantName: deps.tenantName,
    freshness: refresh.onOpen,
    pageCacheBytes: DEFAULT_MAX_BYTES,
  });
  // After every committed change in this process the page cache looks for the changed groups before its next page.
  listeners.push((tenantId) => products.offersChanged(tenantId));
  const best = createBestOffersService({ db: platform.db, clock: platform.clock, catalogGtins: deps.catalogGtins });
  return {
    /** Best current store offer per catalog item id, batched (the newsfeed's price enrichment). */
    bestOffers: best.bestOffers,
    /** Catalog items among these whose best offer dropped below its 30-day low, biggest drop first. */
    priceDrops: best.priceDrops,
    /**
     * Calls `listener` after every committed change of the tenant's offers, prices or match groups in this process
     * (feed and network imports, merges, splits, reverts, review decisions): caches of best offers drop the tenant.
     * Another process's change is not announced here: such caches also expire.
     */
    onOffersChanged(listener: OffersChangedListener): void {
      listeners.push(listener);
    },
    /** The product page cache's counts (tests: a page served from it). */
    productPageCacheStats: () => products.cacheStats(),
    /** Identity's erasure step: a person's price alerts and their history. */
    eraseUsers: alerts.eraseUsers,
    /** The scheduler's task: queues the imports of the network connections that are due (hourly, daily). */
    queueDueNetworkImports: () => sources.queueDueImports(),
    /**
     * Elected tasks: `pricing.group-summaries` summarizes groups that have no summary row yet (every group once after
     * the table's migration, at the first election; afterwards only what a missed write left), in the background.
     */
    scheduledTasks(): ScheduledTask[] {
      return [
        {
          name: 'pricing.group-summaries',
          everyMs: 6 * 3_600_000,
          runOnElection: true,
          run: () => backfillGroupSummaries(platform.db, platform.clock, platform.log),
        },
      ];
    },
    /** Start-up step: seals network credentials still stored under a previous key with the current one. */
    async resealSecrets(): Promise<void> {
      const r = await sources.resealSecrets();
      if (r.resealed) platform.log.info({ resealed: r.resealed }, 'pricing network credentials sealed with the current key');
      if (r.unreadable)
        platform.log.error(
          { unreadable: r.unreadable },
          'pricing network credentials that no configured key opens: set LOUPE_SECRETS_KEY_PREVIOUS to the old key, or connect those stores again',
        );
    },
    async routes(app: FastifyInstance): Promise<void> {
      await pricingRoutes(app, { service, feeds, products, alerts, sources, refresh });
    },
  };
}

// The matching protocol (train/valid choose, test reports), for `loupe eval-matching` and bench/matching.
export { evaluateBoostedMatcher, evaluateMatcher, fitBoostedMatcher, fitMatcher, readPairs } from './matcher.eval.ts';
// The blocking keys an import writes for an offer (bench:pricing-scale seeds them for a million offers in SQL).
// Features and fitting procedures, for bench/matching/select.ts (the choosing half shown on train and valid).
export { RICH_FEATURE_NAMES, buildIdf, offerBlockKeys, prepare, prf } from './matcher.core.ts';
export { fitCvMatcher, fitLearnedMatcher, richMatrix } from './matcher.model.ts';
// The shipped model beside a candidate (bench/matching/shipped.bench.ts): its file's shape, loading and scoring.
export { type SerializedMatcher, deserializeMatcher, scoreMatrix, scorePairs } from './matcher.model.ts';
