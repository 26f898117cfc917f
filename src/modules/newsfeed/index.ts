/**
 * Newsfeed: the shopper's personal feed (modules from distinct sources, sponsored modules at the tenant's
 * positions, diversity rules, infinite scroll), shopper preferences (brand follows, favorites, stated
 * preferences) and style profiles learned from interactions. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import { type PlatformServices, type ScheduledTask, inTenant } from '../../platform/index.ts';
import { newsfeedRoutes } from './newsfeed.routes.ts';
import { createNewsfeedService } from './newsfeed.service.ts';
import type {
  BestOfferSource,
  FeedSources,
  ModuleOrderSource,
  SegmentSource,
  ShopperHistorySql,
  SponsoredSource,
} from './newsfeed.ports.ts';
import { createPreferencesRepository } from './preferences.repository.ts';
import { createPreferencesService } from './preferences.service.ts';
import { createRetentionService } from './retention.service.ts';
import { createShownLog } from './shown.log.ts';
import { createStyleRefreshQueue } from './style.queue.ts';
import { type ProfileInteraction, type StyleItem, createStyleService } from './style.service.ts';

export { DEFAULT_FEED_RULES, type FeedItem, dampPopularity, popularityOf, rerankByRules } from './newsfeed.core.ts';
export type {
  BestOfferSource,
  FeedSources,
  ModuleOrderSource,
  SegmentSource,
  ShopperHistorySql,
  SponsoredSource,
} from './newsfeed.ports.ts';
export type { ProfileInteraction, StyleItem } from './style.service.ts';
export {
  bestOffersFrom,
  feedSourcesFrom,
  moduleOrderFrom,
  recentInteractionsFrom,
  segmentsFrom,
  styleItemsFrom,
} from './newsfeed.adapters.ts';

export interface NewsfeedModuleDeps {
  sources: FeedSources;
  /** Events' SQL piece for a shopper's recent interactions, read in the feed's one per-shopper statement. */
  history: ShopperHistorySql;
  sponsored: SponsoredSource;
  /** Pricing's best offers; default: none (items show their own price only). */
  offers?: BestOfferSource | undefined;
  /** Experiments' module order; default: no experiment, the default order. */
  moduleOrder?: ModuleOrderSource | undefined;
  /** The shopper's segments (identity's profile, predictions' segment; wired in src/app.ts); default: none. */
  segments?: SegmentSource | undefined;
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
  /** Events' recent interactions of a user (newest first), for style profiles. */
  recentInteractions(tenantId: string, userIds: readonly string[], limit: number): Promise<ProfileInteraction[]>;
  /** Catalog attributes of items, for style profiles. */
  styleItems(tenantId: string, itemIds: readonly string[]): Promise<StyleItem[]>;
  /** Subscribes to interactions written in this process (events' `onInteractionsAppended`). */
  onInteractionsAppended(listener: (tenantId: string, userIds: readonly string[], write: { bulk: boolean }) => void): void;
  /**
   * Subscribes to changes of a tenant's prices in this process (pricing's offers, catalog's items): the feed's
   * cached lists and best offers of the tenant are read afresh on the next page. Default: none (they expire).
   */
  onPricesChanged?: ((listener: (tenantId: string) => void) => void) | undefined;
}

const NO_OFFERS: BestOfferSource = { bestOffers: async () => new Map(), priceDrops: async () => [] };
const DEFAULT_ORDER: ModuleOrderSource = {
  moduleOrder: async (_ctx, _user, order) => ({ experimentId: null, variant: 'default', order: [...order] }),
};
const NO_SEGMENTS: SegmentSource = { segmentsOf: async () => [] };

