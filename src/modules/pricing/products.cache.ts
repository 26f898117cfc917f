/**
 * The product page cache (`GET /products/:id`): per process, the page's rows of a match group (group, summary row,
 * offers: `summaryRepository.pageWithOffers`) and what the page builds of them, keyed by tenant and group, bounded in
 * bytes (LRU). Without it every page is a statement of ~1 ms of database CPU and ~1.5 ms of server CPU.
 *
 * Freshness. Every change a page shows of a group stamps the group's summary row with the writing transaction
 * (`write_xid`: the one door `refreshGroupSummaries` recomputes the row; a catalog link stamps it). Each tenant's
 * cache looks, at most every CHECK_MS (250 ms) and before serving anything when its last look is older, for the rows
 * written by transactions its last look's snapshot did not see (`summaryRepository.changedGroups`: one statement, an
 * index range) and drops those groups; more than MAX_CHANGED at once drops the tenant's whole cache. So a change
 * committed in any process (`loupe worker`, another `loupe serve`) is served within CHECK_MS plus one look's time. In this
 * process, the writers' announcement after their commit (`onOffersChanged`) makes the next request look at once.
 * A page read that a look with drops (or an announcement) overlapped is answered but not kept: it may hold rows
 * from before the change that look dropped.
 *
 * Time: nothing kept depends on `now`. The Omnibus "was" price is anchored at the best price's start (summary.core),
 * not at the request; the page's `stale` and `refreshed_at` are computed per request from the offers' price times and
 * the stores' last successful runs, which are read with each look (a run that confirms prices without changing any
 * stamps no group), so the stale-price refresh is still queued when a cached page is opened.
 *
 * Groups without a summary row (before the backfill) are never kept: their changes would not be seen.
 *
 * Admission. While the bound has room every page read is kept. Once full, a page is kept only at its second read within
 * the last `maxBytes / 8 KiB` pages read and not kept (a doorkeeper set): keeping a page read once evicted one that might
 * be read again, and each kept page outlives the young generation, so a scan over more products than the bound holds
 * (every read a miss) paid the copying and old-generation collection of pages nobody read again (in-process: ~30-100 us
 * of CPU and GC per miss); a cyclic scan now keeps hitting what it kept. Filling the bound still keeps every page read.
 */
import { LRUCache } from 'lru-cache';

/** How old a tenant's last look may be when a page is served from the cache (the bound on another process's change). */
export const CHECK_MS = 250;
/** Default bound of the kept pages' estimated size (~7,000 pages of 10 offers). */
export const DEFAULT_MAX_BYTES = 128 * 1024 * 1024;
/** Changed groups read per look; more (a bulk import) drops the tenant's cache instead. */
const MAX_CHANGED = 2000;
/** Tenants whose look state is kept (an evicted tenant starts over, its pages unreachable). */
const MAX_TENANTS = 10_000;

export interface StoreSource {
  sourceId: string;
  lastSuccessAt: Date | null;
}

export interface ProductPageCacheDeps {
  /** The current snapshot and the tenant's groups written by transactions `since` did not see (at most `limit`). */
  changedGroups(tenantId: string, since: string | null, limit: number): Promise<{ snapshot: string; groupIds: string[] }>;
  /** The tenant's network sources by store (freshness inputs). */
  sourcesOf(tenantId: string): Promise<{ storeId: string; sourceId: string; lastSuccessAt: Date | null }[]>;
  /** Bound of the kept pages' estimated size in bytes; 0 keeps nothing. */
  maxBytes?: number;
  checkMs?: number;
  /** Milliseconds (tests move it). */
  now?: () => number;
}

interface TenantState {
  /** Unique per state: part of its pages' keys, so a state started over never reads an older one's pages. */
  gen: number;
  /** The snapshot of the last look (null before the first). */
  watermark: string | null;
  /** When the last look started (its snapshot is later): pages are as of then at least. */
  checkedAt: number;
  /** Moves on every drop and announcement: a read that started before the move is not kept. */
  epoch: number;
  /** Announcements so far: a look that one overlapped does not count as a look after it. */
  announced: number;
  sources: Map<string, StoreSource>;
  looking: Promise<void> | undefined;
}

export interface CachedPage<V> {
  value: V;
  /** Served from the cache (false: just read). */
  hit: boolean;
  /** The tenant's network sources as of the last look. */
  sources: ReadonlyMap<string, StoreSource>;
}

