import { LRUCache } from 'lru-cache';
import { type Db, type TenantContext, minorToMajor, validation } from '../../platform/index.ts';
import {
  DEFAULT_FEED_RULES,
  type FeedItem,
  type FeedRules,
  boost,
  dampPopularity,
  pageSlots,
  pickDiverse,
  popularityOf,
} from './newsfeed.core.ts';
import type {
  BestOffer,
  BestOfferSource,
  FeedSources,
  ModuleOrderSource,
  SegmentSource,
  ShopperHistorySql,
  SponsoredSource,
} from './newsfeed.ports.ts';
import type { PreferencesRepository } from './preferences.repository.ts';
import type { ShownLog } from './shown.log.ts';

/** The organic module kinds, each with a distinct source. */
export const MODULE_KINDS = ['for_you', 'new_from_brands', 'because_you_viewed', 'price_drops', 'trending'] as const;
export type ModuleKind = (typeof MODULE_KINDS)[number] | 'fresh';

const TITLES: Record<ModuleKind, string> = {
  for_you: 'For you',
  new_from_brands: 'New from brands you follow',
  because_you_viewed: 'Because you viewed',
  price_drops: 'Price drops on things you watched',
  trending: 'Trending',
  fresh: 'Fresh in the catalog',
};
const SOURCES: Record<ModuleKind, string> = {
  for_you: 'recs.personal',
  new_from_brands: 'catalog.followed_brands',
  because_you_viewed: 'recs.similar',
  price_drops: 'pricing.price_drops',
  trending: 'recs.popular',
  fresh: 'catalog.newest',
};

export interface FeedModule {
  id: string;
  type: ModuleKind | 'sponsored';
  title: string;
  source: string;
  position: number;
  sponsored: boolean;
  campaignId: string | null;
  decisionId: string | null;
  items: FeedItem[];
}

export interface Feed {
  modules: FeedModule[];
  offers: Map<string, BestOffer>;
  experiment: { experimentId: string | null; variant: string; order: string[] };
  nextCursor: string | null;
}

export interface NewsfeedServiceDeps {
  db: Db;
  repo: PreferencesRepository;
  sources: FeedSources;
  /** Events' recent interactions of a shopper, read in the feed's own per-shopper statement. */
  history: ShopperHistorySql;
  offers: BestOfferSource;
  moduleOrder: ModuleOrderSource;
  segments: SegmentSource;
  sponsored: SponsoredSource;
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
  clock: () => Date;
  /** What the feed served, written in batches (shown.log.ts). */
  shown: ShownLog;
  /** How long a tenant's shared candidate lists are reused (default SHARED_LISTS_TTL_MS; 0: never). */
  sharedListsTtlMs?: number;
}

/**
 * How long the candidate lists every shopper of a tenant shares (Trending, the catalog's newest) are reused:
 * read once per tenant per interval instead of on every page (they were most of a new shopper's database time).
 * A new, repriced or withdrawn item reaches these modules within it.
 */
const SHARED_LISTS_TTL_MS = 5_000;

/**
 * Reads `settings.newsfeed` (category_window, brand_window, items_per_module, modules_per_page,
 * rules.not_shown_within_days, rules.popularity_damping) with defaults.
 */
function rulesOf(settings: Record<string, unknown>, positions: number[]): FeedRules {
  const s = (settings.newsfeed ?? {}) as Record<string, unknown>;
  const int = (v: unknown, min: number, max: number, d: number) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : d;
  return {
    categoryWindow: int(s.category_window, 0, 50, DEFAULT_FEED_RULES.categoryWindow),
    brandWindow: int(s.brand_window, 0, 50, DEFAULT_FEED_RULES.brandWindow),
    itemsPerModule: int(s.items_per_module, 1, 20, DEFAULT_FEED_RULES.itemsPerModule),
    modulesPerPage: int(s.modules_per_page, 1, 20, DEFAULT_FEED_RULES.modulesPerPage),
    sponsoredPositions: positions,
    notShownWithinDays: int(
      ((s.rules ?? {}) as Record<string, unknown>).not_shown_within_days,
      0,
      MAX_NOT_SHOWN_DAYS,
      DEFAULT_FEED_RULES.notShownWithinDays,
    ),
    popularityDamping: fraction(((s.rules ?? {}) as Record<string, unknown>).popularity_damping, DEFAULT_FEED_RULES.popularityDamping),
  };
}

