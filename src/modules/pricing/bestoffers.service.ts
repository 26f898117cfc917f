import type { Db } from '../../platform/index.ts';
import { type ItemOfferRow, bestOffersRepository as repo } from './bestoffers.repository.ts';
import { normalizeGtin } from './gtin.core.ts';
import { type PricePoint, OMNIBUS_DAYS, daysAgo, summarizePricing } from './pricing.core.ts';

/** The best current store offer of a catalog item, as the product page chooses it (pricing.core's `summarizePricing`). */
export interface ItemBestOffer {
  offerId: string;
  priceMinor: bigint;
  currency: string;
  store: string;
  url: string | null;
  /** Omnibus savings: the lowest price of the 30 days before, minus this one (0 when the price did not drop). */
  savingsMinor: bigint;
  wasMinor: bigint | null;
}

const MAX_ITEMS = 1000;

/**
 * Best offers and price drops of catalog items, batched for other modules' serving paths (the newsfeed's
 * price enrichment and its "Price drops on things you watched" module). Items with no linked match group
 * (no store sells them) are absent from the answer.
 */
export function createBestOffersService(deps: {
  db: Db;
  clock: () => Date;
  /** Catalog: the GTIN of each of these items that has one (raw, as stored). */
  catalogGtins(tenantId: string, itemIds: readonly string[]): Promise<Map<string, string>>;
}) {
  async function compute(tenantId: string, itemIds: readonly string[], withHistory: boolean): Promise<Map<string, ItemBestOffer>> {
    const ids = [...new Set(itemIds)].slice(0, MAX_ITEMS);
    const out = new Map<string, ItemBestOffer>();
    if (!ids.length) return out;
    const byItem = new Map<string, ItemOfferRow[]>();
    const raw = await deps.catalogGtins(tenantId, ids);
    const gtins = ids.map((id) => {
      const g = raw.get(id);
      const n = g ? normalizeGtin(g) : null;
      return n?.ok ? n.gtin14 : '';
    });
    // The summary rows answer for most items (best offer, Omnibus "was" and savings, no history read); only items
    // whose group has no row yet are computed from their offers (and, for price drops, their best offer's history).
    const rest = new Set<string>();
    for (const r of await repo.summariesOfItems(deps.db, tenantId, ids, gtins)) {
      if (!r.summarized) rest.add(r.itemId);
      else if (r.bestOfferId !== null && r.priceMinor !== null && r.currency !== null)
        out.set(r.itemId, {
          offerId: r.bestOfferId,
          priceMinor: r.priceMinor,
          currency: r.currency,
          store: r.storeName ?? '',
          url: r.affiliateUrl,
          savingsMinor: r.savingsMinor,
          wasMinor: r.wasMinor,
        });
    }
    if (!rest.size) return out;
    const restIds = ids.filter((id) => rest.has(id));
    const restGtins = restIds.map((id) => gtins[ids.indexOf(id)]!);
    for (const r of await repo.offersOfItems(deps.db, tenantId, restIds, restGtins)) {
      const list = byItem.get(r.itemId) ?? [];
      list.push(r);
      byItem.set(r.itemId, list);
    }
    const bests = new Map<string, ItemOfferRow>();
    for (const [itemId, offers] of byItem) {
      const best = summarizePricing(offers, { preferredCurrency: null, history: new Map() }).best?.offer;
      if (best) bests.set(itemId, best);
    }
    let history = new Map<string, PricePoint[]>();
    if (withHistory && bests.size) {
      const since = daysAgo(deps.clock(), OMNIBUS_DAYS * 2 + 1);
      history = new Map();
      for (const p of await repo.historySince(
        deps.db,
        tenantId,
        [...bests.values()].map((b) => b.id),
        since,
      )) {
        const list = history.get(p.offerId) ?? [];
        list.push(p);
        history.set(p.offerId, list);
      }
    }
    for (const [itemId, best] of bests) {
      const s = summarizePricing([best], { preferredCurrency: best.currency, history });
      out.set(itemId, {
        offerId: best.id,
        priceMinor: best.priceMinor,
        currency: best.currency,
        store: best.storeName,
        url: best.affiliateUrl,
        savingsMinor: s.best?.savingsMinor ?? 0n,
        wasMinor: s.best?.wasMinor ?? null,
      });
    }
    return out;
  }
  return {
    /**
     * Best current offer per item with its Omnibus savings from the group's summary row (the feed's hot path: one row
     * per item; an item whose group has no row yet gets its best offer without savings, as before the rows).
     */
    bestOffers: (tenantId: string, itemIds: readonly string[]) => compute(tenantId, itemIds, false),
    /** The items whose best offer is below the lowest price of the 30 days before it (Omnibus), biggest drop first. */
    async priceDrops(tenantId: string, itemIds: readonly string[]): Promise<{ itemId: string; offer: ItemBestOffer }[]> {
      const all = await compute(tenantId, itemIds, true);
      return [...all]
        .filter(([, b]) => b.savingsMinor > 0n)
        .map(([itemId, offer]) => ({ itemId, offer }))
        .sort((a, b) => (a.offer.savingsMinor > b.offer.savingsMinor ? -1 : a.offer.savingsMinor < b.offer.savingsMinor ? 1 : 0));
    },
  };
}
