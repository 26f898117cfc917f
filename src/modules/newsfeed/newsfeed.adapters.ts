import { minorToMajor, parseMoney } from '../../platform/index.ts';
import type { CatalogModule, FeedItemRow } from '../catalog/index.ts';
import type { EventsModule } from '../events/index.ts';
import type { ExperimentVariant } from '../experiments/index.ts';
import type { ItemBestOffer } from '../pricing/index.ts';
import type { CatalogFields, RecsModule } from '../recs/index.ts';
import { COHORT_SEGMENT_PREFIX } from '../sponsored/index.ts';
import type { FeedItem } from './newsfeed.core.ts';
import type { BestOffer, BestOfferSource, FeedSources, ModuleOrderSource, SegmentSource } from './newsfeed.ports.ts';
import type { ProfileInteraction, StyleItem } from './style.service.ts';

/**
 * The feed's sources over the owners' public entries: recs (personal, popular, similar) and catalog (newest items,
 * items by id). Wired in src/app.ts. (The shopper's recent interactions are not a source: events' SQL piece puts
 * them in the feed's own per-shopper statement, `ShopperHistorySql`.)
 */
const textList = (v: unknown): string[] =>
  (Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : [])
    .filter((x): x is string => typeof x === 'string')
    .map((x) => x.trim())
    .filter(Boolean)
    .slice(0, 20);

function fromCatalog(r: FeedItemRow, k: number, n: number): FeedItem {
  return {
    itemId: r.itemId,
    name: r.name,
    category: r.categoryPath,
    brand: r.brand,
    priceMinor: r.priceMinor,
    currency: r.currency,
    imageUrl: r.imageUrl,
    score: n <= 1 ? 1 : 1 - k / n,
  };
}

function fromRecs(r: CatalogFields, k: number, n: number): FeedItem {
  const minor = r.price !== null && r.currency ? parseMoney(r.price, r.currency, { rounding: 'half-even' }) : null;
  return {
    itemId: r.itemId,
    name: r.name,
    category: r.category,
    brand: r.brand,
    priceMinor: minor?.ok ? minor.minor.toString() : null,
    currency: r.currency,
    imageUrl: r.imageUrl,
    score: n <= 1 ? 1 : 1 - k / n,
  };
}

export function feedSourcesFrom(m: { recs: RecsModule; catalog: CatalogModule }): FeedSources {
  return {
    forYou: async (ctx, userId, count) => (await m.recs.recommendFor(ctx, { userId, count })).map((r, k, a) => fromRecs(r, k, a.length)),
    trending: async (ctx, count) => (await m.recs.recommendFor(ctx, { count })).map((r, k, a) => fromRecs(r, k, a.length)),
    similarTo: async (ctx, itemId, count) => (await m.recs.similarTo(ctx, itemId, count)).map((r, k, a) => fromRecs(r, k, a.length)),
    ready: (tenantId) => m.recs.servingReady(tenantId),
    newest: async (tenantId, f) => (await m.catalog.serving.feedItems(tenantId, f)).map((r, k, a) => fromCatalog(r, k, a.length)),
    items: async (tenantId, itemIds) => {
      const rows = await m.catalog.serving.feedItems(tenantId, { itemIds, limit: itemIds.length });
      const byId = new Map(rows.map((r) => [r.itemId, r]));
      return itemIds.flatMap((id, k) => (byId.has(id) ? [fromCatalog(byId.get(id)!, k, itemIds.length)] : []));
    },
  };
}

export function recentInteractionsFrom(events: EventsModule) {
  return async (tenantId: string, userIds: readonly string[], limit: number): Promise<ProfileInteraction[]> =>
    (await events.history.userHistories(tenantId, userIds, limit)).map((h) => ({
      userId: h.userId,
      id: h.id,
      itemId: h.itemId,
      type: h.type,
    }));
}

export function styleItemsFrom(catalog: CatalogModule) {
  return async (tenantId: string, itemIds: readonly string[]): Promise<StyleItem[]> =>
    (await catalog.serving.feedItems(tenantId, { itemIds, limit: itemIds.length })).map((r) => {
      const price = r.priceMinor !== null && r.currency ? minorToMajor(r.priceMinor, r.currency) : null;
      return {
        itemId: r.itemId,
        category: r.categoryPath,
        brand: r.brand,
        priceMajor: price,
        style: [...textList(r.style), ...r.tags.slice(0, 10)],
        occasion: textList(r.occasion),
      };
    });
}

const toOffer = (o: ItemBestOffer): BestOffer => ({
  priceMinor: o.priceMinor.toString(),
  currency: o.currency,
  store: o.store,
  url: o.url,
  wasMinor: o.savingsMinor > 0n && o.wasMinor !== null ? o.wasMinor.toString() : null,
});