/** A number in [0, 1], else the default. */
const fraction = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1 ? v : d);

const MAX_NOT_SHOWN_DAYS = 365;

/** The tenant's "not shown within N days" (0: the rule is off): the feed reads, and retention keeps, N days. */
export function notShownWithinDays(settings: Record<string, unknown>): number {
  return rulesOf(settings, []).notShownWithinDays;
}
/** At most this many recently shown items are read per request (newest first): one indexed range read. */
const SHOWN_READ_LIMIT = 5_000;

/**
 * Cursor: page number, which sponsored slots so far were backfilled organically (so a replay draws the same
 * items), when the scroll session began (ms): the "not repeated" rule leaves out items shown before it, so
 * the items this session itself served do not shift its later pages; and whether the session began while recs
 * was still loading the tenant's catalog (`w`): its pages are then laid out from the catalog's own lists to the
 * end, as its first page was, so that no later page repeats what an earlier one served.
 */
function encode(page: number, backfilled: number[], since: number, warming: boolean): string {
  return Buffer.from(JSON.stringify({ p: page, b: backfilled, s: since, ...(warming ? { w: 1 } : {}) })).toString('base64url');
}
function decode(
  cursor: string | undefined,
  now: number,
): { page: number; backfilled: Set<number>; since: number; warming: boolean | undefined } {
  if (cursor === undefined) return { page: 0, backfilled: new Set(), since: now, warming: undefined };
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { p: unknown; b: unknown; s?: unknown; w?: unknown };
    if (
      (v.w === undefined || v.w === 1) &&
      (v.s === undefined || (typeof v.s === 'number' && Number.isSafeInteger(v.s) && v.s >= 0)) &&
      typeof v.p === 'number' &&
      Number.isInteger(v.p) &&
      v.p >= 0 &&
      v.p < 1000 &&
      Array.isArray(v.b) &&
      v.b.length <= 1000 &&
      v.b.every((x) => Number.isInteger(x))
    )
      // a session start in the future would hide this session's own items: capped at now
      return {
        page: v.p,
        backfilled: new Set(v.b as number[]),
        since: Math.min(typeof v.s === 'number' ? v.s : now, now),
        warming: v.w === 1,
      };
  } catch {
    /* refused below */
  }
  throw validation('INVALID_CURSOR', 'cursor is not one this API returned.', [{ field: 'cursor', message: 'malformed' }]);
}

const CANDIDATES = 60;
/** The shopper's recent interactions read per page (the anchor of "Because you viewed", watched items, purchases). */
const RECENT_LIMIT = 20;
/** How long a scroll session's "For you" ranking is kept for its later pages, and for how many sessions. */
const SESSION_TTL_MS = 15 * 60_000;
const SESSIONS_MAX = 20_000;

