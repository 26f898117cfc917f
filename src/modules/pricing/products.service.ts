import { createHash } from 'node:crypto';
import { type PlatformServices, type TenantContext, formatMoney, isUuid, minorToMajor, notFound } from '../../platform/index.ts';
import { normalizeGtin } from './gtin.core.ts';
import { type PricePoint, daysAgo, downsampleSeries, lowestSeries, summarizePricing } from './pricing.core.ts';
import { type GroupOfferRow, pricingRepository as repo } from './pricing.repository.ts';
import { historySince } from './summary.core.ts';
import { type PageGroupRow, summaryRepository } from './summary.repository.ts';
import { type StoreSource, createProductPageCache } from './products.cache.ts';
import { display } from './pricing.mappers.ts';
import type { PriceHistoryResponse, ProductOffer, ProductResponse } from './pricing.schemas.ts';

/** What pricing reads of a catalog item (catalog's public `findItem`). */
export interface CatalogItemView {
  id: string;
  itemId: string;
  name: string;
  brand: string | null;
  gtin: string | null;
  mpn: string | null;
  priceMinor: string | null;
  currency: string | null;
  imageUrl: string | null;
  url: string | null;
  availability: string;
  updatedAt: Date;
}

export interface ProductsDeps {
  platform: PlatformServices;
  findCatalogItem(tenantId: string, ref: string): Promise<CatalogItemView | null>;
  /** The tenant's display name: a single-store tenant's own catalog price is an offer of this store. */
  tenantName(tenantId: string): Promise<string>;
  /** Stale-price refresh: how fresh these store offers are; queues refreshes of stale ones in the background. */
  freshness(tenantId: string, offers: readonly GroupOfferRow[]): Promise<{ stale: boolean; refreshedAt: Date | null }>;
  /** Bound of the product page cache (`products.cache.ts`) in estimated bytes; 0 keeps no page. */
  pageCacheBytes: number;
}

/**
 * The page's response but freshness as the route's serializer writes it (the serializer is the route's: what it writes
 * is what the page answers), cut where freshness goes: `head` ends with `"offer_count":n,` and the response is `head`
 * plus this request's `stale` and `refreshed_at` (the schema's last fields) and the closing braces. `tag` is a digest
 * of `head`. When the serializer does not end with the unset freshness (another schema), `body` is kept instead and
 * each request serializes it whole.
 */
type PageText = { head: string; tag: string } | { body: ProductResponse };

/** A match group's page as kept: its rows, and (for the group's own page) its text but freshness, made once. */
interface KeptPage {
  group: PageGroupRow;
  offers: GroupOfferRow[];
  text?: PageText;
}

/** The product page as sent: the JSON text and its strong entity tag (a digest of the text's parts). */
export interface ProductPageJson {
  json: string;
  etag: string;
}

/** The route's response serializer (fastify's, compiled from `productResponse`). */
export type SerializeProduct = (body: ProductResponse) => string;

/** What the serializer writes last when freshness is unset (`build` leaves it so). */
const UNSET_FRESHNESS = '"stale":false,"refreshed_at":null}}';

const digest = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 22);

function textOf(body: ProductResponse, serialize: SerializeProduct): PageText {
  const json = serialize(body);
  if (!json.endsWith(UNSET_FRESHNESS)) return { body };
  const head = json.slice(0, json.length - UNSET_FRESHNESS.length);
  return { head, tag: digest(head) };
}

/** The response: the page's text with this request's freshness (ISO timestamps need no JSON escaping). */
function withFreshness(text: PageText, fresh: { stale: boolean; refreshedAt: Date | null }, serialize: SerializeProduct): ProductPageJson {
  const at = fresh.refreshedAt ? fresh.refreshedAt.toISOString() : null;
  if ('body' in text) {
    const json = serialize({ ...text.body, pricing: { ...text.body.pricing, stale: fresh.stale, refreshed_at: at } });
    return { json, etag: `"${digest(json)}"` };
  }
  return {
    json: `${text.head}"stale":${fresh.stale},"refreshed_at":${at === null ? 'null' : `"${at}"`}}}`,
    etag: `"${text.tag}.${fresh.stale ? 1 : 0}${fresh.refreshedAt ? fresh.refreshedAt.getTime().toString(36) : ''}"`,
  };
}

