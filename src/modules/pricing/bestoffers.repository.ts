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

export const bestOffersRepository = {
  /**
   * Every store offer of the match group of each catalog item, in one statement. An item's group is the one
   * that names it (`catalog_item_id`), else the oldest group holding an offer with the item's GTIN-14 (as the
   * product page's `groupForCatalogItem`). `gtins[k]` is item k's normalized GTIN-14, or '' when it has none.
   */
  async offersOfItems(q: Q, tenantId: string, itemIds: readonly string[], gtins: readonly string[]): Promise<ItemOfferRow[]> {
    const rows = await queryRows<Omit<ItemOfferRow, 'priceMinor'> & { priceMinor: string }>(
      q,
      sql`WITH want AS (SELECT * FROM unnest(${arrayParam(itemIds)}::text[], ${arrayParam(gtins)}::text[]) AS w(item_id, gtin)),
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
          )
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
