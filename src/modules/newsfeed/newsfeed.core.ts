/**
 * The newsfeed's pure rules: diversity rules over the item stream, style-profile boosters, module layout with
 * sponsored positions and organic backfill, and cursor paging. No I/O, no clock.
 */

/** One product as the feed shows it. */
export interface FeedItem {
  itemId: string;
  name: string;
  category: string | null;
  brand: string | null;
  priceMinor: string | null;
  currency: string | null;
  imageUrl: string | null;
  /** Source score in [0, 1] (rank-derived when the source gives none). */
  score: number;
}

/** The tenant's feed rules (tenant settings `newsfeed`). */
export interface FeedRules {
  /** At most one item of a category in any `categoryWindow` consecutive items (0: off). */
  categoryWindow: number;
  /** At most one item of a brand in any `brandWindow` consecutive items (0: off). */
  brandWindow: number;
  itemsPerModule: number;
  modulesPerPage: number;
  /** 1-based global module positions of sponsored modules. */
  sponsoredPositions: number[];
  /** Organic items served to the shopper in the last `notShownWithinDays` days are left out (0: off). */
  notShownWithinDays: number;
  /**
   * Popularity damping in [0, 1] (0: off): a personal module's score is multiplied by 1 - strength x popularity,
   * popularity being the item's standing in the tenant's Trending list (1 for its first item, 0 outside it), so the
   * items every shopper is shown already give some of their slots to the next ones (`dampPopularity`).
   */
  popularityDamping: number;
}

export const DEFAULT_FEED_RULES: FeedRules = {
  categoryWindow: 5,
  brandWindow: 4,
  itemsPerModule: 4,
  modulesPerPage: 5,
  sponsoredPositions: [3, 8],
  notShownWithinDays: 7,
  popularityDamping: 0,
};

const norm = (s: string | null) => (s ?? '').trim().toLowerCase();

/** Whether `item` may follow `history` (the stream so far) under the window rules. */
export function fitsRules(item: FeedItem, history: readonly FeedItem[], rules: Pick<FeedRules, 'categoryWindow' | 'brandWindow'>): boolean {
  const check = (window: number, key: (i: FeedItem) => string) => {
    const k = key(item);
    if (window <= 1 || !k) return true;
    for (let j = Math.max(0, history.length - (window - 1)); j < history.length; j++) if (key(history[j]!) === k) return false;
    return true;
  };
  return check(rules.categoryWindow, (i) => norm(i.category)) && check(rules.brandWindow, (i) => norm(i.brand));
}

/**
 * Picks up to `count` items from ranked `candidates` to append after `history`: greedily the best-ranked
 * candidate that keeps the window rules; when none does, the best-ranked left (a feed never runs dry because
 * a catalog is narrow). Candidates in `used` are skipped. O(count x candidates x window).
 */
export function pickDiverse(
  candidates: readonly FeedItem[],
  count: number,
  history: FeedItem[],
  used: Set<string>,
  rules: Pick<FeedRules, 'categoryWindow' | 'brandWindow'>,
): FeedItem[] {
  const out: FeedItem[] = [];
  const pool = candidates.filter((c) => !used.has(c.itemId));
  while (out.length < count && pool.length > 0) {
    let at = pool.findIndex((c) => fitsRules(c, history, rules));
    if (at < 0) at = 0;
    const [chosen] = pool.splice(at, 1);
    out.push(chosen!);
    history.push(chosen!);
    used.add(chosen!.itemId);
  }
  return out;
}

/**
 * A ranked list re-ranked by the window rules alone: the first `count` items `pickDiverse` takes from `ranked`
 * for a fresh stream (no history, nothing used). What one feed module does to its source's ranking, and what
 * bench:newsfeed-yelp measures against the model's own top `count`.
 */
export function rerankByRules(
  ranked: readonly FeedItem[],
  count: number,
  rules: Pick<FeedRules, 'categoryWindow' | 'brandWindow'>,
): FeedItem[] {
  return pickDiverse(ranked, count, [], new Set(), rules);
}

