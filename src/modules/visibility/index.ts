/**
 * Visibility (seed 004): the catalog made visible on Google. Feed precheck against Google's product data
 * specification and attribute mapping (`feeds.*`), feed push to the Merchant API with jobs and retries
 * (`feeds.push.*`), the Google OAuth link (`google.*`), the business profile (`profile.*`), feedback and
 * operational metrics (`feedback.*`, `metrics.*`). Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import { feedRoutes } from './feeds.routes.ts';
import { createFeedsRepository } from './feeds.repository.ts';
import { type CatalogFeedPort, createFeedsService } from './feeds.service.ts';

export type { CatalogFeedPort } from './feeds.service.ts';

export interface VisibilityDeps {
  catalog: CatalogFeedPort;
}

export function createVisibilityModule(platform: PlatformServices, deps: VisibilityDeps) {
  const feedsRepo = createFeedsRepository();
  const feeds = createFeedsService({ db: platform.db, repo: feedsRepo, catalog: deps.catalog, clock: platform.clock });
  return {
    feeds,
    async routes(app: FastifyInstance): Promise<void> {
      await feedRoutes(app, { feeds });
    },
  };
}

// Pure feed checks for benches and tools (no I/O): the precheck, its rules and its fixture suite.
export { precheckFeed, PRECHECK_RULE_IDS } from './feeds.precheck.core.ts';
export type { FeedItem } from './feeds.precheck.core.ts';
export { VALID_FIXTURES, VIOLATION_FIXTURES } from './feeds.precheck.fixtures.ts';
