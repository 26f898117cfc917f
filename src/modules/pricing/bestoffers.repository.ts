import { sql } from 'drizzle-orm';
import { type Q, arrayParam, queryRows } from '../../platform/index.ts';

/** A store offer of the match group that is a catalog item (the group's `catalog_item_id`). */
export interface ItemOfferRow {
  itemId: string;
  id: string;
  storeId: string;
  storeName: string;
  priceMinor: bigint;
  currency: string;
  availability: string;
  affiliateUrl: string | null;
}

/** A catalog item's group's summary row with its best offer's store and link (absent row: `summarized` false). */
interface ItemSummaryRow {
  itemId: string;
  summarized: boolean;
  bestOfferId: string | null;
  priceMinor: bigint | null;
  currency: string | null;
  wasMinor: bigint | null;
  savingsMinor: bigint;
  storeName: string | null;
  affiliateUrl: string | null;
}

/**
 * The CTEs `want` and `link`: each catalog item's match group, the one that names it (`catalog_item_id`), else the
 * oldest group holding an offer with the item's GTIN-14 (as the product page's `groupForCatalogItem`).
 */
const linkOfItems = (tenantId: string, itemIds: readonly string[], gtins: readonly string[]) =>
  sql`want AS (SELECT * FROM unnest(${arrayParam(itemIds)}::text[], ${arrayParam(gtins)}::text[]) AS w(item_id, gtin)),
          link AS (
            SELECT DISTINCT ON (w.item_id) w.item_id, c.group_id FROM want w
            JOIN LATERAL (
              SELECT g.id AS group_id, 0 AS rank, g.created_at FROM pricing_match_groups g
              WHERE g.tenant_id = ${tenantId} AND g.catalog_item_id = w.item_id
              UNION ALL
              SELECT o.match_group_id, 1, o.created_at FROM pricing_offers o
              WHERE o.tenant_id = ${tenantId} AND w.gtin <> '' AND o.gtin = w.gtin AND o.match_group_id IS NOT NULL
            ) c ON true
            ORDER BY w.item_id, c.rank, c.created_at
          )`;

const big = (v: string | null): bigint | null => (v === null ? null : BigInt(v));

export const bestOffersRepository = {
  /**
   * Each linked catalog item's group summary row (best offer, Omnibus "was" and savings, kept by every write in its
   * transaction) with the best offer's store and link: one row per item instead of every offer of its group, and no
   * price history. An item whose group has no row yet answers `summarized` false (the caller reads its offers); a row
   * whose best offer no longer holds that price (a write that missed it) answers the same.
   */
  async summariesOfItems(q: Q, tenantId: string, itemIds: readonly string[], gtins: readonly string[]): Promise<ItemSummaryRow[]> {
    const rows = await queryRows<{
      itemId: string;
      summarized: boolean;
      bestOfferId: string | null;
      priceMinor: string | null;
      currency: string | null;
      wasMinor: string | null;
      savingsMinor: string | null;
      storeName: string | null;
      affiliateUrl: string | null;
    }>(
      q,
      sql`WITH ${linkOfItems(tenantId, itemIds, gtins)}
          SELECT l.item_id AS "itemId",
            s.group_id IS NOT NULL AND (s.best_offer_id IS NULL OR (o.price_minor = s.best_price_minor AND o.currency = s.currency))
              AS summarized,
            s.best_offer_id AS "bestOfferId", s.best_price_minor::text AS "priceMinor", s.currency, s.was_minor::text AS "wasMinor",
            s.savings_minor::text AS "savingsMinor", st.name AS "storeName", o.affiliate_url AS "affiliateUrl"
          FROM link l
          LEFT JOIN pricing_group_summaries s ON s.tenant_id = ${tenantId} AND s.group_id = l.group_id
          LEFT JOIN pricing_offers o ON o.tenant_id = ${tenantId} AND o.id = s.best_offer_id
          LEFT JOIN pricing_stores st ON st.tenant_id = ${tenantId} AND st.id = o.store_id`,
    );
    return rows.map((r) => ({
      ...r,
      priceMinor: big(r.priceMinor),
      wasMinor: big(r.wasMinor),
      savingsMinor: BigInt(r.savingsMinor ?? '0'),
    }));
  },

  /**
   * Every store offer of the match group of each catalog item, in one statement. An item's group is the one
   * that names it (`catalog_item_id`), else the oldest group holding an offer with the item's GTIN-14 (as the
   * product page's `groupForCatalogItem`). `gtins[k]` is item k's normalized GTIN-14, or '' when it has none.
   */
  async offersOfItems(q: Q, tenantId: string, itemIds: readonly string[], gtins: readonly string[]): Promise<ItemOfferRow[]> {
    const rows = await queryRows<Omit<ItemOfferRow, 'priceMinor'> & { priceMinor: string }>(
      q,
      sql`WITH ${linkOfItems(tenantId, itemIds, gtins)}
          SELECT l.item_id AS "itemId", o.id, o.store_id AS "storeId", s.name AS "storeName",
            o.price_minor::text AS "priceMinor", o.currency, o.availability, o.affiliate_url AS "affiliateUrl"
          FROM link l
          JOIN pricing_offers o ON o.tenant_id = ${tenantId} AND o.match_group_id = l.group_id
          JOIN pricing_stores s ON s.tenant_id = o.tenant_id AND s.id = o.store_id`,
    );
    return rows.map((r) => ({ ...r, priceMinor: BigInt(r.priceMinor) }));
  },

  /** Price observations of offers since `since`, plus the last one before it (the price in effect at `since`). */
  async historySince(q: Q, tenantId: string, offerIds: readonly string[], since: Date) {
    const rows = await queryRows<{ offerId: string; at: string | Date; priceMinor: string; currency: string }>(
      q,
      sql`SELECT h.offer_id AS "offerId", h.observed_at AS at, h.price_minor::text AS "priceMinor", h.currency
          FROM pricing_price_history h
          WHERE h.tenant_id = ${tenantId} AND h.offer_id = ANY(${arrayParam(offerIds)}::uuid[])
            AND (h.observed_at >= ${since.toISOString()}::timestamptz OR h.observed_at = (
              SELECT max(p.observed_at) FROM pricing_price_history p
              WHERE p.tenant_id = ${tenantId} AND p.offer_id = h.offer_id AND p.observed_at < ${since.toISOString()}::timestamptz))
          ORDER BY h.offer_id, h.observed_at`,
    );
    return rows.map((r) => ({ offerId: r.offerId, at: new Date(r.at), priceMinor: BigInt(r.priceMinor), currency: r.currency }));
  },
};