/**
 * Re-ranks `items` by score x (1 - strength x popularity): `popularity` maps an item id to [0, 1] (the tenant's
 * Trending list, rank-derived: see `popularityOf`), items absent from it are not damped. Strength 0 (or an empty map)
 * keeps the order; strength 1 can sink the most popular item to the bottom. Stable for equal scores; the scores
 * returned are the damped ones. O(n log n).
 */
export function dampPopularity(items: readonly FeedItem[], popularity: ReadonlyMap<string, number>, strength: number): FeedItem[] {
  if (!(strength > 0) || popularity.size === 0) return items.slice();
  const s = Math.min(1, strength);
  return items
    .map((i, k) => {
      const pop = Math.min(1, Math.max(0, popularity.get(i.itemId) ?? 0));
      return { i: pop > 0 ? { ...i, score: i.score * (1 - s * pop) } : i, k };
    })
    .sort((a, b) => b.i.score - a.i.score || a.k - b.k)
    .map((x) => x.i);
}

/** Popularity from a ranked list (the tenant's Trending, most popular first): 1 - rank / length, so in (0, 1]. */
export function popularityOf(trending: readonly FeedItem[]): Map<string, number> {
  const n = trending.length;
  return new Map(trending.map((i, k) => [i.itemId, 1 - k / n]));
}

/** Exponentially decayed weights per attribute value, one map per layer. */
export interface StyleLayers {
  style: Record<string, number>;
  price: Record<string, number>;
  category: Record<string, number>;
  occasion: Record<string, number>;
  brand: Record<string, number>;
  intent: Record<string, number>;
}

export const emptyLayers = (): StyleLayers => ({ style: {}, price: {}, category: {}, occasion: {}, brand: {}, intent: {} });

/** Half-life of a style signal: 14 days. */
export const STYLE_HALF_LIFE_MS = 14 * 86_400_000;
/** Weights by interaction type: a view is weak, an add to cart strong, a purchase strongest. */
export const EVENT_WEIGHTS: Readonly<Record<string, number>> = {
  view: 1,
  click: 2,
  favorite: 4,
  wishlist: 4,
  add_to_cart: 6,
  purchase: 10,
  rating: 3,
};
/** Multipliers by source: a sponsored click says less about taste than an organic one. */
export const SOURCE_WEIGHTS: Readonly<Record<string, number>> = { organic: 1, search: 1.2, sponsored: 0.5, recommendation: 0.8 };
const INTENT: Readonly<Record<string, string>> = {
  view: 'browse',
  click: 'browse',
  favorite: 'consider',
  wishlist: 'consider',
  add_to_cart: 'buy',
  purchase: 'buy',
};

/** Price band of a price in major units (bands are per currency-agnostic magnitude). */
export function priceBand(major: number | null): string | null {
  if (major === null || !Number.isFinite(major)) return null;
  if (major < 25) return 'budget';
  if (major < 100) return 'mid';
  if (major < 300) return 'premium';
  return 'luxury';
}

export interface StyleSignal {
  type: string;
  source: string;
  at: number;
  style: string[];
  occasion: string[];
  category: string | null;
  brand: string | null;
  priceMajor: number | null;
}

/** The weight a signal carries: type weight x source multiplier (unknown types 1, unknown sources 1). */
export const signalWeight = (s: Pick<StyleSignal, 'type' | 'source'>): number =>
  (EVENT_WEIGHTS[s.type] ?? 1) * (SOURCE_WEIGHTS[s.source] ?? 1);

/** Multiplies every weight by 2^(-dt / half-life); weights below 1e-4 are dropped. */
export function decayLayers(layers: StyleLayers, dtMs: number): StyleLayers {
  const f = dtMs <= 0 ? 1 : 2 ** (-dtMs / STYLE_HALF_LIFE_MS);
  const out = emptyLayers();
  for (const k of Object.keys(out) as (keyof StyleLayers)[])
    for (const [v, w] of Object.entries(layers[k] ?? {})) {
      const nw = w * f;
      if (nw >= 1e-4) out[k][v] = nw;
    }
  return out;
}