export function createNewsfeedService(deps: NewsfeedServiceDeps) {
  const { db, repo, sources } = deps;
  const sharedTtl = deps.sharedListsTtlMs ?? SHARED_LISTS_TTL_MS;
  // Per tenant, how many price or catalog changes this process was told of (`pricesChanged`): every cache key below
  // names it, so a change makes the next page read afresh (entries of earlier generations age out unused).
  const generations = new Map<string, number>();
  const gen = (tenantId: string) => generations.get(tenantId) ?? 0;
  // one promise per tenant: a burst of first pages reads once; a failed read is forgotten at once
  const shared = new LRUCache<string, Promise<{ trending: FeedItem[]; fresh: FeedItem[] }>>({ max: 10_000, ttl: Math.max(1, sharedTtl) });
  /** Trending and the catalog's newest; while recs is warming up, the newest only (a bounded catalog read). */
  function sharedLists(ctx: TenantContext, warming: boolean) {
    const read = () =>
      Promise.all([
        warming ? Promise.resolve([]) : sources.trending(ctx, CANDIDATES),
        sources.newest(ctx.tenantId, { limit: CANDIDATES * 4 }),
      ]).then(([trending, fresh]) => ({ trending, fresh }));
    if (sharedTtl <= 0) return read();
    const key = `${ctx.tenantId}|${gen(ctx.tenantId)}${warming ? '|warming' : ''}`;
    const hit = shared.get(key);
    if (hit) return hit;
    const p = read();
    shared.set(key, p);
    p.catch(() => shared.delete(key));
    return p;
  }

  // Promoted items of the sponsored winners, by tenant and id list: the same few campaigns win page after page.
  const promotedCache = new LRUCache<string, Promise<FeedItem[]>>({ max: 10_000, ttl: Math.max(1, sharedTtl) });
  function promotedItems(tenantId: string, itemIds: readonly string[]): Promise<FeedItem[]> {
    if (sharedTtl <= 0) return sources.items(tenantId, itemIds);
    const key = `${tenantId}|${gen(tenantId)}|${itemIds.join('\u0000')}`;
    const hit = promotedCache.get(key);
    if (hit) return hit;
    const p = sources.items(tenantId, itemIds);
    promotedCache.set(key, p);
    p.catch(() => promotedCache.delete(key));
    return p;
  }
  // The price enrichment of an item (its best offer, or none), by tenant and item: a page's items mostly come
  // from the lists every shopper shares, so most are enriched already. Reused for the same interval as those
  // lists, and dropped at once when pricing announces a change of the tenant's offers in this process (a change
  // made in another process shows within the interval).
  const offerCache = new LRUCache<string, { offer: BestOffer | null }>({ max: 200_000, ttl: Math.max(1, sharedTtl) });
  async function bestOffers(tenantId: string, ids: readonly string[]): Promise<Map<string, BestOffer>> {
    if (sharedTtl <= 0) return ids.length ? deps.offers.bestOffers(tenantId, ids) : new Map();
    const out = new Map<string, BestOffer>();
    const missing: string[] = [];
    const prefix = `${tenantId}|${gen(tenantId)}|`;
    for (const id of ids) {
      const hit = offerCache.get(prefix + id);
      if (!hit) missing.push(id);
      else if (hit.offer) out.set(id, hit.offer);
    }
    if (missing.length === 0) return out;
    const read = await deps.offers.bestOffers(tenantId, missing);
    for (const id of missing) {
      const offer = read.get(id) ?? null;
      offerCache.set(prefix + id, { offer });
      if (offer) out.set(id, offer);
    }
    return out;
  }

  // "For you" per scroll session (tenant, shopper, session start): ranked once, on the session's first page, and
  // reused by its later pages, which lay out every earlier page again from the same lists (so a later page never
  // repeats an item even when the shopper's ranking moved meanwhile). Evicted or expired, or after a price or
  // catalog change of the tenant (its items carry prices): ranked again.
  const forYouBySession = new LRUCache<string, Promise<FeedItem[]>>({ max: SESSIONS_MAX, ttl: SESSION_TTL_MS });
  function forYouOf(ctx: TenantContext, userId: string, since: number): Promise<FeedItem[]> {
    const key = `${ctx.tenantId}|${gen(ctx.tenantId)}|${since}|${userId}`;
    const hit = forYouBySession.get(key);
    if (hit) return hit;
    const p = sources.forYou(ctx, userId, CANDIDATES);
    forYouBySession.set(key, p);
    p.catch(() => forYouBySession.get(key) === p && forYouBySession.delete(key));
    return p;
  }

  /** Ranked candidates per organic module kind, boosted by the style profile and stated preferences. */
  async function candidates(ctx: TenantContext, userId: string, notShown: { days: number; since: number }, warming: boolean) {
    const t = ctx.tenantId;
    // Everything the feed asks the database about the shopper is ONE statement: its own rows (follows, favorites,
    // preferences, profile, shown) and their recent interactions through events' SQL piece (`ShopperHistorySql`).
    // Recs' personal ranking needs none of it: it starts beside it (from its own history cache). While recs warms up
    // (`warming`), its rankings are left out: each would wait for the tenant's whole catalog to load.
    const forYouRead = warming ? Promise.resolve([]) : forYouOf(ctx, userId, notShown.since);
    forYouRead.catch(() => {}); // awaited below; a failure of the read beside it must not leave it unhandled
    const state = await repo.shopperState(
      db,
      t,
      userId,
      {
        from: new Date(notShown.since - notShown.days * 86_400_000),
        before: new Date(notShown.since),
        limit: notShown.days > 0 ? SHOWN_READ_LIMIT : 0,
      },
      deps.history.recentInteractionsSql(t, userId, RECENT_LIMIT),
    );
    const recent = state.recent;
    const { favorites, profile } = state;
    // Served in this process and not written yet: the newest, so first (only those before the session began).
    const from = notShown.since - notShown.days * 86_400_000;
    const waiting =
      notShown.days > 0
        ? [...deps.shown.pendingFor(t, userId)]
            .filter(([, at]) => at.getTime() >= from && at.getTime() < notShown.since)
            .sort((a, b) => b[1].getTime() - a[1].getTime())
            .map(([id]) => id)
        : [];
    const shown = waiting.length > 0 ? [...new Set([...waiting, ...state.shown])] : state.shown;
    const prefs = state.preferences;
    const anchor = recent.find((r) => r.type === 'view' || r.type === 'click') ?? recent[0];
    const brands = [...new Set([...state.follows, ...(prefs?.brands ?? [])])];
    // Watched: what the shopper viewed, carted or favorited (not bought).
    const watched = [...new Set([...recent.filter((r) => r.type !== 'purchase').map((r) => r.itemId), ...favorites])];
    const [forYou, fromBrands, similar, { trending, fresh }, anchorItem, drops] = await Promise.all([
      forYouRead,
      brands.length ? sources.newest(t, { brands, limit: CANDIDATES }) : Promise.resolve([]),
      anchor && !warming ? sources.similarTo(ctx, anchor.itemId, CANDIDATES) : Promise.resolve([]),
      sharedLists(ctx, warming),
      anchor ? sources.items(t, [anchor.itemId]) : Promise.resolve([]),
      watched.length
        ? deps.offers.priceDrops(t, watched).then(async (d) => ({
            offers: d,
            items: await sources.items(
              t,
              d.map((x) => x.itemId),
            ),
          }))
        : Promise.resolve({ offers: [], items: [] }),
    ]);
    const majorOf = (i: FeedItem) => (i.priceMinor !== null && i.currency ? safeMajor(i.priceMinor, i.currency) : null);
    const stated = { brands, categories: prefs?.categories ?? [] };
    const p = profile ? { layers: profile.layers, confidence: profile.confidence } : null;
    // the tenant's Trending standing of each item, before this shopper's filters (popularity damping reads it)
    const popularity = popularityOf(trending);
    const lists: Record<ModuleKind, FeedItem[]> = {
      for_you: boost(forYou, p, stated, majorOf),
      new_from_brands: boost(fromBrands, p, stated, majorOf),
      because_you_viewed: similar,
      // Already watched, so not filtered by `seen` below: a drop on a favorite is the point of this module.
      price_drops: drops.items,
      trending,
      // The catalog's newest items: every shopper, even one with no history and no model, gets a full feed.
      fresh: boost(fresh, p, stated, majorOf),
    };
    const seen = new Set([...recent.filter((r) => r.type === 'purchase').map((r) => r.itemId), ...favorites]);
    if (seen.size > 0)
      for (const k of Object.keys(lists) as ModuleKind[]) if (k !== 'price_drops') lists[k] = lists[k].filter((i) => !seen.has(i.itemId));
    // Shown in the last N days (before this scroll session): left out of every organic module, a price drop too.
    // The modules then fill from the next candidates, and the catalog's newest backfill the rest.
    if (shown.length > 0) {
      const rank = new Map(shown.map((id, k) => [id, k])); // 0 = shown most recently
      const held = new Map<string, FeedItem>();
      for (const k of Object.keys(lists) as ModuleKind[])
        lists[k] = lists[k].filter((i) => {
          if (!rank.has(i.itemId)) return true;
          if (k !== 'price_drops' && !seen.has(i.itemId)) held.set(i.itemId, i);
          return false;
        });
      // Only when everything else has run out, the feed repeats: the least recently shown first.
      lists.fresh.push(...[...held.values()].sort((a, b) => rank.get(b.itemId)! - rank.get(a.itemId)!));
    }
    return {
      lists,
      popularity,
      dropOffers: new Map(drops.offers.map((d) => [d.itemId, d.offer])),
      anchorName: anchorItem[0]?.name ?? null,
      styles: p ? topKeys(p.layers.style, 3) : [],
      categories: p ? topKeys(p.layers.category, 3) : [],
    };
  }

  return {
    /**
     * The tenant's prices or catalog changed (pricing's offers, catalog's items): its cached lists, promoted items
     * and best offers are read afresh by the next page.
     */
    pricesChanged(tenantId: string): void {
      generations.set(tenantId, gen(tenantId) + 1);
    },
    /**
     * One page of the shopper's feed. Pages are laid out deterministically from page 0 (a page is a run of
     * module slots; a slot at a sponsored position holds the auction's winner, or the next organic module when
     * nothing is eligible), so paging never repeats an organic item. A page past the end is empty.
     */
    async feed(ctx: TenantContext, userId: string, cursor: string | undefined, opts: { preview?: boolean } = {}): Promise<Feed> {
      const now = deps.clock();
      const decoded = decode(cursor, now.getTime());
      const { page, backfilled, since } = decoded;
      // A session that begins while recs is not ready stays on the catalog's lists (see `encode`).
      const warming = decoded.warming ?? !(sources.ready?.(ctx.tenantId) ?? true);
      const settings = await deps.tenantSettings(ctx.tenantId);
      const positions = (await deps.sponsored.settings(ctx.tenantId)).feedPositions;
      const rules = rulesOf(settings, positions);
      const experiment = await deps.moduleOrder.moduleOrder(ctx, userId, MODULE_KINDS);
      const order = experiment.order.filter((k): k is (typeof MODULE_KINDS)[number] => (MODULE_KINDS as readonly string[]).includes(k));
      const { lists, popularity, dropOffers, anchorName, styles, categories } = await candidates(
        ctx,
        userId,
        { days: rules.notShownWithinDays, since },
        warming,
      );
      // Popularity damping (a tenant rule, off by default): the recommendation-driven modules give some of the slots
      // of what Trending already shows everyone to their next candidates (spreads exposure over the catalog).
      if (rules.popularityDamping > 0)
        for (const k of ['for_you', 'because_you_viewed'] as const)
          lists[k] = dampPopularity(lists[k], popularity, rules.popularityDamping);
      const used = new Set<string>();
      const history: FeedItem[] = [];
      let turn = 0;
      /** The next organic module: module kinds in the experiment's order, skipping exhausted ones; then the catalog. */
      const nextOrganic = (): { kind: ModuleKind; items: FeedItem[] } | null => {
        for (let tries = 0; tries < order.length; tries++) {
          const kind = order[turn++ % order.length]!;
          const items = pickDiverse(lists[kind], rules.itemsPerModule, history, used, rules);
          if (items.length > 0) return { kind, items };
        }
        const items = pickDiverse(lists.fresh, rules.itemsPerModule, history, used, rules);
        return items.length > 0 ? { kind: 'fresh', items } : null;
      };
      const modules: FeedModule[] = [];
      const nowBackfilled = [...backfilled];
      // The shopper's segments (sponsored targeting): read at most once per page for the same targeted segments, and
      // only when a campaign targets segments.
      const segments = new Map<string, Promise<string[]>>();
      const segmentsOf = (wanted: readonly string[]) => {
        const key = [...wanted].sort().join('\u0000');
        let p = segments.get(key);
        if (!p) segments.set(key, (p = deps.segments.segmentsOf(ctx.tenantId, userId, wanted)));
        return p;
      };
      let ended = false;
      for (let p = 0; p <= page && !ended; p++) {
        for (const slot of pageSlots(p, rules)) {
          if (slot.sponsored && !(p < page && backfilled.has(slot.index))) {
            if (p < page) continue; // an earlier page's sponsored module: it drew nothing from the organic stream
            const [won] = await deps.sponsored.placements(ctx, {
              placement: `feed_position_${slot.index + 1}`,
              userId,
              slots: 1,
              categories,
              segmentsOf,
              styles,
            });
            const promoted = won ? (await promotedItems(ctx.tenantId, won.promotedItemIds)).slice(0, rules.itemsPerModule) : [];
            if (won && promoted.length > 0) {
              modules.push({
                id: `sponsored-${slot.index + 1}`,
                type: 'sponsored',
                title: String(won.creative.headline ?? won.name),
                source: 'sponsored',
                position: slot.index + 1,
                sponsored: true,
                campaignId: won.campaignId,
                decisionId: won.decisionId,
                items: promoted,
              });
              continue;
            }
            nowBackfilled.push(slot.index);
          }
          const m = nextOrganic();
          if (!m) {
            ended = true;
            break;
          }
          if (p === page)
            modules.push({
              id: `${m.kind}-${slot.index + 1}`,
              type: m.kind,
              title: m.kind === 'because_you_viewed' && anchorName ? `Because you viewed ${anchorName}` : TITLES[m.kind],
              source: SOURCES[m.kind],
              position: slot.index + 1,
              sponsored: false,
              campaignId: null,
              decisionId: null,
              items: m.items,
            });
        }
      }
      const ids = [...new Set(modules.flatMap((m) => m.items.map((i) => i.itemId)))];
      // What this page served organically is recorded for the "not repeated" rule (batched off the request path,
      // shown.log.ts); a preview (the dashboard's) records nothing.
      const organic = modules.filter((m) => !m.sponsored).flatMap((m) => m.items.map((i) => i.itemId));
      if (rules.notShownWithinDays > 0 && !opts.preview) deps.shown.record(ctx.tenantId, userId, [...new Set(organic)], now);
      const offers = await bestOffers(ctx.tenantId, ids);
      // A dropped price's offer carries its 30-day low (the best-offers read skips history on the hot path).
      for (const [id, o] of dropOffers) if (offers.has(id)) offers.set(id, o);
      return {
        modules,
        offers,
        experiment: { ...experiment, order },
        nextCursor: ended || modules.length === 0 ? null : encode(page + 1, nowBackfilled, since, warming),
      };
    },
  };
}
export type NewsfeedService = ReturnType<typeof createNewsfeedService>;

function topKeys(layer: Record<string, number>, n: number): string[] {
  return Object.entries(layer)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k]) => k);
}

function safeMajor(minor: string, currency: string): number | null {
  try {
    return minorToMajor(minor, currency);
  } catch {
    return null;
  }
}
