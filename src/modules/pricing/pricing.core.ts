/**
 * Pricing rules, pure (no I/O; `now` passed in): the best offer of a product, Omnibus savings, price-error
 * flags, and chart-ready downsampled price history. Money stays in bigint minor units of one currency.
 */

export interface OfferPrice {
  id: string;
  storeId: string;
  priceMinor: bigint;
  currency: string;
  availability: string;
}

/** One price observation of an offer: the price in effect from `at` until the next observation. */
export interface PricePoint {
  at: Date;
  priceMinor: bigint;
  currency: string;
}

export const OMNIBUS_DAYS = 30;
/** A price this far below the group's median (90%) is taken for a feed error, never advertised as best. */
export const PRICE_ERROR_RATIO = 0.1;
const DAY_MS = 86_400_000;

/** Median of bigints (the lower middle for an even count: no fractional minor units). */
export function medianMinor(values: readonly bigint[]): bigint | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return s[(s.length - 1) >> 1]!;
}

/**
 * Offers priced below `PRICE_ERROR_RATIO` × the median of the offers in the same currency. Needs at least
 * three offers: with two, which one is wrong cannot be told.
 */
export function priceErrors(offers: readonly OfferPrice[], currency: string): Set<string> {
  const same = offers.filter((o) => o.currency === currency);
  const out = new Set<string>();
  if (same.length < 3) return out;
  const median = medianMinor(same.map((o) => o.priceMinor))!;
  // price < median / 10, in integers: price * 10 < median.
  for (const o of same) if (o.priceMinor * 10n < median * BigInt(Math.round(PRICE_ERROR_RATIO * 10))) out.add(o.id);
  return out;
}

/**
 * The currency a product is shown in: `preferred` (the catalog item's) when any offer has it, else the
 * currency most offers use (ties: alphabetical, for a stable answer).
 */
export function productCurrency(offers: readonly OfferPrice[], preferred: string | null): string | null {
  if (preferred && offers.some((o) => o.currency === preferred)) return preferred;
  const counts = new Map<string, number>();
  for (const o of offers) counts.set(o.currency, (counts.get(o.currency) ?? 0) + 1);
  let best: string | null = preferred;
  let n = 0;
  for (const [c, k] of [...counts].sort((a, b) => a[0].localeCompare(b[0]))) if (k > n) [best, n] = [c, k];
  return best;
}

/**
 * The EU Omnibus "was" price (Directive 98/6/EC art. 6a as amended by 2019/2161): the lowest price the offer had
 * during the 30 days before its current price took effect. `history` is the offer's observations in any order;
 * the last one is the current price. Null when the offer has no earlier price in that window (no reduction
 * to announce). Only observations in `currency` count.
 */
export function omnibusWasPrice(history: readonly PricePoint[], currency: string): bigint | null {
  const h = history.filter((p) => p.currency === currency).sort((a, b) => a.at.getTime() - b.at.getTime());
  if (h.length < 2) return null;
  const current = h[h.length - 1]!;
  const windowStart = current.at.getTime() - OMNIBUS_DAYS * DAY_MS;
  let was: bigint | null = null;
  for (let i = 0; i < h.length - 1; i++) {
    const p = h[i]!;
    const until = h[i + 1]!.at.getTime();
    // The price was in effect over [p.at, until): it counts when that span meets the window.
    if (until <= windowStart) continue;
    if (was === null || p.priceMinor < was) was = p.priceMinor;
  }
  return was;
}

export interface PricingSummary<O extends OfferPrice> {
  currency: string | null;
  best: { offer: O; wasMinor: bigint | null; savingsMinor: bigint } | null;
  /** Offers in the product's currency other than the best, cheapest first (price errors included, flagged). */
  others: O[];
  minMinor: bigint | null;
  maxMinor: bigint | null;
  /** Offers in other currencies: listed apart, never compared. */
  otherCurrency: O[];
  priceErrorIds: Set<string>;
}

/**
 * Best offer and savings of a product. Competing: offers in the product's currency, in stock, not a price
 * error; cheapest wins, ties to the store id (stable). Savings = max(0, Omnibus "was" − price) of the best
 * offer. The range covers the product's currency offers that are not price errors.
 */