export function createProductPageCache<V extends object>(deps: ProductPageCacheDeps) {
  const now = deps.now ?? (() => performance.now());
  const checkMs = deps.checkMs ?? CHECK_MS;
  const maxBytes = deps.maxBytes ?? DEFAULT_MAX_BYTES;
  // Each page's size is the caller's estimate, given at set.
  const pages = maxBytes > 0 ? new LRUCache<string, V>({ maxSize: maxBytes }) : null;
  const tenants = new LRUCache<string, TenantState>({ max: MAX_TENANTS });
  /** Pages read once and not kept while the bound was full (their keys); cleared when it reaches `doorkeeperMax`. */
  const seen = new Set<string>();
  const doorkeeperMax = Math.max(64, Math.ceil(maxBytes / 8192));

  /** Whether a page read now is kept (see Admission above). */
  const admit = (key: string, size: number): boolean => {
    if (!pages) return false;
    if (pages.calculatedSize + size <= maxBytes) return true;
    if (seen.delete(key)) return true;
    if (seen.size >= doorkeeperMax) seen.clear();
    seen.add(key);
    return false;
  };
  let gens = 0;
  let hits = 0;
  let misses = 0;

  const stateOf = (tenantId: string): TenantState => {
    let s = tenants.get(tenantId);
    if (!s) {
      s = {
        gen: ++gens,
        watermark: null,
        checkedAt: Number.NEGATIVE_INFINITY,
        epoch: 0,
        announced: 0,
        sources: new Map(),
        looking: undefined,
      };
      tenants.set(tenantId, s);
    }
    return s;
  };

  async function look(tenantId: string, s: TenantState): Promise<void> {
    const started = now();
    const announced = s.announced;
    const r = await deps.changedGroups(tenantId, s.watermark, MAX_CHANGED + 1);
    const sources = new Map(
      (await deps.sourcesOf(tenantId)).map((x) => [x.storeId, { sourceId: x.sourceId, lastSuccessAt: x.lastSuccessAt }]),
    );
    let to = s;
    if (r.groupIds.length > MAX_CHANGED) {
      // A bulk change: the tenant starts over (its pages become unreachable; the LRU evicts them).
      tenants.delete(tenantId);
      to = stateOf(tenantId);
    } else if (r.groupIds.length) {
      s.epoch++;
      for (const g of r.groupIds) pages?.delete(`${s.gen}:${g}`);
    }
    to.watermark = r.snapshot;
    to.sources = sources;
    // An announcement during the look may be of a commit its snapshot did not see: the next request looks again.
    to.checkedAt = s.announced === announced ? started : Number.NEGATIVE_INFINITY;
  }

  /**
   * The tenant's state after a look that started at most checkMs ago, or after the look this call waited for (one
   * look at a time per tenant, shared by its callers; waiting for one look only: on a loaded database a look can take
   * longer than checkMs, and looking again until one is quick starved every request).
   */
  async function current(tenantId: string): Promise<TenantState> {
    const s = stateOf(tenantId);
    if (now() - s.checkedAt < checkMs) return s;
    s.looking ??= look(tenantId, s).finally(() => {
      s.looking = undefined;
    });
    await s.looking;
    return stateOf(tenantId);
  }

  return {
    /**
     * The group's page: kept, or read by `load` (undefined: not found; `keep` false: answered, not kept). `bytes`
     * estimates the kept value's size in memory.
     */
    async page(
      tenantId: string,
      groupId: string,
      load: () => Promise<{ value: V; keep: boolean; bytes: number } | undefined>,
    ): Promise<CachedPage<V> | undefined> {
      const s = await current(tenantId);
      const key = `${s.gen}:${groupId}`;
      const kept = pages?.get(key);
      if (kept) {
        hits++;
        return { value: kept, hit: true, sources: s.sources };
      }
      misses++;
      const epoch = s.epoch;
      const r = await load();
      if (!r) return undefined;
      const size = Math.max(1, Math.ceil(r.bytes));
      if (pages && r.keep && s.epoch === epoch && tenants.get(tenantId) === s && size <= maxBytes && admit(key, size))
        pages.set(key, r.value, { size });
      return { value: r.value, hit: false, sources: s.sources };
    },

    /** A writer of this process committed a change of the tenant's groups: the next request looks first. */
    changed(tenantId: string): void {
      const s = tenants.get(tenantId);
      if (!s) return;
      s.checkedAt = Number.NEGATIVE_INFINITY;
      s.epoch++;
      s.announced++;
    },

    /** Pages kept, their estimated bytes, and pages served from the cache or read (tests). */
    stats: () => ({ pages: pages?.size ?? 0, bytes: pages?.calculatedSize ?? 0, maxBytes, hits, misses }),
  };
}
