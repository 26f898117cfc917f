/**
 * How fresh a product page's prices are (pure). An offer's price was last confirmed by the later of its last change
 * and its store's last successful network run (a run that finds a price unchanged writes no history, yet confirms it).
 */
export interface Freshness {
  /** Some offer's price is older than the tenant's freshness setting. */
  stale: boolean;
  /** The oldest confirmation among the offers (the age of the page's prices); null without store offers. */
  refreshedAt: Date | null;
  /** Stores with a stale offer (ids, each once, in offer order). */
  staleStores: string[];
}

export function priceFreshness(
  offers: readonly { storeId: string; priceUpdatedAt: Date }[],
  lastSuccessByStore: ReadonlyMap<string, Date | null>,
  now: Date,
  freshnessMs: number,
): Freshness {
  const limit = now.getTime() - freshnessMs;
  let oldest: number | null = null;
  const staleStores: string[] = [];
  for (const o of offers) {
    const run = lastSuccessByStore.get(o.storeId)?.getTime() ?? Number.NEGATIVE_INFINITY;
    const at = Math.max(o.priceUpdatedAt.getTime(), run);
    if (oldest === null || at < oldest) oldest = at;
    if (at < limit && !staleStores.includes(o.storeId)) staleStores.push(o.storeId);
  }
  return { stale: staleStores.length > 0, refreshedAt: oldest === null ? null : new Date(oldest), staleStores };
}