/** Pricing's best offers and price drops (its public entry) as the feed's `BestOfferSource`. */
export function bestOffersFrom(pricing: {
  bestOffers(tenantId: string, itemIds: readonly string[]): Promise<Map<string, ItemBestOffer>>;
  priceDrops(tenantId: string, itemIds: readonly string[]): Promise<{ itemId: string; offer: ItemBestOffer }[]>;
}): BestOfferSource {
  return {
    bestOffers: async (tenantId, itemIds) => new Map([...(await pricing.bestOffers(tenantId, itemIds))].map(([id, o]) => [id, toOffer(o)])),
    priceDrops: async (tenantId, itemIds) =>
      (await pricing.priceDrops(tenantId, itemIds)).map((d) => ({ itemId: d.itemId, offer: toOffer(d.offer) })),
  };
}

/** The experiment (tenant setting `newsfeed.module_order_experiment`) whose variants order the feed's modules. */
export const DEFAULT_ORDER_EXPERIMENT = 'newsfeed_module_order';

/**
 * Experiments' assignment as the feed's `ModuleOrderSource`: a variant's config `{ "module_order": [...] }`
 * lists module kinds first to last (kinds it omits follow in the default order; unknown kinds are ignored).
 * No running experiment, or a variant without an order: the default order.
 */
export function moduleOrderFrom(
  experiments: { variantFor(tenantId: string, experimentKey: string, userId: string): Promise<ExperimentVariant> },
  tenantSettings: (tenantId: string) => Promise<Record<string, unknown>>,
): ModuleOrderSource {
  return {
    async moduleOrder(ctx, userId, defaultOrder) {
      const s = ((await tenantSettings(ctx.tenantId)).newsfeed ?? {}) as Record<string, unknown>;
      const key =
        typeof s.module_order_experiment === 'string' && s.module_order_experiment ? s.module_order_experiment : DEFAULT_ORDER_EXPERIMENT;
      const v = await experiments.variantFor(ctx.tenantId, key, userId);
      if (!v.inExperiment) return { experimentId: null, variant: 'default', order: [...defaultOrder] };
      const cfg = (v.config ?? {}) as Record<string, unknown>;
      const wanted = Array.isArray(cfg.module_order) ? cfg.module_order.filter((k): k is string => typeof k === 'string') : [];
      const first = [...new Set(wanted.filter((k) => defaultOrder.includes(k)))];
      return { experimentId: v.experimentId, variant: v.variantKey, order: [...first, ...defaultOrder.filter((k) => !first.includes(k))] };
    },
  };
}

/**
 * A shopper's segments as the feed's `SegmentSource`: the profile holding the user id (identity's read-only lookup,
 * creating nothing, as analytics' cohorts keep it: `profileOfUser`, so a page whose sponsored decision also asks for
 * the shopper's cohorts looks the shopper up once, and a returning shopper's page not at all); predictions gives that
 * profile's scored RFM segment, and analytics' saved cohorts (`profileIn`) say which of the cohorts named
 * `cohort:<id>` in `wanted` hold it now, each answered as `cohort:<id>`. A user with no profile is in no segment.
 * Every lookup filters on the tenant: another tenant's user of the same id is another person, and another tenant's
 * cohort id holds nobody here.
 */
export function segmentsFrom(m: {
  /** Analytics' `cohorts.profileOfUser`: identity's profile for a user id (kept a few seconds), or null. */
  profileOfUser(tenantId: string, userId: string): Promise<string | null>;
  segmentsOfProfiles(tenantId: string, profileIds: readonly string[]): Promise<Map<string, string>>;
  /** Analytics' `cohorts.profileIn`: of `cohortIds`, those holding the profile now (unknown ids hold nobody). */
  cohortsHolding(tenantId: string, profileId: string, cohortIds: readonly string[]): Promise<Set<string>>;
}): SegmentSource {
  return {
    async segmentsOf(tenantId, userId, wanted) {
      const profileId = await m.profileOfUser(tenantId, userId);
      if (!profileId) return [];
      const cohortIds = [
        ...new Set(wanted.filter((s) => s.startsWith(COHORT_SEGMENT_PREFIX)).map((s) => s.slice(COHORT_SEGMENT_PREFIX.length))),
      ];
      const [scored, cohorts] = await Promise.all([
        m.segmentsOfProfiles(tenantId, [profileId]),
        cohortIds.length > 0 ? m.cohortsHolding(tenantId, profileId, cohortIds) : Promise.resolve(new Set<string>()),
      ]);
      const segment = scored.get(profileId);
      return [...(segment ? [segment] : []), ...cohortIds.filter((id) => cohorts.has(id)).map((id) => COHORT_SEGMENT_PREFIX + id)];
    },
  };
}
