import type { SQL } from 'drizzle-orm';
import type { TenantContext } from '../../platform/index.ts';
import type { FeedItem } from './newsfeed.core.ts';

/**
 * What the newsfeed asks of the modules that own the data (wired in src/app.ts). Each source returns ranked
 * items; the feed never reads another module's tables.
 */
export interface FeedSources {
  /** Recs' personal recommendations (empty when no model is deployed). */
  forYou(ctx: TenantContext, userId: string, count: number): Promise<FeedItem[]>;
  /** Recs' popular items (empty when no model is deployed). */
  trending(ctx: TenantContext, count: number): Promise<FeedItem[]>;
  /** Recs' items similar to one item (empty when unknown). */
  similarTo(ctx: TenantContext, itemId: string, count: number): Promise<FeedItem[]>;
  /** Catalog: newest active items, optionally of some brands only. */
  newest(tenantId: string, f: { brands?: string[] | undefined; limit: number }): Promise<FeedItem[]>;
  /** Catalog: items by id (absent ids are missing from the answer). */
  items(tenantId: string, itemIds: readonly string[]): Promise<FeedItem[]>;
  /**
   * Whether recs can rank for the tenant now without loading its catalog first; when not, it starts loading in the
   * background and the feed serves from the catalog's bounded reads meanwhile. Default: always ready.
   */
  ready?(tenantId: string): boolean;
}

/**
 * The shopper's recent interactions (events' table) as an SQL piece their owner builds: the feed's repository puts
 * it in the one statement that reads everything the feed itself keeps about the shopper, so a page asks the
 * database about the shopper once (`PreferencesRepository.shopperState`). Wired in src/app.ts.
 */
export interface ShopperHistorySql {
  /** The user's interactions with an item, at most `limit`, as a subquery: item_id text, type text, n (1 = the newest). */
  recentInteractionsSql(tenantId: string, userId: string, limit: number): SQL;
}

/** The best current offer for an item (Pricing's best offers); the feed shows it beside the item. */
export interface BestOffer {
  priceMinor: string;
  currency: string;
  store: string | null;
  url: string | null;
  /** The lowest price of the 30 days before, when this one is below it (a price drop); else null. */
  wasMinor: string | null;
}

/** Pricing's best offers, batched. Default (no pricing): none, items show their own price. */
export interface BestOfferSource {
  bestOffers(tenantId: string, itemIds: readonly string[]): Promise<Map<string, BestOffer>>;
  /** Of these items, those whose best offer dropped below its 30-day low, biggest drop first. */
  priceDrops(tenantId: string, itemIds: readonly string[]): Promise<{ itemId: string; offer: BestOffer }[]>;
}

/** The experiment assignment that orders the feed's modules. Default: no experiment, the default order. */
export interface ModuleOrderSource {
  moduleOrder(
    ctx: TenantContext,
    userId: string,
    defaultOrder: readonly string[],
  ): Promise<{ experimentId: string | null; variant: string; order: string[] }>;
}

/** The shopper's segments, for sponsored targeting. Default: none. */
export interface SegmentSource {
  /**
   * The shopper's segments: their scored segment, and `cohort:<id>` for each saved cohort named in `wanted` (the
   * segments the campaigns being decided target) that holds them now. Only named cohorts are evaluated: a shopper's
   * every cohort would cost a statement per saved cohort of the tenant on every page.
   */
  segmentsOf(tenantId: string, userId: string, wanted: readonly string[]): Promise<string[]>;
}

/** Sponsored placements for one feed slot (the sponsored module's public entry). */
export interface SponsoredSource {
  placements(
    ctx: TenantContext,
    req: {
      placement: string;
      userId: string;
      slots: number;
      categories?: string[] | undefined;
      /** The shopper's segments, read only when a campaign targets segments (`wanted`: the segments they name). */
      segmentsOf?: ((wanted: readonly string[]) => Promise<string[]>) | undefined;
      styles?: string[] | undefined;
    },
  ): Promise<
    {
      decisionId: string;
      campaignId: string;
      brandId: string;
      name: string;
      creative: Record<string, unknown>;
      promotedItemIds: string[];
    }[]
  >;
  /** Tenant positions of sponsored modules. */
  settings(tenantId: string): Promise<{ feedPositions: number[] }>;
}
