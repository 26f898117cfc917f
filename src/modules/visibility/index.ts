/**
 * Visibility (seed 004): the catalog made visible on Google. Feed precheck against Google's product data
 * specification and attribute mapping (`feeds.*`), feed push to the Merchant API with jobs and retries
 * (`feeds.push.*`), the Google OAuth link (`google.*`), the business profile (`profile.*`) and its Google Business
 * Profile location with daily performance metrics (`gbp.*`), feedback and
 * operational metrics (`feedback.*`, `metrics.*`). Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import { feedRoutes } from './feeds.routes.ts';
import { createFeedsRepository } from './feeds.repository.ts';
import { type CatalogFeedPort, createFeedsService } from './feeds.service.ts';
import { createFeedPushService } from './feeds.push.service.ts';
import { feedPushRoutes } from './feeds.push.routes.ts';
import { createMerchantClient } from './google.merchant.client.ts';
import { createOAuthClient } from './google.oauth.client.ts';
import { createGoogleRepository } from './google.repository.ts';
import { googleRoutes } from './google.routes.ts';
import { createGoogleService } from './google.service.ts';
import { createFeedbackRepository } from './feedback.repository.ts';
import { feedbackRoutes } from './feedback.routes.ts';
import { createFeedbackService } from './feedback.service.ts';
import { createGeocoder } from './geocoding.client.ts';
import { createProfileRepository } from './profile.repository.ts';
import { profileRoutes } from './profile.routes.ts';
import { createProfileService } from './profile.service.ts';
import { createGbpClient } from './gbp.client.ts';
import { createGbpRepository } from './gbp.repository.ts';
import { gbpRoutes } from './gbp.routes.ts';
import { createGbpService } from './gbp.service.ts';

export type { CatalogFeedPort } from './feeds.service.ts';

export interface VisibilityDeps {
  catalog: CatalogFeedPort;
}

export function createVisibilityModule(platform: PlatformServices, deps: VisibilityDeps) {
  const feedsRepo = createFeedsRepository();
  const feeds = createFeedsService({ db: platform.db, repo: feedsRepo, catalog: deps.catalog, clock: platform.clock });
  const g = platform.config.google;
  const endpoints =
    g.clientId && g.clientSecret
      ? { clientId: g.clientId, clientSecret: g.clientSecret, authorizeUrl: g.authorizeUrl, tokenUrl: g.tokenUrl, revokeUrl: g.revokeUrl }
      : undefined;
  const google = createGoogleService({
    db: platform.db,
    repo: createGoogleRepository(),
    secrets: platform.secrets,
    clock: platform.clock,
    endpoints,
    oauth: endpoints ? createOAuthClient(endpoints) : undefined,
    redirectUri: g.redirectUri,
  });
  const push = createFeedPushService({
    db: platform.db,
    repo: feedsRepo,
    feeds,
    catalog: deps.catalog,
    google,
    merchant: createMerchantClient({ baseUrl: g.merchantApiUrl, baseDelayMs: g.merchantRetryBaseMs }),
    jobs: platform.jobs,
    clock: platform.clock,
  });
  push.register();
  const { geocodingApiKey, geocodingUrl } = platform.config.google;
  const profile = createProfileService({
    db: platform.db,
    repo: createProfileRepository(),
    clock: platform.clock,
    geocoder: geocodingApiKey ? createGeocoder({ apiKey: geocodingApiKey, url: geocodingUrl }) : undefined,
  });
  const gbp = createGbpService({
    db: platform.db,
    repo: createGbpRepository(),
    client: createGbpClient({
      accountsUrl: g.businessAccountsUrl,
      informationUrl: g.businessInformationUrl,
      performanceUrl: g.businessPerformanceUrl,
      baseDelayMs: g.merchantRetryBaseMs,
    }),
    google,
    profile,
    jobs: platform.jobs,
    clock: platform.clock,
  });
  gbp.register();
  const feedback = createFeedbackService({
    db: platform.db,
    repo: createFeedbackRepository(),
    feedsRepo,
    catalog: deps.catalog,
    profile,
    clock: platform.clock,
  });
  return {
    feeds,
    /** Start-up step: seals the Google OAuth tokens still under a previous key with the current one. */
    async resealSecrets(): Promise<void> {
      const r = await google.resealSecrets();
      if (r.resealed) platform.log.info({ resealed: r.resealed }, 'Google tokens sealed with the current key');
      if (r.unreadable)
        platform.log.error(
          { unreadable: r.unreadable },
          'Google tokens that no configured key opens: set LOUPE_SECRETS_KEY_PREVIOUS to the old key, or link Google again',
        );
    },
    async routes(app: FastifyInstance): Promise<void> {
      await feedRoutes(app, { feeds });
      await feedPushRoutes(app, { push });
      await googleRoutes(app, { google });
      await profileRoutes(app, { profile });
      await gbpRoutes(app, { gbp });
      await feedbackRoutes(app, { feedback });
    },
  };
}

// Pure feed checks for benches and tools (no I/O): the precheck, its rules and its fixture suite.
export { precheckFeed, PRECHECK_RULE_IDS } from './feeds.precheck.core.ts';
export type { FeedItem } from './feeds.precheck.core.ts';
export { VALID_FIXTURES, VIOLATION_FIXTURES } from './feeds.precheck.fixtures.ts';