/** Estimated bytes a kept page holds (rows, strings, the page's text): object headers and fields per offer. */
function pageBytes(p: { group: PageGroupRow; offers: readonly GroupOfferRow[] }): number {
  let n = 2048 + 2 * (p.group.canonicalName.length + (p.group.brand?.length ?? 0));
  for (const o of p.offers) n += 1536 + 4 * (o.storeName.length + (o.affiliateUrl?.length ?? 0) + (o.imageUrl?.length ?? 0));
  return n;
}

/** The offers with their store's network source as of the cache's last look (what the page's statement reads). */
const withSources = (offers: readonly GroupOfferRow[], sources: ReadonlyMap<string, StoreSource>): GroupOfferRow[] =>
  offers.map((o) => {
    const src = sources.get(o.storeId);
    return { ...o, sourceId: src?.sourceId ?? null, sourceLastSuccessAt: src?.lastSuccessAt ?? null };
  });

/** An offer as the pricing rules see it: a store's listing, or the tenant's own catalog price (`storeId` null). */
interface Priced {
  id: string;
  storeId: string;
  storeName: string;
  realStoreId: string | null;
  priceMinor: bigint;
  currency: string;
  availability: string;
  affiliateUrl: string | null;
  priceUpdatedAt: Date | null;
}

const OWN = 'own-catalog';

/**
 * Seed 000's product page: a product is a match group (by its id) or a catalog item (by Loupe's id or the
 * store's item_id), shown with every store's offer, the best offer and Omnibus savings. A tenant that is a
 * single store (no pricing data) gets its catalog item priced as its own only offer.
 */
