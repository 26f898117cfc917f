import { sql } from 'drizzle-orm';
import { arrayParam, queryOne, queryRows, type Q } from '../../platform/index.ts';

/** The catalog columns recommendation serving needs. */
export interface ServingItemRow {
  itemId: string;
  name: string;
  categoryPath: string | null;
  brand: string | null;
  priceMinor: string | null;
  currency: string | null;
  imageUrl: string | null;
  availability: string;
  stock: number | null;
  isActive: boolean;
  updatedAt: Date;
}

/** An active item with its content fields (for a content-based model). */
export interface ContentItemRow {
  itemId: string;
  name: string;
  categoryPath: string | null;
  brand: string | null;
  tags: string[];
  description: string | null;
  priceMinor: string | null;
  currency: string | null;
  imageUrl: string | null;
  availability: string;
}

/** An item as the newsfeed shows it, with the attributes its style profiles learn from. */
export interface FeedItemRow {
  itemId: string;
  name: string;
  categoryPath: string | null;
  brand: string | null;
  priceMinor: string | null;
  currency: string | null;
  imageUrl: string | null;
  tags: string[];
  /** attributes.style and attributes.occasion, when the item has them (text or a list of text). */
  style: unknown;
  occasion: unknown;
  gtin: string | null;
}

/** Read-only views of the items table for other modules (the recommender, the newsfeed). Always by tenant. */
export function createServingRepository() {
  return {
    /**
     * Serving columns of the tenant's items: all of them, the given `itemIds` (ids absent from the result were
     * deleted), or those updated at or after `updatedSince`. Inactive and unavailable items are included with
     * their flags: the snapshot must know them to refuse them. With `page`: at most `limit` items after item id
     * `after` (exclusive; '' from the start) in item-id order, one unique-index range per call, so a whole catalog
     * is read in statements that other requests interleave with (the embedded database runs one at a time).
     */
    servingItems: (
      q: Q,
      tenantId: string,
      only: { itemIds?: readonly string[]; updatedSince?: Date; page?: { after: string; limit: number } } = {},
    ) =>
      queryRows<ServingItemRow>(
        q,
        sql`SELECT item_id AS "itemId", name, category_path AS "categoryPath", brand, price_minor::text AS "priceMinor", currency, image_url AS "imageUrl",
                   availability, stock, is_active AS "isActive", updated_at AS "updatedAt"
            FROM items WHERE tenant_id = ${tenantId}
              ${only.itemIds ? sql`AND item_id = ANY(${arrayParam(only.itemIds)}::text[])` : sql``}
              ${only.updatedSince ? sql`AND updated_at >= ${only.updatedSince.toISOString()}::timestamptz` : sql``}
              ${only.page ? sql`AND item_id > ${only.page.after} ORDER BY item_id LIMIT ${only.page.limit}` : sql``}`,
      ),

    /**
     * Change marker of the catalog, in constant time whatever its size: the newest `updated_at` (one probe of
     * items_tenant_updated_idx; every upsert and update moves it) and the tenant's count of deleted items (one
     * row, bumped by the deleting statement). A delta is due when the first moved, a full reload when the second did.
     * (It used to count the tenant's items: a pass over every item of the tenant, heap rows included until a vacuum,
     * every 400 ms per tenant per serving process.)
     */
    catalogMarker: async (q: Q, tenantId: string) => {
      const row = await queryOne<{ updatedAt: Date | null; deleted: string }>(
        q,
        sql`SELECT (SELECT max(updated_at) FROM items WHERE tenant_id = ${tenantId}) AS "updatedAt",
                   coalesce((SELECT items_deleted FROM catalog_change_markers WHERE tenant_id = ${tenantId}), 0)::text AS deleted`,
      );
      return { deleted: row?.deleted ?? '0', updatedAt: row?.updatedAt ? new Date(row.updatedAt).getTime() : 0 };
    },

    /** Every active item with its content fields, ordered by item id. */
    contentItems: (q: Q, tenantId: string) =>
      queryRows<ContentItemRow>(
        q,
        sql`SELECT item_id AS "itemId", name, category_path AS "categoryPath", brand, tags, description, NULL AS "priceMinor", NULL AS currency, NULL AS "imageUrl", availability
            FROM items WHERE tenant_id = ${tenantId} AND is_active ORDER BY item_id`,
      ),

    /**
     * Active, available items for the newsfeed: the given `itemIds`, else the newest (optionally of some brands,
     * compared case-insensitively), at most `limit`.
     */
    feedItems: (
      q: Q,
      tenantId: string,
      f: { itemIds?: readonly string[] | undefined; brands?: readonly string[] | undefined; limit: number },
    ) =>
      queryRows<FeedItemRow>(
        q,
        sql`SELECT item_id AS "itemId", name, category_path AS "categoryPath", brand, price_minor::text AS "priceMinor", currency,
                   image_url AS "imageUrl", tags, attributes -> 'style' AS style, attributes -> 'occasion' AS occasion, gtin
            FROM items WHERE tenant_id = ${tenantId} AND is_active AND availability <> 'discontinued'
              ${f.itemIds ? sql`AND item_id = ANY(${arrayParam(f.itemIds)}::text[])` : sql``}
              ${f.brands ? sql`AND brand_norm IN (SELECT lower(unaccent(b)) FROM unnest(${arrayParam(f.brands)}::text[]) AS b)` : sql``}
            ORDER BY created_at DESC, item_id LIMIT ${f.limit}`,
      ),

    /** The tenant's items whose GTIN, as stored, is one of `gtins` (Pricing links match groups to them). */
    itemsByGtin: (q: Q, tenantId: string, gtins: readonly string[]) =>
      queryRows<{ itemId: string; gtin: string }>(
        q,
        sql`SELECT item_id AS "itemId", gtin FROM items
            WHERE tenant_id = ${tenantId} AND gtin = ANY(${arrayParam(gtins)}::text[]) ORDER BY item_id LIMIT 10000`,
      ),

    /** How many of the tenant's items are active. */
    activeItemCount: async (q: Q, tenantId: string) =>
      (await queryOne<{ items: number }>(q, sql`SELECT count(*)::int AS items FROM items WHERE tenant_id = ${tenantId} AND is_active`))!
        .items,
  };
}
export type ServingRepository = ReturnType<typeof createServingRepository>;