/**
 * Folds signals (any order) into layers decayed as of `asOf`: each signal's weight is itself decayed from its
 * time to `asOf`, so folding in batches or one by one gives the same layers. Returns new layers as of the
 * later of `asOf` and the newest signal.
 */
export function foldSignals(layers: StyleLayers, asOf: number, signals: readonly StyleSignal[]): { layers: StyleLayers; asOf: number } {
  const until = Math.max(asOf, ...signals.map((s) => s.at));
  const out = decayLayers(layers, until - asOf);
  const add = (k: keyof StyleLayers, v: string | null, w: number) => {
    const key = v?.trim().toLowerCase();
    if (!key) return;
    out[k][key] = (out[k][key] ?? 0) + w;
  };
  for (const s of signals) {
    const w = signalWeight(s) * 2 ** (-(until - s.at) / STYLE_HALF_LIFE_MS);
    for (const st of s.style) add('style', st, w);
    for (const o of s.occasion) add('occasion', o, w);
    add('category', s.category, w);
    add('brand', s.brand, w);
    add('price', priceBand(s.priceMajor), w);
    add('intent', INTENT[s.type] ?? 'browse', w);
  }
  return { layers: out, asOf: until };
}

/** Confidence in [0, 1): grows with the number of signals, 1 - e^(-n / 20). */
export const confidenceOf = (events: number): number => 1 - Math.exp(-events / 20);

/** Share of each value within a layer (weights normalized to sum 1). */
function shares(layer: Record<string, number>): Map<string, number> {
  const total = Object.values(layer).reduce((a, b) => a + b, 0);
  return new Map(total > 0 ? Object.entries(layer).map(([k, v]) => [k, v / total]) : []);
}

/**
 * Re-ranks candidates with the profile as a booster: score x (1 + confidence x (category share + brand share +
 * price-band share) / 3) + a stated-preference bonus. Stable for equal scores. O(n log n).
 */
export function boost(
  items: readonly FeedItem[],
  profile: { layers: StyleLayers; confidence: number } | null,
  stated: { brands: string[]; categories: string[] },
  majorOf: (i: FeedItem) => number | null,
): FeedItem[] {
  // Nothing to boost by (a shopper with no profile and no stated brands or categories, most pages): every score
  // stands, so the ranking is the scores' order, without pricing every candidate.
  if (!profile && stated.brands.length === 0 && stated.categories.length === 0) {
    let sorted = true;
    for (let k = 1; k < items.length && sorted; k++) sorted = items[k - 1]!.score >= items[k]!.score;
    return sorted
      ? items.slice()
      : items
          .map((i, k) => ({ i, k }))
          .sort((a, b) => b.i.score - a.i.score || a.k - b.k)
          .map((x) => x.i);
  }
  const cat = profile ? shares(profile.layers.category) : new Map<string, number>();
  const brand = profile ? shares(profile.layers.brand) : new Map<string, number>();
  const price = profile ? shares(profile.layers.price) : new Map<string, number>();
  const likedBrands = new Set(stated.brands.map((b) => b.toLowerCase()));
  const likedCats = new Set(stated.categories.map((c) => c.toLowerCase()));
  const scored = items.map((i, k) => {
    const c = norm(i.category);
    const b = norm(i.brand);
    const p = priceBand(majorOf(i)) ?? '';
    const match = ((cat.get(c) ?? 0) + (brand.get(b) ?? 0) + (price.get(p) ?? 0)) / 3;
    const bonus = (likedBrands.has(b) ? 0.1 : 0) + (likedCats.has(c) ? 0.1 : 0);
    return { i: { ...i, score: i.score * (1 + (profile?.confidence ?? 0) * match) + bonus }, k };
  });
  return scored.sort((a, b) => b.i.score - a.i.score || a.k - b.k).map((x) => x.i);
}

/** Which global module slots (0-based) a page holds, and which of them are sponsored. */
export function pageSlots(page: number, rules: FeedRules): { index: number; sponsored: boolean }[] {
  const out = [];
  for (let k = 0; k < rules.modulesPerPage; k++) {
    const index = page * rules.modulesPerPage + k;
    out.push({ index, sponsored: rules.sponsoredPositions.includes(index + 1) });
  }
  return out;
}