export function createProductsService(deps: ProductsDeps) {
  const { db, clock } = deps.platform;
  const cache = createProductPageCache<KeptPage>({
    changedGroups: (tenantId, since, limit) => summaryRepository.changedGroups(db, tenantId, since, limit),
    sourcesOf: (tenantId) => summaryRepository.sourcesOf(db, tenantId),
    maxBytes: deps.pageCacheBytes,
  });

  /** A match group's page (one statement: group, summary row, offers), through the cache; `offers` carry fresh sources. */
  async function pageOf(tenantId: string, groupId: string) {
    const r = await cache.page(tenantId, groupId, async () => {
      const page = await summaryRepository.pageWithOffers(db, tenantId, groupId);
      return page && { value: page, keep: page.group.summary !== null, bytes: pageBytes(page) };
    });
    if (!r) return undefined;
    return { kept: r.value, offers: r.hit ? withSources(r.value.offers, r.sources) : r.value.offers };
  }

  async function resolve(ctx: TenantContext, id: string) {
    // A match group's page is one statement (group, summary row, offers), or none when kept; a catalog item's adds its lookups.
    let page = isUuid(id) ? await pageOf(ctx.tenantId, id) : undefined;
    let item: CatalogItemView | null = null;
    if (!page) {
      item = await deps.findCatalogItem(ctx.tenantId, id);
      if (!item) throw notFound('PRODUCT_NOT_FOUND', 'The product');
      const g = item.gtin ? normalizeGtin(item.gtin) : null;
      const link = await repo.groupForCatalogItem(db, ctx.tenantId, item.itemId, g?.ok ? g.gtin14 : null);
      if (link) page = await pageOf(ctx.tenantId, link.id);
    }
    const group: PageGroupRow | undefined = page?.kept.group;
    const offers: GroupOfferRow[] = page?.offers ?? [];
    return { group, item, offers, kept: page?.kept };
  }

  /** The page's offers as the pricing rules see them: the stores' and the tenant's own catalog price, if any. */
  async function pricedOf(ctx: TenantContext, item: CatalogItemView | null, offers: readonly GroupOfferRow[]): Promise<Priced[]> {
    const priced: Priced[] = offers.map((o: GroupOfferRow) => ({
      id: o.id,
      storeId: o.storeId,
      storeName: o.storeName,
      realStoreId: o.storeId,
      priceMinor: o.priceMinor,
      currency: o.currency,
      availability: o.availability,
      affiliateUrl: o.affiliateUrl,
      priceUpdatedAt: o.priceUpdatedAt,
    }));
    if (item?.priceMinor && item.currency) {
      priced.push({
        id: `${OWN}:${item.id}`,
        storeId: OWN,
        storeName: await deps.tenantName(ctx.tenantId),
        realStoreId: null,
        priceMinor: BigInt(item.priceMinor),
        currency: item.currency,
        availability: item.availability,
        affiliateUrl: item.url,
        priceUpdatedAt: item.updatedAt,
      });
    }
    return priced;
  }

  /**
   * Best offer and savings of the page. The Omnibus "was" price comes from the group's summary row when that row's
   * best offer is the page's (the common case: same offers, same rule, maintained on write); otherwise (no row yet,
   * or a catalog item's own price or currency changed the choice) from the best offer's history, read here.
   */
  async function priceOf(ctx: TenantContext, group: PageGroupRow | undefined, item: CatalogItemView | null, priced: Priced[]) {
    const opts = { preferredCurrency: item?.currency ?? null, history: new Map<string, PricePoint[]>() };
    const s = summarizePricing(priced, opts);
    const best = s.best?.offer;
    if (!s.best || !best?.realStoreId || !best.priceUpdatedAt) return s; // the own catalog price has no history here
    const row = group?.summary;
    if (row && row.bestOfferId === best.id && row.bestPriceMinor === best.priceMinor && row.currency === best.currency)
      return { ...s, best: { ...s.best, wasMinor: row.wasMinor, savingsMinor: row.savingsMinor } };
    const since = historySince({ ...best, priceUpdatedAt: best.priceUpdatedAt });
    return summarizePricing(priced, {
      ...opts,
      history: await summaryRepository.historiesSince(db, ctx.tenantId, [{ offerId: best.id, since }]),
    });
  }

  async function historyOf(ctx: TenantContext, offerIds: string[], since: Date): Promise<Map<string, PricePoint[]>> {
    const rows = offerIds.length ? await repo.history(db, ctx.tenantId, offerIds, since) : [];
    const out = new Map<string, PricePoint[]>();
    for (const r of rows) {
      const list = out.get(r.offerId) ?? [];
      list.push({ at: new Date(r.at), priceMinor: BigInt(r.priceMinor), currency: r.currency });
      out.set(r.offerId, list);
    }
    return out;
  }

  /** The page's response but freshness (`stale` false, `refreshed_at` null: the caller sets them per request). */
  async function build(
    ctx: TenantContext,
    group: PageGroupRow | undefined,
    item: CatalogItemView | null,
    offers: readonly GroupOfferRow[],
  ): Promise<ProductResponse> {
    const priced = await pricedOf(ctx, item, offers);
    const s = await priceOf(ctx, group, item, priced);
    const best = s.best?.offer;
    const view = (o: Priced): ProductOffer => ({
      offer_id: o.id,
      store: o.storeName,
      store_id: o.realStoreId,
      price: display(o.priceMinor, o.currency),
      price_amount: formatMoney(o.priceMinor, o.currency),
      price_minor: o.priceMinor.toString(),
      currency: o.currency,
      availability: o.availability,
      affiliate_link: o.affiliateUrl,
      is_best_price: !!best && o.currency === best.currency && o.priceMinor === best.priceMinor && !s.priceErrorIds.has(o.id),
      price_error: s.priceErrorIds.has(o.id),
      price_updated_at: o.priceUpdatedAt ? o.priceUpdatedAt.toISOString() : null,
    });
    const cur = s.currency;
    const first = offers[0];
    return {
      product: {
        id: group?.id ?? item!.id,
        kind: item ? 'catalog_item' : 'match_group',
        name: item?.name ?? group!.canonicalName,
        brand: item?.brand ?? group?.brand ?? null,
        gtin: group?.gtin ?? item?.gtin ?? null,
        mpn: group?.mpn ?? item?.mpn ?? null,
        image_link: item?.imageUrl ?? first?.imageUrl ?? null,
        match_group_id: group?.id ?? null,
        catalog_item_id: item?.itemId ?? group?.catalogItemId ?? null,
      },
      pricing: {
        currency: cur,
        best_offer:
          s.best && cur
            ? {
                ...view(s.best.offer),
                savings: display(s.best.savingsMinor, cur),
                savings_minor: s.best.savingsMinor.toString(),
                was_price: s.best.wasMinor === null ? null : display(s.best.wasMinor, cur),
              }
            : null,
        other_offers: s.others.map(view),
        price_range:
          s.minMinor !== null && s.maxMinor !== null && cur
            ? {
                min: display(s.minMinor, cur),
                max: display(s.maxMinor, cur),
                min_minor: s.minMinor.toString(),
                max_minor: s.maxMinor.toString(),
              }
            : null,
        offers_in_other_currencies: s.otherCurrency.map(view),
        offer_count: priced.length,
        stale: false,
        refreshed_at: null,
      },
    };
  }

  return {
    /**
     * The product page as JSON text, byte for byte what `serialize` writes of the response. A match group's own page is
     * built and serialized once per kept page and served with this request's freshness (`stale`, `refreshed_at`: the
     * only fields that move with time; the stale-price refresh is queued as uncached).
     */
    async page(ctx: TenantContext, id: string, serialize: SerializeProduct): Promise<ProductPageJson> {
      const { group, item, offers, kept } = await resolve(ctx, id);
      const own = kept && !item ? kept : undefined;
      const [text, fresh] = await Promise.all([
        own?.text ?? build(ctx, group, item, offers).then((body) => textOf(body, serialize)),
        deps.freshness(ctx.tenantId, offers),
      ]);
      if (own) own.text = text;
      return withFreshness(text, fresh, serialize);
    },

    /** The product page as an object, built on each call from the (kept) rows (in-process readers and tests). */
    async get(ctx: TenantContext, id: string): Promise<ProductResponse> {
      const { group, item, offers } = await resolve(ctx, id);
      const [body, fresh] = await Promise.all([build(ctx, group, item, offers), deps.freshness(ctx.tenantId, offers)]);
      const refreshedAt = fresh.refreshedAt ? fresh.refreshedAt.toISOString() : null;
      return { ...body, pricing: { ...body.pricing, stale: fresh.stale, refreshed_at: refreshedAt } };
    },

    /** A writer of this process committed a change of the tenant's offers or groups (after its commit). */
    offersChanged(tenantId: string): void {
      cache.changed(tenantId);
    },

    /** The page cache's size (tests). */
    cacheStats: () => cache.stats(),

    /**
     * Chart-ready history: one series per store offer in the product's currency and the best (lowest) price,
     * each at most `points` buckets over the last `days` days (the lowest price in effect in each bucket).
     */
    async history(ctx: TenantContext, id: string, days: number, points: number): Promise<PriceHistoryResponse> {
      const { group, item, offers } = await resolve(ctx, id);
      const priced = await pricedOf(ctx, item, offers);
      const to = clock();
      const from = daysAgo(to, days);
      const s = summarizePricing(priced, { preferredCurrency: item?.currency ?? null, history: new Map() });
      const cur = s.currency;
      const inCur = offers.filter((o) => o.currency === cur);
      const hist = await historyOf(
        ctx,
        inCur.map((o) => o.id),
        from,
      );
      const series = inCur.map((o) => ({
        offer: o,
        points: downsampleSeries(
          (hist.get(o.id) ?? []).filter((p) => p.currency === cur),
          from,
          to,
          points,
        ),
      }));
      const asJson = (pts: ReturnType<typeof downsampleSeries>) =>
        pts.map((p) => ({ t: p.at.toISOString(), price: p.priceMinor === null || !cur ? null : minorToMajor(p.priceMinor, cur) }));
      const n = series[0]?.points.length ?? downsampleSeries([], from, to, points).length;
      return {
        product_id: group?.id ?? item!.id,
        currency: cur,
        from: from.toISOString(),
        to: to.toISOString(),
        interval_seconds: Math.round((to.getTime() - from.getTime()) / n / 1000),
        series: series.map((x) => ({
          offer_id: x.offer.id,
          store_id: x.offer.storeId,
          store: x.offer.storeName,
          points: asJson(x.points),
        })),
        best_price: asJson(lowestSeries(series.map((x) => x.points))),
      };
    },
  };
}
export type ProductsService = ReturnType<typeof createProductsService>;
