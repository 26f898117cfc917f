/**
 * Pricing: stores and affiliate networks, offers from retailer feeds, match groups across stores, price
 * history, and seed 000's product page (best offer, Omnibus savings). Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import { createFeedsService } from './feeds.service.ts';
import { pricingRoutes } from './pricing.routes.ts';
import { createPricingService } from './pricing.service.ts';
import { type CatalogItemView, createProductsService } from './products.service.ts';

export interface PricingDeps {
  /** Catalog's `findItem`: a product page may open a catalog item. */
  findCatalogItem(tenantId: string, ref: string): Promise<CatalogItemView | null>;
  tenantName(tenantId: string): Promise<string>;
}

export function createPricingModule(platform: PlatformServices, deps: PricingDeps) {
  const service = createPricingService({ platform });
  const feeds = createFeedsService({ platform });
  const products = createProductsService({ platform, ...deps });
  return {
    async routes(app: FastifyInstance): Promise<void> {
      await pricingRoutes(app, { service, feeds, products });
    },
  };
}

// The matching protocol (train/valid choose, test reports), for `loupe eval-matching` and bench/matching.
export { evaluateBoostedMatcher, evaluateMatcher, fitBoostedMatcher, fitMatcher, readPairs } from './matcher.eval.ts';
