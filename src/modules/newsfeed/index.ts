/**
 * Newsfeed: the shopper's personal feed (modules from distinct sources, sponsored modules at the tenant's
 * positions, diversity rules, infinite scroll), shopper preferences (brand follows, favorites, stated
 * preferences) and style profiles learned from interactions. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import { newsfeedRoutes } from './newsfeed.routes.ts';
import { createNewsfeedService } from './newsfeed.service.ts';
import type { BestOfferSource, FeedSources, ModuleOrderSource, SegmentSource, SponsoredSource } from './newsfeed.ports.ts';
import { createPreferencesRepository } from './preferences.repository.ts';
import { createPreferencesService } from './preferences.service.ts';
import { type ProfileInteraction, type StyleItem, createStyleService } from './style.service.ts';

export type { BestOfferSource, FeedSources, ModuleOrderSource, SegmentSource, SponsoredSource } from './newsfeed.ports.ts';
export type { ProfileInteraction, StyleItem } from './style.service.ts';
export { feedSourcesFrom, recentInteractionsFrom, styleItemsFrom } from './newsfeed.adapters.ts';

export interface NewsfeedModuleDeps {
  sources: FeedSources;
  sponsored: SponsoredSource;
  /** Pricing's best offers; default: none (items show their own price only). */
  offers?: BestOfferSource | undefined;
  /** Experiments' module order; default: no experiment, the default order. */
  moduleOrder?: ModuleOrderSource | undefined;
  /** Analytics' segments; default: none. */
  segments?: SegmentSource | undefined;
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
  /** Events' recent interactions of a user (newest first), for style profiles. */
  recentInteractions(tenantId: string, userId: string, limit: number): Promise<ProfileInteraction[]>;
  /** Catalog attributes of items, for style profiles. */
  styleItems(tenantId: string, itemIds: readonly string[]): Promise<StyleItem[]>;
  /** Subscribes to interactions written in this process (events' `onInteractionsAppended`). */
  onInteractionsAppended(listener: (tenantId: string, userIds: readonly string[]) => void): void;
}

const NO_OFFERS: BestOfferSource = { bestOffers: async () => new Map() };
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
  const feed = createNewsfeedService({
    db: platform.db,
    repo,
    sources: deps.sources,
    offers: deps.offers ?? NO_OFFERS,
    moduleOrder: deps.moduleOrder ?? DEFAULT_ORDER,
    segments: deps.segments ?? NO_SEGMENTS,
    sponsored: deps.sponsored,
    tenantSettings: deps.tenantSettings,
  });
  // Style profiles move within a second of an interaction. The listener runs before the write commits, so a
  // refresh that finds nothing new retries a few times (on a server the row may not be visible yet); one
  // refresh per user at a time, re-run once when more interactions arrived meanwhile.
  const pending = new Set<Promise<unknown>>();
  const running = new Map<string, { again: boolean }>();
  const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
  async function refreshSoon(tenantId: string, userId: string): Promise<void> {
    const key = `${tenantId}\u0000${userId}`;
    const state = running.get(key);
    if (state) {
      state.again = true;
      return;
    }
    const me = { again: false };
    running.set(key, me);
    try {
      do {
        me.again = false;
        for (const delay of [0, 50, 200, 600]) {
          if (delay) await sleep(delay);
          if ((await style.refresh(tenantId, userId)).folded > 0) break;
        }
      } while (me.again);
    } finally {
      running.delete(key);
    }
  }
  deps.onInteractionsAppended((tenantId, userIds) => {
    for (const userId of new Set(userIds)) {
      const p = refreshSoon(tenantId, userId).catch((err: unknown) => platform.log.warn({ err, tenantId }, 'style profile refresh failed'));
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
  });
  return {
    /** Recomputes a user's style profile from interactions not yet folded in. */
    refreshStyleProfile: style.refresh,
    /** Resolves when every style refresh started so far has finished (tests, shutdown). */
    async settled(): Promise<void> {
      await Promise.all([...pending]);
    },
    /** Erasure: deletes follows, favorites, preferences and style profiles of these users (in the caller's unit of work). */
    eraseUsers: repo.eraseUsers,
    async routes(app: FastifyInstance): Promise<void> {
      await newsfeedRoutes(app, { feed, preferences });
    },
  };
}