export function createNewsfeedModule(platform: PlatformServices, deps: NewsfeedModuleDeps) {
  const repo = createPreferencesRepository();
  const preferences = createPreferencesService({ db: platform.db, repo, clock: platform.clock });
  const style = createStyleService({
    db: platform.db,
    repo,
    clock: platform.clock,
    recentInteractions: deps.recentInteractions,
    styleItems: deps.styleItems,
  });
  // What the feed served, written in batches per tenant, each in the tenant's unit of work.
  const shown = createShownLog({
    write: (tenantId, rows) => inTenant(platform.db, tenantId, (tx) => repo.recordShownMany(tx, tenantId, rows)),
    log: platform.log,
  });
  const feed = createNewsfeedService({
    shown,
    db: platform.db,
    repo,
    sources: deps.sources,
    history: deps.history,
    offers: deps.offers ?? NO_OFFERS,
    moduleOrder: deps.moduleOrder ?? DEFAULT_ORDER,
    segments: deps.segments ?? NO_SEGMENTS,
    sponsored: deps.sponsored,
    tenantSettings: deps.tenantSettings,
    clock: platform.clock,
  });
  // Style profiles move within a second of an interaction: written users are marked dirty and one worker folds
  // them in (style.queue.ts: bounded, so a bulk import cannot flood the database with refreshes: its users wait in a
  // backlog folded once the import is over), all the ready
  // users of a tenant per refresh (a fixed number of statements for them). Events tells its listeners after the
  // commit, so a refresh that finds nothing new has nothing to wait for: no retries.
  const refreshQueue = createStyleRefreshQueue({
    refresh: (tenantId, userId) => style.refresh(tenantId, userId),
    refreshMany: (tenantId, userIds) => style.refreshMany(tenantId, userIds),
    retryDelaysMs: [],
    now: () => performance.now(),
    // Unref'd: a backlog waiting for an import to go quiet never keeps a stopping process alive.
    sleep: (ms) => new Promise((res) => setTimeout(res, ms).unref()),
    onError: (err, tenantId) => platform.log.warn({ err, tenantId }, 'style profile refresh failed'),
    onDropped: (count) =>
      platform.log.warn({ count }, 'style profile refresh queue or import backlog full: these users catch up at their next interaction'),
  });
  deps.onInteractionsAppended((tenantId, userIds, write) => refreshQueue.mark(tenantId, userIds, write));
  deps.onPricesChanged?.((tenantId) => feed.pricesChanged(tenantId));
  const retention = createRetentionService({ db: platform.db, repo, tenantSettings: deps.tenantSettings, clock: platform.clock });
  const prune = () =>
    retention.pruneAll().then((r) => {
      if (r.size > 0)
        platform.log.info({ tenants: r.size, rows: [...r.values()].reduce((a, b) => a + b, 0) }, 'shown feed items past retention deleted');
      return r.size;
    });
  return {
    /** Deletes each tenant's shown-item rows older than its "not shown within N days" (all tenants, or one). */
    pruneShownItems: (tenantId?: string) =>
      tenantId === undefined ? retention.pruneAll() : retention.pruneTenant(tenantId).then((n) => new Map([[tenantId, n]])),
    /**
     * The module's periodic work, run once per cluster by the platform scheduler (src/cli/shared.ts): the shown-items
     * retention, hourly and when a process becomes the scheduler (idempotent: a second prune deletes nothing).
     */
    scheduledTasks(): ScheduledTask[] {
      return [{ name: 'newsfeed.prune-shown-items', everyMs: 3_600_000, runOnElection: true, run: prune }];
    },
    /** Recomputes a user's style profile from interactions not yet folded in. */
    refreshStyleProfile: style.refresh,
    /** Resolves once every served item recorded so far is written (tests, erasure, shutdown). */
    flushShown: () => shown.flush(),
    /** Resolves when every style refresh started so far has finished (tests, shutdown). */
    settled: () => refreshQueue.settled(),
    /** Shutdown: the import backlog of style refreshes is given up (those users catch up at their next interaction). */
    stop(): void {
      const dropped = refreshQueue.dropBacklog();
      if (dropped) platform.log.info({ users: dropped }, 'style refreshes of imported users left for their next interaction');
    },
    /** Erasure: deletes follows, favorites, preferences and style profiles of these users (in the caller's unit of work). */
    async eraseUsers(...args: Parameters<typeof repo.eraseUsers>) {
      refreshQueue.forget(args[1], args[2]);
      shown.forget(args[1], args[2]);
      return repo.eraseUsers(...args);
    },
    /** Before an erasure: no style refresh of the tenant runs until the release (see style.queue.ts). */
    holdStyleRefreshes: (tenantId: string) => refreshQueue.hold(tenantId),
    async routes(app: FastifyInstance): Promise<void> {
      await newsfeedRoutes(app, { feed, preferences });
    },
  };
}
