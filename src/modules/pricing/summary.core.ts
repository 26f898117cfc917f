/**
 * A match group's summary row (pure): the best offer, the price range, the next competing price and the Omnibus
 * savings, exactly as the product page's `summarizePricing` chooses them for the group's store offers (no preferred
 * currency). Two steps, so that a batch reads history only for the winners: `bestOfGroup` over the offers, then
 * `summarizeGroup` with the best offer's price history.
 */
import { type OfferPrice, type PricePoint, OMNIBUS_DAYS, daysAgo, summarizePricing } from './pricing.core.ts';

export interface SummaryOffer extends OfferPrice {
  /** When the offer's current price, currency or availability took effect. */
  priceUpdatedAt: Date;
}

export interface GroupSummary {
  groupId: string;
  currency: string | null;
  bestOfferId: string | null;
  bestPriceMinor: bigint | null;
  nextPriceMinor: bigint | null;
  minPriceMinor: bigint | null;
  maxPriceMinor: bigint | null;
  wasMinor: bigint | null;
  savingsMinor: bigint;
  offerCount: number;
}

const NO_HISTORY: ReadonlyMap<string, readonly PricePoint[]> = new Map();

/** The group's best offer (null when none competes: no offer in stock, or only price errors). */
export function bestOfGroup<O extends SummaryOffer>(offers: readonly O[]): O | null {
  return summarizePricing(offers, { preferredCurrency: null, history: NO_HISTORY }).best?.offer ?? null;
}

/**
 * Where the best offer's history must start for its Omnibus price: 30 days (and one for the boundary) before its
 * current price took effect; the observation in effect at that instant is read with it (the repository's rule).
 */
export const historySince = (best: SummaryOffer): Date => daysAgo(best.priceUpdatedAt, OMNIBUS_DAYS + 1);

/**
 * The summary of one group. `bestHistory`: the observations of `bestOfGroup(offers)` since `historySince(best)`
 * (any order; others are ignored). Deterministic: the same offers and history give the same row whatever the time
 * (the 30-day window is anchored at the best price's start, not at now).
 */
export function summarizeGroup(groupId: string, offers: readonly SummaryOffer[], bestHistory: readonly PricePoint[]): GroupSummary {
  const best = bestOfGroup(offers);
  const s = summarizePricing(offers, {
    preferredCurrency: null,
    history: best ? new Map([[best.id, bestHistory]]) : NO_HISTORY,
  });
  const next = s.others.find((o) => !s.priceErrorIds.has(o.id) && o.availability !== 'out_of_stock');
  return {
    groupId,
    currency: s.currency,
    bestOfferId: s.best?.offer.id ?? null,
    bestPriceMinor: s.best?.offer.priceMinor ?? null,
    nextPriceMinor: next?.priceMinor ?? null,
    minPriceMinor: s.minMinor,
    maxPriceMinor: s.maxMinor,
    wasMinor: s.best?.wasMinor ?? null,
    savingsMinor: s.best?.savingsMinor ?? 0n,
    offerCount: offers.length,
  };
}