export function summarizePricing<O extends OfferPrice>(
  offers: readonly O[],
  opts: { preferredCurrency: string | null; history: ReadonlyMap<string, readonly PricePoint[]> },
): PricingSummary<O> {
  const currency = productCurrency(offers, opts.preferredCurrency);
  const inCurrency = offers.filter((o) => o.currency === currency);
  const otherCurrency = offers.filter((o) => o.currency !== currency);
  const errors = currency ? priceErrors(inCurrency, currency) : new Set<string>();
  const byPrice = (a: O, b: O) => (a.priceMinor < b.priceMinor ? -1 : a.priceMinor > b.priceMinor ? 1 : a.storeId.localeCompare(b.storeId));
  const sorted = [...inCurrency].sort(byPrice);
  const eligible = sorted.filter((o) => !errors.has(o.id) && o.availability !== 'out_of_stock');
  const bestOffer = eligible[0];
  let best: PricingSummary<O>['best'] = null;
  if (bestOffer && currency) {
    const wasMinor = omnibusWasPrice(opts.history.get(bestOffer.id) ?? [], currency);
    const savingsMinor = wasMinor !== null && wasMinor > bestOffer.priceMinor ? wasMinor - bestOffer.priceMinor : 0n;
    best = { offer: bestOffer, wasMinor, savingsMinor };
  }
  const ranged = sorted.filter((o) => !errors.has(o.id));
  return {
    currency,
    best,
    others: sorted.filter((o) => o !== bestOffer),
    minMinor: ranged[0]?.priceMinor ?? null,
    maxMinor: ranged[ranged.length - 1]?.priceMinor ?? null,
    otherCurrency,
    priceErrorIds: errors,
  };
}

export interface SeriesPoint {
  at: Date;
  priceMinor: bigint | null;
}

/**
 * Step-function price series downsampled to at most `buckets` points over [from, to): each point is the lowest
 * price in effect at any time during its bucket (null before the first observation). O(points + buckets).
 */
export function downsampleSeries(points: readonly PricePoint[], from: Date, to: Date, buckets: number): SeriesPoint[] {
  const sorted = [...points].sort((a, b) => a.at.getTime() - b.at.getTime());
  const start = from.getTime();
  const span = Math.max(1, to.getTime() - start);
  const n = Math.max(1, Math.min(buckets, Math.ceil(span / 3_600_000)));
  const width = span / n;
  const out: SeriesPoint[] = [];
  let i = 0;
  let current: bigint | null = null;
  for (let b = 0; b < n; b++) {
    const bStart = start + b * width;
    const bEnd = bStart + width;
    // A change exactly at the bucket's start replaces the price before it for the whole bucket.
    while (i < sorted.length && sorted[i]!.at.getTime() <= bStart) current = sorted[i++]!.priceMinor;
    let low = current;
    while (i < sorted.length && sorted[i]!.at.getTime() < bEnd) {
      current = sorted[i++]!.priceMinor;
      if (low === null || current < low) low = current;
    }
    out.push({ at: new Date(Math.round(start + b * width)), priceMinor: low });
  }
  return out;
}

/** Pointwise minimum of series sampled on the same buckets (the best price over time). */
export function lowestSeries(series: readonly SeriesPoint[][]): SeriesPoint[] {
  if (!series.length) return [];
  return series[0]!.map((p, k) => {
    let low: bigint | null = null;
    for (const s of series) {
      const v = s[k]!.priceMinor;
      if (v !== null && (low === null || v < low)) low = v;
    }
    return { at: p.at, priceMinor: low };
  });
}

/** Lower-cased, accent-free, punctuation-free text with single spaces ("Hewlett-Packard®" → "hewlett packard"). */
export function normText(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** An MPN reduced to its letters and digits ("WH-1000XM4" → "wh1000xm4"); null when nothing is left. */
export function normMpn(s: string | null | undefined): string | null {
  if (!s) return null;
  const v = normText(s).replace(/ /g, '');
  return v.length >= 3 ? v : null;
}

export const daysAgo = (now: Date, days: number): Date => new Date(now.getTime() - days * DAY_MS);
